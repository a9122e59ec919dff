// Package app is campaignbot's composition root: it turns a configuration
// into a running role (HTTP server, worker), wiring the GitHub App's
// clients, the store, the queue and the handlers. Only cmd/ imports it.
package app

// Version is stamped at build time with -ldflags "-X github.com/campaignbot/campaignbot/app.Version=...".
var Version = "dev"
