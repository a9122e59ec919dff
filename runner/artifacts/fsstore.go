package artifacts

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
)

// FileStorage keeps artifacts as files under one directory: for laptops,
// the sandbox and single-node installs. Every path goes through os.Root,
// so neither a key nor a symlink planted in the directory can reach
// outside it. Files are 0600, directories 0700.
//
// Each file starts with a fixed 72-byte header holding the content's
// sha256 ("cbart1 <hex>\n"), so the digest commits with the content in the
// same rename and needs no sidecar that could disagree with it.
type FileStorage struct {
	root *os.Root
}

const (
	fsMagic     = "cbart1 "
	fsHeaderLen = len(fsMagic) + 64 + 1
)

// NewFileStorage opens (creating if needed) dir as the storage root.
func NewFileStorage(dir string) (*FileStorage, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create artifact directory: %w", err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("open artifact directory: %w", err)
	}
	return &FileStorage{root: root}, nil
}

// Close releases the root directory.
func (s *FileStorage) Close() error { return s.root.Close() }

// Put writes to a hidden temp file beside the target, syncs it and renames
// it into place only once size bytes matching sha were read.
func (s *FileStorage) Put(ctx context.Context, key string, r io.Reader, size int64, sha string) (err error) {
	if err := checkPut(key, size, sha); err != nil {
		return err
	}
	dir := path.Dir(key)
	if err := s.root.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	tmp := path.Join(dir, "."+path.Base(key)+".tmp-"+randomHex(8))
	f, err := s.root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	committed := false
	defer func() {
		if !committed {
			f.Close()          //nolint:errcheck // may already be closed; the file is discarded
			s.root.Remove(tmp) //nolint:errcheck // best effort: the temp file is hidden and never read
		}
	}()
	if _, err := io.WriteString(f, fsMagic+sha+"\n"); err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	if _, err := io.Copy(f, &ctxReader{ctx: ctx, r: newVerifyingReader(r, size, sha)}); err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	// Sync before rename: after a crash the name must not point at a file
	// whose bytes never reached the disk.
	if err := f.Sync(); err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	if err := s.root.Rename(tmp, key); err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	committed = true
	return nil
}

// Get opens the object; the reader yields the content after the header.
func (s *FileStorage) Get(ctx context.Context, key string) (io.ReadCloser, Info, error) {
	if err := CheckKey(key); err != nil {
		return nil, Info{}, err
	}
	if err := ctx.Err(); err != nil {
		return nil, Info{}, fmt.Errorf("get %s: %w", key, err)
	}
	f, err := s.root.Open(key)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, Info{}, fmt.Errorf("get %s: %w", key, ErrNotFound)
	}
	if err != nil {
		return nil, Info{}, fmt.Errorf("get %s: %w", key, err)
	}
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() || st.Size() < int64(fsHeaderLen) {
		f.Close()
		return nil, Info{}, fmt.Errorf("get %s: not an artifact file", key)
	}
	br := bufio.NewReader(f)
	hdr := make([]byte, fsHeaderLen)
	if _, err := io.ReadFull(br, hdr); err != nil || string(hdr[:len(fsMagic)]) != fsMagic || hdr[fsHeaderLen-1] != '\n' {
		f.Close()
		return nil, Info{}, fmt.Errorf("get %s: corrupt artifact header", key)
	}
	info := Info{Size: st.Size() - int64(fsHeaderLen), SHA256: string(hdr[len(fsMagic) : fsHeaderLen-1])}
	return readCloser{Reader: br, Closer: f}, info, nil
}

// Delete removes the object; a missing one is fine.
func (s *FileStorage) Delete(ctx context.Context, key string) error {
	if err := CheckKey(key); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("delete %s: %w", key, err)
	}
	if err := s.root.Remove(key); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete %s: %w", key, err)
	}
	return nil
}

type readCloser struct {
	io.Reader
	io.Closer
}

// ctxReader stops a copy when ctx ends: a stalled upload must not hold a
// temp file open forever.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b) //nolint:errcheck // crypto/rand.Read never returns an error (Go 1.24+)
	return hex.EncodeToString(b)
}
