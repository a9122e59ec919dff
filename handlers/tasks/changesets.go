package tasks

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/google/go-github/v74/github"
	"github.com/palantir/go-githubapp/githubapp"

	"github.com/campaignbot/campaignbot/campaigns/publisher"
	"github.com/campaignbot/campaignbot/campaigns/reconciler"
)

// Changesets adapts GitHub to reconciler.Forge: pull requests read with
// GraphQL nodes(ids:) (up to 100 per request), comments through REST.
type Changesets struct {
	githubapp.ClientCreator
	GraphQLURL string
}

// changesetQuery reads what the reconciler tracks of each pull request.
// The head's CI rollup comes through headRef so a deleted branch shows as
// a null headRef; mergeability only when asked (GitHub computes it lazily).
const changesetQuery = `query Changesets($ids: [ID!]!, $mergeable: Boolean!) {
  nodes(ids: $ids) {
    __typename
    ... on PullRequest {
      id number state isDraft updatedAt headRefOid baseRefName reviewDecision
      mergeable @include(if: $mergeable)
      repository { nameWithOwner }
      mergedBy { login }
      baseRef { target { oid } }
      headRef { target { ... on Commit { statusCheckRollup { state } } } }
    }
  }
}`

type changesetNode struct {
	Typename       string    `json:"__typename"`
	ID             string    `json:"id"`
	Number         int       `json:"number"`
	State          string    `json:"state"`
	IsDraft        bool      `json:"isDraft"`
	UpdatedAt      time.Time `json:"updatedAt"`
	HeadRefOid     string    `json:"headRefOid"`
	BaseRefName    string    `json:"baseRefName"`
	ReviewDecision string    `json:"reviewDecision"`
	Mergeable      string    `json:"mergeable"`
	Repository     struct {
		NameWithOwner string `json:"nameWithOwner"`
	} `json:"repository"`
	MergedBy *struct {
		Login string `json:"login"`
	} `json:"mergedBy"`
	BaseRef *struct {
		Target struct {
			Oid string `json:"oid"`
		} `json:"target"`
	} `json:"baseRef"`
	HeadRef *struct {
		Target struct {
			StatusCheckRollup *struct {
				State string `json:"state"`
			} `json:"statusCheckRollup"`
		} `json:"target"`
	} `json:"headRef"`
}

// PullRequests implements reconciler.Forge. A node GitHub answers with
// NOT_FOUND (or null) is nil in the answer; any other error fails the
// whole read, so nothing is guessed.
func (c Changesets) PullRequests(ctx context.Context, installationID int64, nodeIDs []string, withMergeable bool) ([]*reconciler.PullRequest, error) {
	rest, err := c.NewInstallationClient(installationID)
	if err != nil {
		return nil, fmt.Errorf("create installation client: %w", err)
	}
	resp, err := publisher.NewClients(rest, c.GraphQLURL).GraphQL(ctx, "Changesets", changesetQuery,
		map[string]any{"ids": nodeIDs, "mergeable": withMergeable})
	if err != nil {
		return nil, fmt.Errorf("read %d pull requests: %w", len(nodeIDs), err)
	}
	for _, e := range resp.Errors {
		if e.Type != "NOT_FOUND" {
			return nil, fmt.Errorf("read %d pull requests: GitHub: %s %s", len(nodeIDs), e.Type, e.Message)
		}
	}
	var data struct {
		Nodes []*changesetNode `json:"nodes"`
	}
	if err := json.Unmarshal(resp.Data, &data); err != nil {
		return nil, fmt.Errorf("decode %d pull requests: %w", len(nodeIDs), err)
	}
	if len(data.Nodes) != len(nodeIDs) {
		return nil, fmt.Errorf("read %d pull requests: GitHub answered %d nodes", len(nodeIDs), len(data.Nodes))
	}
	out := make([]*reconciler.PullRequest, len(nodeIDs))
	for i, n := range data.Nodes {
		if n == nil || n.Typename != "PullRequest" {
			continue
		}
		pr := &reconciler.PullRequest{
			NodeID: n.ID, Repository: n.Repository.NameWithOwner, Number: n.Number, State: n.State, Draft: n.IsDraft,
			HeadSHA: n.HeadRefOid, BaseBranch: n.BaseRefName, ReviewDecision: n.ReviewDecision, Mergeable: n.Mergeable,
			UpdatedAt: n.UpdatedAt, BranchDeleted: n.HeadRef == nil && n.State == "OPEN",
		}
		if n.MergedBy != nil {
			pr.MergedBy = n.MergedBy.Login
		}
		if n.BaseRef != nil {
			pr.BaseHeadSHA = n.BaseRef.Target.Oid
		}
		if n.HeadRef != nil && n.HeadRef.Target.StatusCheckRollup != nil {
			pr.CI = n.HeadRef.Target.StatusCheckRollup.State
		}
		out[i] = pr
	}
	return out, nil
}

// Comment implements reconciler.Forge.
func (c Changesets) Comment(ctx context.Context, installationID int64, repo string, number int, body string) error {
	client, err := c.NewInstallationClient(installationID)
	if err != nil {
		return fmt.Errorf("create installation client: %w", err)
	}
	owner, name, _ := strings.Cut(repo, "/")
	if _, _, err := client.Issues.CreateComment(ctx, owner, name, number, &github.IssueComment{Body: github.Ptr(body)}); err != nil {
		return fmt.Errorf("comment on %s#%d: %w", repo, number, err)
	}
	return nil
}

// BranchHead implements reconciler.BranchHeads.
func (c Changesets) BranchHead(ctx context.Context, installationID int64, repo, branch string) (string, error) {
	rest, err := c.NewInstallationClient(installationID)
	if err != nil {
		return "", fmt.Errorf("create installation client: %w", err)
	}
	owner, name, _ := strings.Cut(repo, "/")
	resp, err := publisher.NewClients(rest, c.GraphQLURL).GraphQL(ctx, "BranchHead",
		`query BranchHead($owner: String!, $name: String!, $ref: String!) { repository(owner: $owner, name: $name) { ref(qualifiedName: $ref) { target { oid } } } }`,
		map[string]any{"owner": owner, "name": name, "ref": "refs/heads/" + branch})
	if err != nil {
		return "", fmt.Errorf("read %s@%s: %w", repo, branch, err)
	}
	if len(resp.Errors) > 0 {
		return "", fmt.Errorf("read %s@%s: GitHub: %s", repo, branch, resp.Errors[0].Message)
	}
	var data struct {
		Repository *struct {
			Ref *struct {
				Target struct {
					Oid string `json:"oid"`
				} `json:"target"`
			} `json:"ref"`
		} `json:"repository"`
	}
	if err := json.Unmarshal(resp.Data, &data); err != nil {
		return "", fmt.Errorf("decode %s@%s: %w", repo, branch, err)
	}
	if data.Repository == nil || data.Repository.Ref == nil {
		return "", fmt.Errorf("%s has no branch %s", repo, branch)
	}
	return data.Repository.Ref.Target.Oid, nil
}
