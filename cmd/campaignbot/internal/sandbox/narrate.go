package sandbox

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// narrator prints the story. On a terminal the progress bar is redrawn
// in place; elsewhere (CI logs, pipes) a progress line is printed when
// it changes, at most every few seconds, so logs stay short.
type narrator struct {
	mu       sync.Mutex
	out      io.Writer
	live     bool
	barShown bool
	lastBar  string
	lastAt   time.Time
	step     int
	start    time.Time
}

func newNarrator(out io.Writer, live bool) *narrator {
	return &narrator{out: out, live: live, start: time.Now()}
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// clearBar removes a live bar before other text is printed.
func (n *narrator) clearBar() {
	if n.live && n.barShown {
		fmt.Fprint(n.out, "\r\033[2K")
		n.barShown = false
	}
}

// Step starts a numbered step of the story.
func (n *narrator) Step(format string, args ...any) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.clearBar()
	n.step++
	el := time.Since(n.start).Round(time.Second)
	fmt.Fprintf(n.out, "\n%2d. [%d:%02d] %s\n", n.step, int(el.Minutes()), int(el.Seconds())%60, fmt.Sprintf(format, args...))
}

// Say prints an indented line under the current step.
func (n *narrator) Say(format string, args ...any) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.clearBar()
	fmt.Fprintf(n.out, "    %s\n", fmt.Sprintf(format, args...))
}

// Quote prints text (a check run's summary, a comment) as a block,
// keeping at most maxLines lines.
func (n *narrator) Quote(text string, maxLines int) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.clearBar()
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	for i, l := range lines {
		if maxLines > 0 && i == maxLines {
			fmt.Fprintf(n.out, "    │ … %d more lines\n", len(lines)-maxLines)
			break
		}
		fmt.Fprintf(n.out, "    │ %s\n", l)
	}
}

// Plain prints a line as is.
func (n *narrator) Plain(format string, args ...any) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.clearBar()
	fmt.Fprintf(n.out, format+"\n", args...)
}

// Bar shows the progress line.
func (n *narrator) Bar(line string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.live {
		fmt.Fprintf(n.out, "\r\033[2K    %s", line)
		n.barShown = true
		return
	}
	if line == n.lastBar || time.Since(n.lastAt) < 3*time.Second {
		return
	}
	n.lastBar, n.lastAt = line, time.Now()
	fmt.Fprintf(n.out, "    %s\n", line)
}

// EndBar leaves the final state of the bar on screen.
func (n *narrator) EndBar(line string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.clearBar()
	fmt.Fprintf(n.out, "    %s\n", line)
	n.lastBar = ""
}

// progressBar draws done/total in width cells.
func progressBar(done, total, width int) string {
	if total <= 0 {
		return "[" + strings.Repeat("░", width) + "]"
	}
	full := done * width / total
	return "[" + strings.Repeat("█", full) + strings.Repeat("░", width-full) + "]"
}
