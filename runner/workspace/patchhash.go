package workspace

import (
	"crypto/sha256"
	"encoding/hex"
	"sort"

	"github.com/campaignbot/campaignbot/runner"
)

// PatchHash identifies a change by what it does, not how or when it was
// made: sha256 over, for each changed file sorted by path,
// "C\0<path>\0<mode>\0<hex sha256 of content>\0", then for each deleted
// path sorted, "D\0<path>\0". NUL cannot occur in a git path, so the
// encoding is unambiguous. The same change made twice (or by another
// executor) has the same hash, which the dedupe keys rely on.
func PatchHash(changed []runner.FileChange, deleted []string) string {
	c := append([]runner.FileChange(nil), changed...)
	sort.Slice(c, func(i, j int) bool { return c[i].Path < c[j].Path })
	d := append([]string(nil), deleted...)
	sort.Strings(d)
	h := sha256.New()
	for _, f := range c {
		sum := sha256.Sum256(f.Content)
		h.Write([]byte("C\x00" + f.Path + "\x00" + string(f.Mode) + "\x00" + hex.EncodeToString(sum[:]) + "\x00"))
	}
	for _, p := range d {
		h.Write([]byte("D\x00" + p + "\x00"))
	}
	return hex.EncodeToString(h.Sum(nil))
}
