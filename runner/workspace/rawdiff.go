package workspace

import (
	"bytes"
	"fmt"
	"io"
	"strings"
)

// rawEntry is one record of `git diff --raw -z --no-renames`.
type rawEntry struct {
	oldMode, newMode string
	newSHA           string
	status           byte // A, M, D or T
	path             string
}

const (
	modeNone    = "000000"
	modeGitlink = "160000"
	modeSymlink = "120000"
)

// parseRawRecord parses ":old new oldsha newsha status" and its path.
func parseRawRecord(head, path string) (rawEntry, error) {
	f := strings.Fields(strings.TrimPrefix(head, ":"))
	if len(f) != 5 || len(f[4]) == 0 || !strings.HasPrefix(head, ":") {
		return rawEntry{}, fmt.Errorf("parse git diff --raw: unexpected record %q", head)
	}
	return rawEntry{oldMode: f[0], newMode: f[1], newSHA: f[3], status: f[4][0], path: path}, nil
}

// maxRawField bounds one raw-diff field (a record head or a path): git
// paths are far shorter, so more means the stream is not what we expect.
const maxRawField = 64 << 10

// rawPatchWriter splits the output of `git diff --raw -p -z` (raw records
// "head\0path\0", an empty field, then the patch) as it streams: at most
// keep records are held (all are counted), and the patch goes to patch.
type rawPatchWriter struct {
	keep    int
	patch   io.Writer
	entries []rawEntry
	count   int
	err     error

	inPatch  bool
	field    []byte
	head     string
	haveHead bool
}

func (w *rawPatchWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 && !w.inPatch && w.err == nil {
		i := bytes.IndexByte(p, 0)
		if i < 0 {
			w.field = append(w.field, p...)
			if len(w.field) > maxRawField {
				w.err = fmt.Errorf("parse git diff --raw: a field longer than %d bytes", maxRawField)
			}
			return n, nil
		}
		w.field = append(w.field, p[:i]...)
		p = p[i+1:]
		w.endField()
	}
	if w.inPatch && len(p) > 0 {
		_, _ = w.patch.Write(p)
	}
	return n, nil
}

func (w *rawPatchWriter) endField() {
	defer func() { w.field = w.field[:0] }()
	if !w.haveHead {
		if len(w.field) == 0 {
			w.inPatch = true
			return
		}
		w.head, w.haveHead = string(w.field), true
		return
	}
	w.haveHead = false
	e, err := parseRawRecord(w.head, string(w.field))
	if err != nil {
		w.err = err
		return
	}
	w.count++
	if w.count <= w.keep {
		w.entries = append(w.entries, e)
	}
}

// result returns the records kept, how many there were, and whether the
// stream ended where it should (no record cut in half).
func (w *rawPatchWriter) result() ([]rawEntry, int, error) {
	if w.err == nil && (w.haveHead || len(w.field) > 0) {
		w.err = fmt.Errorf("parse git diff --raw: truncated record")
	}
	return w.entries, w.count, w.err
}
