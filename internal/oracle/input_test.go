package oracle_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/galvani-sync/galvani/internal/oracle"
	"github.com/galvani-sync/galvani/internal/pg"
	"github.com/galvani-sync/galvani/internal/pgtest"
	"github.com/galvani-sync/galvani/internal/where"
)

// mutate returns a variant of a valid literal that Postgres may or may
// not accept: spacing, case, punctuation and digits changed.
func mutate(r *rand.Rand, s string) string {
	if s == "" || r.IntN(4) == 0 {
		return s
	}
	switch r.IntN(12) {
	case 0:
		return "  " + s + " "
	case 1:
		return strings.ToUpper(s)
	case 2:
		i := r.IntN(len(s))
		return s[:i] + s[i+1:]
	case 3:
		i := r.IntN(len(s) + 1)
		return s[:i] + string("0123456789-+:. eE/TZx{}'"[r.IntN(24)]) + s[i:]
	case 4:
		return strings.ReplaceAll(s, "-", "/")
	case 5:
		return s + oneOf(r, " BC", " AD", "+05", "-08:30", " UTC", "Z", " 12:00", ".5", "e2", " ago", " days")
	case 6:
		return oneOf(r, "+", "-", " ", "0", "@ ") + s
	case 7:
		return strings.ReplaceAll(s, " ", "T")
	case 8:
		i := r.IntN(len(s))
		return s[:i] + s[i:i+1] + s[i:]
	case 9:
		return strings.ReplaceAll(s, ":", "")
	case 10:
		return oneOf(r, "infinity", "-infinity", "epoch", "allballs", "NaN", "inf", "-Inf", "now", "today", "1 day", "P1D", "12:00", "2024-01-01", "1e5", "0x10", "t", "yes", "of", "")
	}
	return s + s
}

func oneOf(r *rand.Rand, xs ...string) string { return xs[r.IntN(len(xs))] }

// TestLiteralInput compares Galvani's reading of literals with Postgres':
// for random (often malformed) input text of each type, where Compile
// accepts '<text>'::<type>, Postgres must accept it too and print the
// same value. Refusing what Postgres accepts is allowed (Galvani reads a
// subset of the date/time forms); the count is logged.
func TestLiteralInput(t *testing.T) {
	if testing.Short() {
		return
	}
	seed := *seedFlag
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (replay with -seed=%d)", seed, seed)
	r := rand.New(rand.NewPCG(seed, 42))
	_, url := pgtest.NewDatabase(t)
	ctx := context.Background()
	conn, err := pgconn.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if err := conn.Exec(ctx, sessionSettings).Close(); err != nil {
		t.Fatal(err)
	}
	createEnums(t, &runner{ctx: ctx, conn: conn})
	// The enum types are known to casts through columns of the relation.
	tab := &oracle.Table{Name: "lit"}
	for _, e := range oracle.EnumTypes {
		tab.Columns = append(tab.Columns, oracle.Column{Name: e.Name, Type: e.SQL})
	}
	rel := tab.Relation()
	row := make(pg.Row, len(rel.Columns))
	row[0] = pg.Value{Text: "1"}
	for i := 1; i < len(row); i++ {
		row[i] = pg.Value{Null: true}
	}
	types := append(append([]string{}, oracle.ScalarTypes...), "int4[]", "text[]", "date[]", "numeric[]", "mood[]")
	n := max(200, *casesFlag/2)
	agree, refused, bothReject := 0, 0, 0
	var mismatches []string
	for i := 0; i < n && len(mismatches) < 20; i++ {
		ty := types[r.IntN(len(types))]
		in := mutate(r, oracle.RandomValue(r, ty))
		res := conn.ExecParams(ctx, "SELECT $1::"+ty+"::text", [][]byte{[]byte(in)}, nil, nil, nil).Read()
		var pgOut string
		if res.Err == nil {
			if res.Rows[0][0] == nil {
				pgOut = "NULL"
			} else {
				pgOut = string(res.Rows[0][0])
			}
		}
		e, cerr := where.CompileWith("($1::"+ty+")::text = $2", []string{in, pgOut}, rel, where.Options{DefaultCollation: "C"})
		switch {
		case cerr != nil && res.Err != nil:
			bothReject++
		case cerr != nil:
			refused++
		case res.Err != nil:
			mismatches = append(mismatches, fmt.Sprintf("'%s'::%s: Galvani accepts, Postgres: %v", in, ty, res.Err))
		default:
			ok, err := e.Eval(row)
			if err != nil || !ok {
				mismatches = append(mismatches, fmt.Sprintf("'%s'::%s: Postgres prints %q, Galvani's text differs (%v)", in, ty, pgOut, err))
				continue
			}
			agree++
		}
	}
	t.Logf("%d literals: %d read alike, %d rejected by both, %d refused by Galvani only", n, agree, bothReject, refused)
	for _, m := range mismatches {
		t.Error(m)
	}
}
