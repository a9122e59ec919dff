package selection

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/shurcooL/githubv4"
)

// githubv4 builds a document from struct tags, so documents whose aliases
// depend on the input (one alias per repository, per search part, per
// required file) are built as struct types with reflect.StructOf.

// repoFields are the Repository fields every selected repository needs.
// Search returns the same type, so they are fetched with the search page.
type repoFields struct {
	ID               string `graphql:"id"`
	DatabaseID       int64  `graphql:"databaseId"`
	NameWithOwner    string
	IsArchived       bool
	IsFork           bool
	IsPrivate        bool
	DefaultBranchRef *struct {
		Name   string
		Target *struct {
			Oid string
		}
	}
	PrimaryLanguage *struct {
		Name string
	}
	// GitHub allows at most 20 topics per repository.
	RepositoryTopics struct {
		Nodes []struct {
			Topic struct {
				Name string
			}
		}
	} `graphql:"repositoryTopics(first: 20)"`
}

// fileProbe is what object(expression:) is asked for: only whether it
// exists (null when the path is missing).
type fileProbe struct {
	Typename string `graphql:"__typename"`
}

var (
	repoFieldsType = reflect.TypeOf(repoFields{})
	fileProbeType  = reflect.TypeOf(&fileProbe{})
	pageInfoType   = reflect.TypeOf(struct {
		EndCursor   string
		HasNextPage bool
	}{})
	repoFragmentTag = reflect.StructTag(`graphql:"... on Repository"`)
)

// fileVar is the variable holding the expression of required file i.
func fileVar(i int) string { return fmt.Sprintf("e%d", i) }

// nodeType is a Repository selection: repoFields plus one object alias per
// required file (f0, f1, ...). Both are inline fragments on Repository so
// the same type serves search nodes (a union) and repository fields.
func nodeType(files int) reflect.Type {
	fields := []reflect.StructField{{Name: "Repo", Type: repoFieldsType, Tag: repoFragmentTag}}
	if files > 0 {
		probes := make([]reflect.StructField, files)
		for i := range probes {
			probes[i] = reflect.StructField{Name: fmt.Sprintf("F%d", i), Type: fileProbeType,
				Tag: reflect.StructTag(fmt.Sprintf(`graphql:"f%d: object(expression: $%s)"`, i, fileVar(i)))}
		}
		fields = append(fields, reflect.StructField{Name: "Files", Type: reflect.StructOf(probes), Tag: repoFragmentTag})
	}
	return reflect.StructOf(fields)
}

// fileVariables declares the expressions of the required files. HEAD: is
// the default branch, which is what require.files is about.
func fileVariables(files []string, vars map[string]any) {
	for i, f := range files {
		vars[fileVar(i)] = githubv4.String("HEAD:" + f)
	}
}

// node is a decoded Repository selection.
type node struct {
	repoFields
	missing []string // required files that do not exist
}

// readNode decodes a value of a nodeType(len(files)) type. ok is false for
// a null repository or a search result that is not a Repository.
func readNode(v reflect.Value, files []string) (node, bool) {
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return node{}, false
		}
		v = v.Elem()
	}
	n := node{repoFields: v.Field(0).Interface().(repoFields)}
	if n.NameWithOwner == "" {
		return node{}, false
	}
	if len(files) > 0 {
		probes := v.Field(1)
		for i, f := range files {
			if probes.Field(i).IsNil() {
				n.missing = append(n.missing, f)
			}
		}
	}
	return n, true
}

// repository converts a decoded node into a Repository.
func (n node) repository() Repository {
	r := Repository{ID: n.DatabaseID, NodeID: n.ID, FullName: n.NameWithOwner, Private: n.IsPrivate}
	if b := n.DefaultBranchRef; b != nil {
		r.DefaultBranch = b.Name
		if b.Target != nil {
			r.HeadOID = b.Target.Oid
		}
	}
	if n.PrimaryLanguage != nil {
		r.Language = n.PrimaryLanguage.Name
	}
	for _, t := range n.RepositoryTopics.Nodes {
		r.Topics = append(r.Topics, strings.ToLower(t.Topic.Name))
	}
	return r
}
