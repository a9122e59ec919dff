package artifacts

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"
)

// Storage holds artifact bytes under opaque keys. Put makes the object
// visible only once all size bytes were read and their sha256 matched;
// Delete of a missing key is not an error.
type Storage interface {
	Put(ctx context.Context, key string, r io.Reader, size int64, sha256 string) error
	Get(ctx context.Context, key string) (io.ReadCloser, Info, error)
	Delete(ctx context.Context, key string) error
}

// Info describes a stored object.
type Info struct {
	Size   int64
	SHA256 string // hex, as given to Put
}

// Storage errors.
var (
	ErrNotFound       = errors.New("artifact not found")
	ErrInvalidKey     = errors.New("invalid storage key")
	ErrDigestMismatch = errors.New("content does not match its sha256")
	ErrSizeMismatch   = errors.New("content length does not match its declared size")
)

// maxKeyBytes keeps keys well inside S3's 1024-byte limit and PATH_MAX.
const maxKeyBytes = 512

// CheckKey accepts keys made of /-separated segments of [A-Za-z0-9._-],
// none empty, none starting with '.': no absolute paths, no "..", no
// hidden names (the filesystem backend keeps its temp files there).
func CheckKey(key string) error {
	if key == "" || len(key) > maxKeyBytes {
		return fmt.Errorf("%w: length %d", ErrInvalidKey, len(key))
	}
	for seg := range strings.SplitSeq(key, "/") {
		if seg == "" || seg[0] == '.' {
			return fmt.Errorf("%w: %q", ErrInvalidKey, key)
		}
		for _, c := range []byte(seg) {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
				return fmt.Errorf("%w: %q", ErrInvalidKey, key)
			}
		}
	}
	return nil
}

// checkSHA256 accepts a lower-case hex sha256.
func checkSHA256(s string) error {
	if len(s) != 2*sha256.Size {
		return fmt.Errorf("sha256 %q: want %d hex digits", s, 2*sha256.Size)
	}
	for _, c := range []byte(s) {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return fmt.Errorf("sha256 %q: want lower-case hex", s)
		}
	}
	return nil
}

// verifyingReader yields exactly size bytes of r and, at their end, checks
// their sha256; one byte more or less is an error. Backends copy from it,
// so a mismatch stops the copy before the object is committed.
type verifyingReader struct {
	r    io.Reader
	h    hash.Hash
	left int64
	want string
	done bool
}

func newVerifyingReader(r io.Reader, size int64, sha string) *verifyingReader {
	// One extra byte is allowed through the limit so a longer body is seen.
	return &verifyingReader{r: io.LimitReader(r, size+1), h: sha256.New(), left: size, want: sha}
}

func (v *verifyingReader) Read(p []byte) (int, error) {
	if v.done {
		return 0, io.EOF
	}
	n, err := v.r.Read(p)
	if int64(n) > v.left {
		return 0, fmt.Errorf("%w: more than declared", ErrSizeMismatch)
	}
	v.left -= int64(n)
	v.h.Write(p[:n])
	if errors.Is(err, io.EOF) {
		if v.left != 0 {
			return n, fmt.Errorf("%w: %d bytes short", ErrSizeMismatch, v.left)
		}
		if got := hex.EncodeToString(v.h.Sum(nil)); got != v.want {
			return n, fmt.Errorf("%w: got %s", ErrDigestMismatch, got)
		}
		v.done = true
	}
	return n, err
}

// checkPut validates Put's arguments, common to every backend.
func checkPut(key string, size int64, sha string) error {
	if err := CheckKey(key); err != nil {
		return err
	}
	if size < 0 {
		return fmt.Errorf("%w: negative size %d", ErrSizeMismatch, size)
	}
	return checkSHA256(sha)
}
