package catalog

import (
	"strconv"
	"unicode/utf8"

	"github.com/galvani-sync/galvani/internal/pg"
)

// AppendSchemaJSON appends the value of the electric-schema header
// (protocol §5.7) to dst: a JSON object mapping each selected column's name
// to its schema, for the columns rel.Columns[i] with i in cols, in that order.
// Upstream emits the columns sorted by name; callers that want the same
// bytes pass cols sorted by column name.
//
// Each column object holds, with keys in alphabetical order (the order
// upstream's encoder produces for small maps):
//
//   - type: the type name; for an array column with declared dimensions
//     the element type name, for one without (attndims 0) the array type's
//     own name such as _int4;
//   - dims: declared array dimensions, when non-zero;
//   - pk_index: position in the primary key, for primary-key columns (none
//     for tables without a primary key);
//   - not_null: true, for NOT NULL columns;
//   - a type-modifier entry decided by the type above: max_length for
//     varchar(n), length for bpchar(n) and bit/varbit (the raw modifier, -1
//     when unspecified, as upstream), precision for time, timetz, timestamp
//     and timestamptz with a modifier above 0, fields and precision for
//     interval, precision and scale for numeric(p,s), otherwise type_mod for
//     any modifier ≥ 0 (so time(0) gives "type_mod":0, as upstream).
//
// Names are JSON strings with every non-ASCII character escaped as \uXXXX,
// so the header value is pure ASCII: browsers and fetch implementations
// decode header bytes as Latin-1, which would garble raw UTF-8, while
// JSON.parse restores the escaped names exactly.
func AppendSchemaJSON(dst []byte, rel *pg.Relation, cols []int) []byte {
	dst = append(dst, '{')
	for k, i := range cols {
		if k > 0 {
			dst = append(dst, ',')
		}
		c := &rel.Columns[i]
		dst = appendJSONString(dst, c.Name, true)
		dst = append(dst, ':')
		dst = appendColumnSchema(dst, c)
	}
	return append(dst, '}')
}

// schemaEntries holds the optional members of one column's schema object.
// A nil pointer or empty string means absent.
type schemaEntries struct {
	dims, length, maxLength, pkIndex, precision, scale, typeMod *int64
	fields                                                      string
	notNull                                                     bool
}

func appendColumnSchema(dst []byte, c *pg.Column) []byte {
	typ := schemaTypeName(c)
	var e schemaEntries
	if c.Dims > 0 {
		e.dims = ptr(int64(c.Dims))
	}
	if c.PKIndex >= 0 {
		e.pkIndex = ptr(int64(c.PKIndex))
	}
	e.notNull = c.NotNull
	setModifier(&e, typ, c.TypeMod)

	// Alphabetical key order; "type" is always present.
	dst = append(dst, '{')
	first := true
	num := func(key string, v *int64) {
		if v == nil {
			return
		}
		dst = appendKey(dst, key, &first)
		dst = strconv.AppendInt(dst, *v, 10)
	}
	num("dims", e.dims)
	if e.fields != "" {
		dst = appendKey(dst, "fields", &first)
		dst = appendJSONString(dst, e.fields, true)
	}
	num("length", e.length)
	num("max_length", e.maxLength)
	if e.notNull {
		dst = appendKey(dst, "not_null", &first)
		dst = append(dst, "true"...)
	}
	num("pk_index", e.pkIndex)
	num("precision", e.precision)
	num("scale", e.scale)
	dst = appendKey(dst, "type", &first)
	dst = appendJSONString(dst, typ, true)
	num("type_mod", e.typeMod)
	return append(dst, '}')
}

func appendKey(dst []byte, key string, first *bool) []byte {
	if !*first {
		dst = append(dst, ',')
	}
	*first = false
	dst = append(dst, '"')
	dst = append(dst, key...)
	return append(dst, '"', ':')
}

func ptr(v int64) *int64 { return &v }

// schemaTypeName is the header's type for c: the element type name for an
// array with declared dimensions, else the type's own name. For an array
// column with attndims 0 that is the array type's own name, which pg.Column
// does not carry; it is derived as "_" + element name, the name Postgres
// gives every array type it creates implicitly, for built-in and
// user-defined element types alike. (Postgres prepends further underscores
// only when that name is taken or too long, which this cannot see.)
func schemaTypeName(c *pg.Column) string {
	if c.IsArray && c.Dims == 0 {
		return "_" + c.TypeName
	}
	return c.TypeName
}

// Interval range bits (Postgres datetime.h) in the order upstream lists them.
var intervalUnits = [...]struct {
	name string
	mask int32
}{
	{"YEAR", 1 << 2},
	{"MONTH", 1 << 1},
	{"DAY", 1 << 3},
	{"HOUR", 1 << 10},
	{"MINUTE", 1 << 11},
	{"SECOND", 1 << 12},
}

const (
	intervalFullRange     = 0x7FFF
	intervalFullPrecision = -1 // 0xFFFF as a signed 16-bit value
)

// setModifier fills the type-modifier entries exactly as upstream's
// Electric.Schema.add_modifier does, keyed on the header's type name.
func setModifier(e *schemaEntries, typ string, typmod int32) {
	tm := int64(typmod)
	switch {
	case (typ == "varchar" || typ == "text") && typmod > 0:
		e.maxLength = ptr(tm - 4)
	case typ == "bpchar" && typmod > 0:
		e.length = ptr(tm - 4)
	case typ == "bit" || typ == "varbit":
		e.length = ptr(tm)
	case typ == "interval" && typmod > -1:
		rng := int32(int16(typmod >> 16))
		prec := int16(typmod)
		if rng != intervalFullRange {
			e.fields = intervalFields(rng)
		}
		if prec != intervalFullPrecision {
			e.precision = ptr(int64(prec))
		}
	case isTimeType(typ) && typmod > 0:
		e.precision = ptr(tm)
	case typ == "numeric" && typmod > -1:
		// Postgres' NUMERIC_TYPMOD_PRECISION / NUMERIC_TYPMOD_SCALE: the
		// scale is an 11-bit signed field (negative scales exist since
		// PG 15); for scales ≥ 0 this equals upstream's "low 16 bits".
		v := typmod - 4
		e.precision = ptr(int64((v >> 16) & 0xFFFF))
		e.scale = ptr(int64(((v & 0x7FF) ^ 1024) - 1024))
	case typmod > -1:
		e.typeMod = ptr(tm)
	}
}

func isTimeType(typ string) bool {
	switch typ {
	case "time", "timetz", "timestamp", "timestamptz", "date":
		return true
	}
	return false
}

// intervalFields names the units in the range mask: one unit alone, or
// "FIRST TO LAST". An empty mask (never produced by Postgres) gives "".
func intervalFields(rng int32) string {
	first, last := "", ""
	for _, u := range intervalUnits {
		if rng&u.mask != 0 {
			if first == "" {
				first = u.name
			}
			last = u.name
		}
	}
	if first == last {
		return first
	}
	return first + " TO " + last
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string. Quotes, backslashes, control
// characters and DEL are escaped; invalid UTF-8 becomes U+FFFD. With
// asciiOnly, every non-ASCII character is escaped as \uXXXX too (surrogate
// pairs above U+FFFF).
func appendJSONString(dst []byte, s string, asciiOnly bool) []byte {
	dst = append(dst, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				dst = append(dst, '\\', c)
			case c == '\n':
				dst = append(dst, '\\', 'n')
			case c == '\r':
				dst = append(dst, '\\', 'r')
			case c == '\t':
				dst = append(dst, '\\', 't')
			case c == '\b':
				dst = append(dst, '\\', 'b')
			case c == '\f':
				dst = append(dst, '\\', 'f')
			case c < 0x20 || c == 0x7F:
				dst = appendUnicodeEscape(dst, rune(c))
			default:
				dst = append(dst, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case asciiOnly && r > 0xFFFF:
			r -= 0x10000
			dst = appendUnicodeEscape(dst, 0xD800+(r>>10)&0x3FF)
			dst = appendUnicodeEscape(dst, 0xDC00+r&0x3FF)
		case asciiOnly || r == utf8.RuneError && size == 1:
			dst = appendUnicodeEscape(dst, r)
		default:
			dst = utf8.AppendRune(dst, r)
		}
	}
	return append(dst, '"')
}

func appendUnicodeEscape(dst []byte, r rune) []byte {
	return append(dst, '\\', 'u',
		hexDigits[r>>12&0xF], hexDigits[r>>8&0xF], hexDigits[r>>4&0xF], hexDigits[r&0xF])
}
