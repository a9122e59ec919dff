// Package slack is campaignbot's Slack front door: the `/campaign` slash
// command (POST /slack/commands) and the run message's buttons
// (POST /slack/actions).
//
// Every request is checked against the app's signing secret first
// (X-Slack-Signature v0 over the raw body, X-Slack-Request-Timestamp within
// five minutes); anything else is 401 with a JSON body and goes no further.
// The Slack user is then mapped to a GitHub login — the configuration's
// table, or a link the user proved with `/campaign link` — and the ChatOps
// rules apply unchanged (campaigns/chatops: CanControl, CanApprove, read
// from GitHub's permission API). Approve needs a mapping like every other
// control command. Every command, accepted or refused, is written to the
// audit log.
package slack
