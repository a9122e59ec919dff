package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/campaignbot/campaignbot/handlers/api"
)

// Exit codes of `campaignbot ctl` (docs/api/cli.md).
const (
	exitOK          = 0
	exitFailed      = 1 // the command failed: an invalid spec, a refused request, a server error
	exitUsage       = 2 // bad flags or arguments, missing server or token
	exitAuth        = 3 // the token is missing, unknown, revoked or lacks the scope (401, 403)
	exitNotFound    = 4 // no such campaign, run or changeset (404)
	exitConflict    = 5 // the run's state does not allow the action (409)
	exitUnreachable = 6 // the server cannot be reached or is unavailable (network, 502, 503, 504)
	exitWaitTimeout = 7 // --wait gave up: the run still had work in flight after --wait-timeout
)

// ctlOptions are the flags every API command takes.
type ctlOptions struct {
	server  string
	token   string
	output  string
	timeout time.Duration
}

func addCtlFlags(fs *flag.FlagSet, o *ctlOptions) {
	fs.StringVar(&o.server, "server", os.Getenv("CAMPAIGN_API_URL"), "API base URL, e.g. https://campaignbot.example.com (env CAMPAIGN_API_URL)")
	fs.StringVar(&o.token, "token", os.Getenv("CAMPAIGN_API_TOKEN"), "API token (env CAMPAIGN_API_TOKEN)")
	fs.StringVar(&o.output, "o", "human", "output: human or json")
	fs.DurationVar(&o.timeout, "timeout", 30*time.Second, "timeout of each request")
}

// parseArgs parses flags that may come before, between or after the
// positional arguments (`changesets NAME --state failed`).
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// client talks to the REST API.
type client struct {
	base  *url.URL
	token string
	hc    *http.Client
}

func (o *ctlOptions) client() (*client, error) {
	if o.output != "human" && o.output != "json" {
		return nil, exitError{exitUsage, fmt.Errorf("-o must be human or json, not %q", o.output)}
	}
	if o.server == "" {
		return nil, exitError{exitUsage, errors.New("no API server: set CAMPAIGN_API_URL or pass --server URL")}
	}
	if o.token == "" {
		return nil, exitError{exitUsage, errors.New("no API token: set CAMPAIGN_API_TOKEN or pass --token (an operator creates one with `campaignbot tokens create`)")}
	}
	u, err := url.Parse(strings.TrimSuffix(o.server, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, exitError{exitUsage, fmt.Errorf("--server %q is not an http(s) URL", o.server)}
	}
	u.Path = strings.TrimSuffix(u.Path, "/api/v1")
	return &client{base: u, token: o.token, hc: &http.Client{Timeout: o.timeout}}, nil
}

// apiError is an error answer of the API.
type apiError struct {
	status      int
	code, msg   string
	method, url string
}

func (e *apiError) Error() string {
	return fmt.Sprintf("%s (%s, HTTP %d)", e.msg, e.code, e.status)
}

// exitCode maps an API answer to the CLI's exit code.
func (e *apiError) exitCode() int {
	switch e.status {
	case http.StatusUnauthorized, http.StatusForbidden:
		return exitAuth
	case http.StatusNotFound:
		return exitNotFound
	case http.StatusConflict:
		return exitConflict
	case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return exitUnreachable
	}
	return exitFailed
}

// asExit turns an error from the client into an exitError.
func asExit(err error) error {
	var ee exitError
	if err == nil || errors.As(err, &ee) {
		return err
	}
	var ae *apiError
	if errors.As(err, &ae) {
		return exitError{ae.exitCode(), err}
	}
	return exitError{exitUnreachable, err}
}

// retryable reports whether a failed GET is worth repeating.
func retryable(err error) bool {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae.exitCode() == exitUnreachable
	}
	return !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)
}

// get reads path into out, retrying transient failures twice.
func (c *client) get(ctx context.Context, path string, q url.Values, out any) error {
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return err
			case <-time.After(time.Duration(attempt) * 500 * time.Millisecond):
			}
		}
		if err = c.do(ctx, http.MethodGet, path, q, nil, "", out); err == nil || !retryable(err) {
			return err
		}
	}
	return err
}

// send makes a non-GET request with a JSON body (nil for none).
func (c *client) send(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	ct := ""
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd, ct = bytes.NewReader(b), "application/json"
	}
	return c.do(ctx, method, path, nil, rd, ct, out)
}

// open returns the response of a request for the caller to read (2xx only).
func (c *client) open(ctx context.Context, method, path string, q url.Values, body io.Reader, ct string) (*http.Response, error) {
	u := *c.base
	u.Path += api.Prefix + strings.TrimPrefix(path, "/")
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "campaignbot-ctl")
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("cannot reach the API at %s: %w", c.base, err)
	}
	if resp.StatusCode/100 == 2 {
		return resp, nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var eb api.ErrorBody
	ae := &apiError{status: resp.StatusCode, method: method, url: u.String()}
	if json.Unmarshal(b, &eb) == nil && eb.Error.Code != "" {
		ae.code, ae.msg = eb.Error.Code, eb.Error.Message
	} else {
		// Not the API's error body: a proxy or a server without the API.
		ae.code, ae.msg = "http_"+fmt.Sprint(resp.StatusCode), fmt.Sprintf("%s %s: %s", method, u.Path, strings.TrimSpace(firstN(string(b), 200)))
	}
	return nil, ae
}

func (c *client) do(ctx context.Context, method, path string, q url.Values, body io.Reader, ct string, out any) error {
	resp, err := c.open(ctx, method, path, q, body, ct)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("decode the answer of %s %s: %w", method, path, err)
	}
	return nil
}

// all follows next_cursor through a list; progress (may be nil) hears of
// each page.
func all[T any](ctx context.Context, c *client, path string, q url.Values, limit int, progress func(n int)) ([]T, error) {
	if q == nil {
		q = url.Values{}
	}
	var out []T
	for {
		q.Set("limit", fmt.Sprint(min(api.MaxLimit, limit-len(out))))
		var page api.Page[T]
		if err := c.get(ctx, path, q, &page); err != nil {
			return out, err
		}
		out = append(out, page.Items...)
		if progress != nil {
			progress(len(out))
		}
		if page.NextCursor == "" || len(out) >= limit {
			return out, nil
		}
		q.Set("cursor", page.NextCursor)
	}
}

func firstN(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
