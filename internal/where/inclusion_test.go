package where_test

import (
	"reflect"
	"testing"

	"github.com/galvani-sync/galvani/internal/where"
)

// TestInclusions: the inclusion conditions of top-level conjuncts, in the
// element type's canonical text.
func TestInclusions(t *testing.T) {
	tests := []struct {
		clause string
		params []string
		want   []where.Inclusion
	}{
		{"tags @> '{a,\"b c\"}'", nil, []where.Inclusion{{15, []string{"a", "b c"}}}},
		{"'{1,02}' <@ ints", nil, []where.Inclusion{{16, []string{"1", "2"}}}},
		{"'x' = ANY(tags) AND id > 3", nil, []where.Inclusion{{15, []string{"x"}}}},
		{"ints @> $1 AND 7 = ANY(ints)", []string{"{3}"}, []where.Inclusion{{16, []string{"3"}}, {16, []string{"7"}}}},
		{"tags @> '{NULL}'", nil, nil},
		{"tags @> '{a}' OR id = 1", nil, nil},
		{"nums @> '{1.0}'", nil, nil}, // numeric text is not canonical
		{"tags && '{a}'", nil, nil},
	}
	for _, tt := range tests {
		got := mustCompile(t, tt.clause, tt.params...).Inclusions()
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Inclusions(%q) = %v, want %v", tt.clause, got, tt.want)
		}
	}
}

func TestArrayElements(t *testing.T) {
	tests := []struct {
		in   string
		want []string
		ok   bool
	}{
		{`{a,"b c",NULL,"NULL"}`, []string{"a", "b c", "NULL"}, true},
		{"{{1,2},{3,4}}", []string{"1", "2", "3", "4"}, true},
		{"[0:1]={x,y}", []string{"x", "y"}, true},
		{"{}", nil, true},
		{"nope", nil, false},
	}
	for _, tt := range tests {
		got, ok := where.ArrayElements(tt.in)
		if ok != tt.ok || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ArrayElements(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}
