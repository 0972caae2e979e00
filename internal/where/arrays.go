package where

import "math"

// maxArrayDims is Postgres' MAXDIM.
const maxArrayDims = 6

// arrayContains is arraycontains (a @> b): every non-NULL element of b
// equals some element of a; a NULL element in b never matches.
func arrayContains(elem pgType, a, b *arrayVal) bool {
	for _, y := range b.elems {
		if y == nil {
			return false
		}
		found := false
		for _, x := range a.elems {
			if x != nil && compareSame(elem, x, y) == 0 {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// arrayOverlap is arrayoverlap (a && b).
func arrayOverlap(elem pgType, a, b *arrayVal) bool {
	for _, x := range a.elems {
		if x == nil {
			continue
		}
		for _, y := range b.elems {
			if y != nil && compareSame(elem, x, y) == 0 {
				return true
			}
		}
	}
	return false
}

func errIncompatibleArrays() error { return evalErrorf("cannot concatenate incompatible arrays") }

// arrayCatImpl is array_cat (and anyarray || anyarray).
func arrayCatImpl(args []datum) (datum, error) {
	if args[0] == nil {
		return args[1], nil
	}
	if args[1] == nil {
		return args[0], nil
	}
	a, b := args[0].(*arrayVal), args[1].(*arrayVal)
	n1, n2 := a.ndims(), b.ndims()
	if n1 == 0 && n2 > 0 {
		return b, nil
	}
	if n2 == 0 {
		return a, nil
	}
	var dims, lbs []int
	switch {
	case n1 == n2:
		dims = append([]int{a.dims[0] + b.dims[0]}, a.dims[1:]...)
		lbs = append([]int{}, a.lbound...)
		for i := 1; i < n1; i++ {
			if a.dims[i] != b.dims[i] || a.lbound[i] != b.lbound[i] {
				return nil, errIncompatibleArrays()
			}
		}
	case n1 == n2-1:
		dims = append([]int{}, b.dims...)
		lbs = append([]int{}, b.lbound...)
		dims[0]++
		for i := 0; i < n1; i++ {
			if a.dims[i] != dims[i+1] || a.lbound[i] != lbs[i+1] {
				return nil, errIncompatibleArrays()
			}
		}
	case n1 == n2+1:
		dims = append([]int{}, a.dims...)
		lbs = append([]int{}, a.lbound...)
		dims[0]++
		for i := 0; i < n2; i++ {
			if b.dims[i] != dims[i+1] || b.lbound[i] != lbs[i+1] {
				return nil, errIncompatibleArrays()
			}
		}
	default:
		return nil, errIncompatibleArrays()
	}
	if err := checkArrayBounds(dims, lbs); err != nil {
		return nil, err
	}
	elems := make([]datum, 0, len(a.elems)+len(b.elems))
	elems = append(append(elems, a.elems...), b.elems...)
	if len(elems) > maxArrayElems {
		return nil, evalErrorf("array size exceeds the maximum allowed")
	}
	return &arrayVal{dims: dims, lbound: lbs, elems: elems}, nil
}

func checkArrayBounds(dims, lbs []int) error {
	for i := range dims {
		if int64(lbs[i])+int64(dims[i])-1 > math.MaxInt32 || int64(lbs[i]) < math.MinInt32 {
			return evalErrorf("array upper bound is too large: %d", int64(lbs[i])+int64(dims[i])-1)
		}
	}
	return nil
}

// arrayAppendImpl is array_append (and anyarray || anyelement).
func arrayAppendImpl(args []datum) (datum, error) {
	a, _ := args[0].(*arrayVal)
	if a == nil || a.ndims() == 0 {
		return newArray1([]datum{args[1]}), nil
	}
	if a.ndims() != 1 {
		return nil, evalErrorf("argument must be empty or one-dimensional array")
	}
	if int64(a.lbound[0])+int64(a.dims[0]) > math.MaxInt32 {
		return nil, evalErrorf("integer out of range")
	}
	elems := append(append(make([]datum, 0, len(a.elems)+1), a.elems...), args[1])
	return &arrayVal{dims: []int{len(elems)}, lbound: []int{a.lbound[0]}, elems: elems}, nil
}

// arrayPrependImpl is array_prepend (and anyelement || anyarray); the
// result keeps the input's lower bound.
func arrayPrependImpl(args []datum) (datum, error) {
	a, _ := args[1].(*arrayVal)
	if a == nil || a.ndims() == 0 {
		return newArray1([]datum{args[0]}), nil
	}
	if a.ndims() != 1 {
		return nil, evalErrorf("argument must be empty or one-dimensional array")
	}
	if int64(a.lbound[0])-1 < math.MinInt32 {
		return nil, evalErrorf("integer out of range")
	}
	elems := append([]datum{args[0]}, a.elems...)
	return &arrayVal{dims: []int{len(elems)}, lbound: []int{a.lbound[0]}, elems: elems}, nil
}

// arrayElement is array_get_element: NULL unless there is exactly one
// subscript per dimension and each is in bounds.
func arrayElement(a *arrayVal, idx []int64) datum {
	if len(idx) != a.ndims() || a.ndims() == 0 {
		return nil
	}
	off := 0
	for i, x := range idx {
		lb := int64(a.lbound[i])
		if x < lb || x >= lb+int64(a.dims[i]) {
			return nil
		}
		off = off*a.dims[i] + int(x-lb)
	}
	return a.elems[off]
}

// arraySlice is array_get_slice: bounds are clipped to the array, missing
// bounds (nil) mean the array's, dimensions without a subscript are taken
// whole, and the result's lower bounds are 1.
func arraySlice(a *arrayVal, lower, upper []*int64) *arrayVal {
	n := a.ndims()
	if n < len(lower) || n == 0 {
		return &arrayVal{}
	}
	lo := make([]int, n)
	hi := make([]int, n)
	for i := 0; i < n; i++ {
		lb := a.lbound[i]
		ub := a.dims[i] + lb - 1
		lo[i], hi[i] = lb, ub
		if i < len(lower) {
			if lower[i] != nil && *lower[i] > int64(lb) {
				lo[i] = int(min(*lower[i], math.MaxInt32))
			}
			if upper[i] != nil && *upper[i] < int64(ub) {
				hi[i] = int(max(*upper[i], math.MinInt32))
			}
		}
		if lo[i] > hi[i] {
			return &arrayVal{}
		}
	}
	dims := make([]int, n)
	lbs := make([]int, n)
	total := 1
	for i := range dims {
		dims[i] = hi[i] - lo[i] + 1
		lbs[i] = 1
		total *= dims[i]
	}
	elems := make([]datum, 0, total)
	idx := make([]int, n)
	copy(idx, lo)
	for {
		off := 0
		for i := 0; i < n; i++ {
			off = off*a.dims[i] + (idx[i] - a.lbound[i])
		}
		elems = append(elems, a.elems[off])
		k := n - 1
		for k >= 0 {
			idx[k]++
			if idx[k] <= hi[k] {
				break
			}
			idx[k] = lo[k]
			k--
		}
		if k < 0 {
			break
		}
	}
	return &arrayVal{dims: dims, lbound: lbs, elems: elems}
}
