package where

import (
	"errors"

	"github.com/galvani-sync/galvani/internal/pg"
)

// evaluator evaluates a compiled tree on one row, reading each referenced
// column's text at most once.
type evaluator struct {
	row    pg.Row
	types  []pgType // by column index; only referenced columns are set
	names  []string
	vals   []datum
	parsed []bool
}

func (ev *evaluator) column(i int) (datum, error) {
	if ev.parsed[i] {
		return ev.vals[i], nil
	}
	v := ev.row[i]
	var d datum
	if !v.Null {
		var err error
		d, err = columnValue(ev.types[i], v.Text)
		if err != nil {
			ee := evalErrorf("column %s: %s", identifier([]string{ev.names[i]}), errorMessage(err))
			ee.cause = errors.Unwrap(err)
			return nil, ee
		}
	}
	ev.vals[i], ev.parsed[i] = d, true
	return d, nil
}

func errorMessage(err error) string {
	if e, ok := err.(*EvalError); ok {
		return e.Message
	}
	return err.Error()
}

// eval evaluates n with Postgres' semantics: three-valued logic, AND and
// OR evaluated left to right with short-circuit, strict functions giving
// NULL on NULL input after all their arguments are evaluated.
func (ev *evaluator) eval(n *node) (datum, error) {
	switch n.kind {
	case nConst:
		return n.val, nil
	case nUnknown:
		if n.isNull {
			return nil, nil
		}
		return n.text, nil
	case nColumn:
		return ev.column(n.col)
	case nFunc:
		var buf [3]datum
		args := buf[:0]
		if len(n.args) > len(buf) {
			args = make([]datum, 0, len(n.args))
		}
		anyNull := false
		for _, a := range n.args {
			v, err := ev.eval(a)
			if err != nil {
				return nil, err
			}
			anyNull = anyNull || v == nil
			args = append(args, v)
		}
		if n.strict && anyNull {
			return nil, nil
		}
		return n.impl(args)
	case nAnd, nOr:
		isAnd := n.kind == nAnd
		sawNull := false
		for _, a := range n.args {
			v, err := ev.eval(a)
			if err != nil {
				return nil, err
			}
			if v == nil {
				sawNull = true
				continue
			}
			if v.(bool) != isAnd {
				return !isAnd, nil
			}
		}
		if sawNull {
			return nil, nil
		}
		return isAnd, nil
	case nNot:
		v, err := ev.eval(n.args[0])
		if err != nil || v == nil {
			return nil, err
		}
		return !v.(bool), nil
	case nNullTest:
		v, err := ev.eval(n.args[0])
		if err != nil {
			return nil, err
		}
		return (v == nil) != n.negate, nil
	case nBoolTest:
		v, err := ev.eval(n.args[0])
		if err != nil {
			return nil, err
		}
		switch n.test {
		case isTrue:
			return v != nil && v.(bool), nil
		case isNotTrue:
			return v == nil || !v.(bool), nil
		case isFalse:
			return v != nil && !v.(bool), nil
		case isNotFalse:
			return v == nil || v.(bool), nil
		case isUnknown:
			return v == nil, nil
		}
		return v != nil, nil
	case nDistinct:
		a, err := ev.eval(n.args[0])
		if err != nil {
			return nil, err
		}
		b, err := ev.eval(n.args[1])
		if err != nil {
			return nil, err
		}
		var distinct bool
		switch {
		case a == nil && b == nil:
			distinct = false
		case a == nil || b == nil:
			distinct = true
		default:
			eq, err := n.impl([]datum{a, b})
			if err != nil {
				return nil, err
			}
			distinct = !eq.(bool)
		}
		return distinct != n.negate, nil
	case nNullIf:
		a, err := ev.eval(n.args[0])
		if err != nil {
			return nil, err
		}
		b, err := ev.eval(n.args[1])
		if err != nil {
			return nil, err
		}
		if a != nil && b != nil {
			eq, err := n.impl([]datum{a, b})
			if err != nil {
				return nil, err
			}
			if eq.(bool) {
				return nil, nil
			}
		}
		return a, nil
	case nScalarArray:
		return ev.scalarArray(n)
	case nCoalesce:
		for _, a := range n.args {
			v, err := ev.eval(a)
			if err != nil || v != nil {
				return v, err
			}
		}
		return nil, nil
	case nMinMax:
		var best datum
		for _, a := range n.args {
			v, err := ev.eval(a)
			if err != nil {
				return nil, err
			}
			if v == nil {
				continue
			}
			if best == nil {
				best = v
				continue
			}
			c := n.cmp(v, best)
			if (n.most && c > 0) || (!n.most && c < 0) {
				best = v
			}
		}
		return best, nil
	case nArray:
		return ev.array(n)
	case nSubscript:
		return ev.subscript(n)
	}
	return nil, evalErrorf("unsupported expression")
}

// scalarArray is ExecEvalScalarArrayOp.
func (ev *evaluator) scalarArray(n *node) (datum, error) {
	s, err := ev.eval(n.args[0])
	if err != nil {
		return nil, err
	}
	av, err := ev.eval(n.args[1])
	if err != nil || av == nil {
		return nil, err
	}
	arr := av.(*arrayVal)
	if len(arr.elems) == 0 {
		return !n.useOr, nil
	}
	if s == nil {
		return nil, nil
	}
	sawNull := false
	for _, e := range arr.elems {
		if e == nil {
			sawNull = true
			continue
		}
		r, err := n.impl([]datum{s, e})
		if err != nil {
			return nil, err
		}
		if r == nil {
			sawNull = true
			continue
		}
		if r.(bool) == n.useOr {
			return n.useOr, nil
		}
	}
	if sawNull {
		return nil, nil
	}
	return !n.useOr, nil
}

// array is ExecEvalArrayExpr.
func (ev *evaluator) array(n *node) (datum, error) {
	vals := make([]datum, len(n.args))
	for i, a := range n.args {
		v, err := ev.eval(a)
		if err != nil {
			return nil, err
		}
		vals[i] = v
	}
	if !n.multidim {
		return newArray1(vals), nil
	}
	var subs []*arrayVal
	haveEmpty := false
	for _, v := range vals {
		if v == nil {
			haveEmpty = true
			continue
		}
		a := v.(*arrayVal)
		if a.ndims() == 0 {
			haveEmpty = true
			continue
		}
		subs = append(subs, a)
	}
	if len(subs) == 0 {
		return &arrayVal{}, nil
	}
	first := subs[0]
	if haveEmpty || first.ndims()+1 > maxArrayDims {
		if haveEmpty {
			return nil, evalErrorf("multidimensional arrays must have array expressions with matching dimensions")
		}
		return nil, evalErrorf("number of array dimensions (%d) exceeds the maximum allowed (%d)", first.ndims()+1, maxArrayDims)
	}
	var elems []datum
	for _, a := range subs {
		if !equalInts(a.dims, first.dims) || !equalInts(a.lbound, first.lbound) {
			return nil, evalErrorf("multidimensional arrays must have array expressions with matching dimensions")
		}
		elems = append(elems, a.elems...)
		if len(elems) > maxArrayElems {
			return nil, evalErrorf("array size exceeds the maximum allowed")
		}
	}
	dims := append([]int{len(subs)}, first.dims...)
	lbs := append([]int{1}, first.lbound...)
	return &arrayVal{dims: dims, lbound: lbs, elems: elems}, nil
}

// subscript is array element fetch or slice; a NULL subscript gives NULL.
func (ev *evaluator) subscript(n *node) (datum, error) {
	av, err := ev.eval(n.args[0])
	if err != nil || av == nil {
		return nil, err
	}
	sub := func(s *node) (*int64, bool, error) {
		if s == nil {
			return nil, true, nil
		}
		v, err := ev.eval(s)
		if err != nil || v == nil {
			return nil, false, err
		}
		x := v.(int64)
		return &x, true, nil
	}
	upper := make([]*int64, len(n.upper))
	var lower []*int64
	if n.slice {
		lower = make([]*int64, len(n.lower))
	}
	isNull := false
	for i := range n.upper {
		u, ok, err := sub(n.upper[i])
		if err != nil {
			return nil, err
		}
		isNull = isNull || !ok
		upper[i] = u
		if n.slice {
			l, ok, err := sub(n.lower[i])
			if err != nil {
				return nil, err
			}
			isNull = isNull || !ok
			lower[i] = l
		}
	}
	if isNull {
		return nil, nil
	}
	arr := av.(*arrayVal)
	if n.slice {
		return arraySlice(arr, lower, upper), nil
	}
	idx := make([]int64, len(upper))
	for i, u := range upper {
		idx[i] = *u
	}
	return arrayElement(arr, idx), nil
}
