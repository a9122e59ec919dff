// Package webhook is the durable front door for GitHub: it checks each
// delivery's signature, stores it in webhook_deliveries and enqueues it on
// campaign_tasks before answering (a go-githubapp Scheduler on Asynq), and,
// in the worker, runs the go-githubapp event handlers for each stored
// delivery exactly once. A sweeper re-enqueues deliveries whose queue
// entry was lost.
package webhook
