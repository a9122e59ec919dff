package publisher

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// write performs the plan: the commit (Git Data API when needed), then one
// document for the branch, commit and pull request, then the decoration.
func (a *attempt) write(ctx context.Context, lk *lookup, pl *plan) error {
	in := a.in
	headline, body := commitMessage(pl.rendered.CommitMessage, in.CampaignID, in.Result.PatchHash)
	if pl.commit && pl.gitData {
		sha, err := a.gitDataCommit(ctx, lk, pl, headline+"\n\n"+body)
		if err != nil {
			return err
		}
		pl.head = sha
		a.out.HeadSHA = sha
	}
	var fields []mfield
	if pl.createRef {
		fields = append(fields, mfield{name: "createRef", varType: "CreateRefInput!",
			input:     map[string]any{"repositoryId": lk.RepoID, "name": "refs/heads/" + pl.branch, "oid": in.Result.BaseSHA},
			selection: "ref { name }"})
	}
	if pl.commit && !pl.gitData {
		fields = append(fields, mfield{name: "createCommitOnBranch", varType: "CreateCommitOnBranchInput!",
			input: map[string]any{
				"branch":          map[string]any{"repositoryNameWithOwner": in.Repository, "branchName": pl.branch},
				"message":         map[string]any{"headline": headline, "body": body},
				"expectedHeadOid": pl.expectHead,
				"fileChanges":     fileChanges(in),
			},
			selection: "commit { oid }"})
	}
	op := "PublishUpdate"
	switch {
	case pl.createPR:
		op = "PublishCreate"
		fields = append(fields, mfield{name: "createPullRequest", varType: "CreatePullRequestInput!",
			input: map[string]any{"repositoryId": lk.RepoID, "baseRefName": in.DefaultBranch, "headRefName": pl.branch,
				"title": pl.rendered.Title, "body": pl.rendered.Body, "draft": pl.rendered.Draft},
			selection: "pullRequest { id number url headRefOid }"})
	case pl.updateTitleBody:
		fields = append(fields, mfield{name: "updatePullRequest", varType: "UpdatePullRequestInput!",
			input:     map[string]any{"pullRequestId": pl.pr.ID, "title": pl.rendered.Title, "body": pl.rendered.Body},
			selection: "pullRequest { id number url headRefOid }"})
	}
	if len(fields) > 0 {
		if err := a.publishDoc(ctx, op, fields, pl); err != nil {
			return err
		}
	}
	return a.decorate(ctx, pl)
}

// publishDoc sends the branch/commit/pull-request document and records
// what it made.
func (a *attempt) publishDoc(ctx context.Context, op string, fields []mfield, pl *plan) error {
	resp, err := a.mutate(ctx, op, fields)
	var tr *transient
	if errors.As(err, &tr) && pl.createPR {
		// The answer was lost: GitHub may have made the pull request. If
		// it did, the next attempt adopts it, and it is ours.
		a.created = true
	}
	if resp != nil {
		var data map[string]*struct {
			Commit *struct {
				OID string `json:"oid"`
			} `json:"commit"`
			PullRequest *struct {
				ID         string `json:"id"`
				Number     int    `json:"number"`
				URL        string `json:"url"`
				HeadRefOid string `json:"headRefOid"`
			} `json:"pullRequest"`
		}
		if derr := json.Unmarshal(resp.Data, &data); derr != nil {
			return fmt.Errorf("graphql %s: decode: %w", op, derr)
		}
		if c := data["createCommitOnBranch"]; c != nil && c.Commit != nil {
			pl.head = c.Commit.OID
			a.out.HeadSHA = c.Commit.OID
		}
		for _, f := range []string{"createPullRequest", "updatePullRequest"} {
			if c := data[f]; c != nil && c.PullRequest != nil {
				pr := c.PullRequest
				a.out.PRNumber, a.out.PRURL, a.out.PRNodeID = pr.Number, pr.URL, pr.ID
				if pr.HeadRefOid != "" {
					a.out.HeadSHA = pr.HeadRefOid
				}
				if f == "createPullRequest" {
					a.created = true
				}
				pl.pr = &prState{ID: pr.ID, Number: pr.Number, URL: pr.URL, State: "OPEN"}
			}
		}
		if err == nil && len(resp.Errors) > 0 {
			return fieldError(op, resp.Errors[0])
		}
	}
	return err
}

// fileChanges is createCommitOnBranch's FileChanges: base64 contents, so
// binary files pass unchanged.
func fileChanges(in *Input) map[string]any {
	fc := map[string]any{}
	var adds, dels []map[string]any
	for _, c := range in.Result.Changed {
		adds = append(adds, map[string]any{"path": c.Path, "contents": base64.StdEncoding.EncodeToString(c.Content)})
	}
	for _, d := range in.Result.Deleted {
		dels = append(dels, map[string]any{"path": d})
	}
	if len(adds) > 0 {
		fc["additions"] = adds
	}
	if len(dels) > 0 {
		fc["deletions"] = dels
	}
	return fc
}

// decorate adds the missing labels and requests the missing reviewers. A
// refusal here (an unknown reviewer, a reviewer without access) does not
// fail the publish: the pull request exists and is right; it becomes a
// warning.
func (a *attempt) decorate(ctx context.Context, pl *plan) error {
	if pl.pr == nil || !pl.decorates() {
		return nil
	}
	var fields []mfield
	if len(pl.labelIDs) > 0 {
		fields = append(fields, mfield{name: "addLabelsToLabelable", varType: "AddLabelsToLabelableInput!",
			input: map[string]any{"labelableId": pl.pr.ID, "labelIds": pl.labelIDs}, selection: "clientMutationId"})
	}
	if len(pl.userIDs) > 0 {
		fields = append(fields, mfield{name: "requestReviews", varType: "RequestReviewsInput!",
			input: map[string]any{"pullRequestId": pl.pr.ID, "userIds": pl.userIDs, "union": true}, selection: "clientMutationId"})
	}
	if len(fields) > 0 {
		resp, err := a.mutate(ctx, "Decorate", fields)
		if err != nil {
			return err
		}
		for _, e := range resp.Errors {
			a.out.Warnings = append(a.out.Warnings, fmt.Sprintf("%s: %s", e.field(), e.Message))
		}
	}
	return a.restDecorate(ctx, pl)
}

// restDecorate covers what the GraphQL document cannot: labels that do
// not exist yet (REST creates them) and team reviewers (REST takes slugs).
func (a *attempt) restDecorate(ctx context.Context, pl *plan) error {
	owner, name, _ := strings.Cut(a.in.Repository, "/")
	rest := a.gh.REST()
	if len(pl.labelNames) > 0 {
		if a.crash("POST issues/labels") {
			return errCrash
		}
		a.count("POST issues/labels")
		_, resp, err := rest.Issues.AddLabelsToIssue(ctx, owner, name, pl.pr.Number, pl.labelNames)
		if err := classifyREST("add labels", resp, err); err != nil {
			if ge, ok := err.(*GitHubError); ok {
				a.out.Warnings = append(a.out.Warnings, ge.Error())
			} else {
				return err
			}
		}
	}
	if len(pl.restUsers)+len(pl.restTeams) > 0 {
		if a.crash("POST pulls/requested_reviewers") {
			return errCrash
		}
		a.count("POST pulls/requested_reviewers")
		_, resp, err := rest.PullRequests.RequestReviewers(ctx, owner, name, pl.pr.Number, reviewersRequest(pl))
		if err := classifyREST("request reviewers", resp, err); err != nil {
			if ge, ok := err.(*GitHubError); ok {
				a.out.Warnings = append(a.out.Warnings, ge.Error())
			} else {
				return err
			}
		}
	}
	return nil
}
