package where

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
		name: "cast", coll: n.coll, dtInput: path == pathIO && n.typ.isString() && constantInputOnly(elemOf(target))}, nil
}

// constantInputOnly reports whether text may be cast to t only when it is
// constant: date/time types, whose input Galvani reads in fewer forms
// than Postgres, and enums, whose labels may have grown since compiling.
func constantInputOnly(t pgType) bool { return isDateTimeType(t) || t.id == tEnum }

func isDateTimeType(t pgType) bool {
	switch t.id {
	case tDate, tTime, tTimestamp, tTimestamptz, tInterval:
		return true
	}
	return false
}

// checkDateTimeInputs refuses casts of non-constant text to date/time
// types: Galvani reads the ISO 8601 forms only, while Postgres' parser
// accepts many more, so such a cast on column data could differ. Casts of
// non-constant text to enums are refused too: a label added to the enum
// after compiling would be rejected here and accepted by Postgres.
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
