package oracle

import (
	"fmt"
	"math/rand/v2"
	"regexp"
	"strings"

	"github.com/galvani-sync/galvani/internal/pg"
)

// Clause is a generated where clause with its parameter values.
type Clause struct {
	Where  string
	Params []string
}

// ClauseGen generates random where clauses over a table from the whole
// where grammar (protocol §13.2–§13.4), mostly well-typed, sometimes not.
type ClauseGen struct {
	r      *rand.Rand
	t      *Table
	params []string
	ptypes []string
	// MaxDepth bounds expression nesting (default 3).
	MaxDepth int
}

// NewClauseGen returns a generator for t drawing from r.
func NewClauseGen(r *rand.Rand, t *Table) *ClauseGen {
	return &ClauseGen{r: r, t: t, MaxDepth: 3}
}

// Next returns a new clause.
func (g *ClauseGen) Next() Clause {
	g.params, g.ptypes = nil, nil
	w := g.boolExpr(g.MaxDepth)
	return Clause{Where: g.noise(w), Params: g.params}
}

// noise varies whitespace, as users do.
func (g *ClauseGen) noise(s string) string {
	switch g.r.IntN(4) {
	case 0:
		return "  " + s + " "
	case 1:
		return strings.ReplaceAll(s, " = ", "=")
	}
	return s
}

func (g *ClauseGen) chance(pct int) bool { return g.r.IntN(100) < pct }

var plainName = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)

var keywords = map[string]bool{"select": true, "order": true, "at": true, "and": true, "or": true, "not": true}

func (g *ClauseGen) ident(name string) string {
	if plainName.MatchString(name) && !keywords[name] {
		switch g.r.IntN(4) {
		case 0:
			return strings.ToUpper(name)
		case 1:
			return pg.QuoteIdent(name)
		}
		return name
	}
	return pg.QuoteIdent(name)
}

// column returns a column of type ty, or "" when the table has none.
func (g *ClauseGen) column(ty string) string {
	cs := g.t.ColumnsOf(ty)
	if ty == "int8" && g.chance(20) {
		return g.ident("id")
	}
	if len(cs) == 0 {
		return ""
	}
	return g.ident(cs[g.r.IntN(len(cs))].Name)
}

// param registers a parameter with value v (intended type ty) and
// returns its placeholder, sometimes reusing an earlier one of the type.
func (g *ClauseGen) param(v, ty string) string {
	for i, t := range g.ptypes {
		if t == ty && g.chance(30) {
			return fmt.Sprintf("$%d", i+1)
		}
	}
	g.params = append(g.params, v)
	g.ptypes = append(g.ptypes, ty)
	return fmt.Sprintf("$%d", len(g.params))
}

var numericTypes = []string{"int2", "int4", "int8", "float4", "float8", "numeric"}

func isNumeric(t string) bool {
	for _, n := range numericTypes {
		if n == t {
			return true
		}
	}
	return false
}

// typeChoices are the expression types comparisons are drawn from.
func (g *ClauseGen) anyType() string {
	if g.chance(70) && len(g.t.Columns) > 0 {
		return g.t.Columns[g.r.IntN(len(g.t.Columns))].Type
	}
	if g.chance(20) {
		return ArrayElemTypes[g.r.IntN(len(ArrayElemTypes))] + "[]"
	}
	return ScalarTypes[g.r.IntN(len(ScalarTypes))]
}

// compatible returns a type comparable with ty (itself, or one of its
// family), or occasionally any type.
func (g *ClauseGen) compatible(ty string) string {
	if g.chance(4) {
		return g.anyType()
	}
	if isNumeric(ty) && g.chance(30) {
		return numericTypes[g.r.IntN(len(numericTypes))]
	}
	switch ty {
	case "date", "timestamp", "timestamptz":
		if g.chance(25) {
			return oneOf(g.r, "date", "timestamp", "timestamptz")
		}
	case "text", "varchar":
		if g.chance(25) {
			return oneOf(g.r, "text", "varchar")
		}
	}
	return ty
}

func (g *ClauseGen) boolExpr(d int) string {
	if d <= 0 {
		return g.boolLeaf()
	}
	switch g.r.IntN(24) {
	case 0, 1, 2, 3:
		ty := g.anyType()
		op := oneOf(g.r, "=", "<>", "<", ">", "<=", ">=", "!=")
		return g.expr(ty, d-1) + " " + op + " " + g.expr(g.compatible(ty), d-1)
	case 4, 5:
		return "(" + g.boolExpr(d-1) + ") " + oneOf(g.r, "AND", "OR", "and", "or") + " (" + g.boolExpr(d-1) + ")"
	case 6:
		return "NOT (" + g.boolExpr(d-1) + ")"
	case 7:
		return g.expr(g.anyType(), d-1) + oneOf(g.r, " IS NULL", " IS NOT NULL", " ISNULL", " NOTNULL")
	case 8:
		return "(" + g.boolExpr(d-1) + ")" + oneOf(g.r, " IS TRUE", " IS NOT TRUE", " IS FALSE", " IS NOT FALSE", " IS UNKNOWN", " IS NOT UNKNOWN")
	case 9:
		ty := g.anyType()
		return g.expr(ty, d-1) + oneOf(g.r, " IS DISTINCT FROM ", " IS NOT DISTINCT FROM ") + g.expr(g.compatible(ty), d-1)
	case 10:
		ty := g.anyType()
		n := 1 + g.r.IntN(4)
		items := make([]string, n)
		for i := range items {
			if g.chance(70) {
				items[i] = g.literal(g.compatible(ty))
			} else {
				items[i] = g.expr(g.compatible(ty), d-1)
			}
		}
		return g.expr(ty, d-1) + oneOf(g.r, " IN (", " NOT IN (") + strings.Join(items, ", ") + ")"
	case 11:
		ty := g.anyType()
		return g.expr(ty, d-1) + oneOf(g.r, " BETWEEN ", " NOT BETWEEN ", " BETWEEN SYMMETRIC ", " NOT BETWEEN SYMMETRIC ") +
			g.expr(g.compatible(ty), d-1) + " AND " + g.expr(g.compatible(ty), d-1)
	case 12, 13:
		ty := g.anyType()
		el := Elem(ty)
		op := oneOf(g.r, "=", "<>", "<", ">", "<=", ">=")
		return g.expr(el, d-1) + " " + op + " " + oneOf(g.r, "ANY", "ALL", "SOME") + " (" + g.expr(el+"[]", d-1) + ")"
	case 14, 15:
		return g.likeExpr(d)
	case 16, 17:
		ty := g.arrayType()
		op := oneOf(g.r, "@>", "<@", "&&", "=", "<>", "<", ">=")
		return g.expr(ty, d-1) + " " + op + " " + g.expr(ty, d-1)
	case 18:
		ty := oneOf(g.r, "date", "timestamp", "timestamptz", "time", "interval")
		return g.expr(ty, d-1) + " " + oneOf(g.r, "<", ">", "=", "<=") + " " + g.expr(g.compatible(ty), d-1)
	case 19:
		ty := oneOf(g.r, numericTypes...)
		return g.expr(ty, d-1) + " " + oneOf(g.r, "<", ">", "=", "<>") + " " + g.expr(g.compatible(ty), d-1)
	case 20:
		return g.literal("jsonb") + "::" + oneOf(g.r, "bool", "int4", "numeric", "float8") + " IS NOT NULL"
	case 21, 22:
		return g.enumExpr(d)
	}
	return g.boolLeaf()
}

// enumExpr compares enum values: with labels, each other, their arrays,
// as text, and (rarely) across enum types or with text, which Postgres
// refuses.
func (g *ClauseGen) enumExpr(d int) string {
	e := EnumTypes[g.r.IntN(len(EnumTypes))]
	ty := e.SQL
	if g.chance(80) {
		var cs []string
		for _, c := range g.t.Columns {
			if Enum(Elem(c.Type)) != nil {
				cs = append(cs, Elem(c.Type))
			}
		}
		if len(cs) > 0 {
			ty = cs[g.r.IntN(len(cs))]
		}
	}
	op := oneOf(g.r, "=", "<>", "<", ">", "<=", ">=", "!=")
	other := ty
	if g.chance(5) {
		other = oneOf(g.r, "text", "mood", "other.hue")
	}
	switch g.r.IntN(8) {
	case 0:
		return g.expr(ty, d-1) + " " + op + " " + g.expr(other, d-1)
	case 1:
		return g.expr(ty, d-1) + " " + op + " " + QuoteLiteral(RandomValue(g.r, other))
	case 2:
		return "(" + g.expr(ty, d-1) + ")::text " + op + " " + QuoteLiteral(RandomValue(g.r, ty))
	case 3:
		return g.expr(ty, d-1) + oneOf(g.r, " BETWEEN ", " NOT BETWEEN ", " BETWEEN SYMMETRIC ") +
			g.literal(ty) + " AND " + g.expr(ty, d-1)
	case 4:
		return g.expr(ty, d-1) + " " + op + " " + oneOf(g.r, "ANY", "ALL") + " (" + g.expr(other+"[]", d-1) + ")"
	case 5:
		return g.expr(ty+"[]", d-1) + " " + oneOf(g.r, "@>", "<@", "&&", "=", "<", ">=") + " " + g.expr(other+"[]", d-1)
	case 6:
		return oneOf(g.r, "GREATEST(", "LEAST(") + g.expr(ty, d-1) + ", " + g.literal(ty) + ") " + op + " " + g.expr(ty, d-1)
	}
	n := 1 + g.r.IntN(4)
	items := make([]string, n)
	for i := range items {
		items[i] = g.literal(ty)
	}
	return g.expr(ty, d-1) + oneOf(g.r, " IN (", " NOT IN (") + strings.Join(items, ", ") + ")"
}

func (g *ClauseGen) arrayType() string {
	var arrs []string
	for _, c := range g.t.Columns {
		if IsArray(c.Type) {
			arrs = append(arrs, c.Type)
		}
	}
	if len(arrs) > 0 && g.chance(80) {
		return arrs[g.r.IntN(len(arrs))]
	}
	return ArrayElemTypes[g.r.IntN(len(ArrayElemTypes))] + "[]"
}

func (g *ClauseGen) boolLeaf() string {
	if c := g.column("bool"); c != "" && g.chance(40) {
		return c
	}
	switch g.r.IntN(6) {
	case 0:
		return oneOf(g.r, "true", "false", "TRUE", "'t'", "'false'::bool")
	case 1:
		return "NULL"
	}
	ty := g.anyType()
	return g.expr(ty, 0) + " " + oneOf(g.r, "=", "<>", "<", ">=") + " " + g.expr(g.compatible(ty), 0)
}

var likePatterns = []string{"a%", "%b%", "_", "__", "%", "", "A%", `a\%b`, `%\_%`, "é%", "%c", "x!%y", "%!_", `\`, "ab", "h%d", "%ll%"}

func (g *ClauseGen) likeExpr(d int) string {
	s := g.expr(oneOf(g.r, "text", "text", "varchar"), d-1)
	pat := QuoteLiteral(likePatterns[g.r.IntN(len(likePatterns))])
	if g.chance(10) {
		pat = g.param(likePatterns[g.r.IntN(len(likePatterns))], "text")
	}
	if g.chance(20) {
		pat = g.expr("text", d-1)
	}
	switch g.r.IntN(6) {
	case 0:
		return s + oneOf(g.r, " ~~ ", " !~~ ", " ~~* ", " !~~* ") + pat
	case 1:
		return oneOf(g.r, "like(", "notlike(") + s + ", " + pat + ")"
	case 2:
		return s + oneOf(g.r, " LIKE ", " NOT LIKE ", " ILIKE ", " NOT ILIKE ") + pat + " ESCAPE " + oneOf(g.r, "'!'", "''", `'\'`, "'x'")
	case 3:
		if c := g.column("bytea"); c != "" {
			return c + oneOf(g.r, " LIKE ", " NOT LIKE ") + oneOf(g.r, `'\x41%'`, `'%'`, `'\x25'`, "'_'")
		}
	}
	return s + oneOf(g.r, " LIKE ", " NOT LIKE ", " ILIKE ", " NOT ILIKE ") + pat
}

// literal returns a literal of type ty: typed, untyped, bare number or
// parameter.
func (g *ClauseGen) literal(ty string) string {
	v := RandomValue(g.r, ty)
	if Enum(ty) != nil && g.chance(5) {
		v = oneOf(g.r, "nope", "A", "zz ", "Red", "green", "red") // not a label (of this type)
	}
	switch {
	case g.chance(12):
		return g.param(v, ty)
	case isNumeric(ty) && g.chance(60) && isBareNumber(v):
		if strings.HasPrefix(v, "-") {
			return "(" + v + ")"
		}
		return v
	case ty == "bool" && g.chance(50):
		return oneOf(g.r, "true", "false")
	case g.chance(40):
		return QuoteLiteral(v)
	case g.chance(10):
		return "CAST(" + QuoteLiteral(v) + " AS " + ty + ")"
	}
	return QuoteLiteral(v) + "::" + ty
}

var bareNumber = regexp.MustCompile(`^-?[0-9]+(\.[0-9]+)?(e[+-]?[0-9]+)?$`)

func isBareNumber(s string) bool { return bareNumber.MatchString(s) }

// expr returns an expression of (intended) type ty.
func (g *ClauseGen) expr(ty string, d int) string {
	if d <= 0 || g.chance(35) {
		if c := g.column(ty); c != "" && g.chance(65) {
			return c
		}
		if g.chance(4) {
			return "NULL"
		}
		return g.literal(ty)
	}
	if IsArray(ty) {
		return g.arrayExpr(ty, d)
	}
	switch {
	case g.chance(8):
		// A cast from another type.
		from := g.anyType()
		if isNumeric(ty) && g.chance(50) {
			from = oneOf(g.r, numericTypes...)
		}
		return "(" + g.expr(from, d-1) + ")::" + ty
	case g.chance(6):
		f := oneOf(g.r, "COALESCE", "GREATEST", "LEAST", "coalesce", "NULLIF")
		n := 2 + g.r.IntN(2)
		if f == "NULLIF" {
			n = 2
		}
		args := make([]string, n)
		for i := range args {
			args[i] = g.expr(g.compatible(ty), d-1)
		}
		return f + "(" + strings.Join(args, ", ") + ")"
	case g.chance(6):
		if arr := g.column(ty + "[]"); arr != "" {
			return arr + fmt.Sprintf("[%d]", g.r.IntN(4)-1)
		}
	}
	switch {
	case isNumeric(ty):
		return g.numericExpr(ty, d)
	case ty == "text" || ty == "varchar":
		return g.textExpr(ty, d)
	case ty == "date" || ty == "timestamp" || ty == "timestamptz" || ty == "time" || ty == "interval":
		return g.timeExpr(ty, d)
	case ty == "bytea":
		return g.expr("bytea", d-1) + " || " + g.expr("bytea", d-1)
	case ty == "bool":
		return "(" + g.boolExpr(d-1) + ")"
	}
	return g.literal(ty)
}

func (g *ClauseGen) numericExpr(ty string, d int) string {
	a := func() string { return g.expr(g.compatible(ty), d-1) }
	switch g.r.IntN(12) {
	case 0, 1, 2, 3:
		return "(" + a() + " " + oneOf(g.r, "+", "-", "*", "/", "%") + " " + a() + ")"
	case 4:
		return oneOf(g.r, "-", "+", "@ ", "- ") + "(" + a() + ")"
	case 5:
		return "(" + g.expr(oneOf(g.r, "float8", "numeric"), d-1) + " ^ " + g.expr(oneOf(g.r, "int4", "float8", "numeric"), d-1) + ")"
	case 6:
		return "|/ (" + a() + ")"
	case 7:
		it := oneOf(g.r, "int2", "int4", "int8")
		return "(" + g.expr(it, d-1) + " " + oneOf(g.r, "&", "|", "#", "<<", ">>") + " " + g.expr(oneOf(g.r, it, "int4"), d-1) + ")"
	case 8:
		return "~ " + g.expr(oneOf(g.r, "int2", "int4", "int8"), d-1)
	case 9:
		return ty + "(" + QuoteLiteral(RandomValue(g.r, ty)) + ")"
	case 10:
		if arr := g.arrayOf(); arr != "" {
			return "array_ndims(" + arr + ")"
		}
	}
	return "(" + g.literal("jsonb") + ")::" + ty
}

func (g *ClauseGen) arrayOf() string {
	var cs []string
	for _, c := range g.t.Columns {
		if IsArray(c.Type) {
			cs = append(cs, g.ident(c.Name))
		}
	}
	if len(cs) == 0 {
		return ""
	}
	return cs[g.r.IntN(len(cs))]
}

func (g *ClauseGen) textExpr(ty string, d int) string {
	switch g.r.IntN(9) {
	case 0, 1:
		return "(" + g.expr("text", d-1) + " || " + g.expr(oneOf(g.r, "text", "text", "int4", "numeric", "bool", "date"), d-1) + ")"
	case 2:
		return oneOf(g.r, "lower", "upper", "LOWER") + "(" + g.expr("text", d-1) + ")"
	case 3:
		n := 1 + g.r.IntN(3)
		args := make([]string, n)
		for i := range args {
			args[i] = g.expr(g.anyType(), d-1)
		}
		return "concat(" + strings.Join(args, ", ") + ")"
	case 4:
		return "(" + g.expr(g.anyType(), d-1) + ")::" + oneOf(g.r, "text", "varchar")
	case 5:
		return "text(" + g.expr(g.anyType(), d-1) + ")"
	}
	return g.literal(ty)
}

func (g *ClauseGen) timeExpr(ty string, d int) string {
	switch ty {
	case "date":
		switch g.r.IntN(4) {
		case 0:
			return "(" + g.expr("date", d-1) + " " + oneOf(g.r, "+", "-") + " " + g.expr("int4", d-1) + ")"
		case 1:
			return "(" + g.expr(oneOf(g.r, "timestamp", "timestamptz"), d-1) + ")::date"
		case 2:
			return "date(" + g.expr(oneOf(g.r, "timestamp", "text"), d-1) + ")"
		}
	case "timestamp", "timestamptz":
		switch g.r.IntN(5) {
		case 0:
			return "(" + g.expr(oneOf(g.r, ty, "date"), d-1) + " " + oneOf(g.r, "+", "-") + " " + g.expr("interval", d-1) + ")"
		case 1:
			return "(" + g.expr("interval", d-1) + " + " + g.expr(ty, d-1) + ")"
		case 2:
			other := "timestamptz"
			if ty == "timestamptz" {
				other = "timestamp"
			}
			return "(" + g.expr(other, d-1) + " AT TIME ZONE " + oneOf(g.r, "'UTC'", "'Europe/Paris'", "'America/New_York'", "'Asia/Kolkata'") + ")"
		case 3:
			return "timezone(" + oneOf(g.r, "'UTC'", "'Europe/Paris'", "'Australia/Sydney'") + ", " + g.expr(map[string]string{"timestamp": "timestamptz", "timestamptz": "timestamp"}[ty], d-1) + ")"
		case 4:
			if ty == "timestamp" {
				return "(" + g.expr("date", d-1) + " + " + g.expr("time", d-1) + ")"
			}
		}
	case "time":
		if g.chance(50) {
			return "(" + g.expr("time", d-1) + " " + oneOf(g.r, "+", "-") + " " + g.expr("interval", d-1) + ")"
		}
	case "interval":
		switch g.r.IntN(6) {
		case 0:
			return "(" + g.expr("interval", d-1) + " " + oneOf(g.r, "+", "-") + " " + g.expr("interval", d-1) + ")"
		case 1:
			return "(" + g.expr("interval", d-1) + " " + oneOf(g.r, "*", "/") + " " + g.expr(oneOf(g.r, "float8", "int4", "numeric"), d-1) + ")"
		case 2:
			t := oneOf(g.r, "timestamp", "timestamptz")
			return "(" + g.expr(t, d-1) + " - " + g.expr(t, d-1) + ")"
		case 3:
			return oneOf(g.r, "justify_days", "justify_hours", "justify_interval") + "(" + g.expr("interval", d-1) + ")"
		case 4:
			return "- " + g.expr("interval", d-1)
		case 5:
			return "(" + g.expr("time", d-1) + " - " + g.expr("time", d-1) + ")"
		}
	}
	return g.literal(ty)
}

func (g *ClauseGen) arrayExpr(ty string, d int) string {
	el := Elem(ty)
	switch g.r.IntN(8) {
	case 0:
		n := 1 + g.r.IntN(3)
		es := make([]string, n)
		for i := range es {
			es[i] = g.expr(el, d-1)
		}
		s := "ARRAY[" + strings.Join(es, ", ") + "]"
		if g.chance(30) {
			s += "::" + ty
		}
		return s
	case 1:
		return "(" + g.expr(ty, d-1) + " || " + g.expr(ty, d-1) + ")"
	case 2:
		return "(" + g.expr(ty, d-1) + " || " + g.expr(el, d-1) + ")"
	case 3:
		return "(" + g.expr(el, d-1) + " || " + g.expr(ty, d-1) + ")"
	case 4:
		switch g.r.IntN(3) {
		case 0:
			return "array_cat(" + g.expr(ty, d-1) + ", " + g.expr(ty, d-1) + ")"
		case 1:
			return "array_append(" + g.expr(ty, d-1) + ", " + g.expr(el, d-1) + ")"
		}
		return "array_prepend(" + g.expr(el, d-1) + ", " + g.expr(ty, d-1) + ")"
	case 5:
		if c := g.column(ty); c != "" {
			lo, hi := fmt.Sprint(g.r.IntN(4)-1), fmt.Sprint(g.r.IntN(4))
			switch g.r.IntN(3) {
			case 0:
				lo = ""
			case 1:
				hi = ""
			}
			return c + "[" + lo + ":" + hi + "]"
		}
	}
	return g.literal(ty)
}
