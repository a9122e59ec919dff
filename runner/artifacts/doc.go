// Package artifacts is the hardened upload/download facade through which
// executors hand a task's result to the control plane (DESIGN.md §4 step 6,
// §10). An executor never holds storage credentials: it holds a short-lived
// bearer token, HMAC-signed by the control plane and scoped to one task, one
// operation and one artifact kind, and talks to the Handler that
// `campaignbot server` mounts at PathPrefix. The Handler checks the token,
// bounds and verifies the body (size and sha256), writes it to a Storage
// backend (filesystem or S3-compatible) under a fresh key and only then
// records it in the metadata store, so nothing half-written is ever visible
// and a re-upload replaces the previous artifact atomically.
//
// Client is the executor's side; EncodeResult and DecodeResult turn a
// runner.Result into the `result` artifact and back.
package artifacts
