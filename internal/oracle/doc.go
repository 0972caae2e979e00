// Package oracle is test support: it generates random tables, rows and
// where clauses so that Galvani's behaviour can be compared with what
// Postgres does on the same data.
//
// The differential test of the where language lives in where_test.go:
// each generated clause is compiled by where.CompileWith and evaluated
// with Expr.Eval on every row of a random table, and the same clause runs
// in Postgres twice, as rendered by Expr.SQL (with its bound parameters)
// and as the user wrote it (with the parameters as untyped values). The
// row sets must agree; see TestWhereOracle for the rules on errors and on
// clauses outside the supported subset. Every run logs its seed; -seed
// replays a run and -oracle.cases sets the number of cases.
package oracle
