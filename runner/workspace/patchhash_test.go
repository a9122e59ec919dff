package workspace

import (
	"testing"

	"github.com/campaignbot/campaignbot/runner"
)

func TestPatchHash(t *testing.T) {
	a := runner.FileChange{Path: "a", Mode: runner.ModeFile, Content: []byte("x")}
	b := runner.FileChange{Path: "b", Mode: runner.ModeFile, Content: []byte("y")}
	base := PatchHash([]runner.FileChange{a, b}, []string{"c", "d"})
	if got := PatchHash([]runner.FileChange{b, a}, []string{"d", "c"}); got != base {
		t.Error("the hash depends on the order of files")
	}
	aExec := a
	aExec.Mode = runner.ModeExecutable
	aOld := a
	aOld.OldMode = runner.ModeExecutable // where it came from is not the change
	different := map[string][2][]runner.FileChange{
		"mode":    {{aExec, b}},
		"content": {{{Path: "a", Mode: runner.ModeFile, Content: []byte("z")}, b}},
		"path":    {{{Path: "A", Mode: runner.ModeFile, Content: []byte("x")}, b}},
	}
	for name, c := range different {
		if PatchHash(c[0], []string{"c", "d"}) == base {
			t.Errorf("a different %s gives the same hash", name)
		}
	}
	if PatchHash([]runner.FileChange{a, b}, []string{"c"}) == base {
		t.Error("a different deletion gives the same hash")
	}
	if PatchHash([]runner.FileChange{aOld, b}, []string{"c", "d"}) != base {
		t.Error("OldMode must not change the hash")
	}
	// Deleting "a" is not the same as writing an empty "a".
	if PatchHash(nil, []string{"a"}) == PatchHash([]runner.FileChange{{Path: "a", Mode: runner.ModeFile}}, nil) {
		t.Error("deletion and empty file collide")
	}
}
