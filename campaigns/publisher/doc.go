// Package publisher turns one executed change (a runner.Result) into a pull
// request on GitHub: branch campaign/<campaign_id>/<spec_version>/<repo_slug>
// from the commit the change was made on, one verified commit carrying the
// change, and the pull request rendered from the spec (title, body, draft,
// labels, reviewers).
//
// GitHub's secondary limits on content-creating requests are the ceiling of
// the whole product, so a publish is built to spend as few of them as GitHub
// allows and never to exceed them:
//
//   - one GraphQL query (Lookup) reads everything the decision needs: the
//     repository's id and state, the base branch, the campaign's branch and
//     pull request, label and reviewer ids;
//   - one GraphQL document runs createRef, createCommitOnBranch and
//     createPullRequest in order (GitHub runs the mutations of a document in
//     order); commits made this way are signed by GitHub;
//   - one more document adds labels and requests reviews.
//
// A change that sets the executable bit, makes a symlink, or rewrites an
// existing campaign branch goes through the Git Data API instead (blobs only
// for binary content, one tree, one commit left unsigned by us so GitHub
// signs it, then the ref).
//
// Publishing is idempotent: every attempt starts from the Lookup, so a retry
// after a crash at any point finishes the job instead of repeating it, an
// unchanged patch writes nothing, and a new spec version updates the pull
// request in place (see docs/adrs/ADR-20261127-branch-naming.md).
//
// Throttles live in Redis and are shared by every worker: per installation
// (GitHub's content-creation limits), per campaign (rollout.prsPerHour and
// rollout.maxOpenPRs) and global. A publish that would exceed one returns a
// *Throttled error saying when the budget returns; a secondary-limit answer
// from GitHub pauses the whole installation until its retry-after.
package publisher
