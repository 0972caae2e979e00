package where

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"

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
	enums      *enumTypes
	depth      int
	nodes      int
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
	t, err := columnType(col, c.enums)
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
func columnType(col *pg.Column, enums *enumTypes) (pgType, error) {
	var t pgType
	if col.TypeKind == 'e' {
		t = pgType{id: tEnum, enum: enums.column(col)}
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
		if t.id == tJSONB || (t.id == tEnum && !t.enum.labelsKnown()) {
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
	u := &node{kind: nUnknown, typ: typUnknown, text: c.params[n-1], param: n, loc: loc}
	if c.paramTyped[n-1] {
		// Once its type is known, a parameter is a typed value, as in
		// Postgres' parameter type inference.
		return c.coerceUnknown(u, c.paramTypes[n-1])
	}
	return u, nil
}

// typeFromName resolves a TypeName of a cast: a built-in type (named
// alone or in pg_catalog), or one of the enum types of the relation's
// columns (named alone, when no other of them has the name, or with its
// schema).
func typeFromName(tn *pg_query.TypeName, enums *enumTypes) (pgType, []int32, error) {
	loc := int(tn.Location)
	parts, ok := stringsOf(tn.Names)
	if !ok || tn.Setof || tn.PctType {
		return pgType{}, nil, errAt(loc, "unsupported type")
	}
	name := parts[len(parts)-1]
	var t pgType
	id, builtin := typeByName[name]
	switch {
	case builtin && (len(parts) == 1 || (len(parts) == 2 && parts[0] == "pg_catalog")):
		t = pgType{id: id}
	case len(parts) == 2 && parts[0] == "pg_catalog":
		return pgType{}, nil, errAt(loc, "unsupported type %s", identifier([]string{name}))
	case len(parts) <= 2:
		e, ok := enums.byName(parts)
		if !ok {
			return pgType{}, nil, errAt(loc, "unsupported type %s", identifier(parts))
		}
		t = pgType{id: tEnum, enum: e}
	default:
		return pgType{}, nil, errAt(loc, "unsupported type %s", identifier(parts))
	}
	if len(tn.ArrayBounds) > 0 {
		if t.id == tJSONB {
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
	target, mods, err := typeFromName(tc.TypeName, c.enums)
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
		return applyTypmod(n, target, mods, int(tc.TypeName.Location))
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
