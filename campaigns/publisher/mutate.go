package publisher

import (
	"context"
	"fmt"
	"strings"
)

// mfield is one mutation of a document.
type mfield struct {
	name      string // root field, e.g. createRef
	varType   string // its input type, e.g. CreateRefInput!
	input     map[string]any
	selection string
}

// mutate sends fields as one document named op; GitHub runs them in
// order. It asks the crash hook before each field, so a test can cut the
// sequence after any step: the fields before the cut are sent, and the
// publish ends as if the process had died.
func (a *attempt) mutate(ctx context.Context, op string, fields []mfield) (*GraphQLResponse, error) {
	crashed := false
	var keep []mfield
	for _, f := range fields {
		if a.crash(f.name) {
			crashed = true
			break
		}
		keep = append(keep, f)
	}
	if len(keep) == 0 {
		return nil, errCrash
	}
	var decl, body strings.Builder
	vars := map[string]any{}
	for i, f := range keep {
		v := fmt.Sprintf("in%d", i)
		if i > 0 {
			decl.WriteString(", ")
		}
		fmt.Fprintf(&decl, "$%s: %s", v, f.varType)
		fmt.Fprintf(&body, "  %s(input: $%s) { %s }\n", f.name, v, f.selection)
		vars[v] = f.input
	}
	q := "mutation " + op + "(" + decl.String() + ") {\n" + body.String() + "}\n"
	resp, err := a.graphql(ctx, op, q, vars, true)
	if err != nil {
		return nil, err
	}
	if crashed {
		return resp, errCrash
	}
	return resp, nil
}

// fieldError maps a field's GraphQL error to the publisher's error kinds:
// a lost race is errConflict (the next attempt adopts what is there).
func fieldError(op string, e GraphQLError) error {
	msg := e.Message
	low := strings.ToLower(msg)
	switch {
	case strings.Contains(low, "archived"):
		return &Permanent{Reason: ReasonArchived, Detail: msg}
	case e.Type == "FORBIDDEN":
		return &Permanent{Reason: ReasonForbidden, Detail: msg}
	case strings.Contains(low, "already exists"),
		e.Type == "STALE_DATA",
		strings.Contains(low, "expected branch to point to"):
		return fmt.Errorf("%s %s: %s: %w", op, e.field(), msg, errConflict)
	}
	return &GitHubError{Op: "graphql " + op + " " + e.field(), Status: 200, Type: e.Type, Message: msg}
}
