package main

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

func TestRunCommands(t *testing.T) {
	good, _ := filepath.Glob("../../fixtures/specs/good/*.yaml")
	if len(good) < 5 {
		t.Fatalf("want at least 5 good specs, found %d", len(good))
	}
	for _, tc := range []struct {
		name     string
		args     []string
		env      map[string]string
		wantCode int
		wantOut  string
	}{
		{"no command", nil, nil, 2, "Commands:"},
		{"unknown command", []string{"frobnicate"}, nil, 2, `unknown command "frobnicate"`},
		{"version", []string{"version"}, nil, 0, "campaignbot"},
		{"validate good", append([]string{"ctl", "validate"}, good...), nil, 0, "spec file(s) valid"},
		{"validate bad", []string{"ctl", "validate", "../../fixtures/specs/bad/bad-duration.yaml"}, nil, 1, "bad-duration.yaml:8:14: invalid duration"},
		{"validate nothing", []string{"ctl", "validate"}, nil, 2, ""},
		{"server without settings", []string{"server"}, map[string]string{"GITHUB_APP_WEBHOOK_SECRET": ""}, 2, ""},
		// The sandbox refuses bad usage before it touches PostgreSQL, Redis or a port.
		{"sandbox with too few repositories", []string{"sandbox", "--repos", "0"}, nil, 2, "--repos must be between 1 and 5000"},
		{"sandbox with an argument", []string{"sandbox", "now"}, nil, 2, "sandbox takes no arguments"},
		{"sandbox with a missing spec", []string{"sandbox", "--spec", "../../fixtures/specs/none.yaml"}, nil, 2, "--spec: open ../../fixtures/specs/none.yaml"},
		{"sandbox with an invalid spec", []string{"sandbox", "--spec", "../../fixtures/specs/bad/bad-duration.yaml"}, nil, 2, "bad-duration.yaml:8:14: invalid duration"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			var out, errOut bytes.Buffer
			err := run(context.Background(), tc.args, &out, &errOut)
			code := 0
			if err != nil {
				code = 1
				var ee exitError
				if errors.As(err, &ee) {
					code = ee.code
				}
			}
			if code != tc.wantCode {
				t.Fatalf("exit %d, want %d (err %v)\nstdout: %s\nstderr: %s", code, tc.wantCode, err, out.String(), errOut.String())
			}
			all := out.String() + errOut.String()
			if err != nil {
				all += err.Error()
			}
			if !strings.Contains(all, tc.wantOut) {
				t.Fatalf("output lacks %q:\n%s", tc.wantOut, all)
			}
			if tc.name == "server without settings" && !strings.Contains(err.Error(), "GITHUB_APP_WEBHOOK_SECRET") {
				t.Fatalf("config error does not name the missing setting: %v", err)
			}
		})
	}
}
