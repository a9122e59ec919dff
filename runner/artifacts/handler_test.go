package artifacts_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/rs/zerolog"

	"github.com/campaignbot/campaignbot/fixtures/logbuf"
	"github.com/campaignbot/campaignbot/runner/artifacts"
	"github.com/campaignbot/campaignbot/store"
	"github.com/campaignbot/campaignbot/store/storetest"
)

// env is a server with the artifact handler mounted as `campaignbot
// server` mounts it, over a real PostgreSQL database.
type env struct {
	st      *store.Store
	storage artifacts.Storage
	dir     string // filesystem backend root ("" for S3)
	signer  *artifacts.Signer
	clock   *fakeClock
	logs    *logbuf.Buffer
	srv     *httptest.Server
	client  *artifacts.Client
	tokens  []string // every token handed out, to check none is logged
}

func newEnv(t *testing.T, backend string, opts ...artifacts.HandlerOption) *env {
	t.Helper()
	e := &env{clock: &fakeClock{t: time.Now()}, logs: &logbuf.Buffer{}}
	e.st, _ = storetest.NewStore(t)
	switch backend {
	case "filesystem":
		e.dir = filepath.Join(t.TempDir(), "artifacts")
		fsStore, err := artifacts.NewFileStorage(e.dir)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { fsStore.Close() })
		e.storage = fsStore
	case "s3":
		e.storage = newS3Storage(t)
	}
	e.signer = newSigner(t, e.clock, keyA)
	opts = append([]artifacts.HandlerOption{artifacts.WithLogger(zerolog.New(e.logs).Level(zerolog.DebugLevel))}, opts...)
	mux := http.NewServeMux()
	mux.Handle(artifacts.PathPrefix+"/", http.StripPrefix(artifacts.PathPrefix, artifacts.NewHandler(e.storage, e.signer, e.st, opts...)))
	e.srv = httptest.NewServer(mux)
	t.Cleanup(e.srv.Close)
	e.client = artifacts.NewClient(e.srv.URL+artifacts.PathPrefix, e.srv.Client())
	t.Cleanup(func() {
		out := e.logs.String()
		for _, tok := range e.tokens {
			mac := tok[strings.LastIndexByte(tok, '.')+1:]
			if strings.Contains(out, tok) || strings.Contains(out, mac) {
				t.Errorf("a token appears in the logs:\n%s", out)
			}
		}
	})
	return e
}

func (e *env) token(t *testing.T, task string, op artifacts.Operation, kind artifacts.Kind) string {
	t.Helper()
	tok, err := e.signer.Sign(task, op, kind, 0)
	if err != nil {
		t.Fatal(err)
	}
	e.tokens = append(e.tokens, tok)
	return tok
}

// newTask inserts the campaign -> spec version -> run -> repo task chain.
func (e *env) newTask(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	id := uuid.New()
	var campaignID, specID, runID int64
	err := e.st.Pool().QueryRow(ctx, `INSERT INTO campaigns (name, control_repo, spec_path) VALUES ($1, 'o/control', 'campaigns/x.yaml') RETURNING id`,
		"c-"+id.String()[:8]).Scan(&campaignID)
	if err == nil {
		err = e.st.Pool().QueryRow(ctx, `INSERT INTO spec_versions (campaign_id, version, yaml, content_hash, commit_sha) VALUES ($1, 1, 'version: 1', 'h', 'sha') RETURNING id`,
			campaignID).Scan(&specID)
	}
	if err == nil {
		err = e.st.Pool().QueryRow(ctx, `INSERT INTO runs (campaign_id, spec_version_id, state) VALUES ($1, $2, 'running') RETURNING id`,
			campaignID, specID).Scan(&runID)
	}
	if err == nil {
		_, err = e.st.Pool().Exec(ctx, `INSERT INTO repo_tasks (id, run_id, repository, state, dedupe_key) VALUES ($1, $2, 'o/r', 'running', $3)`,
			id, runID, "dk-"+id.String())
	}
	if err != nil {
		t.Fatalf("insert task chain: %v", err)
	}
	return id.String()
}

func (e *env) upload(t *testing.T, task string, kind artifacts.Kind, content []byte) error {
	t.Helper()
	tok := e.token(t, task, artifacts.OpUpload, kind)
	return e.client.Upload(context.Background(), tok, task, string(kind), bytes.NewReader(content), int64(len(content)), sum(content))
}

func (e *env) download(t *testing.T, task string, kind artifacts.Kind) ([]byte, error) {
	t.Helper()
	tok := e.token(t, task, artifacts.OpDownload, kind)
	rc, err := e.client.Download(context.Background(), tok, task, string(kind))
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

// assertNothingStored checks the database and, for the filesystem
// backend, the disk: no row, no file, no temp file.
func (e *env) assertNothingStored(t *testing.T, task string) {
	t.Helper()
	rows, err := e.st.TaskArtifacts(context.Background(), uuid.MustParse(task))
	if err != nil || len(rows) != 0 {
		t.Fatalf("artifact rows = %+v, %v; want none", rows, err)
	}
	if e.dir == "" {
		return
	}
	filepath.WalkDir(e.dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			t.Errorf("file left in storage: %s", p)
		}
		return nil
	})
}

func TestUploadDownloadRoundTrip(t *testing.T) {
	for _, backend := range []string{"filesystem", "s3"} {
		t.Run(backend, func(t *testing.T) {
			e := newEnv(t, backend)
			task := e.newTask(t)
			content := []byte("binary \x00\xff\xfe result")
			if err := e.upload(t, task, artifacts.KindResult, content); err != nil {
				t.Fatal(err)
			}
			got, err := e.download(t, task, artifacts.KindResult)
			if err != nil || !bytes.Equal(got, content) {
				t.Fatalf("download = %q, %v", got, err)
			}
			a, ok, err := e.st.CurrentArtifact(context.Background(), uuid.MustParse(task), "result")
			if err != nil || !ok || a.SHA256 != sum(content) || a.SizeBytes != int64(len(content)) ||
				!strings.HasPrefix(a.StorageKey, "tasks/"+task+"/result/") {
				t.Fatalf("row = %+v ok=%v err=%v", a, ok, err)
			}
			if _, err := e.download(t, task, artifacts.KindLogs); !errors.Is(err, artifacts.ErrNotFound) {
				t.Fatalf("logs never uploaded: err = %v, want ErrNotFound", err)
			}

			// Re-upload replaces: the new bytes are served, the old row and
			// object are gone.
			second := []byte("second result, longer than the first")
			if err := e.upload(t, task, artifacts.KindResult, second); err != nil {
				t.Fatal(err)
			}
			if got, err := e.download(t, task, artifacts.KindResult); err != nil || !bytes.Equal(got, second) {
				t.Fatalf("after re-upload: %q, %v", got, err)
			}
			rows, _ := e.st.TaskArtifacts(context.Background(), uuid.MustParse(task))
			if len(rows) != 1 {
				t.Fatalf("rows after re-upload = %+v", rows)
			}
			if _, _, err := e.storage.Get(context.Background(), a.StorageKey); !errors.Is(err, artifacts.ErrNotFound) {
				t.Fatalf("replaced object still stored: %v", err)
			}
		})
	}
}

func TestDownloadMissing(t *testing.T) {
	e := newEnv(t, "filesystem")
	task := e.newTask(t)
	_, err := e.download(t, task, artifacts.KindResult)
	var se *artifacts.StatusError
	if !errors.Is(err, artifacts.ErrNotFound) || !errors.As(err, &se) || se.StatusCode != http.StatusNotFound || se.Message == "" {
		t.Fatalf("err = %v, want a 404 with a message", err)
	}
}

// rawUpload sends a PUT the client would never send.
func (e *env) rawPut(t *testing.T, path, token string, body io.Reader, size int64, sha string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPut, e.srv.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = size
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if sha != "" {
		req.Header.Set(artifacts.HeaderContentSHA256, sha)
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var eb struct {
		Message string `json:"message"`
	}
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 400 {
		if err := json.Unmarshal(raw, &eb); err != nil || eb.Message == "" || resp.Header.Get("Content-Type") != "application/json" {
			t.Fatalf("%d answer is not JSON {message}: %q", resp.StatusCode, raw)
		}
	}
	return resp.StatusCode, eb.Message
}

func TestUploadRefusals(t *testing.T) {
	e := newEnv(t, "filesystem", artifacts.WithMaxBytes(artifacts.KindLogs, 16))
	task := e.newTask(t)
	other := e.newTask(t)
	path := artifacts.PathPrefix + "/tasks/" + task + "/logs"
	body := "fits in 16 bytes"
	good := e.token(t, task, artifacts.OpUpload, artifacts.KindLogs)
	expiredSigner := newSigner(t, &fakeClock{t: time.Now().Add(-time.Hour)}, keyA)
	expired, _ := expiredSigner.Sign(task, artifacts.OpUpload, artifacts.KindLogs, 10*time.Minute)
	foreign := newSigner(t, &fakeClock{t: time.Now()}, keyB)
	forgedTok, _ := foreign.Sign(task, artifacts.OpUpload, artifacts.KindLogs, 0)
	e.tokens = append(e.tokens, expired, forgedTok)

	tests := []struct {
		name   string
		path   string
		token  string
		body   string
		size   int64
		sha    string
		status int
	}{
		{"no token", path, "", body, 16, sum([]byte(body)), http.StatusUnauthorized},
		{"malformed token", path, "v1.nope", body, 16, sum([]byte(body)), http.StatusUnauthorized},
		{"bit-flipped token", path, flipBit(good, 10), body, 16, sum([]byte(body)), http.StatusUnauthorized},
		{"token of another key", path, forgedTok, body, 16, sum([]byte(body)), http.StatusUnauthorized},
		{"expired token", path, expired, body, 16, sum([]byte(body)), http.StatusUnauthorized},
		{"token of another task", artifacts.PathPrefix + "/tasks/" + other + "/logs", good, body, 16, sum([]byte(body)), http.StatusForbidden},
		{"download token", path, e.token(t, task, artifacts.OpDownload, artifacts.KindLogs), body, 16, sum([]byte(body)), http.StatusForbidden},
		{"token for the result kind", path, e.token(t, task, artifacts.OpUpload, artifacts.KindResult), body, 16, sum([]byte(body)), http.StatusForbidden},
		{"bad sha", path, good, body, 16, sum([]byte("something else")), http.StatusBadRequest},
		{"missing sha header", path, good, body, 16, "", http.StatusBadRequest},
		{"malformed sha header", path, good, body, 16, "xyz", http.StatusBadRequest},
		{"oversize", path, good, body + "!", 17, sum([]byte(body + "!")), http.StatusRequestEntityTooLarge},
		{"unknown length", path, good, body, -1, sum([]byte(body)), http.StatusLengthRequired},
		{"unknown kind", artifacts.PathPrefix + "/tasks/" + task + "/patch", good, body, 16, sum([]byte(body)), http.StatusNotFound},
		{"encoded traversal in task id", artifacts.PathPrefix + "/tasks/..%2F..%2Fetc/logs", good, body, 16, sum([]byte(body)), http.StatusBadRequest},
		{"upper-case task id", artifacts.PathPrefix + "/tasks/" + strings.ToUpper(task) + "/logs", good, body, 16, sum([]byte(body)), http.StatusBadRequest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, msg := e.rawPut(t, tc.path, tc.token, strings.NewReader(tc.body), tc.size, tc.sha)
			if status != tc.status {
				t.Fatalf("status %d (%s), want %d", status, msg, tc.status)
			}
			e.assertNothingStored(t, task)
			e.assertNothingStored(t, other)
		})
	}

	logs := e.logs.String()
	for _, want := range []string{"artifact request refused", `"reason":"artifact token has expired`, `"reason":"artifact token signature is invalid"`} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %q:\n%s", want, logs)
		}
	}
	// The good token still works after all that.
	if status, msg := e.rawPut(t, path, good, strings.NewReader(body), 16, sum([]byte(body))); status != http.StatusCreated {
		t.Fatalf("good upload: %d %s", status, msg)
	}
}

// A path with ".." never reaches storage: as a raw path it is refused by
// the handler itself, whatever mux sits in front of it.
func TestPathTraversalRefused(t *testing.T) {
	e := newEnv(t, "filesystem")
	task := e.newTask(t)
	h := artifacts.NewHandler(e.storage, e.signer, e.st, artifacts.WithLogger(zerolog.New(e.logs)))
	for _, p := range []string{"/tasks/../result", "/tasks/..%2f..%2fescape/result", "/tasks/" + task + "/../../result", "/tasks/" + task + "%2F..%2F..%2Fx/result", "/tasks//result"} {
		tok := e.token(t, task, artifacts.OpUpload, artifacts.KindResult)
		req := httptest.NewRequest(http.MethodPut, "http://x/", strings.NewReader("x"))
		u, err := url.Parse(p)
		if err != nil {
			t.Fatal(err)
		}
		req.URL = u // as sent, not cleaned by a mux
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set(artifacts.HeaderContentSHA256, sum([]byte("x")))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusBadRequest && rec.Code != http.StatusNotFound {
			t.Errorf("%s: status %d, want 400/404", p, rec.Code)
		}
	}
	e.assertNothingStored(t, task)
}

func TestUploadForUnknownTaskLeavesNothing(t *testing.T) {
	e := newEnv(t, "filesystem")
	task := uuid.NewString() // no repo_tasks row
	err := e.upload(t, task, artifacts.KindResult, []byte("x"))
	var se *artifacts.StatusError
	if !errors.As(err, &se) || se.StatusCode != http.StatusNotFound {
		t.Fatalf("err = %v, want 404", err)
	}
	e.assertNothingStored(t, task)
}

func TestDownloadHeadersAndRevalidation(t *testing.T) {
	e := newEnv(t, "filesystem")
	task := e.newTask(t)
	content := []byte("logs\n")
	if err := e.upload(t, task, artifacts.KindLogs, content); err != nil {
		t.Fatal(err)
	}
	tok := e.token(t, task, artifacts.OpDownload, artifacts.KindLogs)
	do := func(method, inm string) *http.Response {
		req, _ := http.NewRequest(method, e.srv.URL+artifacts.PathPrefix+"/tasks/"+task+"/logs", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		if inm != "" {
			req.Header.Set("If-None-Match", inm)
		}
		resp, err := e.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	resp := do(http.MethodHead, "")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("ETag") != `"`+sum(content)+`"` || resp.ContentLength != int64(len(content)) {
		t.Fatalf("HEAD: %d etag=%q len=%d", resp.StatusCode, resp.Header.Get("ETag"), resp.ContentLength)
	}
	if resp := do(http.MethodGet, `"`+sum(content)+`"`); resp.StatusCode != http.StatusNotModified {
		t.Fatalf("If-None-Match: %d, want 304", resp.StatusCode)
	}
	if resp := do(http.MethodDelete, ""); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("DELETE: %d, want 405", resp.StatusCode)
	}
}

// The client refuses a download whose bytes do not match the announced
// sha256, as a tampering proxy or a corrupted object would produce.
func TestClientVerifiesDownloads(t *testing.T) {
	const task = taskA
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(artifacts.HeaderContentSHA256, sum([]byte("original")))
		w.Header().Set("Content-Length", "8")
		io.WriteString(w, "tampered")
	}))
	defer srv.Close()
	rc, err := artifacts.NewClient(srv.URL, srv.Client()).Download(context.Background(), "tok", task, "result")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if _, err := io.ReadAll(rc); !errors.Is(err, artifacts.ErrDigestMismatch) {
		t.Fatalf("err = %v, want ErrDigestMismatch", err)
	}
}

// The orchestrator reads a task's change back without HTTP; an object
// lost behind the metadata's back is an error, not "no artifact".
func TestReadResultAndMissingObject(t *testing.T) {
	e := newEnv(t, "filesystem")
	task := e.newTask(t)
	want := sampleResult()
	b, err := artifacts.EncodeResult(want)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.upload(t, task, artifacts.KindResult, b); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	got, err := artifacts.ReadResult(ctx, e.storage, e.st, uuid.MustParse(task), 1<<20)
	if err != nil || got.PatchHash != want.PatchHash || len(got.Changed) != len(want.Changed) || got.Diff != want.Diff {
		t.Fatalf("ReadResult = %+v, %v", got, err)
	}
	if _, err := artifacts.ReadResult(ctx, e.storage, e.st, uuid.MustParse(task), 100); !errors.Is(err, artifacts.ErrResultTooLarge) {
		t.Fatalf("small limit: %v", err)
	}

	a, _, _ := e.st.CurrentArtifact(ctx, uuid.MustParse(task), "result")
	if err := e.storage.Delete(ctx, a.StorageKey); err != nil {
		t.Fatal(err)
	}
	_, _, err = artifacts.OpenCurrent(ctx, e.storage, e.st, uuid.MustParse(task), artifacts.KindResult)
	if !errors.Is(err, artifacts.ErrObjectMissing) || errors.Is(err, artifacts.ErrNotFound) {
		t.Fatalf("err = %v, want ErrObjectMissing and not ErrNotFound", err)
	}
	var se *artifacts.StatusError
	if _, err := e.download(t, task, artifacts.KindResult); !errors.As(err, &se) || se.StatusCode != http.StatusInternalServerError {
		t.Fatalf("download of a lost object: %v, want 500", err)
	}
}

func TestDownloadRefusals(t *testing.T) {
	e := newEnv(t, "filesystem")
	task := e.newTask(t)
	other := e.newTask(t)
	if err := e.upload(t, task, artifacts.KindResult, []byte("r")); err != nil {
		t.Fatal(err)
	}
	expiredSigner := newSigner(t, &fakeClock{t: time.Now().Add(-time.Hour)}, keyA)
	expired, _ := expiredSigner.Sign(task, artifacts.OpDownload, artifacts.KindResult, time.Minute)
	e.tokens = append(e.tokens, expired)
	tests := []struct {
		name   string
		token  string
		status int
	}{
		{"upload token", e.token(t, task, artifacts.OpUpload, artifacts.KindResult), http.StatusForbidden},
		{"other task's token", e.token(t, other, artifacts.OpDownload, artifacts.KindResult), http.StatusForbidden},
		{"logs token", e.token(t, task, artifacts.OpDownload, artifacts.KindLogs), http.StatusForbidden},
		{"expired", expired, http.StatusUnauthorized},
		{"forged", flipBit(e.token(t, task, artifacts.OpDownload, artifacts.KindResult), 8), http.StatusUnauthorized},
		{"malformed", "Zm9v", http.StatusUnauthorized},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.client.Download(context.Background(), tc.token, task, "result")
			var se *artifacts.StatusError
			if !errors.As(err, &se) || se.StatusCode != tc.status || se.Message == "" {
				t.Fatalf("err = %v, want %d with a message", err, tc.status)
			}
		})
	}
}

// A large oversize body is refused from its Content-Length, and the
// client sees the 413, not a broken connection.
func TestClientOversizeUpload(t *testing.T) {
	e := newEnv(t, "filesystem", artifacts.WithMaxBytes(artifacts.KindResult, 1<<20))
	task := e.newTask(t)
	big := bytes.Repeat([]byte("x"), 8<<20)
	err := e.upload(t, task, artifacts.KindResult, big)
	var se *artifacts.StatusError
	if !errors.As(err, &se) || se.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("err = %v, want 413", err)
	}
	e.assertNothingStored(t, task)
}

func TestUnconfiguredHandlerAnswers(t *testing.T) {
	rec := httptest.NewRecorder()
	artifacts.NewHandler(nil, nil, nil).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/tasks/"+taskA+"/result", nil))
	if rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("status %d, want 503", rec.Code)
	}
}
