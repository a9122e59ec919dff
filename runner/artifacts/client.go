package artifacts

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Client is the executor's side of the artifact API (the Job agent and the
// local executor use it). It holds no credentials: each call takes the
// token minted for that task and operation.
type Client struct {
	base string
	hc   *http.Client
}

// StatusError is a non-success answer of the artifact API.
type StatusError struct {
	StatusCode int
	Message    string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("artifact API answered %d %s: %s", e.StatusCode, http.StatusText(e.StatusCode), e.Message)
}

// Is makes errors.Is(err, ErrNotFound) true for a 404.
func (e *StatusError) Is(target error) bool {
	return target == ErrNotFound && e.StatusCode == http.StatusNotFound
}

// maxErrorBody bounds how much of an error answer is read.
const maxErrorBody = 64 << 10

// NewClient talks to the Handler mounted at baseURL, e.g.
// "http://campaignbot:8080/artifacts/v1". hc nil means http.DefaultClient.
func NewClient(baseURL string, hc *http.Client) *Client {
	if hc == nil {
		hc = http.DefaultClient
	}
	return &Client{base: strings.TrimRight(baseURL, "/"), hc: hc}
}

func (c *Client) url(task, kind string) (string, error) {
	if err := checkTask(task); err != nil {
		return "", err
	}
	if _, err := ParseKind(kind); err != nil {
		return "", err
	}
	return c.base + "/tasks/" + url.PathEscape(task) + "/" + url.PathEscape(kind), nil
}

// Upload sends size bytes of r, whose hex sha256 is sha, as the task's
// artifact of kind, replacing any previous one. It does not retry: r may
// not be rewindable, so the caller retries with a fresh reader.
func (c *Client) Upload(ctx context.Context, token, task, kind string, r io.Reader, size int64, sha string) error {
	u, err := c.url(task, kind)
	if err != nil {
		return fmt.Errorf("upload %s artifact: %w", kind, err)
	}
	if size < 0 {
		return fmt.Errorf("upload %s artifact: negative size", kind)
	}
	var body io.Reader = http.NoBody
	if size > 0 {
		// Exactly size bytes; a reader that is longer would otherwise make
		// the transport fail with a less helpful error.
		body = io.LimitReader(r, size)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, u, body)
	if err != nil {
		return fmt.Errorf("upload %s artifact: %w", kind, err)
	}
	req.ContentLength = size
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set(HeaderContentSHA256, strings.ToLower(sha))
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("upload %s artifact of task %s: %w", kind, task, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
		return fmt.Errorf("upload %s artifact of task %s: %w", kind, task, statusError(resp))
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBody)) //nolint:errcheck // drained for connection reuse
	return nil
}

// Download opens the task's artifact of kind. The reader checks the bytes
// against the sha256 the server announced and fails at EOF on a mismatch,
// so a truncated or corrupted transfer never reads as a complete artifact.
// errors.Is(err, ErrNotFound) reports a task without that artifact.
func (c *Client) Download(ctx context.Context, token, task, kind string) (io.ReadCloser, error) {
	u, err := c.url(task, kind)
	if err != nil {
		return nil, fmt.Errorf("download %s artifact: %w", kind, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("download %s artifact: %w", kind, err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("download %s artifact of task %s: %w", kind, task, err)
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		return nil, fmt.Errorf("download %s artifact of task %s: %w", kind, task, statusError(resp))
	}
	sha := strings.ToLower(resp.Header.Get(HeaderContentSHA256))
	if err := checkSHA256(sha); err != nil || resp.ContentLength < 0 {
		resp.Body.Close()
		return nil, fmt.Errorf("download %s artifact of task %s: answer without a valid %s or Content-Length", kind, task, HeaderContentSHA256)
	}
	return &checkedBody{rc: resp.Body, h: sha256.New(), want: sha, left: resp.ContentLength}, nil
}

// checkedBody verifies a download's length and sha256 at EOF.
type checkedBody struct {
	rc   io.ReadCloser
	h    hash.Hash
	want string
	left int64
}

func (b *checkedBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	b.h.Write(p[:n])
	b.left -= int64(n)
	if errors.Is(err, io.EOF) {
		if b.left != 0 {
			return n, fmt.Errorf("artifact download: %w", io.ErrUnexpectedEOF)
		}
		if got := hex.EncodeToString(b.h.Sum(nil)); got != b.want {
			return n, fmt.Errorf("artifact download: %w", ErrDigestMismatch)
		}
	}
	return n, err
}

func (b *checkedBody) Close() error { return b.rc.Close() }

func statusError(resp *http.Response) error {
	se := &StatusError{StatusCode: resp.StatusCode}
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	var eb errorBody
	if json.Unmarshal(raw, &eb) == nil && eb.Message != "" {
		se.Message = eb.Message
	} else {
		se.Message = strconv.Quote(string(raw))
	}
	return se
}
