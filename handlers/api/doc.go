// Package api is campaignbot's REST API under /api/v1/: campaigns, spec
// versions, runs, changesets (repo tasks) and their logs, the audit log,
// run actions (pause, resume, retry, cancel) and a server-side plan
// preview. It authenticates bearer API tokens (stored hashed, scopes read
// and write), answers JSON with opaque keyset cursors, and reports every
// error as {"error": {"code", "message"}} with the matching HTTP status.
//
// Approving a campaign is deliberately not offered: an approval is bound
// to a GitHub (or Slack) identity and the spec's owners, which an API
// token does not carry.
//
// docs/api/openapi.yaml describes every route; a test keeps the two equal.
package api
