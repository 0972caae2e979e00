package where

import (
	pg_query "github.com/pganalyze/pg_query_go/v6"
)

// operatorName returns the operator of an A_Expr name list, accepting
// only pg_catalog qualification.
func operatorName(names []*pg_query.Node, loc int) (string, error) {
	parts, ok := stringsOf(names)
	if !ok || len(parts) == 0 || len(parts) > 2 || (len(parts) == 2 && parts[0] != "pg_catalog") {
		return "", errAt(loc, "unsupported operator")
	}
	return parts[len(parts)-1], nil
}

func (c *compiler) transformAExpr(a *pg_query.A_Expr) (*node, error) {
	loc := int(a.Location)
	switch a.Kind {
	case pg_query.A_Expr_Kind_AEXPR_OP, pg_query.A_Expr_Kind_AEXPR_LIKE, pg_query.A_Expr_Kind_AEXPR_ILIKE:
		op, err := operatorName(a.Name, loc)
		if err != nil {
			return nil, err
		}
		var l *node
		if a.Lexpr != nil {
			if l, err = c.transform(a.Lexpr); err != nil {
				return nil, err
			}
		}
		r, err := c.transform(a.Rexpr)
		if err != nil {
			return nil, err
		}
		return c.makeOp(op, l, r, loc)
	case pg_query.A_Expr_Kind_AEXPR_OP_ANY, pg_query.A_Expr_Kind_AEXPR_OP_ALL:
		op, err := operatorName(a.Name, loc)
		if err != nil {
			return nil, err
		}
		l, err := c.transform(a.Lexpr)
		if err != nil {
			return nil, err
		}
		r, err := c.transform(a.Rexpr)
		if err != nil {
			return nil, err
		}
		return c.makeScalarArrayOp(op, a.Kind == pg_query.A_Expr_Kind_AEXPR_OP_ANY, l, r, loc)
	case pg_query.A_Expr_Kind_AEXPR_DISTINCT, pg_query.A_Expr_Kind_AEXPR_NOT_DISTINCT:
		l, err := c.transform(a.Lexpr)
		if err != nil {
			return nil, err
		}
		r, err := c.transform(a.Rexpr)
		if err != nil {
			return nil, err
		}
		eq, err := c.makeOp("=", l, r, loc)
		if err != nil {
			return nil, err
		}
		if eq.typ != typBool {
			return nil, errAt(loc, "IS DISTINCT FROM requires = operator to yield boolean")
		}
		return &node{kind: nDistinct, typ: typBool, loc: loc, args: eq.args, impl: eq.impl, stable: eq.stable,
			negate: a.Kind == pg_query.A_Expr_Kind_AEXPR_NOT_DISTINCT}, nil
	case pg_query.A_Expr_Kind_AEXPR_NULLIF:
		l, err := c.transform(a.Lexpr)
		if err != nil {
			return nil, err
		}
		r, err := c.transform(a.Rexpr)
		if err != nil {
			return nil, err
		}
		eq, err := c.makeOp("=", l, r, loc)
		if err != nil {
			return nil, err
		}
		if eq.typ != typBool {
			return nil, errAt(loc, "NULLIF requires = operator to yield boolean")
		}
		return &node{kind: nNullIf, typ: eq.args[0].typ, coll: eq.args[0].coll, loc: loc, args: eq.args, impl: eq.impl, stable: eq.stable}, nil
	case pg_query.A_Expr_Kind_AEXPR_IN:
		return c.transformIn(a)
	case pg_query.A_Expr_Kind_AEXPR_BETWEEN, pg_query.A_Expr_Kind_AEXPR_NOT_BETWEEN,
		pg_query.A_Expr_Kind_AEXPR_BETWEEN_SYM, pg_query.A_Expr_Kind_AEXPR_NOT_BETWEEN_SYM:
		return c.transformBetween(a)
	case pg_query.A_Expr_Kind_AEXPR_SIMILAR:
		return nil, errAt(loc, "SIMILAR TO is not supported")
	}
	return nil, errAt(loc, "A_Expr is not supported in this context")
}

// transformBetween rewrites BETWEEN as Postgres does, transforming the
// shared operands once per use.
func (c *compiler) transformBetween(a *pg_query.A_Expr) (*node, error) {
	loc := int(a.Location)
	items := a.Rexpr.GetList().GetItems()
	if len(items) != 2 {
		return nil, errAt(loc, "malformed BETWEEN")
	}
	x, lo, hi := a.Lexpr, items[0], items[1]
	cmp := func(op string, l, r *pg_query.Node) (*node, error) {
		ln, err := c.transform(l)
		if err != nil {
			return nil, err
		}
		rn, err := c.transform(r)
		if err != nil {
			return nil, err
		}
		n, err := c.makeOp(op, ln, rn, loc)
		if err != nil {
			return nil, err
		}
		return c.coerceToBool(n, "BETWEEN")
	}
	pair := func(kind nodeKind, op1 string, l1, r1 *pg_query.Node, op2 string, l2, r2 *pg_query.Node) (*node, error) {
		p, err := cmp(op1, l1, r1)
		if err != nil {
			return nil, err
		}
		q, err := cmp(op2, l2, r2)
		if err != nil {
			return nil, err
		}
		return &node{kind: kind, typ: typBool, loc: loc, args: []*node{p, q}}, nil
	}
	switch a.Kind {
	case pg_query.A_Expr_Kind_AEXPR_BETWEEN:
		return pair(nAnd, ">=", x, lo, "<=", x, hi)
	case pg_query.A_Expr_Kind_AEXPR_NOT_BETWEEN:
		return pair(nOr, "<", x, lo, ">", x, hi)
	case pg_query.A_Expr_Kind_AEXPR_BETWEEN_SYM:
		s1, err := pair(nAnd, ">=", x, lo, "<=", x, hi)
		if err != nil {
			return nil, err
		}
		s2, err := pair(nAnd, ">=", x, hi, "<=", x, lo)
		if err != nil {
			return nil, err
		}
		return &node{kind: nOr, typ: typBool, loc: loc, args: []*node{s1, s2}}, nil
	}
	s1, err := pair(nOr, "<", x, lo, ">", x, hi)
	if err != nil {
		return nil, err
	}
	s2, err := pair(nOr, "<", x, hi, ">", x, lo)
	if err != nil {
		return nil, err
	}
	return &node{kind: nAnd, typ: typBool, loc: loc, args: []*node{s1, s2}}, nil
}

func containsColumn(n *node) bool {
	found := false
	n.walk(func(m *node) {
		if m.kind == nColumn {
			found = true
		}
	})
	return found
}

// transformIn is transformAExprIn: constant items become one
// op ANY(ARRAY[…]) when they share a type with the left side; items with
// column references (or without a common type) are compared one by one.
func (c *compiler) transformIn(a *pg_query.A_Expr) (*node, error) {
	loc := int(a.Location)
	op, err := operatorName(a.Name, loc)
	if err != nil {
		return nil, err
	}
	useOr := op == "="
	l, err := c.transform(a.Lexpr)
	if err != nil {
		return nil, err
	}
	list := a.Rexpr.GetList()
	if list == nil {
		return nil, errAt(loc, "IN requires a list")
	}
	var all, vars, nonVars []*node
	for _, item := range list.Items {
		r, err := c.transform(item)
		if err != nil {
			return nil, err
		}
		all = append(all, r)
		if containsColumn(r) {
			vars = append(vars, r)
		} else {
			nonVars = append(nonVars, r)
		}
	}
	var result *node
	rest := all
	if len(nonVars) > 1 {
		types := []pgType{l.typ}
		for _, r := range nonVars {
			types = append(types, r.typ)
		}
		if common, ok := selectCommonType(types); ok && verifyCommonType(common, types) && !common.array {
			elems := make([]*node, len(nonVars))
			for i, r := range nonVars {
				if elems[i], err = c.coerceCommon(r, common, "IN"); err != nil {
					return nil, err
				}
			}
			arr := &node{kind: nArray, typ: arrayOf(common), loc: -1, args: elems}
			if result, err = c.makeScalarArrayOp(op, useOr, l, arr, loc); err != nil {
				return nil, err
			}
			rest = vars
		}
	}
	for _, r := range rest {
		cmp, err := c.makeOp(op, l, r, loc)
		if err != nil {
			return nil, err
		}
		if cmp, err = c.coerceToBool(cmp, "IN"); err != nil {
			return nil, err
		}
		if result == nil {
			result = cmp
			continue
		}
		kind := nOr
		if !useOr {
			kind = nAnd
		}
		result = &node{kind: kind, typ: typBool, loc: loc, args: []*node{result, cmp}}
	}
	return result, nil
}
