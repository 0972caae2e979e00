package where

import (
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"

	"github.com/galvani-sync/galvani/internal/pg"
)

// OrderBy parses a subset snapshot's order_by (protocol §10.3): a list of
// column references, each optionally ASC or DESC and NULLS FIRST or LAST,
// and nothing else. It returns the list re-rendered with quoted
// identifiers, safe to place after ORDER BY. Errors are *Error values with
// Field "order_by".
func OrderBy(text string, rel *pg.Relation) (string, error) {
	fail := func(msg string) error { return &Error{Field: "order_by", Message: msg} }
	if len(text) > MaxLength || strings.IndexByte(text, 0) >= 0 {
		return "", fail("order_by is too long or holds a NUL character")
	}
	res, err := pg_query.Parse("SELECT 1 ORDER BY " + text)
	if err != nil {
		return "", fail(err.Error())
	}
	if len(res.Stmts) != 1 {
		return "", fail(`unescaped ";" causing statement split`)
	}
	sel := res.Stmts[0].Stmt.GetSelectStmt()
	if sel == nil || len(sel.SortClause) == 0 || sel.LimitCount != nil || sel.LimitOffset != nil || len(sel.LockingClause) > 0 {
		return "", fail("malformed query ending with SQL clauses")
	}
	var parts []string
	for _, item := range sel.SortClause {
		sb := item.GetSortBy()
		if sb == nil {
			return "", fail("only column references are allowed in ORDER BY")
		}
		if p := sb.Node.GetParamRef(); p != nil {
			return "", fail("parameter $" + itoa(int(p.Number)) + " is not supported in ORDER BY clauses")
		}
		ref := sb.Node.GetColumnRef()
		if ref == nil {
			return "", fail("expression " + nodeName(sb.Node) + " not allowed in ORDER BY: only column references are")
		}
		names, ok := stringsOf(ref.Fields)
		if !ok || len(names) != 1 {
			return "", fail("qualified or star references are not allowed in ORDER BY")
		}
		if rel.ColumnIndex(names[0]) < 0 {
			return "", fail("unknown reference " + names[0])
		}
		part := pg.QuoteIdent(names[0])
		switch sb.SortbyDir {
		case pg_query.SortByDir_SORTBY_ASC:
			part += " ASC"
		case pg_query.SortByDir_SORTBY_DESC:
			part += " DESC"
		case pg_query.SortByDir_SORTBY_USING:
			return "", fail("USING not allowed in ORDER BY")
		}
		switch sb.SortbyNulls {
		case pg_query.SortByNulls_SORTBY_NULLS_FIRST:
			part += " NULLS FIRST"
		case pg_query.SortByNulls_SORTBY_NULLS_LAST:
			part += " NULLS LAST"
		}
		parts = append(parts, part)
	}
	return strings.Join(parts, ", "), nil
}

// nodeName names a parse node's kind for an error message.
func nodeName(n *pg_query.Node) string {
	switch {
	case n.GetFuncCall() != nil:
		return "function call"
	case n.GetTypeCast() != nil:
		return "type cast"
	case n.GetSubLink() != nil:
		return "subquery"
	case n.GetCaseExpr() != nil:
		return "CASE"
	case n.GetAConst() != nil:
		return "constant"
	default:
		return "expression"
	}
}
