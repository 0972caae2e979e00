package where

import (
	"errors"
	"runtime/debug"
	"slices"

	"github.com/galvani-sync/galvani/internal/pg"
)

// Options describe the database context a clause is compiled for.
type Options struct {
	// DefaultCollation is the database's default collation
	// (pg_database.datcollate), such as "C" or "en_US.UTF-8". Empty means
	// unknown: text ordering is then refused (see the package doc).
	DefaultCollation string
	// ColumnCollations optionally names the collation of each column of
	// the relation (by index) where it is not the default; "" means the
	// default.
	ColumnCollations []string
}

// Expr is a compiled where clause. It is immutable and safe for
// concurrent use.
type Expr struct {
	root       *node
	colTypes   []pgType
	colColl    []string // per column: its collation, "" for the default
	colNames   []string
	columns    []int
	normalized string
	sql        string
	args       []string
	text       string // the clause as given, parsed again by SQLFrom (a parse tree is large to keep per shape)
	paramTypes []pgType
	enums      *enumTypes // the enum types casts may name, for SQLFrom
}

// Compile parses text as `SELECT 1 WHERE <text>` with the Postgres parser,
// resolves column references against rel, type-checks the clause (it must
// be boolean), binds params (params[i] is the text of $(i+1), typed from
// context like an untyped literal) and returns the compiled expression.
//
// Compile knows nothing of the database's collation, so it refuses text
// ordering; use CompileWith to give it. Errors are *Error values whose
// Message is the protocol's text.
func Compile(text string, params []string, rel *pg.Relation) (*Expr, error) {
	return CompileWith(text, params, rel, Options{})
}

// CompileWith is Compile for a database context described by opts.
func CompileWith(text string, params []string, rel *pg.Relation, opts Options) (*Expr, error) {
	res, where, cerr := parseWhere(text)
	if cerr != nil {
		return nil, cerr.toError(text)
	}
	c := &compiler{
		rel:        rel,
		params:     params,
		paramTypes: make([]pgType, len(params)),
		paramTyped: make([]bool, len(params)),
		paramUsed:  make([]bool, len(params)),
		opts:       opts,
		enums:      newEnumTypes(rel),
	}
	root, err := c.transform(where)
	if err != nil {
		return nil, toError(err, text)
	}
	if root.kind == nUnknown {
		if root, err = c.coerceToBool(root, "WHERE"); err != nil {
			return nil, toError(err, text)
		}
	}
	if root.typ != typBool {
		return nil, &Error{Field: "where", Message: "WHERE clause must return a boolean"}
	}
	for i, used := range c.paramUsed {
		if !used {
			return nil, &Error{Field: "where", Message: "At location 0: parameter value for $" + itoa(i+1) + " was not used"}
		}
	}
	e := &Expr{colTypes: make([]pgType, len(rel.Columns)), colNames: make([]string, len(rel.Columns)), colColl: make([]string, len(rel.Columns))}
	copy(e.colColl, opts.ColumnCollations)
	root.walk(func(n *node) {
		if n.kind == nColumn && !slices.Contains(e.columns, n.col) {
			e.columns = append(e.columns, n.col)
			e.colTypes[n.col] = n.typ
			e.colNames[n.col] = rel.Columns[n.col].Name
		}
	})
	slices.Sort(e.columns)
	if root, err = c.fold(root); err != nil {
		return nil, toError(err, text)
	}
	root = qualSimplify(root)
	if err := checkDateTimeInputs(root); err != nil {
		return nil, toError(err, text)
	}
	e.root = root
	types := make([]pgType, len(params))
	for i := range params {
		types[i] = typText
		if c.paramTyped[i] {
			types[i] = c.paramTypes[i]
		}
	}
	if e.normalized, err = renderNormalized(res, params, types); err != nil {
		return nil, toError(err, text)
	}
	if e.sql, err = renderSQLText(where, types, c.enums, 0); err != nil {
		return nil, toError(err, text)
	}
	e.text, e.paramTypes, e.enums = text, types, c.enums
	e.args = append([]string(nil), params...)
	return e, nil
}

func itoa(i int) string {
	const digits = "0123456789"
	if i < 10 {
		return digits[i : i+1]
	}
	return itoa(i/10) + digits[i%10:i%10+1]
}

func toError(err error, text string) *Error {
	var ce *compileError
	if errors.As(err, &ce) {
		return ce.toError(text)
	}
	return &Error{Field: "where", Message: err.Error()}
}

// Eval reports whether row (values in the relation's column order, in
// Postgres text output format) satisfies the clause: true only when the
// clause evaluates to TRUE (NULL and FALSE give false).
//
// An error means Postgres would raise one evaluating this row (division
// by zero, overflow, a failing cast, …); the row must be treated as not
// matching. The error is an *EvalError carrying Postgres' message.
//
// Eval does not panic: a failure of Galvani's own (a bug) is returned as
// an *EvalError whose message starts with "internal error".
func (e *Expr) Eval(row pg.Row) (ok bool, err error) {
	defer func() {
		if p := recover(); p != nil {
			ok, err = false, evalErrorf("internal error evaluating the where clause: %v\n%s", p, debug.Stack())
		}
	}()
	for _, i := range e.columns {
		if i >= len(row) {
			return false, evalErrorf("row has %d values, the clause needs column %d", len(row), i+1)
		}
	}
	ev := &evaluator{row: row, types: e.colTypes, names: e.colNames,
		vals: make([]datum, len(e.colTypes)), parsed: make([]bool, len(e.colTypes))}
	v, err := ev.eval(e.root)
	if err != nil {
		return false, err
	}
	b, _ := v.(bool)
	return b, nil
}

// Normalized returns the clause's canonical SQL: the Postgres deparse of
// the parse tree (keywords upper case, whitespace normalised) with each
// parameter replaced by a typed literal '<value>'::<type>. Equal texts mean
// the same clause; a = $1 with 1 differs from a = 1 (protocol §3.1).
func (e *Expr) Normalized() string { return e.normalized }

// SQL returns the clause for the snapshot query, with each parameter
// written as $n::<type>, and the parameter values to bind to $1..$n.
// Parameter values never appear in the SQL text. The text is rendered from
// the parse tree: every operator expression parenthesised, every
// identifier quoted, operators written OPERATOR(pg_catalog.op) and
// functions and types qualified with pg_catalog, string literals re-quoted
// in E” form. Only the allow-listed operators and functions compile, so
// nothing with side effects reaches Postgres.
func (e *Expr) SQL() (sql string, args []string) {
	return e.sql, append([]string(nil), e.args...)
}

// SQLFrom is SQL with the parameters numbered from $(first+1), so the
// clause can be combined with another clause's parameters in one query.
func (e *Expr) SQLFrom(first int) (sql string, args []string, err error) {
	if first == 0 {
		sql, args = e.SQL()
		return sql, args, nil
	}
	_, tree, cerr := parseWhere(e.text)
	if cerr != nil {
		return "", nil, cerr.toError(e.text)
	}
	sql, err = renderSQLText(tree, e.paramTypes, e.enums, first)
	return sql, append([]string(nil), e.args...), err
}

// Columns returns the indexes (into the relation's columns) the clause
// references, in increasing order.
func (e *Expr) Columns() []int { return append([]int(nil), e.columns...) }
