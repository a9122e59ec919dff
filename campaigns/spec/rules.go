package spec

import (
	"fmt"
	"strings"
)

// crossField holds the rules that involve more than one value and so cannot
// be struct tags.
func (c *checker) crossField() {
	c.targets()
	c.stepNames()
	c.waves()
	c.titleOneLine()
}

// targets: a campaign needs somewhere to find repositories.
func (c *checker) targets() {
	t := c.spec.Targets
	if c.src.isBad("targets") || (!c.src.present("targets") && isZeroTargets(t)) {
		return // reported as a missing key or a decode error
	}
	if strings.TrimSpace(t.Query) == "" && len(t.Repositories) == 0 && !c.src.isBad("targets.repositories") {
		c.errorf("targets", "`targets` needs a `query` or a list of `repositories` (or both)")
	}
}

func isZeroTargets(t Targets) bool {
	return t.Query == "" && len(t.Repositories) == 0 && len(t.Exclude) == 0 &&
		len(t.Require.Files) == 0 && len(t.Require.Topics) == 0
}

// stepNames: names identify steps in logs and previews, so they are unique
// (ignoring case, as people read them).
func (c *checker) stepNames() {
	seen := map[string]string{}
	for i, st := range c.spec.Steps {
		p := fmt.Sprintf("steps[%d].name", i)
		if st.Name == "" || c.src.isBad(p) {
			continue
		}
		k := strings.ToLower(st.Name)
		if first, dup := seen[k]; dup {
			c.errorf(p, "duplicate step name %q (first at %s)", st.Name, c.lineOf(first))
			continue
		}
		seen[k] = p
	}
}

// waves: cumulative sizes, counts before percentages, strictly increasing.
// Counts and percentages cannot be compared until targets are resolved,
// hence the ordering rule.
func (c *checker) waves() {
	if c.src.isBad("rollout.waves") {
		return
	}
	var prev *Wave
	for i, w := range c.spec.Rollout.Waves {
		p := fmt.Sprintf("rollout.waves[%d]", i)
		if c.src.isBad(p) {
			prev = nil
			continue
		}
		switch {
		case w.Count != 0 && w.Percent != 0:
			c.errorf(p, "a wave is a count or a percentage, not both")
			continue
		case w.Count < 0 || (w.Count == 0 && w.Percent <= 0):
			c.errorf(p, "a wave must be greater than 0, got %s", w)
			continue
		case w.Percent > 100:
			c.errorf(p, "a wave cannot exceed 100%%, got %s", w)
			continue
		case prev != nil && prev.Count == 0 && w.Count != 0:
			c.errorf(p, "wave %s comes after the percentage %s: list counts (like 5) before percentages (like \"10%%\")", w, prev)
		case prev != nil && ((w.Count != 0 && w.Count <= prev.Count) || (w.Count == 0 && w.Percent <= prev.Percent)):
			c.errorf(p, "waves must be strictly increasing (each is a cumulative size): %s is not larger than %s", w, prev)
		}
		prev = &w
	}
}

// titleOneLine: GitHub titles are one line; a newline would be silently
// flattened, so say so when validating.
func (c *checker) titleOneLine() {
	const p = "pullRequest.title"
	title := c.spec.PullRequest.Title
	if title == "" || c.src.isBad(p) {
		return
	}
	if i := strings.IndexAny(strings.TrimRight(title, "\n"), "\r\n"); i >= 0 {
		c.add(Error, c.src.within(p, title, i), p, "`title` must be one line")
		return
	}
	out, err := render("title", title, SampleData(c.spec))
	if err == nil && strings.ContainsAny(strings.TrimSpace(out), "\r\n") {
		c.errorf(p, "`title` renders to more than one line (check .Campaign.Description)")
	}
}
