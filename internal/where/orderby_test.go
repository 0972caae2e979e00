package where

import (
	"strings"
	"testing"

	"github.com/galvani-sync/galvani/internal/pg"
)

// TestOrderBy: only column references with directions pass, re-rendered
// quoted; everything else is refused with the protocol's wording.
func TestOrderBy(t *testing.T) {
	rel := &pg.Relation{Columns: []pg.Column{{Name: "id"}, {Name: "Title"}, {Name: "n"}}}
	tests := []struct{ in, want, err string }{
		{"id", `"id"`, ""},
		{`id DESC, "Title" ASC NULLS LAST`, `"id" DESC, "Title" ASC NULLS LAST`, ""},
		{"n nulls first", `"n" NULLS FIRST`, ""},
		{"lower(id)", "", "not allowed in ORDER BY"},
		{"id::text", "", "not allowed in ORDER BY"},
		{"(SELECT 1)", "", "not allowed in ORDER BY"},
		{"CASE WHEN id > 1 THEN 1 END", "", "not allowed in ORDER BY"},
		{"$1", "", "parameter $1 is not supported in ORDER BY clauses"},
		{"nope", "", "unknown reference nope"},
		{"id; DROP TABLE t", "", "statement split"},
		{"id LIMIT 1", "", "malformed"},
		{"t.id", "", "qualified"},
	}
	for _, tt := range tests {
		got, err := OrderBy(tt.in, rel)
		switch {
		case tt.err == "" && (err != nil || got != tt.want):
			t.Errorf("OrderBy(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("OrderBy(%q) = %q, %v; want an error containing %q", tt.in, got, err, tt.err)
		}
	}
}
