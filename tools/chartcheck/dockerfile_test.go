package chartcheck

import (
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// instruction is one Dockerfile instruction with its continuation lines joined.
type instruction struct {
	cmd  string // upper case
	args string
}

// stage is a FROM and what follows it.
type stage struct {
	base, name string
	body       []instruction
}

func parseDockerfile(t *testing.T, text string) []stage {
	t.Helper()
	var (
		stages []stage
		buf    string
	)
	flush := func() {
		line := strings.TrimSpace(buf)
		buf = ""
		if line == "" {
			return
		}
		cmd, args, _ := strings.Cut(line, " ")
		in := instruction{cmd: strings.ToUpper(cmd), args: strings.TrimSpace(args)}
		if in.cmd == "FROM" {
			f := strings.Fields(in.args)
			var s stage
			for i := 0; i < len(f); i++ {
				switch {
				case strings.HasPrefix(f[i], "--"):
				case strings.EqualFold(f[i], "AS") && i+1 < len(f):
					s.name = f[i+1]
					i++
				case s.base == "":
					s.base = f[i]
				}
			}
			stages = append(stages, s)
			return
		}
		if len(stages) == 0 {
			if in.cmd != "ARG" {
				t.Fatalf("Dockerfile: %s before the first FROM", in.cmd)
			}
			return
		}
		stages[len(stages)-1].body = append(stages[len(stages)-1].body, in)
	}
	for _, l := range strings.Split(text, "\n") {
		trimmed := strings.TrimSpace(l)
		if strings.HasPrefix(trimmed, "#") && buf == "" {
			continue
		}
		if strings.HasSuffix(trimmed, "\\") {
			buf += strings.TrimSpace(strings.TrimSuffix(trimmed, "\\")) + " "
			continue
		}
		buf += trimmed
		flush()
	}
	flush()
	return stages
}

// TestDockerfile checks the image's properties that matter for the chart
// and docs/security.md: a static build, and every image stage running as
// a numeric non-root user with the binary as its entrypoint; the default
// (last) stage on a distroless base that has git for the Jobs' agent.
func TestDockerfile(t *testing.T) {
	stages := parseDockerfile(t, string(readFile(t, filepath.Join(repoRoot, "Dockerfile"))))
	if len(stages) < 2 {
		t.Fatalf("want a multi-stage build, got %d stage(s)", len(stages))
	}
	build := stages[0]
	if !strings.HasPrefix(build.base, "golang:") {
		t.Errorf("first stage %s is not the Go build", build.base)
	}
	var goBuild string
	for _, in := range build.body {
		if in.cmd == "RUN" && strings.Contains(in.args, "go build") {
			goBuild = in.args
		}
	}
	for _, want := range []string{"CGO_ENABLED=0", "-trimpath", "./cmd/campaignbot", "app.Version="} {
		if !strings.Contains(goBuild, want) {
			t.Errorf("go build %q lacks %s", goBuild, want)
		}
	}
	runtime := stages[len(stages)-1]
	if runtime.name != "runtime" {
		t.Errorf("the default (last) stage is %q, want runtime", runtime.name)
	}
	distroless := regexp.MustCompile(`^(cgr\.dev/chainguard/|gcr\.io/distroless/|scratch$)`)
	if !distroless.MatchString(runtime.base) || !strings.Contains(runtime.base, "git") {
		t.Errorf("runtime base %s: want a distroless image with git (the agent clones)", runtime.base)
	}
	for _, s := range stages[1:] {
		var user, entry string
		var copied bool
		for _, in := range s.body {
			switch in.cmd {
			case "USER":
				user = in.args
			case "ENTRYPOINT":
				entry = in.args
			case "COPY":
				copied = copied || strings.Contains(in.args, "--from="+build.name)
			}
		}
		uid, _, _ := strings.Cut(user, ":")
		if n, err := strconv.Atoi(uid); err != nil || n == 0 {
			t.Errorf("stage %s: USER %q is not a numeric non-root uid (runAsNonRoot needs one)", s.name, user)
		}
		if entry != `["/usr/local/bin/campaignbot"]` || !copied {
			t.Errorf("stage %s: entrypoint %s, binary copied from the build %v", s.name, entry, copied)
		}
	}
	ignore := string(readFile(t, filepath.Join(repoRoot, ".dockerignore")))
	for _, want := range []string{".git", "bin"} {
		if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(want) + `$`).MatchString(ignore) {
			t.Errorf(".dockerignore does not leave out %s", want)
		}
	}
}

// TestParseDockerfile pins the parser on the shapes it must understand.
func TestParseDockerfile(t *testing.T) {
	got := parseDockerfile(t, "ARG V=1\n# c\nFROM --platform=$BUILDPLATFORM golang:${V} AS build\nRUN a \\\n  b\nFROM scratch\nUSER 1:1\n")
	if len(got) != 2 || got[0].name != "build" || got[0].base != "golang:${V}" || got[1].base != "scratch" ||
		got[0].body[0].args != "a b" || got[1].body[0].cmd != "USER" {
		t.Errorf("parsed %+v", got)
	}
}
