package events

import (
	"context"
	"fmt"

	"github.com/google/go-github/v74/github"

	"github.com/campaignbot/campaignbot/campaigns/orchestrator"
)

// maxAnnotations is GitHub's limit of annotations per check-run request;
// further ones are added by updates, which append.
const maxAnnotations = 50

// postCheckRun creates a completed check run, then adds annotations
// beyond the first 50 in updates of 50.
func postCheckRun(ctx context.Context, client *github.Client, owner, repo, headSHA string, out orchestrator.CheckOutput) error {
	anns := toGitHubAnnotations(out.Annotations)
	first := anns[:min(len(anns), maxAnnotations)]
	output := &github.CheckRunOutput{
		Title: github.Ptr(out.Title), Summary: github.Ptr(out.Summary), Annotations: first,
	}
	if out.Text != "" {
		output.Text = github.Ptr(out.Text)
	}
	run, _, err := client.Checks.CreateCheckRun(ctx, owner, repo, github.CreateCheckRunOptions{
		Name: out.Name, HeadSHA: headSHA, Status: github.Ptr("completed"), Conclusion: github.Ptr(out.Conclusion), Output: output,
	})
	if err != nil {
		return fmt.Errorf("create check run %q on %s: %w", out.Name, headSHA, err)
	}
	for i := maxAnnotations; i < len(anns); i += maxAnnotations {
		batch := anns[i:min(len(anns), i+maxAnnotations)]
		_, _, err := client.Checks.UpdateCheckRun(ctx, owner, repo, run.GetID(), github.UpdateCheckRunOptions{
			Name:   out.Name,
			Output: &github.CheckRunOutput{Title: github.Ptr(out.Title), Summary: github.Ptr(out.Summary), Annotations: batch},
		})
		if err != nil {
			return fmt.Errorf("add annotations %d-%d to check run %q: %w", i+1, i+len(batch), out.Name, err)
		}
	}
	return nil
}

func toGitHubAnnotations(in []orchestrator.Annotation) []*github.CheckRunAnnotation {
	out := make([]*github.CheckRunAnnotation, 0, len(in))
	for _, a := range in {
		ga := &github.CheckRunAnnotation{
			Path: github.Ptr(a.Path), StartLine: github.Ptr(a.StartLine), EndLine: github.Ptr(a.EndLine),
			AnnotationLevel: github.Ptr(a.Level), Message: github.Ptr(a.Message), Title: github.Ptr(a.Title),
		}
		if a.StartColumn > 0 && a.StartLine == a.EndLine {
			ga.StartColumn, ga.EndColumn = github.Ptr(a.StartColumn), github.Ptr(a.EndColumn)
		}
		out = append(out, ga)
	}
	return out
}
