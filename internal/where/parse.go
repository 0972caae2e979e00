package where

import (
	"errors"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"
	"github.com/pganalyze/pg_query_go/v6/parser"
)

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
