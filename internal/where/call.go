package where

import (
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"
)

// makeOp is make_op: it resolves operator op for l (nil for a prefix
// operator) and r, coerces the arguments and builds the call.
func (c *compiler) makeOp(op string, l, r *node, loc int) (*node, error) {
	for _, a := range []*node{l, r} {
		if a != nil && elemOf(a.typ).id == tEnum && !elemOf(a.typ).enum.labelsKnown() {
			return nil, errAt(loc, "operators on enum values are not supported when the enum's labels are unknown; cast the enum to text")
		}
	}
	var lt *pgType
	args := []*node{r}
	if l != nil {
		t := l.typ
		lt = &t
		args = []*node{l, r}
	}
	def, decl, res, err := resolveOperator(op, lt, r.typ, loc)
	if err != nil {
		return nil, c.paramConflict(err, op, args, loc)
	}
	for i := range args {
		if args[i], err = c.coerce(args[i], decl[i], coerceImplicit, loc); err != nil {
			return nil, err
		}
	}
	return c.call(def, op, decl, res, args, loc)
}

// paramConflict turns a failed resolution involving a parameter whose
// type an earlier use fixed into the protocol's "type conflict for $n"
// when the parameter would resolve with another type here.
func (c *compiler) paramConflict(err error, op string, args []*node, loc int) error {
	for i, a := range args {
		if a.param == 0 || a.kind != nConst {
			continue
		}
		in := make([]pgType, len(args))
		for j, b := range args {
			in[j] = b.typ
		}
		in[i] = typUnknown
		var decl []pgType
		var rerr error
		if len(in) == 1 {
			_, decl, _, rerr = resolveOperator(op, nil, in[0], loc)
		} else {
			_, decl, _, rerr = resolveOperator(op, &in[0], in[1], loc)
		}
		if rerr == nil && decl[i] != a.typ {
			return errAt(a.loc, "type conflict for $%d: %s and %s", a.param, decl[i], a.typ)
		}
	}
	return err
}

// call builds the call node of a resolved operator or function.
func (c *compiler) call(def *procDef, name string, decl []pgType, res pgType, args []*node, loc int) (*node, error) {
	n := &node{kind: nFunc, typ: res, loc: loc, args: args, name: name, strict: !def.nonStrict, stable: def.stable}
	if def.stableArg > 0 {
		n.stable = decl[def.stableArg-1] != typBool && ioStable(decl[def.stableArg-1], false)
	}
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
	if def.ordering && len(decl) > 0 {
		markEnumOrdered(decl[0])
	}
	return n, nil
}

// markEnumOrdered records that the clause orders values of t's enum
// type, if t is an enum or an array of one (see enumType.ordered).
func markEnumOrdered(t pgType) {
	if e := elemOf(t); e.id == tEnum && e.enum != nil {
		e.enum.ordered = true
	}
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
