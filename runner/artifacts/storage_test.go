package artifacts_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/campaignbot/campaignbot/runner/artifacts"
)

func sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func newFileStorage(t *testing.T) artifacts.Storage {
	t.Helper()
	s, err := artifacts.NewFileStorage(filepath.Join(t.TempDir(), "artifacts"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// newS3Storage runs gofakes3's in-memory S3 behind a check that every
// request carries a SigV4 signature made with the configured key.
func newS3Storage(t *testing.T) artifacts.Storage {
	t.Helper()
	backend := s3mem.New()
	if err := backend.CreateBucket("artifacts"); err != nil {
		t.Fatal(err)
	}
	fake := gofakes3.New(backend)
	var unsigned atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		if !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 Credential=AKIDTEST/") || !strings.Contains(auth, "Signature=") ||
			r.Header.Get("X-Amz-Date") == "" || r.Header.Get("X-Amz-Content-Sha256") == "" {
			unsigned.Add(1)
			http.Error(w, "unsigned request", http.StatusForbidden)
			return
		}
		// Put asks the service to verify the body's sha256 as well.
		if r.Method == http.MethodPut && r.Header.Get("X-Amz-Checksum-Sha256") == "" {
			unsigned.Add(1)
			http.Error(w, "PUT without x-amz-checksum-sha256", http.StatusBadRequest)
			return
		}
		fake.Server().ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() {
		if n := unsigned.Load(); n != 0 {
			t.Errorf("%d requests reached the fake S3 without a SigV4 signature or a PUT without a checksum", n)
		}
	})
	s, err := artifacts.NewS3Storage(artifacts.S3Config{
		Endpoint: srv.URL, Region: "us-east-1", Bucket: "artifacts", Prefix: "campaignbot",
		AccessKeyID: "AKIDTEST", SecretAccessKey: "secret", UsePathStyle: true,
		HTTPClient: srv.Client(), SpoolDir: t.TempDir(),
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestStorageConformance(t *testing.T) {
	backends := []struct {
		name string
		new  func(*testing.T) artifacts.Storage
	}{
		{"filesystem", newFileStorage},
		{"s3", newS3Storage},
	}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { storageConformance(t, b.new) })
	}
}

// storageConformance is what every Storage must do.
func storageConformance(t *testing.T, newStorage func(*testing.T) artifacts.Storage) {
	ctx := context.Background()
	binary := make([]byte, 70_000)
	for i := range binary {
		binary[i] = byte(i * 7)
	}

	t.Run("round trip", func(t *testing.T) {
		s := newStorage(t)
		for _, content := range [][]byte{binary, {}, []byte("hello\n")} {
			key := "tasks/a/result/" + sum(content)[:8]
			if err := s.Put(ctx, key, bytes.NewReader(content), int64(len(content)), sum(content)); err != nil {
				t.Fatal(err)
			}
			got, info := mustGet(t, s, key)
			if !bytes.Equal(got, content) || info.Size != int64(len(content)) || info.SHA256 != sum(content) {
				t.Fatalf("got %d bytes, info %+v", len(got), info)
			}
		}
	})

	t.Run("overwrite", func(t *testing.T) {
		s := newStorage(t)
		for _, c := range []string{"first", "second, longer"} {
			if err := s.Put(ctx, "k", strings.NewReader(c), int64(len(c)), sum([]byte(c))); err != nil {
				t.Fatal(err)
			}
		}
		if got, _ := mustGet(t, s, "k"); string(got) != "second, longer" {
			t.Fatalf("got %q", got)
		}
	})

	t.Run("missing", func(t *testing.T) {
		s := newStorage(t)
		if _, _, err := s.Get(ctx, "no/such/key"); !errors.Is(err, artifacts.ErrNotFound) {
			t.Fatalf("get: %v, want ErrNotFound", err)
		}
		if err := s.Delete(ctx, "no/such/key"); err != nil {
			t.Fatalf("delete of a missing key: %v", err)
		}
	})

	t.Run("delete", func(t *testing.T) {
		s := newStorage(t)
		if err := s.Put(ctx, "d/x", strings.NewReader("x"), 1, sum([]byte("x"))); err != nil {
			t.Fatal(err)
		}
		if err := s.Delete(ctx, "d/x"); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.Get(ctx, "d/x"); !errors.Is(err, artifacts.ErrNotFound) {
			t.Fatalf("after delete: %v", err)
		}
	})

	rejected := []struct {
		name    string
		body    string
		size    int64
		sha     string
		wantErr error
	}{
		{"wrong sha", "content", 7, sum([]byte("other")), artifacts.ErrDigestMismatch},
		{"body shorter than size", "content", 8, sum([]byte("content")), artifacts.ErrSizeMismatch},
		{"body longer than size", "content", 6, sum([]byte("conten")), artifacts.ErrSizeMismatch},
	}
	for _, tc := range rejected {
		t.Run("refuses "+tc.name, func(t *testing.T) {
			s := newStorage(t)
			err := s.Put(ctx, "r/k", strings.NewReader(tc.body), tc.size, tc.sha)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("put: %v, want %v", err, tc.wantErr)
			}
			if _, _, err := s.Get(ctx, "r/k"); !errors.Is(err, artifacts.ErrNotFound) {
				t.Fatalf("a refused put left an object behind: %v", err)
			}
		})
	}

	t.Run("refuses a malformed sha", func(t *testing.T) {
		s := newStorage(t)
		for _, sha := range []string{"", "abc", strings.ToUpper(sum([]byte("x")))} {
			if err := s.Put(ctx, "k", strings.NewReader("x"), 1, sha); err == nil {
				t.Fatalf("sha %q accepted", sha)
			}
		}
	})

	t.Run("refuses unsafe keys", func(t *testing.T) {
		s := newStorage(t)
		for _, key := range []string{"", "../escape", "a/../../escape", "/abs", "a//b", ".hidden", "a/.tmp", "a\\b", "a/b/", "a b", "tasks/%2e%2e", strings.Repeat("k", 600)} {
			if err := s.Put(ctx, key, strings.NewReader("x"), 1, sum([]byte("x"))); !errors.Is(err, artifacts.ErrInvalidKey) {
				t.Errorf("put %q: %v, want ErrInvalidKey", key, err)
			}
			if _, _, err := s.Get(ctx, key); !errors.Is(err, artifacts.ErrInvalidKey) {
				t.Errorf("get %q: %v, want ErrInvalidKey", key, err)
			}
			if err := s.Delete(ctx, key); !errors.Is(err, artifacts.ErrInvalidKey) {
				t.Errorf("delete %q: %v, want ErrInvalidKey", key, err)
			}
		}
	})

	t.Run("cancelled context", func(t *testing.T) {
		s := newStorage(t)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if err := s.Put(cctx, "c/k", strings.NewReader("x"), 1, sum([]byte("x"))); err == nil {
			t.Fatal("put with a cancelled context succeeded")
		}
		if _, _, err := s.Get(ctx, "c/k"); !errors.Is(err, artifacts.ErrNotFound) {
			t.Fatalf("cancelled put left an object: %v", err)
		}
	})
}

func mustGet(t *testing.T, s artifacts.Storage, key string) ([]byte, artifacts.Info) {
	t.Helper()
	rc, info, err := s.Get(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b, info
}

// The filesystem backend keeps files private and nothing outside its root.
func TestFileStoragePermissionsAndConfinement(t *testing.T) {
	dir := t.TempDir()
	root := filepath.Join(dir, "root")
	s, err := artifacts.NewFileStorage(root)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// A symlink planted inside the root must not lead a write outside it.
	if err := os.Symlink(dir, filepath.Join(root, "link")); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(context.Background(), "link/escaped", strings.NewReader("x"), 1, sum([]byte("x"))); err == nil {
		t.Fatal("put through a symlink leaving the root succeeded")
	}
	if _, err := os.Stat(filepath.Join(dir, "escaped")); !os.IsNotExist(err) {
		t.Fatalf("file written outside the root: %v", err)
	}
	if err := s.Put(context.Background(), "tasks/t/result/k", strings.NewReader("x"), 1, sum([]byte("x"))); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(root, "tasks", "t", "result", "k"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, err %v; want 0600", st.Mode(), err)
	}
	entries, _ := os.ReadDir(filepath.Join(root, "tasks", "t", "result"))
	if len(entries) != 1 {
		t.Fatalf("temp files left behind: %v", entries)
	}
}
