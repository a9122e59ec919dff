package selection

import (
	"fmt"
	"reflect"
	"strings"
)

// QueryError is GitHub rejecting the targets' search query. Its message is
// meant for the author of the spec: the plan check shows it as is.
type QueryError struct {
	// Query is the search query as written in the spec.
	Query string
	// Sent is the query sent to GitHub when it differs from Query (a
	// created: part of a split search).
	Sent string
	// Message is GitHub's error message.
	Message string
}

func (e *QueryError) Error() string {
	if e.Sent != "" && e.Sent != e.Query {
		return fmt.Sprintf("GitHub rejected the targets query %q (sent as %q): %s", e.Query, e.Sent, e.Message)
	}
	return fmt.Sprintf("GitHub rejected the targets query %q: %s", e.Query, e.Message)
}

// graphQLMessages returns the messages of a GraphQL "errors" response, and
// false when err is something else (transport, HTTP status, decoding).
// shurcooL/graphql returns the errors array as an unexported slice of
// structs with a Message field, so it is read by reflection; anything of
// another shape is treated as a non-GraphQL error.
func graphQLMessages(err error) ([]string, bool) {
	v := reflect.ValueOf(err)
	if !v.IsValid() || v.Kind() != reflect.Slice || v.Len() == 0 {
		return nil, false
	}
	msgs := make([]string, 0, v.Len())
	for i := 0; i < v.Len(); i++ {
		e := v.Index(i)
		if e.Kind() != reflect.Struct {
			return nil, false
		}
		m := e.FieldByName("Message")
		if !m.IsValid() || m.Kind() != reflect.String {
			return nil, false
		}
		msgs = append(msgs, m.String())
	}
	return msgs, true
}

// repositoryLevel reports whether a GraphQL error message concerns one
// repository alias (it does not exist or the installation cannot see it),
// so the rest of the document's data is good.
func repositoryLevel(msg string) bool {
	return strings.HasPrefix(msg, "Could not resolve to a Repository") ||
		strings.Contains(msg, "Resource not accessible by integration")
}

// rateLimited reports whether a GraphQL error is GitHub's rate limit, which
// is not the spec author's fault and must not be shown as a bad query.
func rateLimited(msg string) bool {
	m := strings.ToLower(msg)
	return strings.Contains(m, "rate limit")
}
