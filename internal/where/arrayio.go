package where

import (
	"strconv"
	"strings"
)

func isArraySpace(c byte) bool { return isCSpace(c) }

// arrayParser parses array_in's text form.
type arrayParser struct {
	s    string
	i    int
	elem pgType
	orig string
}

func (p *arrayParser) malformed() error {
	return evalErrorf("malformed array literal: %s", quoteForMessage(p.orig))
}

func parseArray(elem pgType, s string) (*arrayVal, error) {
	p := &arrayParser{s: s, elem: elem, orig: s}
	p.skipSpace()
	var declDims, declLB []int
	if p.i < len(p.s) && p.s[p.i] == '[' {
		for p.i < len(p.s) && p.s[p.i] == '[' {
			p.i++
			lb, ub, err := p.dimSpec()
			if err != nil {
				return nil, err
			}
			if ub < lb-1 {
				return nil, evalErrorf("upper bound cannot be less than lower bound")
			}
			declLB = append(declLB, lb)
			declDims = append(declDims, ub-lb+1)
			p.skipSpace()
		}
		if p.i >= len(p.s) || p.s[p.i] != '=' {
			return nil, p.malformed()
		}
		p.i++
		p.skipSpace()
	}
	if p.i >= len(p.s) || p.s[p.i] != '{' {
		return nil, p.malformed()
	}
	var elems []datum
	dims, err := p.brace(&elems, 0)
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.i != len(p.s) {
		return nil, p.malformed()
	}
	if dims[0] == 0 {
		if declDims != nil {
			return nil, p.malformed()
		}
		return &arrayVal{}, nil
	}
	lb := make([]int, len(dims))
	for i := range lb {
		lb[i] = 1
	}
	if declDims != nil {
		if len(declDims) != len(dims) {
			return nil, p.malformed()
		}
		for i := range dims {
			if declDims[i] != dims[i] {
				return nil, p.malformed()
			}
		}
		lb = declLB
	}
	return &arrayVal{dims: dims, lbound: lb, elems: elems}, nil
}

// brace parses one {…} level at p.i, appending scalars to elems, and
// returns the dimensions of what it read ([0] for an empty top level).
func (p *arrayParser) brace(elems *[]datum, depth int) ([]int, error) {
	if depth > 6 {
		return nil, evalErrorf("number of array dimensions exceeds the maximum allowed (6)")
	}
	p.i++ // '{'
	p.skipSpace()
	if p.i < len(p.s) && p.s[p.i] == '}' {
		p.i++
		if depth > 0 {
			return nil, p.malformed()
		}
		return []int{0}, nil
	}
	var sub []int
	nested := false
	count := 0
	for {
		p.skipSpace()
		if p.i >= len(p.s) {
			return nil, p.malformed()
		}
		if p.s[p.i] == '{' {
			if count > 0 && !nested {
				return nil, p.malformed()
			}
			nested = true
			d, err := p.brace(elems, depth+1)
			if err != nil {
				return nil, err
			}
			if sub == nil {
				sub = d
			} else if !equalInts(sub, d) {
				return nil, p.malformed()
			}
		} else {
			if nested {
				return nil, p.malformed()
			}
			d, err := p.element()
			if err != nil {
				return nil, err
			}
			*elems = append(*elems, d)
			if len(*elems) > maxArrayElems {
				return nil, evalErrorf("array size exceeds the maximum allowed")
			}
		}
		count++
		p.skipSpace()
		if p.i >= len(p.s) {
			return nil, p.malformed()
		}
		switch p.s[p.i] {
		case ',':
			p.i++
			continue
		case '}':
			p.i++
			return append([]int{count}, sub...), nil
		}
		return nil, p.malformed()
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func (p *arrayParser) skipSpace() {
	for p.i < len(p.s) && isArraySpace(p.s[p.i]) {
		p.i++
	}
}

func (p *arrayParser) dimSpec() (int, int, error) {
	num := func() (int, bool) {
		start := p.i
		if p.i < len(p.s) && (p.s[p.i] == '-' || p.s[p.i] == '+') {
			p.i++
		}
		for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
			p.i++
		}
		v, err := strconv.Atoi(p.s[start:p.i])
		return v, err == nil
	}
	a, ok := num()
	if !ok {
		return 0, 0, p.malformed()
	}
	lb, ub := 1, a
	if p.i < len(p.s) && p.s[p.i] == ':' {
		p.i++
		b, ok := num()
		if !ok {
			return 0, 0, p.malformed()
		}
		lb, ub = a, b
	}
	if p.i >= len(p.s) || p.s[p.i] != ']' {
		return 0, 0, p.malformed()
	}
	p.i++
	return lb, ub, nil
}

// element reads one element: quoted, or unquoted up to , or } with
// backslash escapes; unquoted NULL is SQL NULL.
func (p *arrayParser) element() (datum, error) {
	var b strings.Builder
	if p.s[p.i] == '"' {
		p.i++
		for {
			if p.i >= len(p.s) {
				return nil, p.malformed()
			}
			c := p.s[p.i]
			if c == '\\' {
				p.i++
				if p.i >= len(p.s) {
					return nil, p.malformed()
				}
				b.WriteByte(p.s[p.i])
				p.i++
				continue
			}
			if c == '"' {
				p.i++
				break
			}
			b.WriteByte(c)
			p.i++
		}
	} else {
		// Unquoted: trailing whitespace is dropped unless escaped.
		keep := 0 // length of b up to the last escaped or non-space byte
		escaped := false
		for p.i < len(p.s) {
			c := p.s[p.i]
			if c == ',' || c == '}' {
				break
			}
			if c == '{' || c == '"' {
				return nil, p.malformed()
			}
			if c == '\\' {
				p.i++
				if p.i >= len(p.s) {
					return nil, p.malformed()
				}
				b.WriteByte(p.s[p.i])
				p.i++
				keep = b.Len()
				escaped = true
				continue
			}
			b.WriteByte(c)
			p.i++
			if !isArraySpace(c) {
				keep = b.Len()
			}
		}
		s := b.String()[:keep]
		if s == "" {
			return nil, p.malformed()
		}
		if strings.EqualFold(s, "NULL") && !escaped {
			return nil, nil
		}
		return inputValue(p.elem, s)
	}
	return inputValue(p.elem, b.String())
}

// formatArray is array_out.
func formatArray(elem pgType, a *arrayVal) string {
	if len(a.dims) == 0 {
		return "{}"
	}
	var b strings.Builder
	nonDefault := false
	for _, lb := range a.lbound {
		if lb != 1 {
			nonDefault = true
		}
	}
	if nonDefault {
		for i := range a.dims {
			b.WriteByte('[')
			b.WriteString(strconv.Itoa(a.lbound[i]))
			b.WriteByte(':')
			b.WriteString(strconv.Itoa(a.lbound[i] + a.dims[i] - 1))
			b.WriteByte(']')
		}
		b.WriteByte('=')
	}
	k := 0
	var rec func(level int)
	rec = func(level int) {
		b.WriteByte('{')
		for i := 0; i < a.dims[level]; i++ {
			if i > 0 {
				b.WriteByte(',')
			}
			if level+1 < len(a.dims) {
				rec(level + 1)
				continue
			}
			e := a.elems[k]
			k++
			if e == nil {
				b.WriteString("NULL")
				continue
			}
			writeArrayElem(&b, outputValue(elem, e))
		}
		b.WriteByte('}')
	}
	rec(0)
	return b.String()
}

func writeArrayElem(b *strings.Builder, s string) {
	need := s == "" || strings.EqualFold(s, "NULL")
	if !need {
		for i := 0; i < len(s); i++ {
			c := s[i]
			if c == '"' || c == '\\' || c == '{' || c == '}' || c == ',' || isArraySpace(c) {
				need = true
				break
			}
		}
	}
	if !need {
		b.WriteString(s)
		return
	}
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('"')
}
