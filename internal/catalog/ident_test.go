package catalog

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/galvani-sync/galvani/internal/pg"
)

func TestParseRelationName(t *testing.T) {
	long := strings.Repeat("a", 63)
	tests := []struct {
		in           string
		schema, name string
		err          string
	}{
		{in: "items", schema: "public", name: "items"},
		{in: "Items", schema: "public", name: "items"},
		{in: "foo.bar", schema: "foo", name: "bar"},
		{in: "FOO.Bar", schema: "foo", name: "bar"},
		{in: `"foo"."bar"`, schema: "foo", name: "bar"},
		{in: `"foo".bar`, schema: "foo", name: "bar"},
		{in: `foo."Bar"`, schema: "foo", name: "Bar"},
		{in: `"My Table"`, schema: "public", name: "My Table"},
		{in: `"foo.woah"."bar"`, schema: "foo.woah", name: "bar"},
		{in: `"Foo""Bar"`, schema: "public", name: `Foo"Bar`},
		{in: `""""`, schema: "public", name: `"`},
		{in: `" "`, schema: "public", name: " "},
		{in: `"a,b"`, schema: "public", name: "a,b"},
		{in: "_x$1", schema: "public", name: "_x$1"},
		{in: "Été", schema: "public", name: "Été"}, // only ASCII letters fold
		{in: "ÀB", schema: "public", name: "Àb"},
		{in: "e\u0301x", schema: "public", name: "e\u0301x"}, // combining mark after a letter
		{in: "日本", schema: "public", name: "日本"},
		{in: long, schema: "public", name: long},
		{in: long + "." + long, schema: long, name: long},
		{in: `"` + long + `"`, schema: "public", name: long},
		{in: strings.Repeat("é", 63), schema: "public", name: strings.Repeat("é", 63)},

		{in: "", err: "Invalid zero-length delimited identifier"},
		{in: `""`, err: "Invalid zero-length delimited identifier"},
		{in: `"`, err: "Invalid zero-length delimited identifier"},
		{in: ".x", err: "Invalid zero-length delimited identifier"},
		{in: "x.", err: "Invalid zero-length delimited identifier"},
		{in: `"".x`, err: "Invalid zero-length delimited identifier"},
		{in: `x.""`, err: "Invalid zero-length delimited identifier"},
		{in: ".", err: "Invalid zero-length delimited identifier"},
		{in: "foob@r", err: "Invalid unquoted identifier contains special characters: foob@r"},
		{in: " ", err: "Invalid unquoted identifier contains special characters:  "},
		{in: "my table", err: "Invalid unquoted identifier contains special characters: my table"},
		{in: "1abc", err: "Invalid unquoted identifier contains special characters: 1abc"},
		{in: "$abc", err: "Invalid unquoted identifier contains special characters: $abc"},
		{in: "\u0301x", err: "Invalid unquoted identifier contains special characters: \u0301x"},
		{in: "a-b.c", err: "Invalid unquoted identifier contains special characters: a-b"},
		{in: "a.b-c", err: "Invalid unquoted identifier contains special characters: b-c"},
		{in: "a\n", err: "Invalid unquoted identifier contains special characters: a\n"},
		{in: "a\xff", err: "Invalid unquoted identifier contains special characters: a\xff"},
		{in: `Foo"Bar"`, err: `Invalid unquoted identifier contains special characters: Foo"Bar"`},
		{in: `"foo"bar`, err: `Invalid unquoted identifier contains special characters: "foo"bar`},
		{in: `"foo"."bar`, err: `Invalid unquoted identifier contains special characters: "bar`},
		{in: `"foo.bar`, err: `Invalid unquoted identifier contains special characters: "foo.bar`},
		{in: `"Foo"Bar"`, err: `Invalid identifier with unescaped quote: Foo"Bar`},
		{in: `"a"""b"`, err: `Invalid identifier with unescaped quote: a"""b`},
		{in: `"""`, err: `Invalid identifier with unescaped quote: "`},
		{in: `"x"."a"b"`, err: `Invalid identifier with unescaped quote: a"b`},
		{in: "a.b.c", err: "Invalid relation identifier, too many delimiters: a.b.c"},
		{in: "..", err: "Invalid relation identifier, too many delimiters: .."},
		{in: `"a".b."c"`, err: `Invalid relation identifier, too many delimiters: "a".b."c"`},
		{in: `a."b.c".d`, err: `Invalid relation identifier, too many delimiters: a."b.c".d`},
		{in: long + "a", err: "Identifier is too long (max length is 63)"},
		{in: "x." + long + "a", err: "Identifier is too long (max length is 63)"},
		{in: `"` + long + `a"`, err: "Identifier is too long (max length is 63)"},
		{in: strings.Repeat("é", 64), err: "Identifier is too long (max length is 63)"},
	}
	for _, tt := range tests {
		schema, name, err := ParseRelationName(tt.in)
		if tt.err != "" {
			var ie *IdentError
			if !errors.As(err, &ie) || err.Error() != tt.err {
				t.Errorf("ParseRelationName(%q) = %q, %q, %v; want error %q", tt.in, schema, name, err, tt.err)
			}
			continue
		}
		if err != nil || schema != tt.schema || name != tt.name {
			t.Errorf("ParseRelationName(%q) = %q, %q, %v; want %q, %q", tt.in, schema, name, err, tt.schema, tt.name)
		}
	}
}

func TestParseColumnList(t *testing.T) {
	tests := []struct {
		in   string
		want []string
		err  string
	}{
		{in: "id", want: []string{"id"}},
		{in: "id,name", want: []string{"id", "name"}},
		{in: "ID,Name", want: []string{"id", "name"}},
		{in: `"PoT@To",PoTaTo`, want: []string{"PoT@To", "potato"}},
		{in: `"PoTaTo,sunday",foo`, want: []string{"PoTaTo,sunday", "foo"}},
		{in: `"fo""o",bar`, want: []string{`fo"o`, "bar"}},
		{in: `"a.b","c"`, want: []string{"a.b", "c"}},
		{in: `"id","title"`, want: []string{"id", "title"}},
		{in: `",",","`, want: []string{",", ","}},
		{in: `""",",x`, want: []string{`",`, "x"}},

		{in: "", err: "The list of columns must not be empty"},
		{in: "foo,", err: "Invalid zero-length delimited identifier"},
		{in: ",foo", err: "Invalid zero-length delimited identifier"},
		{in: "a,,b", err: "Invalid zero-length delimited identifier"},
		{in: `a,""`, err: "Invalid zero-length delimited identifier"},
		{in: "a.b", err: "Invalid unquoted identifier contains special characters: a.b"},
		{in: "a, b", err: "Invalid unquoted identifier contains special characters:  b"},
		{in: `"id,"name"`, err: `Invalid unquoted identifier contains special characters: "id`},
		{in: `"a"b",c`, err: `Invalid identifier with unescaped quote: a"b`},
		{in: "a," + strings.Repeat("b", 64), err: "Identifier is too long (max length is 63)"},
	}
	for _, tt := range tests {
		got, err := ParseColumnList(tt.in)
		if tt.err != "" {
			var ie *IdentError
			if !errors.As(err, &ie) || err.Error() != tt.err {
				t.Errorf("ParseColumnList(%q) = %q, %v; want error %q", tt.in, got, err, tt.err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("ParseColumnList(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func FuzzParseRelationName(f *testing.F) {
	for _, s := range []string{"items", "Foo.Bar", `"My Table"`, `"a""b"."c.d"`, `"a`, ".x", "a.b.c",
		`"Foo"Bar"`, strings.Repeat("x", 64), "é\u0301", `"""`, "a\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		schema, name, err := ParseRelationName(s)
		if err != nil {
			var ie *IdentError
			if !errors.As(err, &ie) {
				t.Fatalf("ParseRelationName(%q): error %T, want *IdentError", s, err)
			}
			return
		}
		requoted := pg.QuoteIdent(schema) + "." + pg.QuoteIdent(name)
		s2, n2, err := ParseRelationName(requoted)
		if err != nil || s2 != schema || n2 != name {
			t.Fatalf("ParseRelationName(%q) = %q, %q; requoted %q gives %q, %q, %v", s, schema, name, requoted, s2, n2, err)
		}
	})
}

func FuzzParseColumnList(f *testing.F) {
	for _, s := range []string{"id", "id,name", `"PoTaTo,sunday",foo`, `"fo""o",bar`, `"id,"name"`, "foo,", "",
		`",",","`, `a,"b.c"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		cols, err := ParseColumnList(s)
		if err != nil {
			var ie *IdentError
			if !errors.As(err, &ie) {
				t.Fatalf("ParseColumnList(%q): error %T, want *IdentError", s, err)
			}
			return
		}
		if len(cols) == 0 {
			t.Fatalf("ParseColumnList(%q) returned no columns and no error", s)
		}
		quoted := make([]string, len(cols))
		for i, c := range cols {
			quoted[i] = pg.QuoteIdent(c)
		}
		requoted := strings.Join(quoted, ",")
		cols2, err := ParseColumnList(requoted)
		if err != nil || !slices.Equal(cols, cols2) {
			t.Fatalf("ParseColumnList(%q) = %q; requoted %q gives %q, %v", s, cols, requoted, cols2, err)
		}
	})
}
