package pg

import "strings"

// AppendKey appends the protocol's row key (protocol §5.3) for the row to
// dst: "schema"."table" followed by /"value" for each key column, with "/"
// doubled inside values and schema and table names ("." doubled too), and /_
// for a NULL key part. It is the single key function of snapshot and
// replication (architecture invariant 5).
func AppendKey(dst []byte, rel *Relation, row Row) []byte {
	dst = append(dst, '"')
	dst = appendDoubled(dst, rel.Schema, true)
	dst = append(dst, '"', '.', '"')
	dst = appendDoubled(dst, rel.Name, true)
	dst = append(dst, '"')
	for _, i := range rel.PK {
		v := row[i]
		if v.Null {
			dst = append(dst, '/', '_')
			continue
		}
		dst = append(dst, '/', '"')
		dst = appendDoubled(dst, v.Text, false)
		dst = append(dst, '"')
	}
	return dst
}

func appendDoubled(dst []byte, s string, dots bool) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		dst = append(dst, c)
		if c == '/' || (dots && c == '.') {
			dst = append(dst, c)
		}
	}
	return dst
}

// QuoteIdent quotes an SQL identifier, doubling embedded double quotes.
func QuoteIdent(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

// QualifiedName returns the relation's schema-qualified, quoted SQL name.
func (r *Relation) QualifiedName() string {
	return QuoteIdent(r.Schema) + "." + QuoteIdent(r.Name)
}
