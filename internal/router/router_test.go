package router

import (
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
)

func rowOf(vals map[int]string) Value {
	return func(c string) (string, bool) {
		n, _ := strconv.Atoi(c)
		v, ok := vals[n]
		return v, ok
	}
}

// TestRouteFindsEveryPossibleMatch: Route returns exactly the shapes whose
// condition holds for the row, plus the unconditioned ones, once each.
func TestRouteFindsEveryPossibleMatch(t *testing.T) {
	tb := NewTable[string]()
	tb.Add("id=1", []Cond{{"0", "1"}})
	tb.Add("id=2", []Cond{{"0", "2"}})
	tb.Add("id in (1,3)", []Cond{{"0", "1"}, {"0", "3"}})
	tb.Add("id=1 or owner=a", []Cond{{"0", "1"}, {"1", "a"}})
	tb.Add("ilike", nil)
	tests := []struct {
		name string
		row  map[int]string
		want []string
	}{
		{"id 1", map[int]string{0: "1", 1: "b"}, []string{"id in (1,3)", "id=1", "id=1 or owner=a", "ilike"}},
		{"id 3", map[int]string{0: "3", 1: "b"}, []string{"id in (1,3)", "ilike"}},
		{"owner a", map[int]string{0: "9", 1: "a"}, []string{"id=1 or owner=a", "ilike"}},
		{"NULL id", map[int]string{1: "z"}, []string{"ilike"}},
	}
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

// TestRemoveForgets: a removed shape is never routed again; others stay.
func TestRemoveForgets(t *testing.T) {
	tb := NewTable[int]()
	tb.Add(1, []Cond{{"0", "x"}})
	tb.Add(2, []Cond{{"0", "x"}})
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
	tb := NewTable[int]()
	conds := map[int][]Cond{}
	for id := range 300 {
		var cs []Cond
		for range rng.IntN(4) {
			cs = append(cs, Cond{strconv.Itoa(rng.IntN(3)), strconv.Itoa(rng.IntN(10))})
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
		var want []int
		for id, cs := range conds {
			match := len(cs) == 0
			for _, c := range cs {
				if v, ok := row[atoi(c.Column)]; ok && v == c.Value {
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
			tb := NewTable[int]()
			for i := range n {
				tb.Add(i, []Cond{{"0", strconv.Itoa(i)}})
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
