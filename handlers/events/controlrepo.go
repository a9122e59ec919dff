package events

import (
	"context"
	"fmt"
	"strings"

	"github.com/shurcooL/githubv4"

	"github.com/campaignbot/campaignbot/campaigns/orchestrator"
)

// ControlRepo names the repository that holds campaign specs.
type ControlRepo struct {
	FullName string // owner/name; empty disables spec handling
	SpecPath string // folder, e.g. "campaigns/"
}

// Is reports whether fullName is the control repository.
func (c ControlRepo) Is(fullName string) bool {
	return c.FullName != "" && strings.EqualFold(c.FullName, fullName)
}

func (c ControlRepo) split() (owner, name string) {
	owner, name, _ = strings.Cut(c.FullName, "/")
	return owner, name
}

// folder is the expression path of the spec folder ("campaigns").
func (c ControlRepo) folder() string {
	return strings.Trim(c.SpecPath, "/")
}

// specTree is the spec folder as GraphQL returns it: every file with its text.
type specTree struct {
	Tree struct {
		Entries []struct {
			Name   string
			Type   string
			Object struct {
				Blob struct {
					Text        *string
					IsBinary    *bool
					IsTruncated bool
					ByteSize    int
				} `graphql:"... on Blob"`
			}
		}
	} `graphql:"... on Tree"`
}

func (t *specTree) snapshot(repo, commit, folder string) orchestrator.Snapshot {
	snap := orchestrator.Snapshot{Repo: repo, Commit: commit}
	if t == nil {
		return snap // the folder does not exist at that commit: no specs
	}
	for _, e := range t.Tree.Entries {
		if e.Type != "blob" || !orchestrator.IsSpecPath(e.Name) {
			continue
		}
		b := e.Object.Blob
		f := orchestrator.SpecFile{Path: folder + "/" + e.Name, Size: b.ByteSize, Truncated: b.IsTruncated}
		switch {
		case b.IsBinary != nil && *b.IsBinary:
			f.Binary = true
		case b.Text != nil:
			f.Data = []byte(*b.Text)
		}
		snap.Files = append(snap.Files, f)
	}
	return snap
}

// fetchBranchSnapshot reads the spec folder at the branch's current head in
// one GraphQL request (two if the branch moved past the commit we were
// told about): the event is only a trigger, so deliveries arriving late or
// out of order still sync the latest state.
func fetchBranchSnapshot(ctx context.Context, gql *githubv4.Client, cr ControlRepo, branch, hintSHA string) (orchestrator.Snapshot, error) {
	owner, name := cr.split()
	var q struct {
		Repository struct {
			Ref *struct {
				Target struct {
					Oid githubv4.GitObjectID
				}
			} `graphql:"ref(qualifiedName: $ref)"`
			Folder *specTree `graphql:"folder: object(expression: $expr)"`
		} `graphql:"repository(owner: $owner, name: $name)"`
	}
	vars := map[string]any{
		"owner": githubv4.String(owner), "name": githubv4.String(name),
		"ref":  githubv4.String("refs/heads/" + branch),
		"expr": githubv4.String(hintSHA + ":" + cr.folder()),
	}
	if err := gql.Query(ctx, &q, vars); err != nil {
		return orchestrator.Snapshot{}, fmt.Errorf("read %s of %s at %s: %w", cr.SpecPath, cr.FullName, hintSHA, err)
	}
	if q.Repository.Ref == nil {
		return orchestrator.Snapshot{}, fmt.Errorf("branch %s of %s does not exist", branch, cr.FullName)
	}
	head := string(q.Repository.Ref.Target.Oid)
	if head == hintSHA {
		return q.Repository.Folder.snapshot(cr.FullName, head, cr.folder()), nil
	}
	vars["expr"] = githubv4.String(head + ":" + cr.folder())
	if err := gql.Query(ctx, &q, vars); err != nil {
		return orchestrator.Snapshot{}, fmt.Errorf("read %s of %s at %s: %w", cr.SpecPath, cr.FullName, head, err)
	}
	return q.Repository.Folder.snapshot(cr.FullName, head, cr.folder()), nil
}
