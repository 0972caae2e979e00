// Package router finds which shapes a change may affect without evaluating
// every shape's where clause (protocol §13.5). It is pure: no I/O, no
// knowledge of how clauses are evaluated.
//
// A shape registers with a necessary condition drawn from its where clause:
// a set of terms of which the row must satisfy at least one, or none when
// its clause offers no such condition. A term is either an equality, the
// column holds a value (from `col = const`, `col IN (…)`, an AND holding
// such a conjunct, an OR of such clauses), or an inclusion, the array
// column holds a value among its elements (from `arr @> const` or
// `const = ANY(arr)`). To route a row, the router looks the row's text
// value of each equality-indexed column up in one hash map, each element
// of each inclusion-indexed array column up in another, and adds the
// shapes without a condition. The
// caller then evaluates the full clause on these candidates only, so a
// condition may admit rows the clause rejects but must never reject a row
// the clause admits: values are compared as Postgres text output, which is
// canonical for the types the where package indexes (integers, text, uuid,
// bool, date, enum labels).
//
// The cost of routing a row is one map lookup per indexed column (per
// element for an array column) plus the unindexed shapes, independent of
// how many shapes are indexed.
package router

import "slices"

// Cond is one term of a necessary condition: the row's column (by name)
// must hold Value, as Postgres text output, or, when Element is set, the
// row's array column must hold Value (the element type's text) among its
// elements. Columns go by name because shapes of one table may have been
// created against different versions of it.
type Cond struct {
	Column  string
	Value   string
	Element bool
}

// Splitter splits an array column's text into its non-NULL elements' texts;
// ok is false for text that is not an array.
type Splitter func(text string) (elems []string, ok bool)

// Table routes the rows of one table to shape ids of type T.
type Table[T comparable] struct {
	byColumn  map[string]map[string][]T // equality terms
	byElement map[string]map[string][]T // inclusion terms
	others    []T
	conds     map[T][]Cond // for Remove
	split     Splitter
}

// NewTable returns an empty Table. split reads the elements of array
// columns for inclusion terms; with a nil split, a condition holding an
// inclusion term is not indexed (its id is routed every row).
func NewTable[T comparable](split Splitter) *Table[T] {
	return &Table[T]{
		byColumn:  map[string]map[string][]T{},
		byElement: map[string]map[string][]T{},
		conds:     map[T][]Cond{},
		split:     split,
	}
}

// Add registers id. conds is its necessary condition: nil or empty means
// every row is a candidate.
func (t *Table[T]) Add(id T, conds []Cond) {
	if t.split == nil && slices.ContainsFunc(conds, func(c Cond) bool { return c.Element }) {
		conds = nil
	}
	if len(conds) == 0 {
		t.others = append(t.others, id)
		t.conds[id] = nil
		return
	}
	t.conds[id] = conds
	for _, c := range conds {
		idx := t.index(c)
		m := idx[c.Column]
		if m == nil {
			m = map[string][]T{}
			idx[c.Column] = m
		}
		if !slices.Contains(m[c.Value], id) {
			m[c.Value] = append(m[c.Value], id)
		}
	}
}

func (t *Table[T]) index(c Cond) map[string]map[string][]T {
	if c.Element {
		return t.byElement
	}
	return t.byColumn
}

// Remove unregisters id.
func (t *Table[T]) Remove(id T) {
	conds, ok := t.conds[id]
	if !ok {
		return
	}
	delete(t.conds, id)
	if len(conds) == 0 {
		t.others = without(t.others, id)
		return
	}
	for _, c := range conds {
		idx := t.index(c)
		m := idx[c.Column]
		if rest := without(m[c.Value], id); len(rest) > 0 {
			m[c.Value] = rest
		} else {
			delete(m, c.Value)
			if len(m) == 0 {
				delete(idx, c.Column)
			}
		}
	}
}

// Len returns the number of registered ids.
func (t *Table[T]) Len() int { return len(t.conds) }

// All returns every registered id, in no particular order.
func (t *Table[T]) All() []T {
	out := make([]T, 0, len(t.conds))
	for id := range t.conds {
		out = append(out, id)
	}
	return out
}

// Value reads a row's column as Postgres text; ok is false for NULL (or a
// column the row lacks), which no condition matches.
type Value func(column string) (text string, ok bool)

// Route appends to dst the ids whose condition one of the rows (an update
// routes its old and new row) may satisfy, each once, and returns it. seen
// is scratch space the caller keeps between calls (cleared here); it may
// be nil.
func (t *Table[T]) Route(dst []T, seen map[T]struct{}, rows ...Value) []T {
	if len(t.byColumn) == 0 && len(t.byElement) == 0 {
		return append(dst, t.others...)
	}
	if seen == nil {
		seen = map[T]struct{}{}
	} else {
		clear(seen)
	}
	add := func(ids []T) {
		for _, id := range ids {
			if _, dup := seen[id]; !dup {
				seen[id] = struct{}{}
				dst = append(dst, id)
			}
		}
	}
	for _, row := range rows {
		for col, m := range t.byColumn {
			if v, ok := row(col); ok {
				add(m[v])
			}
		}
		for col, m := range t.byElement {
			v, ok := row(col)
			if !ok {
				continue
			}
			elems, ok := t.split(v)
			if !ok {
				// Not an array after all: rule nothing out.
				for _, ids := range m {
					add(ids)
				}
				continue
			}
			for _, e := range elems {
				add(m[e])
			}
		}
	}
	return append(dst, t.others...)
}

func without[T comparable](s []T, v T) []T {
	for i, x := range s {
		if x == v {
			return append(s[:i:i], s[i+1:]...)
		}
	}
	return s
}
