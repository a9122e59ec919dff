// Package chatops is the `/campaign` command language: parsing comments
// into commands (in one place, fuzzed: no input panics), and the rules of
// who may run what.
package chatops

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
)

// Command is one parsed `/campaign` line.
type Command struct {
	Name string   // help, plan, approve, pause, resume, retry, cancel, status, skip, rebase, snooze, freeze, unfreeze
	Args []string // positional arguments
	Yes  bool     // --yes given
	// Line is the 1-based line of the comment the command was on.
	Line int
	// Raw is the command line as written.
	Raw string
}

// ParseError is a command line that could not be understood; the reply
// quotes it.
type ParseError struct {
	Line    int
	Raw     string
	Message string
}

func (e *ParseError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Message) }

// spec of each command: how many positional arguments, which flags.
type grammar struct {
	minArgs, maxArgs int
	flags            []string
	usage            string
}

var commands = map[string]grammar{
	"help":     {0, 0, nil, "/campaign help"},
	"plan":     {0, 1, nil, "/campaign plan [name]"},
	"approve":  {0, 1, nil, "/campaign approve [name]"},
	"pause":    {0, 1, nil, "/campaign pause [name]"},
	"resume":   {0, 1, nil, "/campaign resume [name]"},
	"retry":    {0, 2, nil, "/campaign retry [name] [owner/repo|failed]"},
	"cancel":   {0, 1, []string{"yes"}, "/campaign cancel [name] --yes"},
	"status":   {0, 1, nil, "/campaign status [name]"},
	"skip":     {0, 0, nil, "/campaign skip"},
	"rebase":   {0, 0, nil, "/campaign rebase"},
	"snooze":   {1, 1, nil, "/campaign snooze <duration, e.g. 7d or 12h>"},
	"freeze":   {0, 0, nil, "/campaign freeze"},
	"unfreeze": {0, 0, nil, "/campaign unfreeze"},
}

// Commands returns the command names in a stable order (for help).
func Commands() []string {
	out := make([]string, 0, len(commands))
	for k := range commands {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// Usage returns a command's usage line.
func Usage(name string) string { return commands[name].usage }

// MaxCommands caps the commands run from one comment.
const MaxCommands = 10

// Parse finds every `/campaign` command in a comment body. A command must
// start a line (after optional spaces); lines inside fenced code blocks and
// quotes (">") are not commands. Commands come back in order; lines that
// start with /campaign but are malformed come back as errors, in order too.
func Parse(body string) ([]Command, []*ParseError) {
	var cmds []Command
	var errs []*ParseError
	inFence := false
	for i, line := range strings.Split(strings.ReplaceAll(body, "\r\n", "\n"), "\n") {
		trimmed := strings.TrimLeftFunc(line, unicode.IsSpace)
		if strings.HasPrefix(trimmed, "```") || strings.HasPrefix(trimmed, "~~~") {
			inFence = !inFence
			continue
		}
		if inFence || !strings.HasPrefix(trimmed, "/campaign") {
			continue
		}
		rest := trimmed[len("/campaign"):]
		if rest != "" && !unicode.IsSpace(rune(rest[0])) {
			continue // "/campaigns" or "/campaign-foo" is not our command
		}
		raw := strings.TrimRightFunc(trimmed, unicode.IsSpace)
		if len(cmds)+len(errs) >= MaxCommands {
			errs = append(errs, &ParseError{Line: i + 1, Raw: clip(raw), Message: fmt.Sprintf("at most %d commands per comment", MaxCommands)})
			break
		}
		cmd, err := parseLine(rest)
		if err != nil {
			errs = append(errs, &ParseError{Line: i + 1, Raw: clip(raw), Message: err.Error()})
			continue
		}
		cmd.Line, cmd.Raw = i+1, clip(raw)
		cmds = append(cmds, cmd)
	}
	return cmds, errs
}

func clip(s string) string {
	if len(s) > 200 {
		return s[:200] + "…"
	}
	return s
}

func parseLine(rest string) (Command, error) {
	words, err := split(rest)
	if err != nil {
		return Command{}, err
	}
	if len(words) == 0 {
		return Command{Name: "help"}, nil
	}
	name := strings.ToLower(words[0])
	g, ok := commands[name]
	if !ok {
		return Command{}, fmt.Errorf("unknown command %q", clip(words[0]))
	}
	cmd := Command{Name: name}
	for _, w := range words[1:] {
		if strings.HasPrefix(w, "--") {
			flag := strings.ToLower(strings.TrimPrefix(w, "--"))
			if !slices.Contains(g.flags, flag) {
				return Command{}, fmt.Errorf("unknown flag %q for %s (usage: %s)", clip(w), name, g.usage)
			}
			cmd.Yes = true
			continue
		}
		cmd.Args = append(cmd.Args, w)
	}
	if len(cmd.Args) < g.minArgs || len(cmd.Args) > g.maxArgs {
		return Command{}, fmt.Errorf("wrong number of arguments (usage: %s)", g.usage)
	}
	if name == "snooze" {
		if _, err := ParseSnooze(cmd.Args[0]); err != nil {
			return Command{}, err
		}
	}
	return cmd, nil
}

// split breaks a command line into words: spaces separate, '…' and "…"
// quote (no shell expansion of any kind happens, ever), backslash escapes
// the next character outside single quotes.
func split(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	var quote rune
	escaped := false
	for _, r := range s {
		switch {
		case escaped:
			cur.WriteRune(r)
			escaped = false
		case r == '\\' && quote != '\'':
			escaped, inWord = true, true
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case r == '\'' || r == '"':
			quote, inWord = r, true
		case unicode.IsSpace(r):
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unterminated %c quote", quote)
	}
	if escaped {
		return nil, fmt.Errorf("trailing backslash")
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

// RetryArgs splits `retry`'s arguments into the campaign name and what to
// retry: "failed" (every failed repository, also when left out) or one
// owner/repo. A lone argument is the target when it is "failed" or holds
// a slash (campaign names cannot), else the name.
func RetryArgs(args []string) (name, target string) {
	switch len(args) {
	case 0:
		return "", "failed"
	case 1:
		if strings.EqualFold(args[0], "failed") {
			return "", "failed"
		}
		if strings.Contains(args[0], "/") {
			return "", args[0]
		}
		return args[0], "failed"
	default:
		if strings.EqualFold(args[1], "failed") {
			return args[0], "failed"
		}
		return args[0], args[1]
	}
}

// ParseSnooze reads durations like 7d, 12h, 90m (at most 90 days).
func ParseSnooze(s string) (time.Duration, error) {
	var d time.Duration
	if n, ok := strings.CutSuffix(s, "d"); ok {
		var days int
		if _, err := fmt.Sscanf(n, "%d", &days); err != nil || fmt.Sprint(days) != n {
			return 0, fmt.Errorf("snooze duration %q: use e.g. 7d, 12h or 90m", clip(s))
		}
		d = time.Duration(days) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, fmt.Errorf("snooze duration %q: use e.g. 7d, 12h or 90m", clip(s))
		}
	}
	if d <= 0 || d > 90*24*time.Hour {
		return 0, fmt.Errorf("snooze duration %q must be between 1m and 90d", clip(s))
	}
	return d, nil
}
