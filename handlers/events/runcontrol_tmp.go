package events

// CancelResult stands in for orchestrator.CancelResult until run control lands.
type CancelResult struct{ Closing int }

func cancelSummary(res CancelResult, open int) string {
	return "open pull requests are being closed with a comment"
}
