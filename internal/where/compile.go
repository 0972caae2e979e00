package where

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"
	"github.com/pganalyze/pg_query_go/v6/parser"

	"github.com/galvani-sync/galvani/internal/pg"
)

// Limits that keep compiling and evaluating hostile input cheap.
const (
	// MaxLength is the longest where clause Compile accepts, in bytes.
	MaxLength = 64 << 10
	maxDepth  = 150  // nesting of expressions
	maxNodes  = 5000 // compiled nodes
)

// compiler holds the state of one Compile call.
type compiler struct {
	rel        *pg.Relation
	params     []string
	paramTypes []pgType // resolved type of each parameter (zero: untyped)
	paramTyped []bool
	paramUsed  []bool
	opts       Options
	depth      int
	nodes      int
}

// parseWhere parses text inside "SELECT 1 WHERE " and returns the parse
// result and the where clause node.
func parseWhere(text string) (*pg_query.ParseResult, *pg_query.Node, *compileError) {
	if len(text) > MaxLength {
		return nil, nil, errAt(-1, "where clause is too long (max %d bytes)", MaxLength)
	}
	if strings.IndexByte(text, 0) >= 0 {
		return nil, nil, errAt(-1, "where clause must not contain NUL characters")
	}
	res, err := pg_query.Parse(queryPrefix + text)
	if err != nil {
		var pe *parser.Error
		if errors.As(err, &pe) {
			if pe.Cursorpos > 0 {
				return nil, nil, &compileError{loc: len(queryPrefix) + runeByteOffset(text, pe.Cursorpos-1-len(queryPrefix)), msg: pe.Message}
			}
			return nil, nil, errAt(-1, "%s", pe.Message)
		}
		return nil, nil, errAt(-1, "%s", err.Error())
	}
	if len(res.Stmts) != 1 {
		return nil, nil, errAt(-1, "unescaped \";\" causing statement split")
	}
	sel := res.Stmts[0].Stmt.GetSelectStmt()
	if sel == nil || sel.WhereClause == nil {
		return nil, nil, errAt(-1, "malformed query ending with SQL clauses")
	}
	if len(sel.FromClause) > 0 || len(sel.GroupClause) > 0 || sel.HavingClause != nil ||
		len(sel.WindowClause) > 0 || len(sel.SortClause) > 0 || sel.LimitCount != nil ||
		sel.LimitOffset != nil || len(sel.LockingClause) > 0 || len(sel.DistinctClause) > 0 ||
		sel.WithClause != nil || sel.IntoClause != nil || len(sel.TargetList) != 1 || sel.Op != pg_query.SetOperation_SETOP_NONE {
		return nil, nil, errAt(-1, "malformed query ending with SQL clauses")
	}
	return res, sel.WhereClause, nil
}

// runeByteOffset returns the byte offset of the n-th character of s
// (clamped to s).
func runeByteOffset(s string, n int) int {
	if n <= 0 {
		return 0
	}
	for i := range s {
		if n == 0 {
			return i
		}
		n--
	}
	return len(s)
}

func (c *compiler) enter(loc int) *compileError {
	c.depth++
	c.nodes++
	if c.depth > maxDepth {
		return errAt(loc, "where clause is nested too deeply (max %d levels)", maxDepth)
	}
	if c.nodes > maxNodes {
		return errAt(loc, "where clause is too complex (max %d nodes)", maxNodes)
	}
	return nil
}

func (c *compiler) leave() { c.depth-- }

// transform turns a parse-tree node into a typed expression node, as
// Postgres' transformExpr does.
func (c *compiler) transform(pn *pg_query.Node) (*node, error) {
	if pn == nil {
		return nil, errAt(-1, "malformed query ending with SQL clauses")
	}
	loc := nodeLocation(pn)
	if err := c.enter(loc); err != nil {
		return nil, err
	}
	defer c.leave()
	switch x := pn.Node.(type) {
	case *pg_query.Node_AConst:
		return c.transformConst(x.AConst)
	case *pg_query.Node_ColumnRef:
		return c.transformColumnRef(x.ColumnRef)
	case *pg_query.Node_ParamRef:
		return c.transformParam(x.ParamRef)
	case *pg_query.Node_TypeCast:
		return c.transformTypeCast(x.TypeCast)
	case *pg_query.Node_BoolExpr:
		return c.transformBoolExpr(x.BoolExpr)
	case *pg_query.Node_AExpr:
		return c.transformAExpr(x.AExpr)
	case *pg_query.Node_NullTest:
		arg, err := c.transform(x.NullTest.Arg)
		if err != nil {
			return nil, err
		}
		return &node{kind: nNullTest, typ: typBool, loc: int(x.NullTest.Location), args: []*node{arg},
			negate: x.NullTest.Nulltesttype == pg_query.NullTestType_IS_NOT_NULL}, nil
	case *pg_query.Node_BooleanTest:
		return c.transformBooleanTest(x.BooleanTest)
	case *pg_query.Node_FuncCall:
		return c.transformFuncCall(x.FuncCall)
	case *pg_query.Node_CoalesceExpr:
		return c.transformCoalesce(x.CoalesceExpr)
	case *pg_query.Node_MinMaxExpr:
		return c.transformMinMax(x.MinMaxExpr)
	case *pg_query.Node_AArrayExpr:
		return c.transformArrayExpr(x.AArrayExpr, nil)
	case *pg_query.Node_AIndirection:
		return c.transformIndirection(x.AIndirection)
	case *pg_query.Node_SubLink:
		if x.SubLink.SubLinkType == pg_query.SubLinkType_ANY_SUBLINK && len(x.SubLink.OperName) == 0 {
			return nil, errAt(loc, "subqueries (`IN (SELECT ...)`) are not supported yet")
		}
		return nil, errAt(loc, "only `value IN (SELECT ...)` sublinks are supported right now, and subqueries are not supported yet")
	case *pg_query.Node_CollateClause:
		return nil, errAt(loc, "COLLATE is not supported")
	case *pg_query.Node_CaseExpr:
		return nil, errAt(loc, "CASE expressions are not supported")
	case *pg_query.Node_SqlvalueFunction:
		return nil, errAt(loc, "non-deterministic functions are not supported (the value depends on the current time or session)")
	case *pg_query.Node_RowExpr:
		return nil, errAt(loc, "row expressions are not supported")
	}
	return nil, errAt(loc, "%s is not supported in this context", nodeTypeName(pn))
}

// nodeTypeName names a parse node's type (A_Expr, CaseExpr, …).
func nodeTypeName(pn *pg_query.Node) string {
	return strings.TrimPrefix(fmt.Sprintf("%T", pn.Node), "*pg_query.Node_")
}

// nodeLocation returns a parse node's location (byte offset in the
// parsed query), or -1.
func nodeLocation(pn *pg_query.Node) int {
	if pn == nil {
		return -1
	}
	switch x := pn.Node.(type) {
	case *pg_query.Node_AConst:
		return int(x.AConst.Location)
	case *pg_query.Node_ColumnRef:
		return int(x.ColumnRef.Location)
	case *pg_query.Node_ParamRef:
		return int(x.ParamRef.Location)
	case *pg_query.Node_TypeCast:
		return int(x.TypeCast.Location)
	case *pg_query.Node_BoolExpr:
		return int(x.BoolExpr.Location)
	case *pg_query.Node_AExpr:
		return int(x.AExpr.Location)
	case *pg_query.Node_NullTest:
		return int(x.NullTest.Location)
	case *pg_query.Node_BooleanTest:
		return int(x.BooleanTest.Location)
	case *pg_query.Node_FuncCall:
		return int(x.FuncCall.Location)
	case *pg_query.Node_CoalesceExpr:
		return int(x.CoalesceExpr.Location)
	case *pg_query.Node_MinMaxExpr:
		return int(x.MinMaxExpr.Location)
	case *pg_query.Node_AArrayExpr:
		return int(x.AArrayExpr.Location)
	case *pg_query.Node_AIndirection:
		return nodeLocation(x.AIndirection.Arg)
	case *pg_query.Node_SubLink:
		return int(x.SubLink.Location)
	case *pg_query.Node_CollateClause:
		return int(x.CollateClause.Location)
	case *pg_query.Node_CaseExpr:
		return int(x.CaseExpr.Location)
	case *pg_query.Node_SqlvalueFunction:
		return int(x.SqlvalueFunction.Location)
	case *pg_query.Node_RowExpr:
		return int(x.RowExpr.Location)
	}
	if l, ok := pn.Node.(interface{ GetLocation() int32 }); ok {
		return int(l.GetLocation())
	}
	return -1
}

func (c *compiler) transformConst(a *pg_query.A_Const) (*node, error) {
	loc := int(a.Location)
	if a.Isnull {
		return &node{kind: nUnknown, typ: typUnknown, isNull: true, loc: loc}, nil
	}
	switch v := a.Val.(type) {
	case *pg_query.A_Const_Ival:
		return constNode(typInt4, int64(v.Ival.Ival), loc), nil
	case *pg_query.A_Const_Fval:
		s := v.Fval.Fval
		// An integer literal too large for int4 arrives as a float.
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			if i >= math.MinInt32 && i <= math.MaxInt32 {
				return constNode(typInt4, i, loc), nil
			}
			return constNode(typInt8, i, loc), nil
		}
		n, err := parseNumeric(s)
		if err != nil {
			return nil, errAt(loc, "%s", err.Error())
		}
		return constNode(typNumeric, n, loc), nil
	case *pg_query.A_Const_Boolval:
		return constNode(typBool, v.Boolval.Boolval, loc), nil
	case *pg_query.A_Const_Sval:
		return &node{kind: nUnknown, typ: typUnknown, text: v.Sval.Sval, loc: loc}, nil
	case *pg_query.A_Const_Bsval:
		return nil, errAt(loc, "bit string literals are not supported")
	}
	return nil, errAt(loc, "A_Const is not supported in this context")
}

// identifier renders a name for a message: plain if lowercase, else
// double-quoted.
func identifier(parts []string) string {
	out := make([]string, len(parts))
	for i, p := range parts {
		if plainIdent.MatchString(p) {
			out[i] = p
		} else {
			out[i] = `"` + strings.ReplaceAll(p, `"`, `""`) + `"`
		}
	}
	return strings.Join(out, ".")
}

var plainIdent = regexp.MustCompile(`^[\p{Ll}_][\p{Ll}\p{Nd}_]*$`)

func stringsOf(nodes []*pg_query.Node) ([]string, bool) {
	out := make([]string, 0, len(nodes))
	for _, n := range nodes {
		s := n.GetString_()
		if s == nil {
			return nil, false
		}
		out = append(out, s.Sval)
	}
	return out, true
}

func (c *compiler) transformColumnRef(r *pg_query.ColumnRef) (*node, error) {
	loc := int(r.Location)
	parts, ok := stringsOf(r.Fields)
	if !ok {
		return nil, errAt(loc, "* is not supported in this context")
	}
	if len(parts) != 1 {
		return nil, errAt(loc, "unknown reference %s", identifier(parts))
	}
	i := c.rel.ColumnIndex(parts[0])
	if i < 0 {
		return nil, errAt(loc, "unknown reference %s", identifier(parts))
	}
	col := &c.rel.Columns[i]
	t, err := columnType(col)
	if err != nil {
		return nil, errAt(loc, "%s", err.Error())
	}
	n := &node{kind: nColumn, typ: t, col: i, loc: loc}
	if i < len(c.opts.ColumnCollations) {
		n.coll = c.opts.ColumnCollations[i]
	}
	return n, nil
}

// columnType maps a catalog column to the where language's type.
func columnType(col *pg.Column) (pgType, error) {
	var t pgType
	if col.TypeKind == 'e' {
		t = pgType{id: tEnum}
	} else {
		id, ok := columnTypeByName[col.TypeName]
		if !ok || (col.TypeKind != 0 && col.TypeKind != 'b') {
			name := col.TypeName
			if col.IsArray {
				name += "[]"
			}
			return pgType{}, errAt(-1, "column %s has unsupported type %s", identifier([]string{col.Name}), name)
		}
		t = pgType{id: id}
	}
	if col.IsArray {
		if t.id == tEnum || t.id == tJSONB {
			return pgType{}, errAt(-1, "column %s has unsupported type %s[]", identifier([]string{col.Name}), col.TypeName)
		}
		t = arrayOf(t)
	}
	return t, nil
}

func (c *compiler) transformParam(p *pg_query.ParamRef) (*node, error) {
	loc := int(p.Location)
	n := int(p.Number)
	if n < 1 || n > len(c.params) {
		return nil, errAt(loc, "parameter $%d was not provided", n)
	}
	c.paramUsed[n-1] = true
	return &node{kind: nUnknown, typ: typUnknown, text: c.params[n-1], param: n, loc: loc}, nil
}

// typeFromName resolves a TypeName of a cast.
func typeFromName(tn *pg_query.TypeName) (pgType, []int32, error) {
	loc := int(tn.Location)
	parts, ok := stringsOf(tn.Names)
	if !ok || tn.Setof || tn.PctType {
		return pgType{}, nil, errAt(loc, "unsupported type")
	}
	name := parts[len(parts)-1]
	if len(parts) > 2 || (len(parts) == 2 && parts[0] != "pg_catalog") {
		return pgType{}, nil, errAt(loc, "unsupported type %s", identifier(parts))
	}
	id, ok := typeByName[name]
	if !ok {
		return pgType{}, nil, errAt(loc, "unsupported type %s", identifier([]string{name}))
	}
	t := pgType{id: id}
	if len(tn.ArrayBounds) > 0 {
		if id == tJSONB {
			return pgType{}, nil, errAt(loc, "unsupported type jsonb[]")
		}
		t = arrayOf(t)
	}
	var mods []int32
	for _, m := range tn.Typmods {
		ac := m.GetAConst()
		iv, ok := ac.GetVal().(*pg_query.A_Const_Ival)
		if ac == nil || !ok {
			return pgType{}, nil, errAt(loc, "type modifiers must be simple constants")
		}
		mods = append(mods, iv.Ival.Ival)
	}
	return t, mods, nil
}

func (c *compiler) transformTypeCast(tc *pg_query.TypeCast) (*node, error) {
	target, mods, err := typeFromName(tc.TypeName)
	if err != nil {
		return nil, err
	}
	loc := int(tc.Location)
	if loc < 0 {
		loc = int(tc.TypeName.Location)
	}
	var arg *node
	if ae := tc.Arg.GetAArrayExpr(); ae != nil && target.array {
		arg, err = c.transformArrayExpr(ae, &target)
	} else {
		arg, err = c.transform(tc.Arg)
	}
	if err != nil {
		return nil, err
	}
	n, err := c.coerce(arg, target, coerceExplicit, loc)
	if err != nil {
		return nil, err
	}
	if len(mods) > 0 {
		return applyTypmod(n, target, mods, loc)
	}
	return n, nil
}

func (c *compiler) transformBoolExpr(b *pg_query.BoolExpr) (*node, error) {
	loc := int(b.Location)
	kind := map[pg_query.BoolExprType]nodeKind{
		pg_query.BoolExprType_AND_EXPR: nAnd,
		pg_query.BoolExprType_OR_EXPR:  nOr,
		pg_query.BoolExprType_NOT_EXPR: nNot,
	}[b.Boolop]
	opName := map[nodeKind]string{nAnd: "AND", nOr: "OR", nNot: "NOT"}[kind]
	n := &node{kind: kind, typ: typBool, loc: loc}
	for _, a := range b.Args {
		arg, err := c.transform(a)
		if err != nil {
			return nil, err
		}
		if arg, err = c.coerceToBool(arg, opName); err != nil {
			return nil, err
		}
		n.args = append(n.args, arg)
	}
	return n, nil
}

// coerceToBool is coerce_to_boolean.
func (c *compiler) coerceToBool(n *node, construct string) (*node, error) {
	if n.typ == typBool {
		return n, nil
	}
	if n.kind == nUnknown {
		return c.coerceUnknown(n, typBool)
	}
	return nil, errAt(n.loc, "argument of %s must be type bool, not type %s", construct, n.typ)
}

func (c *compiler) transformBooleanTest(b *pg_query.BooleanTest) (*node, error) {
	arg, err := c.transform(b.Arg)
	if err != nil {
		return nil, err
	}
	tests := map[pg_query.BoolTestType]struct {
		t    boolTest
		name string
	}{
		pg_query.BoolTestType_IS_TRUE:        {isTrue, "IS TRUE"},
		pg_query.BoolTestType_IS_NOT_TRUE:    {isNotTrue, "IS NOT TRUE"},
		pg_query.BoolTestType_IS_FALSE:       {isFalse, "IS FALSE"},
		pg_query.BoolTestType_IS_NOT_FALSE:   {isNotFalse, "IS NOT FALSE"},
		pg_query.BoolTestType_IS_UNKNOWN:     {isUnknown, "IS UNKNOWN"},
		pg_query.BoolTestType_IS_NOT_UNKNOWN: {isNotUnknown, "IS NOT UNKNOWN"},
	}
	tt := tests[b.Booltesttype]
	if arg, err = c.coerceToBool(arg, tt.name); err != nil {
		return nil, err
	}
	return &node{kind: nBoolTest, typ: typBool, loc: int(b.Location), args: []*node{arg}, test: tt.t}, nil
}

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

// makeOp is make_op: it resolves operator op for l (nil for a prefix
// operator) and r, coerces the arguments and builds the call.
func (c *compiler) makeOp(op string, l, r *node, loc int) (*node, error) {
	var lt *pgType
	args := []*node{r}
	if l != nil {
		t := l.typ
		lt = &t
		args = []*node{l, r}
	}
	def, decl, res, err := resolveOperator(op, lt, r.typ, loc)
	if err != nil {
		return nil, err
	}
	for i := range args {
		if args[i], err = c.coerce(args[i], decl[i], coerceImplicit, loc); err != nil {
			return nil, err
		}
	}
	return c.call(def, op, decl, res, args, loc)
}

// call builds the call node of a resolved operator or function.
func (c *compiler) call(def *procDef, name string, decl []pgType, res pgType, args []*node, loc int) (*node, error) {
	n := &node{kind: nFunc, typ: res, loc: loc, args: args, name: name, strict: !def.nonStrict, stable: def.stable}
	n.coll = argsCollation(args)
	switch {
	case def.casing:
		mode, err := c.caseMode(n.coll, name, loc)
		if err != nil {
			return nil, err
		}
		n.impl = casingImpl(name, mode)
	default:
		n.impl = def.build(decl)
	}
	if def.ordering && len(decl) > 0 && isTextType(elemOf(decl[0])) {
		if err := c.checkOrdering(n.coll, name, loc); err != nil {
			return nil, err
		}
	}
	return n, nil
}

func elemOf(t pgType) pgType {
	if t.array {
		return t.elem()
	}
	return t
}

// argsCollation derives a call's collation from its text arguments: a
// column's explicit collation wins over the default.
func argsCollation(args []*node) string {
	for _, a := range args {
		if a.coll != "" && isTextType(elemOf(a.typ)) {
			return a.coll
		}
	}
	return ""
}

// isCCollation reports whether text under collation name sorts bytewise.
func isCCollation(name string) bool {
	switch strings.ToLower(name) {
	case "c", "posix", "ucs_basic", "c.utf8", "c.utf-8":
		return true
	}
	return false
}

func (c *compiler) effectiveCollation(coll string) string {
	if coll != "" {
		return coll
	}
	return c.opts.DefaultCollation
}

// checkOrdering refuses text ordering under collations other than C:
// Galvani evaluates text ordering bytewise, which is only what Postgres
// does under C (protocol §13.3; see the package doc).
func (c *compiler) checkOrdering(coll, what string, loc int) error {
	eff := c.effectiveCollation(coll)
	if isCCollation(eff) {
		return nil
	}
	if eff == "" {
		return errAt(loc, "text ordering (%s) is only supported under the \"C\" collation, and the collation is unknown", what)
	}
	return errAt(loc, "text ordering (%s) is only supported under the \"C\" collation, not %q", what, eff)
}

func (c *compiler) caseMode(coll, what string, loc int) (caseMode, error) {
	eff := c.effectiveCollation(coll)
	if isCCollation(eff) {
		return caseASCII, nil
	}
	l := strings.ToLower(eff)
	if strings.HasPrefix(l, "tr") || strings.HasPrefix(l, "az") {
		return 0, errAt(loc, "%s is not supported under collation %q", what, eff)
	}
	return caseASCIIOrError, nil
}

// makeScalarArrayOp is make_scalar_array_op: l op ANY/ALL (r).
func (c *compiler) makeScalarArrayOp(op string, useOr bool, l, r *node, loc int) (*node, error) {
	var rt pgType
	switch {
	case r.typ.isUnknown():
		rt = typUnknown
	case r.typ.array:
		rt = r.typ.elem()
	default:
		return nil, errAt(loc, "op ANY/ALL (array) requires array on right side")
	}
	lt := l.typ
	def, decl, res, err := resolveOperator(op, &lt, rt, loc)
	if err != nil {
		return nil, err
	}
	if res != typBool {
		return nil, errAt(loc, "op ANY/ALL (array) requires operator to yield boolean")
	}
	if decl[1].array {
		return nil, errAt(loc, "could not find array type for data type %s", decl[1])
	}
	if l, err = c.coerce(l, decl[0], coerceImplicit, loc); err != nil {
		return nil, err
	}
	if r, err = c.coerce(r, arrayOf(decl[1]), coerceImplicit, loc); err != nil {
		return nil, err
	}
	cmp, err := c.call(def, op, decl, res, []*node{l, r}, loc)
	if err != nil {
		return nil, err
	}
	return &node{kind: nScalarArray, typ: typBool, loc: loc, args: []*node{l, r}, impl: cmp.impl, stable: cmp.stable, useOr: useOr, name: op}, nil
}

// functionName returns a FuncCall's name, accepting only pg_catalog
// qualification.
func functionName(fc *pg_query.FuncCall) (string, error) {
	loc := int(fc.Location)
	parts, ok := stringsOf(fc.Funcname)
	if !ok || len(parts) == 0 {
		return "", errAt(loc, "unsupported function")
	}
	if len(parts) > 2 || (len(parts) == 2 && parts[0] != "pg_catalog") {
		return "", errAt(loc, "unknown or unsupported function %s/%d", identifier(parts), len(fc.Args))
	}
	return parts[len(parts)-1], nil
}

func (c *compiler) transformFuncCall(fc *pg_query.FuncCall) (*node, error) {
	loc := int(fc.Location)
	if fc.AggStar || fc.AggDistinct || len(fc.AggOrder) > 0 || fc.AggFilter != nil || fc.Over != nil || fc.AggWithinGroup {
		return nil, errAt(loc, "aggregation is not supported in this context")
	}
	if fc.FuncVariadic {
		return nil, errAt(loc, "VARIADIC is not supported")
	}
	name, err := functionName(fc)
	if err != nil {
		return nil, err
	}
	args := make([]*node, len(fc.Args))
	for i, a := range fc.Args {
		if args[i], err = c.transform(a); err != nil {
			return nil, err
		}
	}
	if id, ok := typeByName[name]; ok && len(args) == 1 && functions[name] == nil {
		return c.typeFunction(pgType{id: id}, args[0], loc)
	}
	in := make([]pgType, len(args))
	for i, a := range args {
		in[i] = a.typ
	}
	def, decl, res, err := resolveFunction(name, in, loc)
	if err != nil {
		return nil, err
	}
	for i := range args {
		if args[i], err = c.coerce(args[i], decl[i], coerceImplicit, loc); err != nil {
			return nil, err
		}
	}
	return c.call(def, name, decl, res, args, loc)
}

// typeFunction handles typename(arg), which Postgres treats as a cast
// when the argument is a literal or the cast is binary or through I/O,
// and otherwise as a call of the cast function typename(argtype), found
// by the usual overload rules among the function casts to the type.
func (c *compiler) typeFunction(t pgType, arg *node, loc int) (*node, error) {
	if arg.kind == nUnknown {
		return c.coerce(arg, t, coerceExplicit, loc)
	}
	path := findCoercionPath(arg.typ, t, coerceExplicit)
	if ct, ok := castTable[castKey{arg.typ.id, t.id}]; ok && !arg.typ.array && ct.path == pathFunc {
		path = pathFunc
	} else if path == pathFunc || path == pathArrayCoerce {
		path = pathNone
	}
	if path != pathNone {
		return c.coerce(arg, t, coerceExplicit, loc)
	}
	var cands []*procDef
	for k, v := range castTable {
		if k.to == t.id && v.path == pathFunc {
			cands = append(cands, &procDef{name: t.String(), args: []pgType{{id: k.from}}, result: t})
		}
	}
	best, ambiguous := selectCandidate([]pgType{arg.typ}, cands)
	if best == nil {
		if ambiguous {
			return nil, errAt(loc, "function %s(%s) is not unique", t, arg.typ)
		}
		return nil, errAt(loc, "function %s(%s) does not exist", t, arg.typ)
	}
	mid, err := c.coerce(arg, best.args[0], coerceImplicit, loc)
	if err != nil {
		return nil, err
	}
	return c.coerce(mid, t, coerceExplicit, loc)
}

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
	return e.id != tJSONB && e.id != tEnum && !e.isPolymorphic()
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
			if t.id == tEnum || t.id == tJSONB {
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

// coerce is coerce_type: it converts n to target in context ctx.
func (c *compiler) coerce(n *node, target pgType, ctx coercionContext, loc int) (*node, error) {
	if n.typ == target || target.isPolymorphic() || (target.id == tAny && !target.array) {
		return n, nil
	}
	if n.kind == nUnknown {
		return c.coerceUnknown(n, target)
	}
	path := findCoercionPath(n.typ, target, ctx)
	switch path {
	case pathNone:
		return nil, errAt(loc, "cannot cast type %s to %s", n.typ, target)
	case pathRelabel:
		m := *n
		m.typ = target
		return &m, nil
	}
	impl, stable := castImpl(n.typ, target, path)
	return &node{kind: nFunc, typ: target, loc: loc, args: []*node{n}, impl: impl, strict: true, stable: stable,
		name: "cast", coll: n.coll, dtInput: path == pathIO && n.typ.isString() && isDateTimeType(elemOf(target))}, nil
}

func isDateTimeType(t pgType) bool {
	switch t.id {
	case tDate, tTime, tTimestamp, tTimestamptz, tInterval:
		return true
	}
	return false
}

// checkDateTimeInputs refuses casts of non-constant text to date/time
// types: Galvani reads the ISO 8601 forms only, while Postgres' parser
// accepts many more, so such a cast on column data could differ.
func checkDateTimeInputs(root *node) error {
	var err error
	root.walk(func(n *node) {
		if err == nil && n.kind == nFunc && n.dtInput && !n.args[0].isConst() {
			err = errAt(n.loc, "casting non-constant text to %s is not supported", n.typ)
		}
	})
	return err
}

// coerceUnknown gives an untyped literal or parameter its type: the value
// is read with the type's input function now, as Postgres does while
// parsing.
func (c *compiler) coerceUnknown(n *node, target pgType) (*node, error) {
	if target.isUnknown() {
		return n, nil
	}
	if n.param > 0 {
		i := n.param - 1
		if c.paramTyped[i] && c.paramTypes[i] != target {
			return nil, errAt(n.loc, "type conflict for $%d: %s and %s", n.param, target, c.paramTypes[i])
		}
		c.paramTyped[i], c.paramTypes[i] = true, target
	}
	if n.isNull {
		return &node{kind: nConst, typ: target, loc: n.loc}, nil
	}
	v, err := inputValue(target, n.text)
	if err != nil {
		return nil, errAt(n.loc, "%s", err.Error())
	}
	return &node{kind: nConst, typ: target, val: v, param: n.param, loc: n.loc}, nil
}
