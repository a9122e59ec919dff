// Package reconciler follows every campaign pull request (changeset) until
// it is merged or closed, and keeps it current: the tracker of DESIGN.md
// §4 step 8. It has no HTTP in it; handlers turn webhooks into calls here
// and adapt GitHub to the small Forge interface.
//
// Sources of truth, cheapest first:
//
//   - Webhooks on target repositories (pull_request, pull_request_review,
//     check_suite, status, push to a pull request's base branch). A
//     pull_request payload is applied as it is, guarded by the pull
//     request's updated_at so an older delivery never undoes a newer one
//     (merged is final). Events whose payload does not carry the answer
//     (a review decision, a CI rollup) re-read the pull request: one
//     GraphQL request, and none at all for commits that are not a
//     campaign pull request's head.
//   - The sweep, for what webhooks missed (GitHub does not redeliver):
//     every open changeset is re-read with GraphQL nodes(ids:), 100 pull
//     requests per request, so 5,000 open pull requests cost 50 requests.
//     Mergeability is not read by the sweep: GitHub computes it lazily and
//     asking for thousands starts thousands of background jobs; the drift
//     check reads it for the one pull request that needs it.
//
// Drift (the spec's drift.baseChanged): a push to a pull request's base
// branch is recorded and checked after a quiet period (the debounce), so
// ten quick pushes cost one check; the check claims the base head it saw,
// so a pull request is re-executed at most once per base change. rebase
// re-executes when the pull request is behind, recreate only when it
// conflicts, ignore records the move. See
// docs/adrs/ADR-20261127-drift-policy.md.
//
// Human edits (drift.humanEdits): a pull request whose head is not the
// commit the app pushed last has a commit by someone else (commit authors
// prove nothing: API commits carry any author). stop records it, says so
// once in a pull-request comment and on the dashboard, and never touches
// that pull request again; overwrite publishes the app's change over it.
//
// Merged and closed pull requests free their rollout.maxOpenPRs slot
// (publisher.PullRequestClosed), and every change asks for a dashboard
// update. When every task of a run is final, a verification pass runs the
// steps again on each target's default branch: no change means the change
// has landed there, whoever landed it.
package reconciler
