package where

// nodeKind is the kind of a compiled expression node.
type nodeKind uint8

const (
	nConst       nodeKind = iota // a typed constant (val; nil is NULL)
	nUnknown                     // an untyped literal or parameter not yet given a type
	nColumn                      // a column of the row
	nFunc                        // operator, function or cast call (impl on args)
	nAnd                         // AND of args
	nOr                          // OR of args
	nNot                         // NOT args[0]
	nNullTest                    // args[0] IS NULL (IS NOT NULL when negate)
	nBoolTest                    // args[0] IS [NOT] TRUE/FALSE/UNKNOWN
	nDistinct                    // args[0] IS DISTINCT FROM args[1] (NOT DISTINCT when negate)
	nScalarArray                 // args[0] op ANY/ALL (args[1])
	nCoalesce                    // COALESCE(args…)
	nMinMax                      // GREATEST/LEAST(args…)
	nNullIf                      // NULLIF(args[0], args[1])
	nArray                       // ARRAY[args…]
	nSubscript                   // args[0][…]
)

// boolTest is a BooleanTest kind.
type boolTest uint8

const (
	isTrue boolTest = iota
	isNotTrue
	isFalse
	isNotFalse
	isUnknown
	isNotUnknown
)

// node is one node of a compiled where clause.
type node struct {
	kind nodeKind
	typ  pgType
	loc  int // byte offset in the parsed query

	// coll is the collation of a text-typed node: "" for the database
	// default, else a column's collation.
	coll string

	val    datum  // nConst
	text   string // nUnknown: the literal's text
	isNull bool   // nUnknown: the NULL literal
	param  int    // nUnknown and nConst: 1-based parameter number, 0 for literals
	col    int    // nColumn

	args []*node

	impl   fnImpl // nFunc, nScalarArray, nDistinct, nNullIf (the = operator)
	name   string // nFunc: operator or function name
	strict bool   // nFunc: NULL argument gives NULL without calling impl
	stable bool   // nFunc: Postgres does not fold it at plan time
	negate bool   // nNullTest, nDistinct
	test   boolTest
	useOr  bool                 // nScalarArray: ANY (else ALL)
	cmp    func(a, b datum) int // nMinMax
	most   bool                 // nMinMax: GREATEST

	// nSubscript: one entry per subscript; lower is nil for an element
	// fetch, and lower/upper entries are nil for omitted slice bounds.
	slice        bool
	lower, upper []*node

	multidim bool // nArray: elements are arrays

	// soft marks a constant whose value Galvani computed while compiling
	// but that Postgres does not fold at plan time (a stable function):
	// it does not short-circuit AND, OR or COALESCE.
	soft bool

	// dtInput marks a cast from text to a date/time or enum type
	// (through the input function), which is only allowed on constant
	// text (constantInputOnly).
	dtInput bool
}

func (n *node) isConst() bool { return n.kind == nConst }

// isHardConst reports whether Postgres' planner sees n as a constant.
func (n *node) isHardConst() bool { return n.kind == nConst && !n.soft }

func constNode(t pgType, v datum, loc int) *node {
	return &node{kind: nConst, typ: t, val: v, loc: loc}
}

// walk calls f on n and every node below it.
func (n *node) walk(f func(*node)) {
	if n == nil {
		return
	}
	f(n)
	for _, a := range n.args {
		a.walk(f)
	}
	for _, a := range n.lower {
		a.walk(f)
	}
	for _, a := range n.upper {
		a.walk(f)
	}
}
