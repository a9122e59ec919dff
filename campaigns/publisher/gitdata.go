package publisher

import (
	"bytes"
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/campaignbot/campaignbot/runner"
	"github.com/google/go-github/v74/github"
)

// gitDataCommit writes the change with the Git Data API: a blob for each
// distinct binary content (text goes inline in the tree request, which
// saves a request per file), one tree on the base commit's tree, one
// commit whose parent is the base commit, and the ref. Author and
// committer are left unset so GitHub makes and signs the commit itself
// (verified).
func (a *attempt) gitDataCommit(ctx context.Context, lk *lookup, pl *plan, message string) (string, error) {
	in := a.in
	owner, name, _ := strings.Cut(in.Repository, "/")
	git := a.gh.REST().Git
	blobs := map[[32]byte]string{}
	var entries []*github.TreeEntry
	for _, c := range in.Result.Changed {
		mode := string(c.Mode)
		if mode == "" {
			mode = string(runner.ModeFile)
		}
		e := &github.TreeEntry{Path: github.Ptr(c.Path), Mode: github.Ptr(mode), Type: github.Ptr("blob")}
		if !needsBlob(c.Content) {
			e.Content = github.Ptr(string(c.Content))
		} else {
			key := sha256.Sum256(c.Content)
			sha, ok := blobs[key]
			if known := lk.BaseBlobs[c.Path]; !ok && known == gitBlobID(c.Content) {
				sha, ok = known, true
			}
			if !ok {
				if a.crash("POST git/blobs") {
					return "", errCrash
				}
				a.count("POST git/blobs")
				b, resp, err := git.CreateBlob(ctx, owner, name, &github.Blob{
					Content: github.Ptr(base64.StdEncoding.EncodeToString(c.Content)), Encoding: github.Ptr("base64")})
				if err := classifyREST("create blob "+c.Path, resp, err); err != nil {
					return "", err
				}
				sha = b.GetSHA()
				blobs[key] = sha
			}
			e.SHA = github.Ptr(sha)
		}
		entries = append(entries, e)
	}
	for _, d := range in.Result.Deleted {
		// No sha and no content: go-github sends "sha": null, a deletion.
		entries = append(entries, &github.TreeEntry{Path: github.Ptr(d), Mode: github.Ptr(string(runner.ModeFile)), Type: github.Ptr("blob")})
	}
	if a.crash("POST git/trees") {
		return "", errCrash
	}
	a.count("POST git/trees")
	tree, resp, err := git.CreateTree(ctx, owner, name, lk.BaseTree, entries)
	if err := classifyREST("create tree", resp, err); err != nil {
		return "", err
	}
	if a.crash("POST git/commits") {
		return "", errCrash
	}
	a.count("POST git/commits")
	commit, resp, err := git.CreateCommit(ctx, owner, name, &github.Commit{Message: github.Ptr(message),
		Tree: &github.Tree{SHA: tree.SHA}, Parents: []*github.Commit{{SHA: github.Ptr(in.Result.BaseSHA)}}}, nil)
	if err := classifyREST("create commit", resp, err); err != nil {
		return "", err
	}
	ref := &github.Reference{Ref: github.Ptr("refs/heads/" + pl.branch), Object: &github.GitObject{SHA: commit.SHA}}
	if pl.refExists {
		if a.crash("PATCH git/refs") {
			return "", errCrash
		}
		a.count("PATCH git/refs")
		// Forced: the branch is always base + one commit, so a new patch
		// replaces the old commit rather than stacking on it.
		_, resp, err = git.UpdateRef(ctx, owner, name, ref, true)
		err = classifyREST("update ref", resp, err)
	} else {
		if a.crash("POST git/refs") {
			return "", errCrash
		}
		a.count("POST git/refs")
		_, resp, err = git.CreateRef(ctx, owner, name, ref)
		err = classifyREST("create ref", resp, err)
	}
	if ge, ok := err.(*GitHubError); ok && ge.Status == 422 {
		// The ref appeared or vanished since the Lookup: start over.
		return "", &conflictErr{ge}
	}
	if err != nil {
		return "", err
	}
	return commit.GetSHA(), nil
}

// conflictErr is a REST refusal that means a lost race: it is errConflict
// and keeps GitHub's words.
type conflictErr struct{ err error }

func (e *conflictErr) Error() string   { return e.err.Error() + ": " + errConflict.Error() }
func (e *conflictErr) Unwrap() []error { return []error{e.err, errConflict} }

// needsBlob says content cannot go inline in a tree request: the inline
// field is a JSON string (not binary-safe), and an empty one is dropped by
// go-github, which would turn the entry into a deletion.
func needsBlob(b []byte) bool {
	return len(b) == 0 || !utf8.Valid(b) || bytes.IndexByte(b, 0) >= 0
}

// gitBlobID is git's (SHA-1) object id of a blob with content b.
func gitBlobID(b []byte) string {
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", len(b))
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil))
}

// dedupeBinary returns the distinct contents that need a blob: binary
// content GitHub does not have at that path in the base (baseBlobs).
func dedupeBinary(changed []runner.FileChange, baseBlobs map[string]string) [][]byte {
	seen := map[[32]byte]bool{}
	var out [][]byte
	for _, c := range changed {
		if !needsBlob(c.Content) || baseBlobs[c.Path] != "" && baseBlobs[c.Path] == gitBlobID(c.Content) {
			continue
		}
		k := sha256.Sum256(c.Content)
		if !seen[k] {
			seen[k] = true
			out = append(out, c.Content)
		}
	}
	return out
}

func reviewersRequest(pl *plan) github.ReviewersRequest {
	return github.ReviewersRequest{Reviewers: pl.restUsers, TeamReviewers: pl.restTeams}
}
