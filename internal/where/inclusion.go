package where

// Inclusion is a necessary condition for an inclusion index (protocol
// §13.5): every row the clause accepts has, in its array column Column,
// an element equal to each of Elements (Postgres text of the element
// type, canonical as for Cond).
type Inclusion struct {
	Column   int
	Elements []string
}

// Inclusions returns the inclusion conditions among the clause's top-level
// conjuncts: `array_col @> const_array`, `const_array <@ array_col` and
// `const = ANY(array_col)`. A row failing any of them is not in the shape;
// the rest of the clause still has to be evaluated on the rows that pass.
// Split a row's array text into element texts with ArrayElements.
func (e *Expr) Inclusions() []Inclusion {
	conjuncts := []*node{e.root}
	if e.root.kind == nAnd {
		conjuncts = e.root.args
	}
	var out []Inclusion
	for _, n := range conjuncts {
		var col, cst *node
		switch {
		case n.kind == nFunc && n.name == "@>" && len(n.args) == 2:
			col, cst = n.args[0], n.args[1]
		case n.kind == nFunc && n.name == "<@" && len(n.args) == 2:
			col, cst = n.args[1], n.args[0]
		case n.kind == nScalarArray && n.name == "=" && n.useOr:
			col, cst = n.args[1], n.args[0]
		default:
			continue
		}
		if col.kind != nColumn || !col.typ.array || cst.kind != nConst || cst.val == nil {
			continue
		}
		var elems []*node
		if a, ok := cst.val.(*arrayVal); ok {
			for _, d := range a.elems {
				elems = append(elems, &node{kind: nConst, typ: cst.typ.elem(), val: d})
			}
		} else {
			elems = []*node{cst}
		}
		inc := Inclusion{Column: col.col}
		ok := true
		for _, el := range elems {
			v, canon := canonical(e.colTypes[col.col].elem(), e.colColl[col.col], el)
			if !canon || v == nil {
				ok = false // NULL elements never match; such a conjunct is no help
				break
			}
			inc.Elements = append(inc.Elements, *v)
		}
		if ok {
			out = append(out, inc)
		}
	}
	return out
}

// ArrayElements splits an array column's text (as Postgres prints it)
// into the texts of its non-NULL elements, all dimensions flattened; ok is
// false for text that is not an array.
func ArrayElements(text string) (elems []string, ok bool) {
	a, err := parseArray(typText, text)
	if err != nil {
		return nil, false
	}
	for _, d := range a.elems {
		if d != nil {
			elems = append(elems, d.(string))
		}
	}
	return elems, true
}
