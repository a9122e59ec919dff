package artifacts_test

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/campaignbot/campaignbot/runner"
	"github.com/campaignbot/campaignbot/runner/artifacts"
)

func sampleResult() *runner.Result {
	binary := make([]byte, 4096)
	for i := range binary {
		binary[i] = byte(255 - i%256)
	}
	return &runner.Result{
		Changed: []runner.FileChange{
			{Path: "bin/tool", Mode: runner.ModeExecutable, OldMode: runner.ModeFile, Content: []byte("#!/bin/sh\necho hi\n")},
			{Path: "go.mod", Mode: runner.ModeFile, OldMode: runner.ModeFile, Content: []byte("module x\n\ngo 1.26\n")},
			{Path: "img/logo.png", Mode: runner.ModeFile, Content: binary},
			{Path: "latin1.txt", Mode: runner.ModeFile, Content: []byte("caf\xe9\n")},
			{Path: "link", Mode: runner.ModeSymlink, Content: []byte("go.mod")},
		},
		Deleted:   []string{"old/file.txt"},
		Diff:      "diff --git a/latin1.txt b/latin1.txt\n+caf\xe9\n",
		PatchHash: "5e0c",
		BaseSHA:   "0123456789abcdef0123456789abcdef01234567",
		Logs: []runner.StepLog{
			{Name: "bump", ExitCode: 0, Duration: 1500 * time.Millisecond, Output: "ok \xff\n", Truncated: true},
		},
	}
}

func TestResultRoundTrip(t *testing.T) {
	for name, res := range map[string]*runner.Result{
		"change":     sampleResult(),
		"no changes": {NoChanges: true, BaseSHA: "abc", Logs: []runner.StepLog{{Name: "s", ExitCode: 0}}},
		"empty":      {},
	} {
		t.Run(name, func(t *testing.T) {
			b, err := artifacts.EncodeResult(res)
			if err != nil {
				t.Fatal(err)
			}
			got, err := artifacts.DecodeResult(bytes.NewReader(b), int64(len(b)))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(normalise(got), normalise(res)) {
				t.Fatalf("round trip changed the result:\n got %+v\nwant %+v", got, res)
			}
		})
	}
}

// normalise maps nil and empty slices alike: JSON does not keep the
// difference and nothing depends on it.
func normalise(r *runner.Result) runner.Result {
	c := *r
	if len(c.Changed) == 0 {
		c.Changed = nil
	}
	if len(c.Deleted) == 0 {
		c.Deleted = nil
	}
	if len(c.Logs) == 0 {
		c.Logs = nil
	}
	for i := range c.Changed {
		if len(c.Changed[i].Content) == 0 {
			c.Changed[i].Content = nil
		}
	}
	return c
}

func TestDecodeResultRefuses(t *testing.T) {
	good, err := artifacts.EncodeResult(sampleResult())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		input string
		max   int64
		want  error
	}{
		{"one byte over the limit", string(good), int64(len(good)) - 1, artifacts.ErrResultTooLarge},
		{"unbounded stream", strings.Repeat(" ", 1<<20), 1024, artifacts.ErrResultTooLarge},
		{"not JSON", "PK\x03\x04", 1024, nil},
		{"trailing data", string(good) + "{}", 1 << 20, nil},
		{"other format", `{"format":"campaignbot.result/v2"}`, 1024, nil},
		{"no format", `{}`, 1024, nil},
		{"absolute path", `{"format":"campaignbot.result/v1","changed":[{"path":"/etc/passwd","mode":"100644"}]}`, 1024, nil},
		{"parent path", `{"format":"campaignbot.result/v1","changed":[{"path":"../x","mode":"100644"}]}`, 1024, nil},
		{"unclean path", `{"format":"campaignbot.result/v1","changed":[{"path":"a//b","mode":"100644"}]}`, 1024, nil},
		{"path in .git", `{"format":"campaignbot.result/v1","changed":[{"path":".GIT/hooks/pre-commit","mode":"100755"}]}`, 1024, nil},
		{"deleted outside", `{"format":"campaignbot.result/v1","deleted":["../../x"]}`, 1024, nil},
		{"unknown mode", `{"format":"campaignbot.result/v1","changed":[{"path":"a","mode":"040000"}]}`, 1024, nil},
		{"no changes with changes", `{"format":"campaignbot.result/v1","no_changes":true,"deleted":["a"]}`, 1024, nil},
		{"zero limit", `{"format":"campaignbot.result/v1"}`, 0, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := artifacts.DecodeResult(strings.NewReader(tc.input), tc.max)
			if err == nil {
				t.Fatal("decoded")
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestEncodeResultRefuses(t *testing.T) {
	for name, res := range map[string]*runner.Result{
		"nil":          nil,
		"bad mode":     {Changed: []runner.FileChange{{Path: "a", Mode: "777"}}},
		"non-UTF-8":    {Changed: []runner.FileChange{{Path: "caf\xe9", Mode: runner.ModeFile}}},
		"dot-dot path": {Deleted: []string{"a/../../b"}},
	} {
		if _, err := artifacts.EncodeResult(res); err == nil {
			t.Errorf("%s: encoded", name)
		}
	}
}
