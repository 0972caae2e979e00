package where

import (
	"strconv"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"

	"github.com/galvani-sync/galvani/internal/pg"
)

// sqlRenderer writes a compiled clause's parse tree back as SQL for the
// snapshot query. Unlike the deparser, it parenthesises every operator
// expression (so the text parses back to the same tree), quotes every
// identifier, names operators and functions in pg_catalog explicitly,
// writes string literals in E” form (independent of
// standard_conforming_strings), and writes parameters as $n::<type>.
type sqlRenderer struct {
	b     strings.Builder
	types []pgType // parameter types
	enums *enumTypes
	shift int // added to parameter numbers
}

func renderSQLText(where *pg_query.Node, types []pgType, enums *enumTypes, shift int) (string, error) {
	r := &sqlRenderer{types: types, enums: enums, shift: shift}
	if err := r.node(where); err != nil {
		return "", err
	}
	return r.b.String(), nil
}

// quoteLiteral writes s as an SQL string literal that reads the same
// whatever standard_conforming_strings is.
func quoteLiteral(s string) string {
	if strings.IndexByte(s, '\\') < 0 {
		return "'" + strings.ReplaceAll(s, "'", "''") + "'"
	}
	return "E'" + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), "'", "''") + "'"
}

func (r *sqlRenderer) w(s ...string) {
	for _, x := range s {
		r.b.WriteString(x)
	}
}

func (r *sqlRenderer) list(nodes []*pg_query.Node) error {
	for i, n := range nodes {
		if i > 0 {
			r.w(", ")
		}
		if err := r.node(n); err != nil {
			return err
		}
	}
	return nil
}

// sqlTypeName is t's qualified, quoted name (without []).
func sqlTypeName(t pgType) string {
	if t.id == tEnum && t.enum != nil {
		return t.enum.sqlName()
	}
	return "pg_catalog." + pg.QuoteIdent(typeInfos[t.id].name)
}

func (r *sqlRenderer) typeName(tn *pg_query.TypeName) error {
	t, mods, err := typeFromName(tn, r.enums)
	if err != nil {
		return err
	}
	r.w(sqlTypeName(t))
	if len(mods) > 0 {
		r.w("(")
		for i, m := range mods {
			if i > 0 {
				r.w(", ")
			}
			r.w(strconv.Itoa(int(m)))
		}
		r.w(")")
	}
	if t.array {
		r.w("[]")
	}
	return nil
}

func (r *sqlRenderer) op(names []*pg_query.Node) error {
	op, err := operatorName(names, -1)
	if err != nil {
		return err
	}
	r.w("OPERATOR(pg_catalog.", op, ")")
	return nil
}

func (r *sqlRenderer) node(pn *pg_query.Node) error {
	switch x := pn.Node.(type) {
	case *pg_query.Node_AConst:
		a := x.AConst
		if a.Isnull {
			r.w("NULL")
			return nil
		}
		switch v := a.Val.(type) {
		case *pg_query.A_Const_Ival:
			r.w("(", strconv.Itoa(int(v.Ival.Ival)), ")")
		case *pg_query.A_Const_Fval:
			r.w("(", v.Fval.Fval, ")")
		case *pg_query.A_Const_Boolval:
			if v.Boolval.Boolval {
				r.w("true")
			} else {
				r.w("false")
			}
		case *pg_query.A_Const_Sval:
			r.w(quoteLiteral(v.Sval.Sval))
		default:
			return errAt(-1, "cannot render constant")
		}
	case *pg_query.Node_ColumnRef:
		parts, ok := stringsOf(x.ColumnRef.Fields)
		if !ok || len(parts) != 1 {
			return errAt(-1, "cannot render column reference")
		}
		r.w(pg.QuoteIdent(parts[0]))
	case *pg_query.Node_ParamRef:
		n := int(x.ParamRef.Number)
		if n < 1 || n > len(r.types) {
			return errAt(-1, "cannot render parameter $%d", n)
		}
		t := r.types[n-1]
		r.w("($", strconv.Itoa(n+r.shift), "::", sqlTypeName(t))
		if t.array {
			r.w("[]")
		}
		r.w(")")
	case *pg_query.Node_TypeCast:
		r.w("(")
		if err := r.node(x.TypeCast.Arg); err != nil {
			return err
		}
		r.w(")::")
		if err := r.typeName(x.TypeCast.TypeName); err != nil {
			return err
		}
	case *pg_query.Node_BoolExpr:
		b := x.BoolExpr
		if b.Boolop == pg_query.BoolExprType_NOT_EXPR {
			r.w("(NOT ")
			if err := r.node(b.Args[0]); err != nil {
				return err
			}
			r.w(")")
			return nil
		}
		sep := " AND "
		if b.Boolop == pg_query.BoolExprType_OR_EXPR {
			sep = " OR "
		}
		r.w("(")
		for i, a := range b.Args {
			if i > 0 {
				r.w(sep)
			}
			if err := r.node(a); err != nil {
				return err
			}
		}
		r.w(")")
	case *pg_query.Node_AExpr:
		return r.aExpr(x.AExpr)
	case *pg_query.Node_NullTest:
		r.w("(")
		if err := r.node(x.NullTest.Arg); err != nil {
			return err
		}
		if x.NullTest.Nulltesttype == pg_query.NullTestType_IS_NOT_NULL {
			r.w(" IS NOT NULL)")
		} else {
			r.w(" IS NULL)")
		}
	case *pg_query.Node_BooleanTest:
		r.w("(")
		if err := r.node(x.BooleanTest.Arg); err != nil {
			return err
		}
		r.w(map[pg_query.BoolTestType]string{
			pg_query.BoolTestType_IS_TRUE:        " IS TRUE)",
			pg_query.BoolTestType_IS_NOT_TRUE:    " IS NOT TRUE)",
			pg_query.BoolTestType_IS_FALSE:       " IS FALSE)",
			pg_query.BoolTestType_IS_NOT_FALSE:   " IS NOT FALSE)",
			pg_query.BoolTestType_IS_UNKNOWN:     " IS UNKNOWN)",
			pg_query.BoolTestType_IS_NOT_UNKNOWN: " IS NOT UNKNOWN)",
		}[x.BooleanTest.Booltesttype])
	case *pg_query.Node_FuncCall:
		parts, ok := stringsOf(x.FuncCall.Funcname)
		if !ok || len(parts) == 0 {
			return errAt(-1, "cannot render function call")
		}
		r.w("pg_catalog.", pg.QuoteIdent(parts[len(parts)-1]), "(")
		if err := r.list(x.FuncCall.Args); err != nil {
			return err
		}
		r.w(")")
	case *pg_query.Node_CoalesceExpr:
		r.w("COALESCE(")
		if err := r.list(x.CoalesceExpr.Args); err != nil {
			return err
		}
		r.w(")")
	case *pg_query.Node_MinMaxExpr:
		if x.MinMaxExpr.Op == pg_query.MinMaxOp_IS_GREATEST {
			r.w("GREATEST(")
		} else {
			r.w("LEAST(")
		}
		if err := r.list(x.MinMaxExpr.Args); err != nil {
			return err
		}
		r.w(")")
	case *pg_query.Node_AArrayExpr:
		r.w("ARRAY[")
		if err := r.list(x.AArrayExpr.Elements); err != nil {
			return err
		}
		r.w("]")
	case *pg_query.Node_AIndirection:
		r.w("(")
		if err := r.node(x.AIndirection.Arg); err != nil {
			return err
		}
		r.w(")")
		for _, ind := range x.AIndirection.Indirection {
			ai := ind.GetAIndices()
			if ai == nil {
				return errAt(-1, "cannot render indirection")
			}
			r.w("[")
			if ai.IsSlice {
				if ai.Lidx != nil {
					if err := r.node(ai.Lidx); err != nil {
						return err
					}
				}
				r.w(":")
			}
			if ai.Uidx != nil {
				if err := r.node(ai.Uidx); err != nil {
					return err
				}
			}
			r.w("]")
		}
	default:
		return errAt(-1, "cannot render %s", nodeTypeName(pn))
	}
	return nil
}

func (r *sqlRenderer) aExpr(a *pg_query.A_Expr) error {
	bin := func(mid func() error) error {
		r.w("(")
		if err := r.node(a.Lexpr); err != nil {
			return err
		}
		r.w(" ")
		if err := mid(); err != nil {
			return err
		}
		r.w(" ")
		if err := r.node(a.Rexpr); err != nil {
			return err
		}
		r.w(")")
		return nil
	}
	word := func(s string) func() error { return func() error { r.w(s); return nil } }
	switch a.Kind {
	case pg_query.A_Expr_Kind_AEXPR_OP, pg_query.A_Expr_Kind_AEXPR_LIKE, pg_query.A_Expr_Kind_AEXPR_ILIKE:
		if a.Lexpr == nil {
			r.w("(")
			if err := r.op(a.Name); err != nil {
				return err
			}
			r.w(" ")
			if err := r.node(a.Rexpr); err != nil {
				return err
			}
			r.w(")")
			return nil
		}
		return bin(func() error { return r.op(a.Name) })
	case pg_query.A_Expr_Kind_AEXPR_OP_ANY, pg_query.A_Expr_Kind_AEXPR_OP_ALL:
		r.w("(")
		if err := r.node(a.Lexpr); err != nil {
			return err
		}
		r.w(" ")
		if err := r.op(a.Name); err != nil {
			return err
		}
		if a.Kind == pg_query.A_Expr_Kind_AEXPR_OP_ANY {
			r.w(" ANY (")
		} else {
			r.w(" ALL (")
		}
		if err := r.node(a.Rexpr); err != nil {
			return err
		}
		r.w("))")
	case pg_query.A_Expr_Kind_AEXPR_DISTINCT:
		return bin(word("IS DISTINCT FROM"))
	case pg_query.A_Expr_Kind_AEXPR_NOT_DISTINCT:
		return bin(word("IS NOT DISTINCT FROM"))
	case pg_query.A_Expr_Kind_AEXPR_NULLIF:
		r.w("NULLIF(")
		if err := r.node(a.Lexpr); err != nil {
			return err
		}
		r.w(", ")
		if err := r.node(a.Rexpr); err != nil {
			return err
		}
		r.w(")")
	case pg_query.A_Expr_Kind_AEXPR_IN:
		op, err := operatorName(a.Name, -1)
		if err != nil {
			return err
		}
		r.w("(")
		if err := r.node(a.Lexpr); err != nil {
			return err
		}
		if op == "=" {
			r.w(" IN (")
		} else {
			r.w(" NOT IN (")
		}
		if err := r.list(a.Rexpr.GetList().GetItems()); err != nil {
			return err
		}
		r.w("))")
	case pg_query.A_Expr_Kind_AEXPR_BETWEEN, pg_query.A_Expr_Kind_AEXPR_NOT_BETWEEN,
		pg_query.A_Expr_Kind_AEXPR_BETWEEN_SYM, pg_query.A_Expr_Kind_AEXPR_NOT_BETWEEN_SYM:
		kw := map[pg_query.A_Expr_Kind]string{
			pg_query.A_Expr_Kind_AEXPR_BETWEEN:         " BETWEEN ",
			pg_query.A_Expr_Kind_AEXPR_NOT_BETWEEN:     " NOT BETWEEN ",
			pg_query.A_Expr_Kind_AEXPR_BETWEEN_SYM:     " BETWEEN SYMMETRIC ",
			pg_query.A_Expr_Kind_AEXPR_NOT_BETWEEN_SYM: " NOT BETWEEN SYMMETRIC ",
		}[a.Kind]
		items := a.Rexpr.GetList().GetItems()
		if len(items) != 2 {
			return errAt(-1, "cannot render BETWEEN")
		}
		r.w("(")
		if err := r.node(a.Lexpr); err != nil {
			return err
		}
		r.w(kw, "(")
		if err := r.node(items[0]); err != nil {
			return err
		}
		r.w(") AND (")
		if err := r.node(items[1]); err != nil {
			return err
		}
		r.w("))")
	default:
		return errAt(-1, "cannot render A_Expr")
	}
	return nil
}
