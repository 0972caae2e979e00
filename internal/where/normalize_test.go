package where_test

import (
	"testing"
)

// TestNormalizedEqual: whitespace and keyword case do not change the
// normalised clause (protocol §3.1).
func TestNormalizedEqual(t *testing.T) {
	groups := [][]string{
		{"id=1", "id = 1", "  ID   =   1 ", "(id = 1)", "\"id\" = 1", "id\n=\t1"},
		{"name = 'x' AND id = 1", "name='x' and id=1", "NAME = 'x'   And   Id = 1"},
		{"tags @> '{a}'", "tags@>'{a}'", "TAGS  @>  '{a}'"},
		{"id IN (1, 2)", "id in (1,2)", "id IN(1 , 2)"},
		{"id IS NOT NULL", "id is not null", "ID IS  NOT  NULL"},
		{"lower(name) LIKE 'a%'", "LOWER(name) like 'a%'", "lower( name ) LIKE 'a%'"},
	}
	for _, g := range groups {
		want := mustCompile(t, g[0]).Normalized()
		for _, v := range g[1:] {
			if got := mustCompile(t, v).Normalized(); got != want {
				t.Errorf("Normalized(%q) = %q, Normalized(%q) = %q; want equal", v, got, g[0], want)
			}
		}
	}
}

// TestNormalizedDiffer: different clauses, and a parameter versus the
// same literal, normalise differently.
func TestNormalizedDiffer(t *testing.T) {
	type clause struct {
		where  string
		params []string
	}
	clauses := []clause{
		{"id = 1", nil},
		{"id = 2", nil},
		{"id <> 1", nil},
		{"id = $1", []string{"1"}},
		{"id = $1", []string{"2"}},
		{"name = 'a'", nil},
		{"name = 'A'", nil},
		{`"Mixed Case" = 'a'`, nil},
		{"name = $1", []string{"a"}},
		{"v = $1", []string{"a"}},
		{"id = 1 AND name = 'a'", nil},
		{"id = 1 OR name = 'a'", nil},
		{"name = 'a' AND id = 1", nil},
		{"tags @> '{a}'", nil},
		{"tags @> $1", []string{"{a}"}},
	}
	seen := map[string]clause{}
	for _, c := range clauses {
		n := mustCompile(t, c.where, c.params...).Normalized()
		if prev, ok := seen[n]; ok {
			t.Errorf("%q %q and %q %q both normalise to %q", prev.where, prev.params, c.where, c.params, n)
		}
		seen[n] = c
	}
}

// TestNormalizedText: the canonical text of some clauses, with parameters
// as typed literals.
func TestNormalizedText(t *testing.T) {
	tests := []struct {
		where  string
		params []string
		want   string
	}{
		{"id = $1", []string{"5"}, "id = '5'::int4"},
		{"id=1", nil, "id = 1"},
		{"name = $1", []string{"it's"}, "name = 'it''s'::text"},
		{"ints @> $1", []string{"{1,2}"}, "ints @> '{1,2}'::int4[]"},
		{"$1 IS NULL", []string{"x"}, "'x'::text IS NULL"},
		{"ts > $1 and flag", []string{"2024-01-01"}, "ts > '2024-01-01'::timestamptz AND flag"},
		{`"Mixed Case" = 'M'`, nil, `"Mixed Case" = 'M'`},
	}
	for _, tt := range tests {
		if got := mustCompile(t, tt.where, tt.params...).Normalized(); got != tt.want {
			t.Errorf("Normalized(%q, %q) = %q, want %q", tt.where, tt.params, got, tt.want)
		}
	}
}
