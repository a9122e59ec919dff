package workspace

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"os"
	"path/filepath"
	"strconv"
)

// worktreeContent returns the content of e as git staged it, read from
// the work tree when that is provably the same bytes: the git blob id of
// the file (or symlink target) equals the staged id. It is not when an
// attribute (eol, ident, working-tree-encoding) transformed the content
// on add; ok is false then and the caller asks git. This saves a git
// process per task in the common case.
//
// A file larger than budget is not read (git reports blob sizes before
// their content, so the limit is enforced there without reading it).
func worktreeContent(dir string, e rawEntry, budget int64) (content []byte, ok bool) {
	p := filepath.Join(dir, filepath.FromSlash(e.path))
	var err error
	if e.newMode == modeSymlink {
		var target string
		target, err = os.Readlink(p)
		content = []byte(target)
	} else {
		var fi os.FileInfo
		if fi, err = os.Lstat(p); err == nil && (!fi.Mode().IsRegular() || fi.Size() > budget) {
			return nil, false
		}
		content, err = os.ReadFile(p)
	}
	if err != nil {
		return nil, false
	}
	var h hash.Hash
	switch len(e.newSHA) {
	case 40:
		h = sha1.New()
	case 64:
		h = sha256.New()
	default:
		return nil, false
	}
	h.Write([]byte("blob " + strconv.Itoa(len(content)) + "\x00"))
	h.Write(content)
	if hex.EncodeToString(h.Sum(nil)) != e.newSHA {
		return nil, false
	}
	return content, true
}
