package where

// fold simplifies constant subexpressions as Postgres' planner does
// (eval_const_expressions) before running the query: an error raised
// while folding makes Postgres reject the whole query, so Compile
// rejects the clause. Like Postgres it replaces strict calls with a
// constant NULL argument by NULL, and stops folding the arguments of
// AND/OR after a constant FALSE/TRUE and of COALESCE after a constant
// non-NULL value. Stable functions (time-zone dependent casts, date/time
// input) are evaluated too, so that an error they raise on constants is
// reported by Compile (the planner raises it while estimating
// selectivity, or the executor when it reaches it), but their results
// are "soft" constants that do not short-circuit AND, OR and COALESCE,
// as Postgres does not fold them.
func (c *compiler) fold(n *node) (*node, error) {
	switch n.kind {
	case nConst, nColumn:
		return n, nil
	case nUnknown:
		// An untyped literal left untyped (as under IS NULL or in concat)
		// is a constant of type unknown.
		out := constNode(typUnknown, nil, n.loc)
		if !n.isNull {
			out.val = n.text
		}
		out.param = n.param
		return out, nil
	case nAnd, nOr:
		return c.foldBool(n)
	case nCoalesce:
		var args []*node
		for _, a := range n.args {
			f, err := c.fold(a)
			if err != nil {
				return nil, err
			}
			if f.isHardConst() {
				if f.val == nil {
					continue
				}
				if len(args) == 0 {
					return f, nil
				}
				args = append(args, f)
				break
			}
			args = append(args, f)
		}
		if len(args) == 0 {
			return constNode(n.typ, nil, n.loc), nil
		}
		m := *n
		m.args = args
		return &m, nil
	}
	m := *n
	m.args = make([]*node, len(n.args))
	allConst, nullConst, soft := true, false, n.stable
	for i, a := range n.args {
		f, err := c.fold(a)
		if err != nil {
			return nil, err
		}
		m.args[i] = f
		switch {
		case !f.isConst():
			allConst = false
		case f.soft:
			soft = true
		case f.val == nil:
			nullConst = true
		}
	}
	foldList := func(l []*node) ([]*node, error) {
		if l == nil {
			return nil, nil
		}
		out := make([]*node, len(l))
		for i, a := range l {
			if a == nil {
				continue
			}
			f, err := c.fold(a)
			if err != nil {
				return nil, err
			}
			out[i] = f
			if !f.isConst() {
				allConst = false
			}
			soft = soft || f.soft
		}
		return out, nil
	}
	var err error
	if m.lower, err = foldList(n.lower); err != nil {
		return nil, err
	}
	if m.upper, err = foldList(n.upper); err != nil {
		return nil, err
	}
	switch n.kind {
	case nNullIf:
		// "If either argument is NULL they can't be equal": Postgres
		// returns the first argument without evaluating the other.
		for _, a := range m.args {
			if a.isHardConst() && a.val == nil {
				return m.args[0], nil
			}
		}
		if !allConst {
			return &m, nil
		}
	case nFunc:
		if n.strict && nullConst {
			return constNode(n.typ, nil, n.loc), nil
		}
		if !allConst {
			return &m, nil
		}
	default:
		// Also GREATEST/LEAST: Postgres folds a MinMaxExpr whose
		// arguments are all constants, taking the btree comparison as
		// immutable.
		if !allConst {
			return &m, nil
		}
	}
	v, err := (&evaluator{}).eval(&m)
	if err != nil {
		ce := errAt(n.loc, "%s", errorMessage(err))
		ce.evaluation = true
		return nil, ce
	}
	out := constNode(n.typ, v, n.loc)
	out.coll = n.coll
	out.soft = soft
	return out, nil
}

// foldBool is simplify_and_arguments / simplify_or_arguments.
func (c *compiler) foldBool(n *node) (*node, error) {
	isAnd := n.kind == nAnd
	var args []*node
	haveNull := false
	queue := append([]*node(nil), n.args...)
	for len(queue) > 0 {
		a := queue[0]
		queue = queue[1:]
		if a.kind == n.kind {
			queue = append(append([]*node(nil), a.args...), queue...)
			continue
		}
		f, err := c.fold(a)
		if err != nil {
			return nil, err
		}
		if f.kind == n.kind {
			queue = append(append([]*node(nil), f.args...), queue...)
			continue
		}
		if f.isHardConst() {
			if f.val == nil {
				haveNull = true
				continue
			}
			if f.val.(bool) != isAnd {
				return constNode(typBool, !isAnd, n.loc), nil
			}
			continue
		}
		args = append(args, f)
	}
	if len(args) == 0 {
		if haveNull {
			return constNode(typBool, nil, n.loc), nil
		}
		return constNode(typBool, isAnd, n.loc), nil
	}
	if haveNull {
		args = append(args, constNode(typBool, nil, n.loc))
	}
	if len(args) == 1 {
		return args[0], nil
	}
	m := *n
	m.args = args
	return &m, nil
}

// qualSimplify is canonicalize_qual's treatment of a WHERE clause
// (find_duplicate_ors with is_check false): through the top-level ANDs
// and ORs, a constant NULL acts as FALSE, so an AND holding one is FALSE
// and an OR drops it. The clause's value as a filter is unchanged, but
// like Postgres Galvani then never evaluates (and never raises errors in)
// the branches removed.
func qualSimplify(n *node) *node {
	if n.kind != nAnd && n.kind != nOr {
		return n
	}
	isAnd := n.kind == nAnd
	var args []*node
	for _, a := range n.args {
		a = qualSimplify(a)
		if a.isHardConst() {
			truth := a.val != nil && a.val.(bool)
			if isAnd && truth || !isAnd && !truth {
				continue // TRUE in AND, FALSE or NULL in OR
			}
			return constNode(typBool, !isAnd, n.loc) // FALSE or NULL in AND; TRUE in OR
		}
		if a.kind == n.kind {
			args = append(args, a.args...)
		} else {
			args = append(args, a)
		}
	}
	switch len(args) {
	case 0:
		return constNode(typBool, isAnd, n.loc)
	case 1:
		return args[0]
	}
	m := *n
	m.args = args
	return &m
}
