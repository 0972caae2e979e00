package where

import "strings"

// This file ports Postgres' overload resolution (parse_oper.c,
// parse_func.c, parse_coerce.c) to the catalog of catalog.go, so that an
// operator or function call resolves to what Postgres resolves it to,
// untyped literals included.

// declaredArgs returns p's argument types for n actual arguments.
func (p *procDef) declaredArgs(n int) []pgType {
	if !p.variadic {
		return p.args
	}
	r := make([]pgType, n)
	for i := range r {
		r[i] = pgType{id: tAny}
	}
	return r
}

// canCoerceArgs is can_coerce_type for a candidate: every input converts
// implicitly and polymorphic arguments are consistent.
func canCoerceArgs(in, decl []pgType) bool {
	generic := false
	for i := range in {
		if decl[i].isPolymorphic() {
			generic = true
			continue
		}
		if !canCoerce(in[i], decl[i]) {
			return false
		}
	}
	if generic {
		_, _, err := resolvePolymorphic(in, decl, typBool, false)
		return err == nil
	}
	return true
}

// resolvePolymorphic is enforce_generic_type_consistency (enforce) or
// check_generic_type_consistency (!enforce, which accepts types it
// cannot yet determine): it binds the polymorphic arguments of decl to
// the actual types in and returns the concrete argument types and the
// concrete result type.
func resolvePolymorphic(in, decl []pgType, result pgType, enforce bool) ([]pgType, pgType, error) {
	var elem, arr pgType
	haveElem, haveArr := false, false
	nonArray, anyEnum := false, false
	var compat []pgType
	compatNonArray := false
	haveCompat := false
	for i, d := range decl {
		a := in[i]
		switch {
		case (d.id == tAnyElement || d.id == tAnyNonArray || d.id == tAnyEnum) && !d.array:
			nonArray = nonArray || d.id == tAnyNonArray
			anyEnum = anyEnum || d.id == tAnyEnum
			if a.isUnknown() {
				continue
			}
			if haveElem && a != elem {
				return nil, pgType{}, errAt(-1, "arguments declared \"anyelement\" are not all alike")
			}
			elem, haveElem = a, true
		case d.id == tAnyArray && !d.array:
			if a.isUnknown() {
				continue
			}
			if !a.array {
				return nil, pgType{}, errAt(-1, "argument declared anyarray is not an array but type %s", a)
			}
			if haveArr && a != arr {
				return nil, pgType{}, errAt(-1, "arguments declared \"anyarray\" are not all alike")
			}
			arr, haveArr = a, true
		case (d.id == tAnyCompatible || d.id == tAnyCompatibleNonArray) && !d.array:
			haveCompat = true
			if d.id == tAnyCompatibleNonArray {
				compatNonArray = true
			}
			if !a.isUnknown() {
				compat = append(compat, a)
			}
		case d.id == tAnyCompatibleArray && !d.array:
			haveCompat = true
			if a.isUnknown() {
				continue
			}
			if !a.array {
				return nil, pgType{}, errAt(-1, "argument declared anycompatiblearray is not an array but type %s", a)
			}
			compat = append(compat, a.elem())
		}
	}
	if haveArr {
		if !haveElem {
			elem, haveElem = arr.elem(), true
		} else if arr.elem() != elem {
			return nil, pgType{}, errAt(-1, "argument declared anyarray is not consistent with argument declared anyelement")
		}
	}
	needElem := false
	for _, d := range append(append([]pgType{}, decl...), result) {
		if !d.array && (d.id == tAnyElement || d.id == tAnyNonArray || d.id == tAnyArray || d.id == tAnyEnum) {
			needElem = true
		}
	}
	if anyEnum && !haveElem && !enforce {
		// check_generic_type_consistency: an undetermined element type
		// is not an enum type.
		return nil, pgType{}, errAt(-1, "type matched to anyenum is not an enum type: unknown")
	}
	if needElem && !haveElem {
		if !enforce {
			return nil, pgType{}, nil
		}
		return nil, pgType{}, errAt(-1, "could not determine polymorphic type because input has type unknown")
	}
	if haveElem {
		if nonArray && elem.array {
			return nil, pgType{}, errAt(-1, "type matched to anynonarray is an array type: %s", elem)
		}
		if anyEnum && (elem.array || elem.id != tEnum) {
			return nil, pgType{}, errAt(-1, "type matched to anyenum is not an enum type: %s", elem)
		}
		if !haveArr {
			if elem.array {
				return nil, pgType{}, errAt(-1, "could not find array type for data type %s", elem)
			}
			arr = arrayOf(elem)
		}
	}
	var common pgType
	if haveCompat {
		if len(compat) == 0 {
			common = typText
		} else {
			var ok bool
			common, ok = selectCommonType(compat)
			if !ok || !verifyCommonType(common, compat) {
				return nil, pgType{}, errAt(-1, "arguments declared \"anycompatible\" are not all alike")
			}
		}
		if compatNonArray && common.array {
			return nil, pgType{}, errAt(-1, "type matched to anycompatiblenonarray is an array type: %s", common)
		}
	}
	subst := func(d pgType) (pgType, error) {
		if d.array {
			return d, nil
		}
		switch d.id {
		case tAnyElement, tAnyNonArray, tAnyEnum:
			return elem, nil
		case tAnyArray:
			return arr, nil
		case tAnyCompatible, tAnyCompatibleNonArray:
			return common, nil
		case tAnyCompatibleArray:
			if common.array {
				return pgType{}, errAt(-1, "could not find array type for data type %s", common)
			}
			return arrayOf(common), nil
		}
		return d, nil
	}
	out := make([]pgType, len(decl))
	for i, d := range decl {
		t, err := subst(d)
		if err != nil {
			return nil, pgType{}, err
		}
		if d.id == tAny && !d.array {
			t = in[i]
		}
		out[i] = t
	}
	res, err := subst(result)
	if err != nil {
		return nil, pgType{}, err
	}
	return out, res, nil
}

// selectCommonType is select_common_type_from_oids (without the
// all-unknown rule callers apply themselves): ok is false when two inputs
// are of different categories.
func selectCommonType(types []pgType) (pgType, bool) {
	p := types[0]
	allSame := true
	for _, t := range types[1:] {
		if t != p {
			allSame = false
		}
	}
	if allSame && !p.isUnknown() {
		return p, true
	}
	for _, t := range types[1:] {
		if t.isUnknown() || t == p {
			continue
		}
		if p.isUnknown() {
			p = t
			continue
		}
		if t.category() != p.category() {
			return pgType{}, false
		}
		if !p.preferred() && canCoerce(p, t) && !canCoerce(t, p) {
			p = t
		}
	}
	if p.isUnknown() {
		p = typText
	}
	return p, true
}

// verifyCommonType is verify_common_type.
func verifyCommonType(common pgType, types []pgType) bool {
	for _, t := range types {
		if !canCoerce(t, common) {
			return false
		}
	}
	return true
}

// funcSelectCandidate is func_select_candidate: it narrows several
// candidates down to one, or returns nil.
func funcSelectCandidate(in []pgType, cands []*procDef) *procDef {
	n := len(in)
	nunknown := 0
	for _, t := range in {
		if t.isUnknown() {
			nunknown++
		}
	}
	keepBest := func(score func(decl []pgType) int) {
		best := -1
		var kept []*procDef
		for _, c := range cands {
			s := score(c.declaredArgs(n))
			switch {
			case s > best:
				best = s
				kept = []*procDef{c}
			case s == best:
				kept = append(kept, c)
			}
		}
		cands = kept
	}
	// Most exact matches on known inputs.
	keepBest(func(decl []pgType) int {
		m := 0
		for i := range in {
			if !in[i].isUnknown() && decl[i] == in[i] {
				m++
			}
		}
		return m
	})
	if len(cands) == 1 {
		return cands[0]
	}
	// Most exact-or-preferred matches where coercion is needed.
	keepBest(func(decl []pgType) int {
		m := 0
		for i := range in {
			if in[i].isUnknown() {
				continue
			}
			if decl[i] == in[i] || (decl[i].preferred() && decl[i].category() == in[i].category()) {
				m++
			}
		}
		return m
	})
	if len(cands) == 1 {
		return cands[0]
	}
	if nunknown == 0 {
		return nil
	}
	// Resolve unknown inputs by category.
	slotCat := make([]byte, n)
	slotPref := make([]bool, n)
	resolved := true
	for i := range in {
		if !in[i].isUnknown() {
			continue
		}
		slotCat[i] = 0
		conflict := false
		for _, c := range cands {
			t := c.declaredArgs(n)[i]
			cat, pref := t.category(), t.preferred()
			switch {
			case slotCat[i] == 0:
				slotCat[i], slotPref[i] = cat, pref
			case cat == slotCat[i]:
				slotPref[i] = slotPref[i] || pref
			case cat == 'S':
				slotCat[i], slotPref[i] = cat, pref
			default:
				conflict = true
			}
		}
		if conflict && slotCat[i] != 'S' {
			resolved = false
			break
		}
	}
	if resolved {
		var kept []*procDef
		for _, c := range cands {
			decl := c.declaredArgs(n)
			keep := true
			for i := range in {
				if !in[i].isUnknown() {
					continue
				}
				if decl[i].category() != slotCat[i] || (slotPref[i] && !decl[i].preferred()) {
					keep = false
					break
				}
			}
			if keep {
				kept = append(kept, c)
			}
		}
		if len(kept) > 0 {
			cands = kept
		}
		if len(cands) == 1 {
			return cands[0]
		}
	}
	// Last gasp: all known inputs of one type; assume the unknowns are too.
	if nunknown < n {
		var known pgType
		haveKnown := false
		for _, t := range in {
			if t.isUnknown() {
				continue
			}
			if !haveKnown {
				known, haveKnown = t, true
			} else if t != known {
				haveKnown = false
				break
			}
		}
		if haveKnown {
			assumed := make([]pgType, n)
			for i := range assumed {
				assumed[i] = known
			}
			var match *procDef
			count := 0
			for _, c := range cands {
				if canCoerceArgs(assumed, c.declaredArgs(n)) {
					count++
					match = c
				}
			}
			if count == 1 {
				return match
			}
		}
	}
	return nil
}

// selectCandidate filters candidates by implicit coercibility and picks
// one (oper_select_candidate / func_get_detail's last steps). ambiguous
// is set when several remain.
func selectCandidate(in []pgType, cands []*procDef) (best *procDef, ambiguous bool) {
	var ok []*procDef
	for _, c := range cands {
		if canCoerceArgs(in, c.declaredArgs(len(in))) {
			ok = append(ok, c)
		}
	}
	switch len(ok) {
	case 0:
		return nil, false
	case 1:
		return ok[0], false
	}
	if b := funcSelectCandidate(in, ok); b != nil {
		return b, false
	}
	return nil, true
}

func typeList(in []pgType) string {
	s := make([]string, len(in))
	for i, t := range in {
		s[i] = t.String()
	}
	return strings.Join(s, ", ")
}

// resolveOperator finds the operator name for the input types (nil left
// type: prefix). It returns the definition, the concrete argument types
// and the result type.
func resolveOperator(name string, left *pgType, right pgType, loc int) (*procDef, []pgType, pgType, error) {
	var in []pgType
	prefix := left == nil
	if prefix {
		in = []pgType{right}
	} else {
		in = []pgType{*left, right}
	}
	var cands []*procDef
	for _, p := range operators[name] {
		if p.prefix == prefix {
			cands = append(cands, p)
		}
	}
	desc := func() string {
		if prefix {
			return name + " " + right.String()
		}
		return left.String() + " " + name + " " + right.String()
	}
	var chosen *procDef
	// Exact match, treating one unknown side as the other side's type.
	exact := append([]pgType{}, in...)
	if !prefix {
		if exact[0].isUnknown() && !exact[1].isUnknown() {
			exact[0] = exact[1]
		} else if exact[1].isUnknown() && !exact[0].isUnknown() {
			exact[1] = exact[0]
		}
	}
	for _, c := range cands {
		if equalTypes(c.args, exact) {
			chosen = c
			break
		}
	}
	if chosen == nil {
		var ambiguous bool
		chosen, ambiguous = selectCandidate(in, cands)
		if chosen == nil {
			if ambiguous {
				return nil, nil, pgType{}, errAt(loc, "operator is not unique: %s", desc())
			}
			return nil, nil, pgType{}, errAt(loc, "operator does not exist: %s", desc())
		}
	}
	decl, res, err := resolvePolymorphic(in, chosen.args, chosen.result, true)
	if err != nil {
		err.(*compileError).loc = loc
		return nil, nil, pgType{}, err
	}
	if chosen.build == nil && !chosen.casing {
		if prefix {
			return nil, nil, pgType{}, errAt(loc, "operator %s %s is not supported", name, decl[0])
		}
		return nil, nil, pgType{}, errAt(loc, "operator %s %s %s is not supported", decl[0], name, decl[1])
	}
	return chosen, decl, res, nil
}

// resolveFunction finds function name for the input types.
func resolveFunction(name string, in []pgType, loc int) (*procDef, []pgType, pgType, error) {
	var cands []*procDef
	for _, p := range functions[name] {
		if p.variadic || len(p.args) == len(in) {
			cands = append(cands, p)
		}
	}
	if len(cands) == 0 {
		return nil, nil, pgType{}, errAt(loc, "unknown or unsupported function %s/%d", name, len(in))
	}
	var chosen *procDef
	for _, c := range cands {
		if !c.variadic && equalTypes(c.args, in) {
			chosen = c
			break
		}
	}
	if chosen == nil {
		var ambiguous bool
		chosen, ambiguous = selectCandidate(in, cands)
		if chosen == nil {
			if ambiguous {
				return nil, nil, pgType{}, errAt(loc, "function %s(%s) is not unique", name, typeList(in))
			}
			return nil, nil, pgType{}, errAt(loc, "function %s(%s) does not exist", name, typeList(in))
		}
	}
	decl, res, err := resolvePolymorphic(in, chosen.declaredArgs(len(in)), chosen.result, true)
	if err != nil {
		err.(*compileError).loc = loc
		return nil, nil, pgType{}, err
	}
	if chosen.build == nil && !chosen.casing {
		return nil, nil, pgType{}, errAt(loc, "function %s(%s) is not supported", name, typeList(decl))
	}
	return chosen, decl, res, nil
}

func equalTypes(a, b []pgType) bool {
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
