package publisher

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// lookup is everything a publish decides from, read in one query.
type lookup struct {
	RepoID   string
	URL      string
	Archived bool
	BaseHead string // "" when the base branch does not exist
	BaseTree string // tree of Result.BaseSHA; "" when the commit is unknown
	// Branches are the campaign's branches in this repository (normally
	// one; more only if something went wrong).
	Branches []branchState
	// PR is the newest pull request whose head is the queried branch.
	PR *prState
	// LabelIDs and UserIDs resolve the spec's labels and reviewers; names
	// GitHub does not know are absent.
	LabelIDs map[string]string
	UserIDs  map[string]string
	// BaseBlobs are the base commit's blob ids of the paths whose binary
	// content the Git Data path may need to upload (see knownPaths).
	BaseBlobs map[string]string
}

type branchState struct {
	Name    string // without refs/heads/
	Head    string
	Message string
	Tree    string
	// Parent is the head commit's first parent: the base the campaign's
	// commit was made on ("" for a root commit).
	Parent string
}

type prState struct {
	ID, URL, State string
	Number         int
	Title, Body    string
	IsDraft        bool
	HeadRefName    string
	HeadRefOid     string
	Labels         map[string]bool // lower-cased names
	Requested      map[string]bool // user logins and team slugs, lower-cased
	Reviewed       map[string]bool // logins with a review, lower-cased
	HasTeamRequest bool
}

const prFields = `fragment PR on PullRequest {
  id number url state title body isDraft headRefName headRefOid isCrossRepository
  labels(first: 100) { nodes { name } }
  reviewRequests(first: 100) { nodes { requestedReviewer { __typename ... on User { login } ... on Team { slug } } } }
  reviews(first: 100) { nodes { author { login } } }
}`

// lookupQuery builds the Lookup document: one alias per label and
// reviewer, so their ids come with the state at no extra request.
func lookupQuery(labels, users, blobs []string) string {
	var b strings.Builder
	b.WriteString("query Lookup($owner: String!, $name: String!, $base: String!, $baseOid: GitObjectID!, $prefix: String!, $head: String!")
	for i := range labels {
		fmt.Fprintf(&b, ", $l%d: String!", i)
	}
	for i := range users {
		fmt.Fprintf(&b, ", $u%d: String!", i)
	}
	for i := range blobs {
		fmt.Fprintf(&b, ", $b%d: String!", i)
	}
	b.WriteString(`) {
  repository(owner: $owner, name: $name) {
    id url isArchived
    baseRef: ref(qualifiedName: $base) { target { oid } }
    baseCommit: object(oid: $baseOid) { ... on Commit { tree { oid } } }
    branches: refs(refPrefix: $prefix, first: 20) { nodes { name prefix target { oid ... on Commit { message tree { oid } parents(first: 1) { nodes { oid } } } } } }
    pulls: pullRequests(headRefName: $head, states: [OPEN, CLOSED, MERGED], last: 5) { nodes { ...PR } }
`)
	for i := range labels {
		fmt.Fprintf(&b, "    l%d: label(name: $l%d) { id name }\n", i, i)
	}
	for i := range blobs {
		fmt.Fprintf(&b, "    b%d: object(expression: $b%d) { oid }\n", i, i)
	}
	b.WriteString("  }\n")
	for i := range users {
		fmt.Fprintf(&b, "  u%d: user(login: $u%d) { id login }\n", i, i)
	}
	b.WriteString("}\n")
	b.WriteString(prFields)
	return b.String()
}

type rawPR struct {
	ID          string `json:"id"`
	Number      int    `json:"number"`
	URL         string `json:"url"`
	State       string `json:"state"`
	Title       string `json:"title"`
	Body        string `json:"body"`
	IsDraft     bool   `json:"isDraft"`
	HeadRefName string `json:"headRefName"`
	HeadRefOid  string `json:"headRefOid"`
	CrossRepo   bool   `json:"isCrossRepository"`
	Labels      struct {
		Nodes []struct {
			Name string `json:"name"`
		} `json:"nodes"`
	} `json:"labels"`
	ReviewRequests struct {
		Nodes []struct {
			RequestedReviewer *struct {
				Typename string `json:"__typename"`
				Login    string `json:"login"`
				Slug     string `json:"slug"`
			} `json:"requestedReviewer"`
		} `json:"nodes"`
	} `json:"reviewRequests"`
	Reviews struct {
		Nodes []struct {
			Author *struct {
				Login string `json:"login"`
			} `json:"author"`
		} `json:"nodes"`
	} `json:"reviews"`
}

func (r *rawPR) state() *prState {
	p := &prState{ID: r.ID, URL: r.URL, State: r.State, Number: r.Number, Title: r.Title, Body: r.Body,
		IsDraft: r.IsDraft, HeadRefName: r.HeadRefName, HeadRefOid: r.HeadRefOid,
		Labels: map[string]bool{}, Requested: map[string]bool{}, Reviewed: map[string]bool{}}
	for _, l := range r.Labels.Nodes {
		p.Labels[strings.ToLower(l.Name)] = true
	}
	for _, n := range r.ReviewRequests.Nodes {
		if rr := n.RequestedReviewer; rr != nil {
			if rr.Slug != "" {
				p.Requested[strings.ToLower(rr.Slug)] = true
				p.HasTeamRequest = true
			}
			if rr.Login != "" {
				p.Requested[strings.ToLower(rr.Login)] = true
			}
		}
	}
	for _, n := range r.Reviews.Nodes {
		if n.Author != nil {
			p.Reviewed[strings.ToLower(n.Author.Login)] = true
		}
	}
	return p
}

type pullsConn struct {
	Nodes []rawPR `json:"nodes"`
}

// newest returns the newest pull request from the repository itself: a
// fork's pull request can have the same head branch name.
func (c pullsConn) newest() *prState {
	for i := len(c.Nodes) - 1; i >= 0; i-- {
		if !c.Nodes[i].CrossRepo {
			return c.Nodes[i].state()
		}
	}
	return nil
}

// runLookup reads the repository's state for a publish on branch head.
func (p *Publisher) runLookup(ctx context.Context, a *attempt, head string) (*lookup, error) {
	owner, name, _ := strings.Cut(a.in.Repository, "/")
	pr := a.in.Spec.WithDefaults().PullRequest
	labels, users := pr.Labels, pr.Reviewers
	vars := map[string]any{
		"owner": owner, "name": name,
		"base":    "refs/heads/" + a.in.DefaultBranch,
		"baseOid": a.in.Result.BaseSHA,
		"prefix":  "refs/heads/campaign/" + strconv.FormatInt(a.in.CampaignID, 10) + "/",
		"head":    head,
	}
	for i, l := range labels {
		vars["l"+strconv.Itoa(i)] = l
	}
	for i, u := range users {
		vars["u"+strconv.Itoa(i)] = u
	}
	blobs := knownPaths(a.in)
	for i, path := range blobs {
		vars["b"+strconv.Itoa(i)] = a.in.Result.BaseSHA + ":" + path
	}
	resp, err := a.graphql(ctx, "Lookup", lookupQuery(labels, users, blobs), vars, false)
	if err != nil {
		return nil, err
	}
	var data struct {
		Repository *struct {
			ID         string `json:"id"`
			URL        string `json:"url"`
			IsArchived bool   `json:"isArchived"`
			BaseRef    *struct {
				Target struct {
					OID string `json:"oid"`
				} `json:"target"`
			} `json:"baseRef"`
			BaseCommit *struct {
				Tree *struct {
					OID string `json:"oid"`
				} `json:"tree"`
			} `json:"baseCommit"`
			Branches struct {
				Nodes []struct {
					Name   string `json:"name"`
					Prefix string `json:"prefix"`
					Target struct {
						OID     string `json:"oid"`
						Message string `json:"message"`
						Tree    *struct {
							OID string `json:"oid"`
						} `json:"tree"`
						Parents *struct {
							Nodes []struct {
								OID string `json:"oid"`
							} `json:"nodes"`
						} `json:"parents"`
					} `json:"target"`
				} `json:"nodes"`
			} `json:"branches"`
			Pulls pullsConn `json:"pulls"`
		} `json:"repository"`
	}
	if err := json.Unmarshal(resp.Data, &data); err != nil {
		return nil, fmt.Errorf("graphql Lookup: decode: %w", err)
	}
	// The answer is also an object of aliases: decode it again loosely for
	// l<i> and u<i>.
	var aliases map[string]json.RawMessage
	_ = json.Unmarshal(resp.Data, &aliases)
	var repoAliases map[string]json.RawMessage
	if raw, ok := aliases["repository"]; ok {
		_ = json.Unmarshal(raw, &repoAliases)
	}
	for _, e := range resp.Errors {
		f := e.field()
		switch {
		case strings.HasPrefix(f, "u"):
			// An unknown reviewer is reported, not fatal.
		case f == "repository" && len(e.Path) >= 2 && (e.Path[1] == "baseCommit" || e.Path[1] == "baseRef" || isBlobAlias(e.Path[1])):
			// Missing objects answer null (GitHub) or an error (some
			// servers); both mean "absent".
		case e.Type == "NOT_FOUND" && f == "repository" && len(e.Path) == 1:
			return nil, &Permanent{Reason: ReasonRepoNotFound, Detail: a.in.Repository}
		case e.Type == "FORBIDDEN":
			return nil, &Permanent{Reason: ReasonForbidden, Detail: e.Message}
		default:
			return nil, &GitHubError{Op: "graphql Lookup", Status: 200, Type: e.Type, Message: e.Message}
		}
	}
	r := data.Repository
	if r == nil {
		return nil, &Permanent{Reason: ReasonRepoNotFound, Detail: a.in.Repository}
	}
	lk := &lookup{RepoID: r.ID, URL: r.URL, Archived: r.IsArchived, LabelIDs: map[string]string{}, UserIDs: map[string]string{},
		BaseBlobs: map[string]string{}}
	if r.BaseRef != nil {
		lk.BaseHead = r.BaseRef.Target.OID
	}
	if r.BaseCommit != nil && r.BaseCommit.Tree != nil {
		lk.BaseTree = r.BaseCommit.Tree.OID
	}
	for _, n := range r.Branches.Nodes {
		full := strings.TrimPrefix(n.Prefix+n.Name, "refs/heads/")
		b := branchState{Name: full, Head: n.Target.OID, Message: n.Target.Message}
		if n.Target.Tree != nil {
			b.Tree = n.Target.Tree.OID
		}
		if ps := n.Target.Parents; ps != nil && len(ps.Nodes) > 0 {
			b.Parent = ps.Nodes[0].OID
		}
		lk.Branches = append(lk.Branches, b)
	}
	lk.PR = r.Pulls.newest()
	for i, l := range labels {
		var v *struct {
			ID string `json:"id"`
		}
		if raw, ok := repoAliases["l"+strconv.Itoa(i)]; ok && json.Unmarshal(raw, &v) == nil && v != nil && v.ID != "" {
			lk.LabelIDs[strings.ToLower(l)] = v.ID
		}
	}
	for i, path := range blobs {
		var v *struct {
			OID string `json:"oid"`
		}
		if raw, ok := repoAliases["b"+strconv.Itoa(i)]; ok && json.Unmarshal(raw, &v) == nil && v != nil && v.OID != "" {
			lk.BaseBlobs[path] = v.OID
		}
	}
	for i, u := range users {
		var v *struct {
			ID string `json:"id"`
		}
		if raw, ok := aliases["u"+strconv.Itoa(i)]; ok && json.Unmarshal(raw, &v) == nil && v != nil && v.ID != "" {
			lk.UserIDs[strings.ToLower(u)] = v.ID
		}
	}
	return lk, nil
}

// lookupPR reads the newest pull request whose head is branch: needed only
// when the campaign's branch is not the one the Lookup asked about.
func (p *Publisher) lookupPR(ctx context.Context, a *attempt, branch string) (*prState, error) {
	owner, name, _ := strings.Cut(a.in.Repository, "/")
	q := `query LookupPR($owner: String!, $name: String!, $head: String!) {
  repository(owner: $owner, name: $name) {
    pulls: pullRequests(headRefName: $head, states: [OPEN, CLOSED, MERGED], last: 5) { nodes { ...PR } }
  }
}
` + prFields
	resp, err := a.graphql(ctx, "LookupPR", q, map[string]any{"owner": owner, "name": name, "head": branch}, false)
	if err != nil {
		return nil, err
	}
	if len(resp.Errors) > 0 {
		e := resp.Errors[0]
		return nil, &GitHubError{Op: "graphql LookupPR", Status: 200, Type: e.Type, Message: e.Message}
	}
	var data struct {
		Repository *struct {
			Pulls pullsConn `json:"pulls"`
		} `json:"repository"`
	}
	if err := json.Unmarshal(resp.Data, &data); err != nil {
		return nil, fmt.Errorf("graphql LookupPR: decode: %w", err)
	}
	if data.Repository == nil {
		return nil, &Permanent{Reason: ReasonRepoNotFound, Detail: a.in.Repository}
	}
	return data.Repository.Pulls.newest(), nil
}

// knownPaths are the changed paths whose content GitHub may already have:
// binary files that existed at the base (a mode change keeps the bytes).
// Their base blob ids come with the Lookup, so the Git Data path uploads
// only content that is new.
func knownPaths(in *Input) []string {
	var out []string
	for _, c := range in.Result.Changed {
		if c.OldMode != "" && needsBlob(c.Content) && len(c.Content) > 0 {
			out = append(out, c.Path)
		}
	}
	return out
}

func isBlobAlias(p any) bool {
	s, _ := p.(string)
	return len(s) > 1 && s[0] == 'b' && strings.Trim(s[1:], "0123456789") == ""
}
