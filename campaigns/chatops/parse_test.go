package chatops

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		want       []string // "name arg1 arg2 [yes]"
		errs       []string
	}{
		{"approve", "/campaign approve bump-go", []string{"approve bump-go"}, nil},
		{"bare is help", "/campaign", []string{"help"}, nil},
		{"leading spaces and case", "  /campaign APPROVE", []string{"approve"}, nil},
		{"must start a line", "please /campaign approve", nil, nil},
		{"not our command", "/campaigns approve\n/campaign-x", nil, nil},
		{"several in order", "LGTM\n/campaign pause a\n/campaign resume a", []string{"pause a", "resume a"}, nil},
		{"quoted", `/campaign retry "my name" 'octo-org/api'`, []string{"retry my name octo-org/api"}, nil},
		{"shell metacharacters are plain text", "/campaign approve '$(rm -rf /);`x`|y'", []string{"approve $(rm -rf /);`x`|y"}, nil},
		{"cancel needs yes flag to be set", "/campaign cancel x --yes", []string{"cancel x yes"}, nil},
		{"unknown flag", "/campaign approve x --force", nil, []string{`line 1: unknown flag "--force"`}},
		{"unknown command", "/campaign destroy", nil, []string{`line 1: unknown command "destroy"`}},
		{"too many args", "/campaign approve a b", nil, []string{"wrong number of arguments"}},
		{"unterminated quote", `/campaign approve "x`, nil, []string{"unterminated \" quote"}},
		{"snooze", "/campaign snooze 7d", []string{"snooze 7d"}, nil},
		{"bad snooze", "/campaign snooze forever", nil, []string{"snooze duration"}},
		{"fenced code is not a command", "```\n/campaign approve\n```\n/campaign status", []string{"status"}, nil},
		{"crlf", "/campaign pause\r\n/campaign resume\r\n", []string{"pause", "resume"}, nil},
		{"good and bad mixed", "/campaign nope\n/campaign help", []string{"help"}, []string{"line 1: unknown command"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmds, errs := Parse(tc.body)
			var got []string
			for _, c := range cmds {
				s := strings.Join(append([]string{c.Name}, c.Args...), " ")
				if c.Yes {
					s += " yes"
				}
				got = append(got, s)
			}
			if strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Errorf("commands = %q, want %q", got, tc.want)
			}
			if len(errs) != len(tc.errs) {
				t.Fatalf("errors = %v, want %v", errs, tc.errs)
			}
			for i, e := range errs {
				if !strings.Contains(e.Error(), tc.errs[i]) {
					t.Errorf("error %q lacks %q", e.Error(), tc.errs[i])
				}
			}
		})
	}
}

func TestParseCapsCommandsAndHugeBodies(t *testing.T) {
	body := strings.Repeat("/campaign status\n", 50) + strings.Repeat("x", 65<<10)
	cmds, errs := Parse(body)
	if len(cmds) != MaxCommands || len(errs) != 1 {
		t.Fatalf("%d commands, %d errors", len(cmds), len(errs))
	}
}

func TestParseSnooze(t *testing.T) {
	for in, want := range map[string]time.Duration{"7d": 7 * 24 * time.Hour, "12h": 12 * time.Hour, "90m": 90 * time.Minute} {
		if got, err := ParseSnooze(in); err != nil || got != want {
			t.Errorf("%s = %v, %v", in, got, err)
		}
	}
	for _, bad := range []string{"0d", "-1h", "91d", "7 d", "d", "1e9d", "07d"} {
		if _, err := ParseSnooze(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"/campaign approve x", "/campaign retry 'a b' \"c\\\"d\"", "```\n/campaign\n", "/campaign snooze 7d --yes", "/campaign \\"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		cmds, errs := Parse(body)
		if len(cmds)+len(errs) > MaxCommands+1 {
			t.Fatalf("%d results", len(cmds)+len(errs))
		}
		for _, c := range cmds {
			if _, ok := commands[c.Name]; !ok {
				t.Fatalf("unknown command %q parsed", c.Name)
			}
			if utf8.ValidString(body) && !utf8.ValidString(c.Raw) && len(c.Raw) < 200 {
				t.Fatalf("raw line not valid UTF-8: %q", c.Raw)
			}
		}
	})
}

func TestRetryArgs(t *testing.T) {
	for _, tc := range []struct {
		args         []string
		name, target string
	}{
		{nil, "", "failed"},
		{[]string{"FAILED"}, "", "failed"},
		{[]string{"octo-org/Api"}, "", "octo-org/Api"},
		{[]string{"bump-go"}, "bump-go", "failed"},
		{[]string{"bump-go", "failed"}, "bump-go", "failed"},
		{[]string{"bump-go", "octo-org/api"}, "bump-go", "octo-org/api"},
	} {
		if n, tg := RetryArgs(tc.args); n != tc.name || tg != tc.target {
			t.Errorf("RetryArgs(%q) = %q, %q; want %q, %q", tc.args, n, tg, tc.name, tc.target)
		}
	}
}
