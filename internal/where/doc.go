// Package where compiles shape where clauses (protocol §13) and evaluates
// them on replicated rows with Postgres' semantics. It is pure: no I/O;
// it imports only internal/pg and the Postgres parser (pg_query_go).
//
//	e, err := where.CompileWith("status = $1 AND priority > 2", []string{"open"}, rel, where.Options{DefaultCollation: "C"})
//	ok, err := e.Eval(row)    // does the row (text values, rel's column order) match?
//	e.Normalized()            // identity of the clause (protocol §3.1)
//	sql, args := e.SQL()      // for the snapshot: WHERE <sql>, bound args
//
// # Parsing and typing
//
// The text is parsed as `SELECT 1 WHERE <text>` by the real Postgres
// parser; anything but one where expression is refused (`unescaped ";"
// causing statement split`, `malformed query ending with SQL clauses`).
// Error messages are prefixed `At location <n>:` with n counted in
// characters of the where text. Errors are *Error values (Field "where")
// whose Message is the text for the 400 body; Error.Evaluation tells
// errors Postgres would raise evaluating constants (division by zero, a
// bad literal) from refusals.
//
// Typing follows Postgres, not an approximation of it: the operator and
// function catalog (catalog.go) mirrors pg_operator/pg_proc for the
// supported types, including candidates Galvani does not implement, and
// resolve.go ports Postgres' overload resolution (exact match, implicit
// coercion, preferred types, untyped-literal categories, polymorphic
// anyarray/anycompatible types). So `col = '5'`, `'a' || 1`, `arr || '{1}'`
// and `x IN (1, 2.5)` type exactly as Postgres types them, and a clause
// that resolves to an unimplemented operator is refused rather than
// evaluated differently. Untyped literals and $n parameters are read
// with the input function of the type context gives them, while
// compiling; a parameter used with two types is refused (`type conflict
// for $1: …`); every parameter must be used. BETWEEN, IN, IS DISTINCT FROM
// and NULLIF are expanded as Postgres' parser expands them.
//
// Constant subexpressions are folded as the planner folds them
// (eval_const_expressions, then canonicalize_qual's NULL-as-FALSE in the
// top-level ANDs and ORs): an error there rejects the clause, as Postgres
// would fail the snapshot query. Stable functions (time-zone dependent)
// are evaluated for errors but, as in Postgres, do not short-circuit AND,
// OR or COALESCE.
//
// # Supported
//
// Columns of type bool, int2, int4, int8, float4, float8, numeric, text,
// varchar, uuid, bytea, date, time, timestamp, timestamptz, interval, enum
// types and arrays of these; jsonb columns only through casts to bool and
// numbers.
//
// Comparisons = <> != < > <= >= on all of these (arrays element-wise with
// Postgres' array_cmp; intervals as Postgres compares them, 1 mon = 30
// days), AND OR NOT with three-valued logic, IS [NOT] NULL, ISNULL,
// NOTNULL, IS [NOT] TRUE/FALSE/UNKNOWN, IS [NOT] DISTINCT FROM, NULLIF,
// [NOT] IN (list), [NOT] BETWEEN [SYMMETRIC], op ANY/SOME/ALL (array).
// Arithmetic + - * / % ^ |/ @ and unary - + with Postgres' result types,
// integer overflow errors, float overflow/underflow errors and division
// by zero; bitwise & | # ~ << >> (shift counts masked as compiled C does).
// Text || (also with non-text operands), LIKE/ILIKE/NOT LIKE/NOT ILIKE
// with ESCAPE and the backslash default, ~~ ~~* !~~ !~~*, like() and
// notlike(), the bytewise ~<~ family. Arrays @> <@ && ||, subscripts
// a[i][j] and slices a[i:j], a[:j], a[i:] (1-based and lower-bound aware),
// ARRAY[…]. Date/time arithmetic: date ± int, date − date, date + time,
// date/timestamp/timestamptz/time ± interval, timestamp − timestamp,
// time − time, interval ± interval, interval × / float8, unary − interval.
// Functions lower, upper, concat, coalesce, greatest, least, array_cat,
// array_append, array_prepend, array_ndims, timezone (and AT TIME ZONE)
// with a text or interval zone, justify_days, justify_hours,
// justify_interval, like_escape, and type-named functions such as
// int4('5') or text(x), treated as Postgres treats them (a cast, or a call
// of the cast function). Casts ::type and CAST(… AS …) to bool, int2,
// int4, int8, float4, float8, numeric, text, varchar, uuid, bytea, jsonb,
// date, time, timestamp, timestamptz, interval and their arrays, along the
// pg_cast paths (implicit, assignment, explicit, binary, I/O, array
// element-wise), with the type modifiers varchar(n), numeric(p,s),
// timestamp(p), timestamptz(p) and time(p).
//
// # Enums
//
// An enum column (pg.Column.Enum gives its type and labels in sort order)
// compares as Postgres' anyenum operators do: = <> < > <= >= with another
// value of the same enum type, so also IN, BETWEEN, IS DISTINCT FROM,
// NULLIF, GREATEST/LEAST and op ANY/ALL, and arrays of enums with the
// array operators (@> <@ && = < …, subscripts, ||). Ordering follows the
// labels' sort order (pg_enum.enumsortorder), not their text. A literal
// or parameter compared with an enum value is read as a label of its type
// and must be one exactly (`invalid input value for enum mood: "x"`); a
// value of another enum type or of text does not compare (`operator does
// not exist: mood = text`). Casts: enum to text and varchar, 'label'::mood
// and '{…}'::mood[] with the type named as in the relation's columns
// (alone, or schema-qualified), and text to an enum only for constant
// text. Parameters of enum type are rendered $n::"schema"."type".
//
// The labels are those of the catalog when the clause is compiled. A row
// may later hold a label added since (ALTER TYPE … ADD VALUE): equality
// tests compare labels, so they decide such a row exactly; a clause that
// orders values of the type cannot place the label, and Eval returns an
// *EvalError wrapping ErrUnknownEnumLabel for rows holding it (the clause
// must be compiled again). A clause cannot name a label added after it was
// compiled, and a renamed label (ALTER TYPE … RENAME VALUE) is a new label
// to it. An enum column without pg.Column.Enum supports only ::text.
//
// # Values
//
// Column values arrive as Postgres prints them under Galvani's session
// settings (DateStyle ISO, TimeZone UTC, extra_float_digits 1,
// IntervalStyle iso_8601, bytea_output hex) and are read back exactly.
// numeric is arbitrary precision with Postgres' display scale: addition,
// subtraction and multiplication are exact, division uses
// select_div_scale and rounds half away from zero, NaN equals NaN and
// sorts above Infinity; ^ chooses its scale as power_var does and
// computes with ample guard digits, so its last digit can in rare cases
// differ from Postgres' own approximation. float4 arithmetic rounds to
// float32 at every step; NaN equals NaN and sorts above everything; float
// ^ uses Go's math.Pow, which can differ from glibc's pow in the last bit.
// Float output (for ::text, concat, ||) is the shortest round-trip form
// Postgres prints. Dates, times and timestamps use Postgres' epoch and
// calendar (BC years, ±infinity, month-end clamping).
//
// Date/time input accepts the ISO 8601 forms: YYYY-MM-DD (four or more
// digit years), an optional time HH:MM[:SS[.frac]] after a space or T,
// an optional zone (Z, UTC, GMT, ±HH[:MM[:SS]], ±HHMM, or an IANA
// Region/City name, case as in the tz database), BC/AD, and infinity,
// -infinity, epoch, allballs. Interval input accepts ISO 8601 (P…T…) and
// the Postgres unit form ("1 day 02:00", "3 hours ago", "@ 1 year",
// "1-2"). Other forms Postgres accepts (textual months, MDY/DMY orders,
// abbreviations such as PST) are refused in literals, and casting
// non-constant text to a date/time type is refused, so Galvani never reads
// such a value differently from Postgres. 'now', 'today', 'tomorrow' and
// 'yesterday' are refused: they depend on the current time. Time zone
// abbreviations and POSIX zone strings are not supported by timezone()
// (an evaluation error for a non-constant zone).
//
// # Collation
//
// Galvani compares text bytewise, which is what Postgres does under the
// C collation (and POSIX, ucs_basic, C.UTF-8). Equality, LIKE and
// containment are bytewise under every deterministic collation, so they
// are always supported. Ordering of text (< > <= >=, BETWEEN, GREATEST,
// LEAST, array ordering of text arrays, ANY/ALL with those operators) is
// supported only when the collation in effect is known to be C-like:
// CompileWith takes Options.DefaultCollation (pg_database.datcollate) and
// per-column collations; Compile, which knows none, refuses text ordering
// with a 400 rather than risk an answer that differs from the snapshot's.
// Case mapping (lower, upper, ILIKE) maps ASCII letters only, as Postgres
// does under C; under another collation non-ASCII input is an evaluation
// error (the row does not match, the error is logged), and Turkish and
// Azeri collations, whose ASCII mapping differs, are refused.
// Nondeterministic (ICU) collations are not detected and must not be
// declared C.
//
// # Evaluation and errors
//
// Eval reports whether a row matches: true only when the clause is TRUE.
// AND and OR evaluate left to right and stop at the first FALSE/TRUE;
// strict functions evaluate all their arguments before returning NULL;
// COALESCE stops at the first non-NULL value; op ANY/ALL on an empty
// array is FALSE/TRUE whatever the left side. When Postgres would raise an
// error on a row (overflow, division by zero, a failing cast, …), Eval
// returns an *EvalError with Postgres' message; the caller treats the row
// as not matching and logs it. Postgres raises the same error when it
// evaluates the clause as written on that row, and then fails the whole
// query; it may skip the failing part where its planner orders the
// conjuncts of a top-level AND by cost or proves a conjunct true (x op
// ALL('{}')). The oracle test (internal/oracle) checks row by row that
// the two agree, counting an error as "not matching".
//
// # Rendering
//
// Normalized is the deparsed parse tree with each $n replaced by the
// typed literal '<value>'::<type>: whitespace and keyword case do not
// matter, a parameter differs from the same literal. SQL renders the
// clause for the snapshot query from the parse tree with every operator
// expression parenthesised, identifiers quoted, operators as
// OPERATOR(pg_catalog.op), functions and types qualified with pg_catalog,
// string literals re-quoted, and $n written as $n::<type> with the values
// returned separately for binding: parameter values never enter SQL text,
// and only allow-listed, side-effect-free operators and functions compile.
//
// # Routing
//
// For the router's indexes (protocol §13.5), Conditions returns the
// equality terms (`col = const`, `col IN (…)`, `col = ANY(const array)`,
// through AND and OR) one of which every accepted row satisfies, and
// Inclusions the top-level `array_col @> const`, `const <@ array_col` and
// `const = ANY(array_col)` conjuncts with the constants' elements;
// ArrayElements splits a row's array text for matching. Values are given
// as the column type's Postgres text, only for types whose text is
// canonical for equality (integers, uuid, bool, enums, text under C-like
// collations), so matching text means equal values.
//
// # Not supported
//
// Subqueries (`IN (SELECT …)`, EXISTS, scalar subqueries; protocol §13.6),
// CASE, COLLATE, SIMILAR TO and regular expressions, jsonb operators, enum
// support functions (enum_first, enum_range, …) and function-style casts
// to enums (mood('ok')), domains, bpchar/char, timetz, network,
// geometric, range and other types, aggregates and window functions,
// VARIADIC, non-deterministic functions (now(), random(), CURRENT_DATE,
// …), the cube-root operator ||/ (libm's cbrt cannot be matched bit for
// bit), and any function or operator not listed above. Limits: MaxLength
// bytes of text, 150 levels of nesting and 5000 nodes; arrays of up to
// 2^20 elements.
package where
