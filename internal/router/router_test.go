package router

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// splitDigits reads an "array" written as its digits: "307" holds 3, 0, 7.
func splitDigits(text string) ([]string, bool) {
	if text == "bad" {
		return nil, false
	}
	return strings.Split(text, ""), true
}

func rowOf(vals map[int]string) Value {
	return func(c string) (string, bool) {
		n, _ := strconv.Atoi(c)
		v, ok := vals[n]
		return v, ok
	}
}

// routeCase is a row and the ids Route must return for it, sorted.
type routeCase struct {
	name string
	row  map[int]string
	want []string
}

func checkRoutes(t *testing.T, tb *Table[string], tests []routeCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tb.Route(nil, nil, rowOf(tt.row))
			slices.Sort(got)
			if !slices.Equal(got, tt.want) {
				t.Errorf("Route(%v) = %v, want %v", tt.row, got, tt.want)
			}
		})
	}
}

// TestRouteFindsEveryPossibleMatch: Route returns exactly the shapes whose
// condition holds for the row, plus the unconditioned ones, once each.
func TestRouteFindsEveryPossibleMatch(t *testing.T) {
	tb := NewTable[string](nil)
	tb.Add("id=1", []Cond{{Column: "0", Value: "1"}})
	tb.Add("id=2", []Cond{{Column: "0", Value: "2"}})
	tb.Add("id in (1,3)", []Cond{{Column: "0", Value: "1"}, {Column: "0", Value: "3"}})
	tb.Add("id=1 or owner=a", []Cond{{Column: "0", Value: "1"}, {Column: "1", Value: "a"}})
	tb.Add("ilike", nil)
	tests := []routeCase{
		{"id 1", map[int]string{0: "1", 1: "b"}, []string{"id in (1,3)", "id=1", "id=1 or owner=a", "ilike"}},
		{"id 3", map[int]string{0: "3", 1: "b"}, []string{"id in (1,3)", "ilike"}},
		{"owner a", map[int]string{0: "9", 1: "a"}, []string{"id=1 or owner=a", "ilike"}},
		{"NULL id", map[int]string{1: "z"}, []string{"ilike"}},
	}
	checkRoutes(t, tb, tests)
}

// TestRouteInclusion: inclusion terms route by the row's array elements,
// together with equality terms; a row whose array cannot be read reaches
// every inclusion-indexed id.
func TestRouteInclusion(t *testing.T) {
	tb := NewTable[string](splitDigits)
	tb.Add("tags@>{1}", []Cond{{Column: "1", Value: "1", Element: true}})
	tb.Add("2=any(tags)", []Cond{{Column: "1", Value: "2", Element: true}})
	tb.Add("id=2", []Cond{{Column: "0", Value: "2"}})
	tb.Add("ilike", nil)
	tests := []routeCase{
		{"tags 12", map[int]string{0: "9", 1: "12"}, []string{"2=any(tags)", "ilike", "tags@>{1}"}},
		{"tags 3, id 2", map[int]string{0: "2", 1: "3"}, []string{"id=2", "ilike"}},
		{"empty tags", map[int]string{0: "9", 1: ""}, []string{"ilike"}},
		{"NULL tags", map[int]string{0: "9"}, []string{"ilike"}},
		{"unreadable", map[int]string{0: "9", 1: "bad"}, []string{"2=any(tags)", "ilike", "tags@>{1}"}},
	}
	checkRoutes(t, tb, tests)
	tb.Remove("tags@>{1}")
	if got := tb.Route(nil, nil, rowOf(map[int]string{1: "1"})); !slices.Equal(got, []string{"ilike"}) {
		t.Errorf("Route after Remove = %v, want [ilike]", got)
	}
	noSplit := NewTable[string](nil)
	noSplit.Add("tags@>{1}", []Cond{{Column: "1", Value: "1", Element: true}})
	if got := noSplit.Route(nil, nil, rowOf(map[int]string{1: "5"})); !slices.Equal(got, []string{"tags@>{1}"}) {
		t.Errorf("without a splitter an inclusion term is not indexed: got %v", got)
	}
}

// TestRemoveForgets: a removed shape is never routed again; others stay.
func TestRemoveForgets(t *testing.T) {
	tb := NewTable[int](nil)
	tb.Add(1, []Cond{{Column: "0", Value: "x"}})
	tb.Add(2, []Cond{{Column: "0", Value: "x"}})
	tb.Add(3, nil)
	tb.Remove(1)
	tb.Remove(3)
	tb.Remove(42)
	if got := tb.Route(nil, nil, rowOf(map[int]string{0: "x"})); !slices.Equal(got, []int{2}) {
		t.Errorf("Route after Remove = %v, want [2]", got)
	}
	if tb.Len() != 1 {
		t.Errorf("Len = %d, want 1", tb.Len())
	}
}

// TestRouteAgainstBruteForce: for random shapes and rows, Route's result
// equals checking every shape's condition by hand.
func TestRouteAgainstBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	tb := NewTable[int](splitDigits)
	conds := map[int][]Cond{}
	for id := range 300 {
		var cs []Cond
		for range rng.IntN(4) {
			cs = append(cs, Cond{Column: strconv.Itoa(rng.IntN(4)), Value: strconv.Itoa(rng.IntN(10))})
			if cs[len(cs)-1].Column == "3" {
				cs[len(cs)-1].Element = true
			}
		}
		conds[id] = cs
		tb.Add(id, cs)
	}
	for id := range 300 {
		if rng.IntN(4) == 0 {
			tb.Remove(id)
			delete(conds, id)
		}
	}
	seen := map[int]struct{}{}
	for range 500 {
		row := map[int]string{}
		for c := range 3 {
			if rng.IntN(5) > 0 {
				row[c] = strconv.Itoa(rng.IntN(10))
			}
		}
		if rng.IntN(5) > 0 { // column 3: an "array" of 0-3 digits
			row[3] = fmt.Sprintf("%03d", rng.IntN(1000))[:rng.IntN(4)]
		}
		var want []int
		for id, cs := range conds {
			match := len(cs) == 0
			for _, c := range cs {
				v, ok := row[atoi(c.Column)]
				if ok && !c.Element && v == c.Value || ok && c.Element && strings.Contains(v, c.Value) {
					match = true
				}
			}
			if match {
				want = append(want, id)
			}
		}
		got := tb.Route(nil, seen, rowOf(row))
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("Route(%v) = %v, want %v", row, got, want)
		}
	}
}

// BenchmarkRouteEquality: routing cost with n shapes of the form id = $1
// stays flat as n grows (compare the ns/op of the sub-benchmarks).
func BenchmarkRouteEquality(b *testing.B) {
	for _, n := range []int{10, 1000, 10000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			tb := NewTable[int](nil)
			for i := range n {
				tb.Add(i, []Cond{{Column: "0", Value: strconv.Itoa(i)}})
			}
			row := rowOf(map[int]string{0: "7", 1: "x"})
			seen := map[int]struct{}{}
			var dst []int
			b.ReportAllocs()
			for b.Loop() {
				dst = tb.Route(dst[:0], seen, row)
			}
		})
	}
}

func atoi(s string) int { n, _ := strconv.Atoi(s); return n }

// BenchmarkRouteInclusion: routing cost with n shapes of the form
// tags @> '{tag<i>}' stays flat as n grows; a row with five tags costs five
// lookups.
func BenchmarkRouteInclusion(b *testing.B) {
	split := func(text string) ([]string, bool) { return strings.Split(text, ","), true }
	for _, n := range []int{10, 1000, 10000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			tb := NewTable[int](split)
			for i := range n {
				tb.Add(i, []Cond{{Column: "tags", Value: "tag" + strconv.Itoa(i), Element: true}})
			}
			row := func(c string) (string, bool) { return "tag1,tag2,tag3,x,y", c == "tags" }
			seen := map[int]struct{}{}
			var dst []int
			b.ReportAllocs()
			for b.Loop() {
				dst = tb.Route(dst[:0], seen, row)
			}
		})
	}
}
