package pg

import "unicode/utf8"

// AppendJSONString appends s to dst as a JSON string literal. Invalid UTF-8
// is replaced by U+FFFD as encoding/json does; the output never contains a
// raw newline, so JSON lines stay one line.
func AppendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

const hexDigits = "0123456789abcdef"

// AppendValue appends v as a JSON string, or null for SQL NULL.
func AppendValue(dst []byte, v Value) []byte {
	if v.Null {
		return append(dst, "null"...)
	}
	return AppendJSONString(dst, v.Text)
}

// AppendRowObject appends a JSON object mapping the names of the columns at
// indexes cols to their values in row.
func AppendRowObject(dst []byte, rel *Relation, row Row, cols []int) []byte {
	dst = append(dst, '{')
	for n, i := range cols {
		if n > 0 {
			dst = append(dst, ',')
		}
		dst = AppendJSONString(dst, rel.Columns[i].Name)
		dst = append(dst, ':')
		dst = AppendValue(dst, row[i])
	}
	return append(dst, '}')
}
