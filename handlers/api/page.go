package api

import (
	"encoding/base64"
	"encoding/json"
	"strconv"
)

// Page limits.
const (
	DefaultLimit = 50
	MaxLimit     = 500
)

// Page is every list response: the items and, when more follow, the
// cursor of the next page (pass it back as ?cursor=).
type Page[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor,omitempty"`
}

// cursor is the last key of a page. It is opaque to clients (base64 of
// JSON) and names its list, so a cursor from one list is refused by another.
type cursor struct {
	List string `json:"l"`
	S    string `json:"s,omitempty"`
	N    int64  `json:"n,omitempty"`
}

func encodeCursor(c cursor) string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

// pageParams reads ?limit= and ?cursor= for the list named list.
func (q *request) pageParams(list string) (limit int, after cursor, err error) {
	limit = DefaultLimit
	if v := q.r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxLimit {
			return 0, after, errorf(CodeBadRequest, "limit must be a whole number from 1 to "+strconv.Itoa(MaxLimit))
		}
		limit = n
	}
	if v := q.r.URL.Query().Get("cursor"); v != "" {
		b, err := base64.RawURLEncoding.DecodeString(v)
		if err != nil || json.Unmarshal(b, &after) != nil || after.List != list {
			return 0, cursor{}, errorf(CodeBadRequest, "invalid cursor: pass back next_cursor from the previous page of this list")
		}
	}
	return limit, after, nil
}

// paginate trims rows fetched with limit+1 to a page and names the next
// page's cursor from the last row kept.
func paginate[R, T any](rows []R, limit int, list string, key func(R) cursor, conv func(R) T) Page[T] {
	p := Page[T]{Items: make([]T, 0, min(len(rows), limit))}
	more := len(rows) > limit
	if more {
		rows = rows[:limit]
	}
	for _, r := range rows {
		p.Items = append(p.Items, conv(r))
	}
	if more && len(rows) > 0 {
		c := key(rows[len(rows)-1])
		c.List = list
		p.NextCursor = encodeCursor(c)
	}
	return p
}
