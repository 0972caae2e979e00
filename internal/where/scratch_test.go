package where

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/galvani-sync/galvani/internal/pg"
)

func TestScratch(t *testing.T) {
	rel := &pg.Relation{Schema: "public", Name: "t", Columns: []pg.Column{
		{Name: "id", TypeName: "int4", TypeKind: 'b'},
		{Name: "name", TypeName: "text", TypeKind: 'b'},
		{Name: "tags", TypeName: "text", TypeKind: 'b', IsArray: true},
		{Name: "ts", TypeName: "timestamptz", TypeKind: 'b'},
		{Name: "n", TypeName: "numeric", TypeKind: 'b'},
	}}
	q := os.Getenv("Q")
	var params []string
	if p := os.Getenv("P"); p != "" {
		params = strings.Split(p, "|")
	}
	e, err := CompileWith(q, params, rel, Options{DefaultCollation: "C"})
	if err != nil {
		fmt.Println("ERR:", err)
		return
	}
	fmt.Println("norm:", e.Normalized())
	s, a := e.SQL()
	fmt.Println("sql:", s, a)
	row := pg.Row{{Text: "5"}, {Text: "Alice"}, {Text: `{a,"b c",NULL}`}, {Text: "2024-01-31 12:00:00.5+00"}, {Text: "1.50"}}
	fmt.Println(e.Eval(row))
}
