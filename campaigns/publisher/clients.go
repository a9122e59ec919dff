package publisher

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-github/v74/github"
)

// Clients are one installation's GitHub clients.
type Clients interface {
	// REST is go-github for the Git Data API and the few REST-only calls.
	REST() *github.Client
	// GraphQL posts one document. A transport failure, a non-200 answer or
	// a document-level error is an error; field errors of a 200 answer are
	// returned in the response, because a mutation document can partly
	// succeed.
	GraphQL(ctx context.Context, op string, query string, vars map[string]any) (*GraphQLResponse, error)
}

// GraphQLResponse is a GraphQL answer with its field errors.
type GraphQLResponse struct {
	Data   json.RawMessage
	Errors []GraphQLError
}

// GraphQLError is one entry of a GraphQL answer's errors.
type GraphQLError struct {
	Type    string `json:"type"`
	Message string `json:"message"`
	Path    []any  `json:"path"`
}

// field returns the first path element (the root field or alias).
func (e GraphQLError) field() string {
	if len(e.Path) == 0 {
		return ""
	}
	s, _ := e.Path[0].(string)
	return s
}

// NewClients returns Clients that send GraphQL documents as raw JSON over
// the REST client's *http.Client, so both share the installation's token
// transport (githubapp's NewInstallationClient). graphqlURL is the V4 API
// URL (https://api.github.com/graphql). Raw documents rather than
// githubv4 structs because the lookup has one alias per label and
// reviewer, which structs cannot express.
func NewClients(rest *github.Client, graphqlURL string) Clients {
	return &clients{rest: rest, url: graphqlURL, now: time.Now}
}

type clients struct {
	rest *github.Client
	url  string
	now  func() time.Time
}

func (c *clients) REST() *github.Client { return c.rest }

func (c *clients) GraphQL(ctx context.Context, op, query string, vars map[string]any) (*GraphQLResponse, error) {
	if c.rest == nil {
		return nil, fmt.Errorf("graphql %s: no REST client to borrow the transport from", op)
	}
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars, "operationName": op})
	if err != nil {
		return nil, fmt.Errorf("graphql %s: encode: %w", op, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("graphql %s: %w", op, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := c.rest.Client().Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("graphql %s: %w", op, ctx.Err())
		}
		return nil, &transient{op: "graphql " + op, err: err}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, &transient{op: "graphql " + op, err: fmt.Errorf("read answer: %w", err)}
	}
	if err := classifyHTTP("graphql "+op, resp, data); err != nil {
		return nil, err
	}
	var out struct {
		Data   json.RawMessage `json:"data"`
		Errors []GraphQLError  `json:"errors"`
	}
	if err := json.Unmarshal(data, &out); err != nil {
		return nil, fmt.Errorf("graphql %s: decode answer: %w", op, err)
	}
	for _, e := range out.Errors {
		if e.Type == "RATE_LIMITED" {
			return nil, &secondaryLimit{op: "graphql " + op, primary: true, reset: resetHeader(resp.Header)}
		}
	}
	if len(out.Data) == 0 || string(out.Data) == "null" {
		if len(out.Errors) > 0 {
			e := out.Errors[0]
			return nil, &GitHubError{Op: "graphql " + op, Status: resp.StatusCode, Type: e.Type, Message: e.Message}
		}
		return nil, &GitHubError{Op: "graphql " + op, Status: resp.StatusCode, Message: "answer without data"}
	}
	return &GraphQLResponse{Data: out.Data, Errors: out.Errors}, nil
}

// classifyHTTP turns a non-200 answer into the publisher's error kinds.
func classifyHTTP(op string, resp *http.Response, body []byte) error {
	if resp.StatusCode == http.StatusOK {
		return nil
	}
	var msg struct {
		Message string `json:"message"`
	}
	_ = json.Unmarshal(body, &msg)
	if msg.Message == "" {
		msg.Message = strings.TrimSpace(string(body))
		if len(msg.Message) > 200 {
			msg.Message = msg.Message[:200]
		}
	}
	h := resp.Header
	switch {
	case resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusTooManyRequests:
		if ra := h.Get("Retry-After"); ra != "" {
			s, _ := strconv.Atoi(ra)
			return &secondaryLimit{op: op, wait: time.Duration(max(s, 1)) * time.Second}
		}
		if h.Get("X-Ratelimit-Remaining") == "0" {
			return &secondaryLimit{op: op, primary: true, reset: resetHeader(h)}
		}
		if strings.Contains(strings.ToLower(msg.Message), "secondary rate limit") {
			return &secondaryLimit{op: op, wait: time.Minute}
		}
	case resp.StatusCode >= 500:
		return &transient{op: op, err: fmt.Errorf("github %d: %s", resp.StatusCode, msg.Message)}
	}
	return &GitHubError{Op: op, Status: resp.StatusCode, Message: msg.Message}
}

func resetHeader(h http.Header) time.Time {
	n, err := strconv.ParseInt(h.Get("X-Ratelimit-Reset"), 10, 64)
	if err != nil || n <= 0 {
		return time.Time{}
	}
	return time.Unix(n, 0)
}

// classifyREST turns a go-github error into the publisher's error kinds.
func classifyREST(op string, resp *github.Response, err error) error {
	if err == nil {
		return nil
	}
	var abuse *github.AbuseRateLimitError
	if errors.As(err, &abuse) {
		wait := time.Minute
		if abuse.RetryAfter != nil {
			wait = *abuse.RetryAfter
		}
		return &secondaryLimit{op: op, wait: wait}
	}
	var rl *github.RateLimitError
	if errors.As(err, &rl) {
		return &secondaryLimit{op: op, primary: true, reset: rl.Rate.Reset.Time}
	}
	var er *github.ErrorResponse
	if errors.As(err, &er) && er.Response != nil {
		status := er.Response.StatusCode
		if status >= 500 {
			return &transient{op: op, err: err}
		}
		m := er.Message
		for _, e := range er.Errors {
			if e.Message != "" {
				m += ": " + e.Message
			}
		}
		return &GitHubError{Op: op, Status: status, Message: m}
	}
	if resp != nil && resp.StatusCode >= 500 {
		return &transient{op: op, err: err}
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s: %w", op, err)
	}
	// go-github returns transport errors as they are: treat them as
	// transient, like a 5xx.
	return &transient{op: op, err: err}
}
