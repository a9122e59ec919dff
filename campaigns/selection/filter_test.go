package selection

import (
	"testing"

	"github.com/campaignbot/campaignbot/campaigns/spec"
)

func TestExclusionReason(t *testing.T) {
	mk := func(name string, edit func(*node)) node {
		n := node{repoFields: repoFields{NameWithOwner: name}}
		n.DefaultBranchRef = &struct {
			Name   string
			Target *struct{ Oid string }
		}{Name: "main", Target: &struct{ Oid string }{Oid: "abc"}}
		n.RepositoryTopics.Nodes = append(n.RepositoryTopics.Nodes, struct{ Topic struct{ Name string } }{Topic: struct{ Name string }{Name: "Go"}})
		if edit != nil {
			edit(&n)
		}
		return n
	}
	tg := spec.Targets{Exclude: []string{"o/skip-*", "O/LEGACY"}, Require: spec.Require{Topics: []string{"go", "svc"}}}
	tests := []struct {
		name  string
		n     node
		forks bool
		want  string
	}{
		{"pattern beats archived", mk("o/skip-me", func(n *node) { n.IsArchived = true }), false, "excluded by pattern o/skip-*"},
		{"pattern case-insensitive", mk("o/legacy", nil), false, "excluded by pattern O/LEGACY"},
		{"archived", mk("o/a", func(n *node) { n.IsArchived = true }), true, ReasonArchived},
		{"fork", mk("o/a", func(n *node) { n.IsFork = true }), false, ReasonFork},
		{"fork wanted", mk("o/a", func(n *node) { n.IsFork = true }), true, "missing topic svc"},
		{"empty", mk("o/a", func(n *node) { n.DefaultBranchRef = nil }), false, ReasonEmpty},
		{"one file", mk("o/a", func(n *node) { n.missing = []string{"go.mod"} }), false, "missing file go.mod"},
		{"files", mk("o/a", func(n *node) { n.missing = []string{"go.mod", "go.sum"} }), false, "missing files go.mod, go.sum"},
		{"topic", mk("o/a", nil), false, "missing topic svc"},
	}
	for _, tt := range tests {
		if got := exclusionReason(tt.n, tg, tt.forks); got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
	}
	ok := mk("o/a", func(n *node) {
		n.RepositoryTopics.Nodes = append(n.RepositoryTopics.Nodes, struct{ Topic struct{ Name string } }{Topic: struct{ Name string }{Name: "svc"}})
	})
	if got := exclusionReason(ok, tg, false); got != "" {
		t.Errorf("selected repository excluded: %q", got)
	}
}

func TestGraphQLMessages(t *testing.T) {
	if _, ok := graphQLMessages(errString("boom")); ok {
		t.Error("plain error read as GraphQL errors")
	}
	if _, ok := graphQLMessages(nil); ok {
		t.Error("nil read as GraphQL errors")
	}
	msgs, ok := graphQLMessages(gqlErrs{{Message: "a"}, {Message: "b"}})
	if !ok || len(msgs) != 2 || msgs[1] != "b" {
		t.Errorf("messages = %q %v", msgs, ok)
	}
}

type errString string

func (e errString) Error() string { return string(e) }

type gqlErrs []struct{ Message string }

func (e gqlErrs) Error() string { return e[0].Message }
