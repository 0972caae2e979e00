// Package router finds which shapes a change may affect without evaluating
// every shape's where clause (protocol §13.5). It is pure: no I/O, no
// knowledge of how clauses are evaluated.
//
// A shape registers with a necessary condition drawn from its where clause:
// a set of (column, value) pairs of which the row must match at least one
// (from `col = const`, `col IN (…)`, an AND holding such a conjunct, an OR
// of such clauses), or none when its clause offers no such condition. To
// route a row, the router looks the row's text value of each indexed
// column up in a hash map and adds the shapes without a condition. The
// caller then evaluates the full clause on these candidates only, so a
// condition may admit rows the clause rejects but must never reject a row
// the clause admits: values are compared as Postgres text output, which is
// canonical for the types the where package indexes (integers, text, uuid,
// bool, date).
//
// The cost of routing a row is one map lookup per indexed column plus the
// unindexed shapes, independent of how many shapes are indexed.
package router

// Cond is one (column, value) pair: the row's column (by name) must hold
// value, as Postgres text output. Columns go by name because shapes of one
// table may have been created against different versions of it.
type Cond struct {
	Column string
	Value  string
}

// Table routes the rows of one table to shape ids of type T.
type Table[T comparable] struct {
	byColumn map[string]map[string][]T
	others   []T
	conds    map[T][]Cond // for Remove
}

// NewTable returns an empty Table.
func NewTable[T comparable]() *Table[T] {
	return &Table[T]{byColumn: map[string]map[string][]T{}, conds: map[T][]Cond{}}
}

// Add registers id. conds is its necessary condition: nil or empty means
// every row is a candidate.
func (t *Table[T]) Add(id T, conds []Cond) {
	if len(conds) == 0 {
		t.others = append(t.others, id)
		t.conds[id] = nil
		return
	}
	t.conds[id] = conds
	for _, c := range conds {
		m := t.byColumn[c.Column]
		if m == nil {
			m = map[string][]T{}
			t.byColumn[c.Column] = m
		}
		if !contains(m[c.Value], id) {
			m[c.Value] = append(m[c.Value], id)
		}
	}
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
		m := t.byColumn[c.Column]
		if rest := without(m[c.Value], id); len(rest) > 0 {
			m[c.Value] = rest
		} else {
			delete(m, c.Value)
			if len(m) == 0 {
				delete(t.byColumn, c.Column)
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
	if len(t.byColumn) == 0 {
		return append(dst, t.others...)
	}
	if seen == nil {
		seen = map[T]struct{}{}
	} else {
		clear(seen)
	}
	for _, row := range rows {
		for col, m := range t.byColumn {
			v, ok := row(col)
			if !ok {
				continue
			}
			for _, id := range m[v] {
				if _, dup := seen[id]; !dup {
					seen[id] = struct{}{}
					dst = append(dst, id)
				}
			}
		}
	}
	return append(dst, t.others...)
}

func contains[T comparable](s []T, v T) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func without[T comparable](s []T, v T) []T {
	for i, x := range s {
		if x == v {
			return append(s[:i:i], s[i+1:]...)
		}
	}
	return s
}
