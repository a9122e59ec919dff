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
// unchanged patch on the same base writes nothing, and a new spec version updates the pull
// request in place (see docs/adrs/ADR-20261127-branch-naming.md).
//
// Throttles live in Redis and are shared by every worker: per installation
// (GitHub's content-creation limits), per campaign (rollout.prsPerHour and
// rollout.maxOpenPRs) and global. A publish that would exceed one returns a
// *Throttled error saying when the budget returns; a secondary-limit answer
// from GitHub pauses the whole installation until its retry-after.
//
// Wiring, in the worker's publish task:
//
//	rest, _ := cc.NewInstallationClient(installationID) // githubapp.ClientCreator
//	out, err := pub.Publish(ctx, publisher.NewClients(rest, cfg.V4APIURL), in)
//	var th *publisher.Throttled
//	var perm *publisher.Permanent
//	switch {
//	case errors.As(err, &th): // re-enqueue at th.Until (asynq.ProcessAt); not a failure
//	case errors.As(err, &perm): // fail or skip the changeset; do not retry
//	case err != nil: // retry with the queue's backoff
//	default: // record out.PRNumber, out.PRNodeID, out.Branch, out.HeadSHA
//	}
//
// The tracker calls PullRequestClosed when a campaign pull request is
// merged or closed, and a sweeper may call SyncOpenPullRequests.
//
// Decisions worth knowing:
//
//   - Labels. Their ids come with the Lookup (one alias per label), so
//     resolving them costs no request, and there is no cache to go stale
//     when a label is renamed or deleted. When a label does not exist yet,
//     the labels go through REST POST /issues/{n}/labels instead, which
//     takes names and creates missing labels: once per repository, and the
//     same one content-creating request as addLabelsToLabelable.
//   - Reviewers. Users' ids come with the Lookup; unknown logins become
//     warnings. Team reviewers go through REST requested_reviewers (it
//     takes slugs; GraphQL would need team ids, which cost a request each).
//     Reviewers who already reviewed are not asked again.
//   - rollout.maxOpenPRs is a Redis set per campaign of repositories with
//     an open pull request: the publisher adds to it in the same atomic
//     script that charges the budgets (so concurrent workers cannot
//     overshoot), the tracker removes with PullRequestClosed, and a
//     sweeper can rewrite it from the database with SyncOpenPullRequests.
//   - Budgets are reserved before the Lookup (the likely cost: a new pull
//     request, or one update when the caller knows the pull request) and
//     trued up after it, so a throttled publish spends no GitHub request.
//   - Time comes from Config.Clock, not from Redis: tests and the
//     benchmark run on githubfake's virtual clock. In production the
//     workers' clocks must agree to within a second or so (NTP); GitHub's
//     retry-after covers the rest.
//   - The unchanged check compares the patch hash recorded in the branch
//     head's commit trailer and the head's parent. A same patch made on the
//     base branch's current head, newer than the branch's base (a rebase),
//     rewrites the branch on it, so the pull request is not left behind; a
//     result made on an older base never moves the branch back.
//   - A draft flag changed by a later spec version is not applied to an
//     open pull request (a warning says so).
//   - Every Redis key carries one hash tag (Config.KeyPrefix), so the
//     throttle script works on Redis Cluster; throttle traffic is a few
//     commands per publish.
package publisher
