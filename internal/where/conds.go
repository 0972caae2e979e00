package where

import "slices"

// Cond is one necessary-condition term: the row's column must hold Value,
// as the column type's Postgres text output.
type Cond struct {
	Column int
	Value  string
}

// Conditions returns a necessary condition of the clause for routing
// (protocol §13.5): a set of (column, value) pairs at least one of which
// holds for every row the clause accepts. ok is false when the clause
// offers none (every row must then be evaluated). It understands
// `col = const`, `col IN (consts)`, `col = ANY(const array)`, AND (any
// conjunct that offers one; the smallest) and OR (every disjunct must
// offer one). Only columns whose text output is canonical for equality
// are used: integers, text and varchar under a deterministic collation,
// uuid, bool and enums (a label is its value), so equal values always
// have equal text.
func (e *Expr) Conditions() (conds []Cond, ok bool) {
	return conditions(e.root, e.colTypes, e.colColl)
}

func conditions(n *node, colTypes []pgType, colls []string) ([]Cond, bool) {
	switch n.kind {
	case nAnd:
		var best []Cond
		found := false
		for _, a := range n.args {
			if cs, ok := conditions(a, colTypes, colls); ok && (!found || len(cs) < len(best)) {
				best, found = cs, true
			}
		}
		return best, found
	case nOr:
		var all []Cond
		for _, a := range n.args {
			cs, ok := conditions(a, colTypes, colls)
			if !ok {
				return nil, false
			}
			all = append(all, cs...)
		}
		return all, len(all) > 0 || len(n.args) > 0
	case nFunc:
		if n.name != "=" || len(n.args) != 2 {
			return nil, false
		}
		col, cst := n.args[0], n.args[1]
		if col.kind != nColumn {
			col, cst = cst, col
		}
		if col.kind != nColumn || cst.kind != nConst {
			return nil, false
		}
		v, ok := canonical(colTypes[col.col], colls[col.col], cst)
		if !ok {
			return nil, false
		}
		if v == nil { // = NULL is never true
			return []Cond{}, true
		}
		return []Cond{{col.col, *v}}, true
	case nScalarArray:
		if n.name != "=" || !n.useOr || len(n.args) != 2 || n.args[0].kind != nColumn {
			return nil, false
		}
		col := n.args[0]
		var elems []*node
		switch arr := n.args[1]; arr.kind {
		case nArray:
			elems = arr.args
		case nConst:
			a, ok := arr.val.(*arrayVal)
			if !ok || a == nil || a.ndims() > 1 {
				return nil, false
			}
			for _, d := range a.elems {
				elems = append(elems, &node{kind: nConst, typ: arr.typ.elem(), val: d})
			}
		default:
			return nil, false
		}
		var out []Cond
		for _, el := range elems {
			if el.kind != nConst {
				return nil, false
			}
			v, ok := canonical(colTypes[col.col], colls[col.col], el)
			if !ok {
				return nil, false
			}
			if v != nil {
				out = append(out, Cond{col.col, *v})
			}
		}
		return out, true
	}
	return nil, false
}

// canonical returns the column-typed text of constant c, nil for NULL, or
// ok false when text equality would not match value equality.
func canonical(colType pgType, coll string, c *node) (*string, bool) {
	if colType.array {
		return nil, false
	}
	ints := []typeID{tInt2, tInt4, tInt8}
	texts := []typeID{tText, tVarchar}
	switch {
	case slices.Contains(ints, colType.id) && slices.Contains(ints, c.typ.id) && !c.typ.array:
	case slices.Contains(texts, colType.id) && slices.Contains(texts, c.typ.id) && !c.typ.array &&
		(coll == "" || coll == "C" || coll == "POSIX" || coll == "default"):
	case (colType.id == tUUID || colType.id == tBool || colType.id == tEnum) && c.typ == colType:
	default:
		return nil, false
	}
	if c.val == nil {
		return nil, true
	}
	s := outputValue(c.typ, c.val)
	return &s, true
}
