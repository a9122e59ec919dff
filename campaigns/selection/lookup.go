package selection

import (
	"context"
	"fmt"
	"reflect"
	"strings"

	"github.com/shurcooL/githubv4"
)

// lookup fetches explicitly listed repositories, batch per document, each
// as an aliased repository(owner:, name:) field. It returns the
// repositories found and the names GitHub could not resolve for the
// installation (missing, or not visible to it: GitHub does not tell which).
func lookup(ctx context.Context, gql GraphQL, names []string, files []string, batch int) ([]node, []string, error) {
	var found []node
	var missing []string
	for len(names) > 0 {
		chunk := names[:min(len(names), batch)]
		names = names[len(chunk):]
		f, m, err := lookupBatch(ctx, gql, chunk, files)
		if err != nil {
			return nil, nil, err
		}
		found = append(found, f...)
		missing = append(missing, m...)
	}
	return found, missing, nil
}

func lookupBatch(ctx context.Context, gql GraphQL, names []string, files []string) ([]node, []string, error) {
	nt := reflect.PointerTo(nodeType(len(files)))
	fields := make([]reflect.StructField, len(names))
	vars := map[string]any{}
	fileVariables(files, vars)
	for i, full := range names {
		owner, name, _ := strings.Cut(full, "/")
		fields[i] = reflect.StructField{Name: fmt.Sprintf("R%d", i), Type: nt,
			Tag: reflect.StructTag(fmt.Sprintf(`graphql:"r%d: repository(owner: $o%d, name: $n%d)"`, i, i, i))}
		vars[fmt.Sprintf("o%d", i)] = githubv4.String(owner)
		vars[fmt.Sprintf("n%d", i)] = githubv4.String(name)
	}
	doc := reflect.New(reflect.StructOf(fields))
	if err := gql.Query(ctx, doc.Interface(), vars); err != nil {
		// Errors about single repositories leave the other aliases' data
		// intact (shurcooL/graphql decodes data before returning errors);
		// any other error fails the batch.
		msgs, ok := graphQLMessages(err)
		if !ok {
			return nil, nil, fmt.Errorf("look up %d repositories: %w", len(names), err)
		}
		for _, m := range msgs {
			if !repositoryLevel(m) {
				return nil, nil, fmt.Errorf("look up %d repositories: %w", len(names), err)
			}
		}
	}
	var found []node
	var missing []string
	for i, full := range names {
		if n, ok := readNode(doc.Elem().Field(i), files); ok {
			found = append(found, n)
		} else {
			missing = append(missing, full)
		}
	}
	return found, missing, nil
}
