// Package tasks holds the Asynq task handlers of the campaign domain: each
// decodes its payload (an id), calls a campaigns/ service and maps the
// outcome to Asynq's retry semantics.
package tasks
