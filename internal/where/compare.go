package where

import (
	"bytes"
	"strings"
)

// compareSame orders two non-NULL values of type t with the type's btree
// order (text bytewise: collation C; enums by their labels' sort order).
func compareSame(t pgType, a, b datum) int {
	if t.array {
		return compareArrays(t.elem(), a.(*arrayVal), b.(*arrayVal))
	}
	switch t.id {
	case tBool:
		x, y := a.(bool), b.(bool)
		switch {
		case x == y:
			return 0
		case !x:
			return -1
		}
		return 1
	case tInt2, tInt4, tInt8, tDate, tTime, tTimestamp, tTimestamptz:
		return cmpInt(a.(int64), b.(int64))
	case tFloat4:
		return cmpFloat(float64(a.(float32)), float64(b.(float32)))
	case tFloat8:
		return cmpFloat(a.(float64), b.(float64))
	case tNumeric:
		return cmpNumeric(a.(*numeric), b.(*numeric))
	case tText, tVarchar, tUnknown:
		return strings.Compare(a.(string), b.(string))
	case tEnum:
		return t.enum.compare(a.(string), b.(string))
	case tBytea:
		return strings.Compare(string(a.(byteaVal)), string(b.(byteaVal)))
	case tUUID:
		x, y := a.(uuidVal), b.(uuidVal)
		return bytes.Compare(x[:], y[:])
	case tInterval:
		return cmpInterval(a.(interval), b.(interval))
	}
	return 0
}

// compareArrays is array_cmp: elements first (NULL sorts after any
// value, two NULLs are equal), then element count, dimensionality, sizes
// and lower bounds.
func compareArrays(elem pgType, a, b *arrayVal) int {
	n := min(len(a.elems), len(b.elems))
	for i := 0; i < n; i++ {
		x, y := a.elems[i], b.elems[i]
		switch {
		case x == nil && y == nil:
			continue
		case x == nil:
			return 1
		case y == nil:
			return -1
		}
		if c := compareSame(elem, x, y); c != 0 {
			return c
		}
	}
	if len(a.elems) != len(b.elems) {
		return cmpInt(len(a.elems), len(b.elems))
	}
	if len(a.dims) != len(b.dims) {
		return cmpInt(len(a.dims), len(b.dims))
	}
	for i := range a.dims {
		if a.dims[i] != b.dims[i] {
			return cmpInt(a.dims[i], b.dims[i])
		}
	}
	for i := range a.lbound {
		if a.lbound[i] != b.lbound[i] {
			return cmpInt(a.lbound[i], b.lbound[i])
		}
	}
	return 0
}
