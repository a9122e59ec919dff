package spec

import (
	"slices"
	"strings"
	"testing"
)

// TestPositions pins exact positions in the cases that are easy to get
// wrong: values inside flow collections, block and folded scalars, aliases,
// non-ASCII text, and missing keys.
func TestPositions(t *testing.T) {
	const head = "version: 1\nname: x\ntargets: {query: 'org:a'}\n"
	tests := []struct {
		name, src string
		want      []string
	}{
		{
			"alias points at its use",
			head + "steps:\n- &s {name: a, run: b}\n- *s\npullRequest: {title: t}\n",
			[]string{`x.yaml:6:3: duplicate step name "a" (first at line 5)`},
		},
		{
			"literal block, indented line",
			head + "steps: [{name: a, run: b}]\npullRequest:\n  title: x\n  body: |\n    one\n      two {{ .Campaign.Nme }}\n",
			[]string{"x.yaml:9:14: unknown template field .Campaign.Nme (did you mean .Campaign.Name?)"},
		},
		{
			"folded block",
			head + "steps: [{name: a, run: b}]\npullRequest:\n  title: x\n  body: >\n    one\n    {{ if }}\n",
			[]string{"x.yaml:9:5: invalid template: missing value for if"},
		},
		{
			"non-ASCII before the value",
			head + "steps: [{name: a, run: b}]\npullRequest: {title: \"é {{ .X }}\"}\n",
			[]string{"x.yaml:5:28: unknown template field .X (available: .Repository, .Repository.Owner, .Repository.Name, .Repository.FullName, .Repository.DefaultBranch, .Repository.URL, .Campaign, .Campaign.ID, .Campaign.Name, .Campaign.Description, .Campaign.SpecVersion, .Campaign.URL)"},
		},
		{
			"query term inside a double-quoted scalar",
			"version: 1\nname: x\ntargets:\n  query: \"org:a  langauge:Go\"\nsteps: [{name: a, run: b}]\npullRequest: {title: t}\n",
			[]string{"x.yaml:4:18: unknown search qualifier `langauge:` (did you mean `language:`?)"},
		},
		{
			"missing key in a list item is reported at the item",
			head + "steps:\n  - name: a\n  - run: b\npullRequest: {title: t}\n",
			[]string{"x.yaml:5:5: missing required key `run`", "x.yaml:6:5: missing required key `name`"},
		},
		{
			"wrong type in a flow sequence",
			head + "steps: [{name: a, run: b}]\npullRequest: {title: t, labels: [a, [b]]}\n",
			[]string{"x.yaml:5:37: expected a string, got a list"},
		},
		{
			"a misspelt key does not hide the real one",
			"version: 1\nnmae: x\nname: Bad_Name\ntargets: {query: 'org:a'}\nsteps: [{name: a, run: b}]\npullRequest: {title: t}\n",
			[]string{
				"x.yaml:2:1: unknown key `nmae` (did you mean `name`?)",
				`x.yaml:3:7: invalid name "Bad_Name": use 1-63 lowercase letters, digits and hyphens, starting and ending with a letter or digit (like bump-go-1-26)`,
			},
		},
		{
			"integer out of range",
			head + "steps: [{name: a, run: b}]\npullRequest: {title: t}\nrollout: {maxOpenPRs: 99999999999}\n",
			[]string{"x.yaml:6:23: integer 99999999999 is out of range"},
		},
		{
			"null step",
			head + "steps: [~]\npullRequest: {title: t}\n",
			[]string{"x.yaml:4:9: missing required key `name`", "x.yaml:4:9: missing required key `run`"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, diags := Parse("x.yaml", []byte(tt.src))
			if got := diags.Strings(); !slices.Equal(got, tt.want) {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}
