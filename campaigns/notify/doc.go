// Package notify keeps a run's Slack message current: ONE Block Kit
// message per run and channel (the spec's notify.slack, else the default
// channel), posted once and then updated in place with coalesced updates
// (at most one per run per interval, none when nothing changed), and thread
// replies for what needs a person — approval, a failing canary wave, a
// pause (by hand or on the failure rate), the kill switch, completion —
// each posted exactly once.
//
// The rendering counts tasks with campaigns/status, so the message and the
// check-run dashboard always agree. Block Kit is modelled with slack-go's
// block types (data only); talking to Slack is an adapter's job (the Slack
// interface, implemented in handlers/tasks).
package notify
