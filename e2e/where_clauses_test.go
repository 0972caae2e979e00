package e2e

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/galvani-sync/galvani/internal/oracle"
)

// whereAllowedRejections are the reasons Galvani may refuse a clause
// Postgres accepts: the parts of the where language outside the supported
// subset. It is the list of internal/oracle's TestWhereOracle.
var whereAllowedRejections = []string{
	"is not supported", "unsupported", "not supported", "type conflict for", "text ordering",
	"could not identify a comparison function",
	"invalid input syntax for type date", "invalid input syntax for type time", "invalid input syntax for type timestamp",
	"invalid input syntax for type interval",
}

// randomShapes opens shapes with random clauses until want are accepted
// (or whereMaxClauses were drawn), and returns how many were.
func (wt *whereTest) randomShapes(want int, prefix string) int {
	wt.t.Helper()
	r := wt.r
	nrows := len(wt.tableKeys())
	n := 0
	for i := 0; i < whereMaxClauses && n < want; i++ {
		cl := wt.gen.Next()
		wt.drawn++
		s := &whereShape{name: fmt.Sprintf("%s%d", prefix, i), where: cl.Where, params: cl.Params, columns: wt.randomColumns(), replica: randomReplica(r)}
		// Postgres must accept the clause and run it on every row, so
		// that Galvani's snapshot query succeeds.
		rows, err := wt.query("SELECT "+wt.selectList(s.columns)+" FROM "+pgx.Identifier{wt.tab.Name}.Sanitize()+" WHERE "+s.where, s.params)
		if err != nil {
			wt.pgRejected++
			continue
		}
		// Clauses that select no row or every row move few rows; keep
		// only some of them.
		if (len(rows) == 0 || len(rows) == nrows) && r.IntN(4) != 0 {
			wt.trivial++
			continue
		}
		fe := wt.open(s)
		if fe == nil {
			n++
			continue
		}
		msg := fe.Error()
		class := ""
		for _, a := range whereAllowedRejections {
			if strings.Contains(msg, a) {
				class = a
				break
			}
		}
		if class == "" {
			wt.t.Errorf("seed %d: Galvani rejected a clause Postgres accepts: %s: %v", wt.seed, s, fe)
			continue
		}
		wt.rejected[class]++
	}
	return n
}

// randomColumns returns nil (every column) or a random subset that
// includes the primary key.
func (wt *whereTest) randomColumns() []string {
	r := wt.r
	if r.IntN(2) == 0 {
		return nil
	}
	cols := []string{"id"}
	for _, c := range wt.tab.Columns {
		if r.IntN(3) == 0 {
			cols = append(cols, c.Name)
		}
	}
	return cols
}

func randomReplica(r *rand.Rand) string {
	if r.IntN(3) == 0 {
		return "full"
	}
	return ""
}

// equalityTypes are the column types of the fixed equality shapes.
var equalityTypes = map[string]bool{
	"bool": true, "int2": true, "int4": true, "int8": true, "float4": true, "float8": true, "numeric": true,
	"text": true, "varchar": true, "uuid": true, "date": true, "time": true, "timestamp": true, "timestamptz": true, "interval": true,
}

// commonValue returns the most frequent non-NULL value (as text) of the
// columns cols, and the column it came from. query is the SELECT that
// counts the values of one column, given as %[1]s (the table) and %[2]s
// (the column).
func (wt *whereTest) commonValue(cols []oracle.Column, query string) (oracle.Column, string, bool) {
	wt.t.Helper()
	var best oracle.Column
	var bestVal string
	bestN := 0
	for _, c := range cols {
		var v string
		var n int
		sql := fmt.Sprintf(query, pgx.Identifier{wt.tab.Name}.Sanitize(), pgx.Identifier{c.Name}.Sanitize())
		err := wt.conn.QueryRow(context.Background(), sql).Scan(&v, &n)
		if errors.Is(err, pgx.ErrNoRows) {
			continue
		}
		if err != nil {
			wt.t.Fatalf("%s: %v", sql, err)
		}
		if n > bestN {
			best, bestVal, bestN = c, v, n
		}
	}
	return best, bestVal, bestN > 0
}

// arrayLiteral returns the text of a one-element array.
func arrayLiteral(elem string) string {
	if elem == "" || strings.ContainsAny(elem, "{}\",\\ \t") || strings.EqualFold(elem, "NULL") {
		elem = `"` + strings.ReplaceAll(strings.ReplaceAll(elem, `\`, `\\`), `"`, `\"`) + `"`
	}
	return "{" + elem + "}"
}

// fixedShapes opens the shapes the router's index serves, on values the
// data holds, and returns the ids and the columns they name: the workload
// targets them.
func (wt *whereTest) fixedShapes() (hot []int64, hotCols []string) {
	wt.t.Helper()
	r := wt.r
	perm := r.Perm(whereInitialRows)
	hot = make([]int64, 5)
	for i := range hot {
		hot[i] = int64(perm[i] + 1)
	}
	id := func(i int) string { return strconv.FormatInt(hot[i], 10) }
	type fixed struct{ name, where string }
	shapes := []fixed{
		{"id-eq", "id = $1"},
		{"id-in", fmt.Sprintf("id IN (%s, %s, %s)", id(0), id(1), id(2))},
		{"id-in-and", fmt.Sprintf("id IN (%s, %s, %s) AND id <> $1", id(2), id(3), id(4))},
	}
	params := map[string][]string{"id-eq": {id(0)}, "id-in-and": {id(3)}}

	var eqCols []oracle.Column
	for _, c := range wt.tab.Columns {
		if equalityTypes[c.Type] {
			eqCols = append(eqCols, c)
		}
	}
	if col, v, ok := wt.commonValue(eqCols, "SELECT %[2]s::text, count(*) FROM %[1]s WHERE %[2]s IS NOT NULL GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1"); ok {
		name := pgx.Identifier{col.Name}.Sanitize()
		shapes = append(shapes,
			fixed{"col-eq", name + " = $1"},
			fixed{"col-eq-lit", oracle.QuoteLiteral(v) + " = " + name},
			fixed{"or-eq", fmt.Sprintf("id = %s OR %s = %s OR id = $1", id(1), name, oracle.QuoteLiteral(v)+"::"+col.Type)},
		)
		params["col-eq"] = []string{v}
		params["or-eq"] = []string{id(4)}
		hotCols = append(hotCols, col.Name)
	} else {
		wt.t.Fatalf("seed %d: no column of the equality types holds a value", wt.seed)
	}

	var arrCols []oracle.Column
	for _, c := range wt.tab.Columns {
		if plainArray(c) {
			arrCols = append(arrCols, c)
		}
	}
	if col, e, ok := wt.commonValue(arrCols, "SELECT u.elem::text, count(*) FROM %[1]s, unnest(%[2]s) AS u(elem) WHERE u.elem IS NOT NULL GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1"); ok {
		name := pgx.Identifier{col.Name}.Sanitize()
		shapes = append(shapes,
			fixed{"arr-contains", name + " @> " + oracle.QuoteLiteral(arrayLiteral(e))},
			fixed{"arr-contained-param", "$1 <@ " + name},
			fixed{"arr-any", oracle.QuoteLiteral(e) + " = ANY(" + name + ")"},
			fixed{"arr-any-or-id", fmt.Sprintf("$1 = ANY(%s) OR id = %s", name, id(3))},
		)
		params["arr-contained-param"] = []string{arrayLiteral(e)}
		params["arr-any-or-id"] = []string{e}
		hotCols = append(hotCols, col.Name)
	} else {
		wt.t.Fatalf("seed %d: no array column holds an element", wt.seed)
	}

	for _, f := range shapes {
		s := &whereShape{name: f.name, where: f.where, params: params[f.name], columns: wt.randomColumns(), replica: randomReplica(r)}
		if fe := wt.open(s); fe != nil {
			wt.t.Errorf("seed %d: Galvani rejected a shape its router indexes: %s: %v", wt.seed, s, fe)
		}
	}
	return hot, hotCols
}
