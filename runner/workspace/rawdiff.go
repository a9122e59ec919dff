package workspace

import (
	"fmt"
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
)

// parseRaw parses ":old new oldsha newsha status\0path\0" records.
func parseRaw(out []byte) ([]rawEntry, error) {
	fields := strings.Split(string(out), "\x00")
	var entries []rawEntry
	for i := 0; i+1 < len(fields); i += 2 {
		head, path := fields[i], fields[i+1]
		if head == "" {
			break
		}
		f := strings.Fields(strings.TrimPrefix(head, ":"))
		if len(f) != 5 || len(f[4]) == 0 {
			return nil, fmt.Errorf("parse git diff --raw: unexpected record %q", head)
		}
		entries = append(entries, rawEntry{oldMode: f[0], newMode: f[1], newSHA: f[3], status: f[4][0], path: path})
	}
	return entries, nil
}
