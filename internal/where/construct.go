package where

import (
	pg_query "github.com/pganalyze/pg_query_go/v6"
)

// selectCommonTypeFor is select_common_type with Postgres' error message
// for construct (COALESCE, GREATEST, ARRAY, …).
func selectCommonTypeFor(args []*node, construct string) (pgType, error) {
	types := make([]pgType, len(args))
	for i, a := range args {
		types[i] = a.typ
	}
	p := types[0]
	for i, t := range types[1:] {
		if t.isUnknown() || t == p {
			continue
		}
		if p.isUnknown() {
			p = t
			continue
		}
		if t.category() != p.category() {
			return pgType{}, errAt(args[i+1].loc, "%s types %s and %s cannot be matched", construct, p, t)
		}
		if !p.preferred() && canCoerce(p, t) && !canCoerce(t, p) {
			p = t
		}
	}
	if p.isUnknown() {
		p = typText
	}
	return p, nil
}

// coerceCommon is coerce_to_common_type.
func (c *compiler) coerceCommon(n *node, t pgType, construct string) (*node, error) {
	if n.typ == t {
		return n, nil
	}
	if n.kind != nUnknown && !canCoerce(n.typ, t) {
		return nil, errAt(n.loc, "%s could not convert type %s to %s", construct, n.typ, t)
	}
	return c.coerce(n, t, coerceImplicit, n.loc)
}

func (c *compiler) transformCoalesce(ce *pg_query.CoalesceExpr) (*node, error) {
	loc := int(ce.Location)
	args, t, err := c.commonArgs(ce.Args, "COALESCE")
	if err != nil {
		return nil, err
	}
	return &node{kind: nCoalesce, typ: t, loc: loc, args: args, coll: argsCollation(args)}, nil
}

func (c *compiler) commonArgs(in []*pg_query.Node, construct string) ([]*node, pgType, error) {
	args := make([]*node, len(in))
	var err error
	for i, a := range in {
		if args[i], err = c.transform(a); err != nil {
			return nil, pgType{}, err
		}
	}
	t, err := selectCommonTypeFor(args, construct)
	if err != nil {
		return nil, pgType{}, err
	}
	for i := range args {
		if args[i], err = c.coerceCommon(args[i], t, construct); err != nil {
			return nil, pgType{}, err
		}
	}
	return args, t, nil
}

func (c *compiler) transformMinMax(mm *pg_query.MinMaxExpr) (*node, error) {
	loc := int(mm.Location)
	most := mm.Op == pg_query.MinMaxOp_IS_GREATEST
	construct := "LEAST"
	if most {
		construct = "GREATEST"
	}
	args, t, err := c.commonArgs(mm.Args, construct)
	if err != nil {
		return nil, err
	}
	if !orderable(t) {
		return nil, errAt(loc, "could not identify a comparison function for type %s", t)
	}
	markEnumOrdered(t)
	n := &node{kind: nMinMax, typ: t, loc: loc, args: args, most: most, coll: argsCollation(args)}
	if isTextType(elemOf(t)) {
		if err := c.checkOrdering(n.coll, construct, loc); err != nil {
			return nil, err
		}
	}
	n.cmp = func(a, b datum) int { return compareSame(t, a, b) }
	return n, nil
}

// orderable reports whether Galvani can order values of t.
func orderable(t pgType) bool {
	e := elemOf(t)
	return e.id != tJSONB && !(e.id == tEnum && !e.enum.labelsKnown()) && !e.isPolymorphic()
}

// transformArrayExpr is transformArrayExpr: ARRAY[…] with an optional
// target array type from an enclosing cast.
func (c *compiler) transformArrayExpr(ae *pg_query.A_ArrayExpr, target *pgType) (*node, error) {
	loc := int(ae.Location)
	if err := c.enter(loc); err != nil {
		return nil, err
	}
	defer c.leave()
	var elems []*node
	multidim := false
	for _, e := range ae.Elements {
		var n *node
		var err error
		if sub := e.GetAArrayExpr(); sub != nil {
			n, err = c.transformArrayExpr(sub, target)
			multidim = true
		} else {
			n, err = c.transform(e)
			if err == nil && n.typ.array {
				multidim = true
			}
		}
		if err != nil {
			return nil, err
		}
		elems = append(elems, n)
	}
	var coerceTo, arrType pgType
	hard := target != nil
	if hard {
		arrType = *target
		coerceTo = target.elem()
		if multidim {
			coerceTo = *target
		}
	} else {
		if len(elems) == 0 {
			return nil, errAt(loc, "cannot determine type of empty array")
		}
		t, err := selectCommonTypeFor(elems, "ARRAY")
		if err != nil {
			return nil, err
		}
		coerceTo = t
		if multidim {
			if !t.array {
				return nil, errAt(loc, "could not find element type for data type %s", t)
			}
			arrType = t
		} else {
			if t.array {
				return nil, errAt(loc, "could not find array type for data type %s", t)
			}
			if t.id == tJSONB || (t.id == tEnum && !t.enum.labelsKnown()) {
				return nil, errAt(loc, "arrays of type %s are not supported", t)
			}
			arrType = arrayOf(t)
		}
	}
	for i, e := range elems {
		var err error
		if hard {
			elems[i], err = c.coerce(e, coerceTo, coerceExplicit, e.loc)
		} else {
			elems[i], err = c.coerceCommon(e, coerceTo, "ARRAY")
		}
		if err != nil {
			return nil, err
		}
	}
	return &node{kind: nArray, typ: arrType, loc: loc, args: elems, multidim: multidim, coll: argsCollation(elems)}, nil
}

func (c *compiler) transformIndirection(ind *pg_query.A_Indirection) (*node, error) {
	arr, err := c.transform(ind.Arg)
	if err != nil {
		return nil, err
	}
	loc := arr.loc
	if !arr.typ.array {
		return nil, errAt(loc, "cannot subscript type %s because it does not support subscripting", arr.typ)
	}
	var indices []*pg_query.A_Indices
	slice := false
	for _, x := range ind.Indirection {
		ai := x.GetAIndices()
		if ai == nil {
			return nil, errAt(loc, "field selection is not supported")
		}
		indices = append(indices, ai)
		slice = slice || ai.IsSlice
	}
	if len(indices) > maxArrayDims {
		return nil, errAt(loc, "number of array dimensions (%d) exceeds the maximum allowed (%d)", len(indices), maxArrayDims)
	}
	n := &node{kind: nSubscript, loc: loc, args: []*node{arr}, slice: slice, coll: arr.coll}
	sub := func(pn *pg_query.Node) (*node, error) {
		if pn == nil {
			return nil, nil
		}
		s, err := c.transform(pn)
		if err != nil {
			return nil, err
		}
		if s.typ == typInt4 {
			return s, nil
		}
		if s.kind != nUnknown && findCoercionPath(s.typ, typInt4, coerceAssignment) == pathNone {
			return nil, errAt(s.loc, "array subscript must have type integer")
		}
		return c.coerce(s, typInt4, coerceAssignment, s.loc)
	}
	for _, ai := range indices {
		u, err := sub(ai.Uidx)
		if err != nil {
			return nil, err
		}
		var l *node
		if slice {
			if ai.IsSlice {
				if l, err = sub(ai.Lidx); err != nil {
					return nil, err
				}
			} else {
				l = constNode(typInt4, int64(1), -1)
			}
		}
		n.lower = append(n.lower, l)
		n.upper = append(n.upper, u)
	}
	if slice {
		n.typ = arr.typ
	} else {
		n.typ = arr.typ.elem()
		n.lower = nil
	}
	return n, nil
}
