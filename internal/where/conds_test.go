package where

import (
	"slices"
	"testing"

	"github.com/galvani-sync/galvani/internal/pg"
)

// TestConditions: the routing condition of each indexable form, and none
// where text equality would not be value equality.
func TestConditions(t *testing.T) {
	rel := &pg.Relation{Columns: []pg.Column{
		{Name: "id", TypeName: "int8", TypeOID: 20},
		{Name: "owner", TypeName: "text", TypeOID: 25},
		{Name: "price", TypeName: "numeric", TypeOID: 1700},
		{Name: "flag", TypeName: "bool", TypeOID: 16},
	}}
	tests := []struct {
		where  string
		params []string
		want   []Cond
		ok     bool
	}{
		{"id = 5", nil, []Cond{{0, "5"}}, true},
		{"5 = id", nil, []Cond{{0, "5"}}, true},
		{"id = $1", []string{"007"}, []Cond{{0, "7"}}, true},
		{"id IN (1, 2, 3)", nil, []Cond{{0, "1"}, {0, "2"}, {0, "3"}}, true},
		{"owner = 'ana' AND price > 3", nil, []Cond{{1, "ana"}}, true},
		{"id = 1 OR owner = 'li'", nil, []Cond{{0, "1"}, {1, "li"}}, true},
		{"id = 1 OR price > 3", nil, nil, false},
		{"price = 1.50", nil, nil, false}, // 1.5 = 1.50: numeric text is not canonical
		{"owner ILIKE 'a%'", nil, nil, false},
		{"flag = true", nil, []Cond{{3, "t"}}, true},
		{"id = ANY('{4,5}'::int8[])", nil, []Cond{{0, "4"}, {0, "5"}}, true},
	}
	for _, tt := range tests {
		e, err := Compile(tt.where, tt.params, rel)
		if err != nil {
			t.Fatalf("Compile(%q) = %v", tt.where, err)
		}
		got, ok := e.Conditions()
		if ok != tt.ok || !slices.Equal(got, tt.want) {
			t.Errorf("Conditions(%q) = %v, %v; want %v, %v", tt.where, got, ok, tt.want, tt.ok)
		}
	}
}
