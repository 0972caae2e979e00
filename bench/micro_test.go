package bench_test

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/galvani-sync/galvani/internal/pg"
	"github.com/galvani-sync/galvani/internal/router"
	"github.com/galvani-sync/galvani/internal/shapelog"
	"github.com/galvani-sync/galvani/internal/where"
	"github.com/galvani-sync/galvani/protocol"
)

// Micro-benchmarks of the pure hot paths, run by `make bench` with
// -benchmem:
//
//	go test -run '^$' -bench . -benchmem ./bench/
//
// They have no in-process baseline; compare them across commits with
// benchstat (`make bench-compare`).

// benchRel is the six-column table the macro benchmarks replicate, plus a
// numeric column.
var benchRel = &pg.Relation{
	ID: 16384, Schema: "public", Name: "rep",
	Columns: []pg.Column{
		{Name: "id", TypeOID: 20, TypeName: "int8", TypeKind: 'b', PKIndex: 0, NotNull: true},
		{Name: "k", TypeOID: 23, TypeName: "int4", TypeKind: 'b', PKIndex: -1, NotNull: true},
		{Name: "name", TypeOID: 25, TypeName: "text", TypeKind: 'b', PKIndex: -1},
		{Name: "email", TypeOID: 25, TypeName: "text", TypeKind: 'b', PKIndex: -1},
		{Name: "score", TypeOID: 23, TypeName: "int4", TypeKind: 'b', PKIndex: -1},
		{Name: "created", TypeOID: 1184, TypeName: "timestamptz", TypeKind: 'b', PKIndex: -1},
		{Name: "price", TypeOID: 1700, TypeName: "numeric", TypeMod: -1, TypeKind: 'b', PKIndex: -1},
	},
	PK:               []int{0},
	ReplicaIdentity:  'f',
	DefaultCollation: "C",
}

func benchRow(i int) pg.Row {
	return pg.Row{
		{Text: strconv.Itoa(i)},
		{Text: strconv.Itoa(i % 10000)},
		{Text: "name " + strconv.Itoa(i)},
		{Text: "user" + strconv.Itoa(i) + "@example.com"},
		{Text: strconv.Itoa(i % 1000)},
		{Text: "2024-01-01 10:20:30.123456+00"},
		{Text: "1234.56"},
	}
}

// whereClauses are the clause kinds measured: one indexable equality, the
// non-indexable kinds of the matching-cost curve, and typed comparisons
// that parse the row's text into a value.
var whereClauses = []struct {
	name, clause string
	params       []string
}{
	{"int_eq", "k = $1", []string{"7"}},
	{"text_eq", "name = $1", []string{"name 7"}},
	{"int_range_and", "score >= $1 AND score < $2", []string{"100", "200"}},
	{"in_list", "k IN (1, 2, 3, 5, 8, 13, 21, 34)", nil},
	{"ilike", "name ILIKE $1", []string{"NAME 7"}},
	{"like_prefix", "email LIKE $1", []string{"user7%"}},
	{"timestamptz_cmp", "created > $1", []string{"2023-06-01 00:00:00+00"}},
	{"numeric_cmp", "price > $1", []string{"1000.5"}},
	{"or_three", "k = 1 OR name = 'x' OR score > 990", nil},
}

func compile(tb testing.TB, clause string, params []string) *where.Expr {
	tb.Helper()
	e, err := where.CompileWith(clause, params, benchRel, where.Options{DefaultCollation: "C"})
	if err != nil {
		tb.Fatalf("compile %q: %v", clause, err)
	}
	return e
}

// BenchmarkWhereEval evaluates a compiled clause on one decoded row: the
// per-(change, candidate shape) cost of routing.
func BenchmarkWhereEval(b *testing.B) {
	row := benchRow(7)
	for _, c := range whereClauses {
		b.Run(c.name, func(b *testing.B) {
			e := compile(b, c.clause, c.params)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := e.Eval(row); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkWhereCompile is the parse + type-check cost paid once per shape
// creation.
func BenchmarkWhereCompile(b *testing.B) {
	for _, c := range whereClauses[:5] {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				compile(b, c.clause, c.params)
			}
		})
	}
}

// BenchmarkRouteEquality routes one row among n `k = $1` shapes through the
// condition index; the cost should not grow with n.
func BenchmarkRouteEquality(b *testing.B) {
	for _, n := range []int{1, 1000, 10000, 100000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			t := router.NewTable[int](nil)
			for i := range n {
				t.Add(i, []router.Cond{{Column: "k", Value: strconv.Itoa(i)}})
			}
			row := benchRow(7)
			value := rowValue(row)
			seen := map[int]struct{}{}
			var dst []int
			b.ReportAllocs()
			for b.Loop() {
				dst = t.Route(dst[:0], seen, value)
			}
		})
	}
}

// BenchmarkRouteAndMatchILike is the matching cost of a change among n
// non-indexable `name ILIKE $1` shapes: routing returns all n, each clause
// is evaluated. The macro "curve" benchmark measures the same end to end.
func BenchmarkRouteAndMatchILike(b *testing.B) {
	for _, n := range []int{10, 100, 1000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			t := router.NewTable[int](nil)
			exprs := make([]*where.Expr, n)
			for i := range n {
				exprs[i] = compile(b, "name ILIKE $1", []string{"NAME " + strconv.Itoa(i)})
				t.Add(i, nil)
			}
			row := benchRow(7)
			value := rowValue(row)
			seen := map[int]struct{}{}
			var dst []int
			b.ReportAllocs()
			for b.Loop() {
				dst = t.Route(dst[:0], seen, value)
				matched := 0
				for _, id := range dst {
					if ok, _ := exprs[id].Eval(row); ok {
						matched++
					}
				}
				if matched != 1 {
					b.Fatalf("matched %d shapes, want 1", matched)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/shape")
		})
	}
}

func rowValue(row pg.Row) router.Value {
	return func(col string) (string, bool) {
		i := benchRel.ColumnIndex(col)
		if i < 0 || row[i].Null {
			return "", false
		}
		return row[i].Text, true
	}
}

// changeBody is a change message as the log stores it.
func changeBody(i int) []byte {
	row := benchRow(i)
	dst := []byte(`{"key":`)
	dst = pg.AppendJSONString(dst, `"public"."rep"/"`+strconv.Itoa(i)+`"`)
	dst = append(dst, `,"value":`...)
	dst = pg.AppendRowObject(dst, benchRel, row, []int{0, 1, 2, 3, 4, 5, 6})
	dst = append(dst, `,"headers":{"operation":"insert","lsn":"1234567","op_position":0}}`...)
	return dst
}

// BenchmarkRecordAppendTo encodes one change record (header, CRC-32C,
// body) into a reused buffer.
func BenchmarkRecordAppendTo(b *testing.B) {
	body := changeBody(7)
	var buf []byte
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		buf = shapelog.Record{Offset: protocol.Offset{Tx: 1234567, Op: 2}, Flags: shapelog.FlagLast, Body: body}.AppendTo(buf[:0])
	}
}

// BenchmarkLogAppend appends change records to a shape log, making it
// durable every txnSize records (Sync = write + fdatasync + publish), as
// the Collector's group commit does.
func BenchmarkLogAppend(b *testing.B) {
	for _, txnSize := range []int{1, 100, 10000} {
		b.Run(fmt.Sprintf("sync_every_%d", txnSize), func(b *testing.B) {
			l, err := shapelog.Create(b.TempDir(), shapelog.Options{ChunkThreshold: 10 << 20})
			if err != nil {
				b.Fatal(err)
			}
			defer l.Close()
			body := changeBody(7)
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			tx, op := int64(1), uint64(0)
			for b.Loop() {
				op += 2
				flags := byte(0)
				if op/2%uint64(txnSize) == 0 {
					flags = shapelog.FlagLast
				}
				if err := l.Append(protocol.Offset{Tx: tx, Op: op}, flags, body); err != nil {
					b.Fatal(err)
				}
				if flags == shapelog.FlagLast {
					if err := l.Sync(); err != nil {
						b.Fatal(err)
					}
					tx, op = tx+1, 0
				}
			}
		})
	}
}

// BenchmarkLogRead reads a 10,000-record log from the start, chunk by
// chunk, the way a catching-up client's requests do.
func BenchmarkLogRead(b *testing.B) {
	l, err := shapelog.Create(b.TempDir(), shapelog.Options{ChunkThreshold: 1 << 20})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	const n = 10000
	var total int64
	for i := range n {
		body := changeBody(i)
		total += int64(len(body))
		flags := byte(0)
		if i%100 == 99 {
			flags = shapelog.FlagLast
		}
		if err := l.Append(protocol.Offset{Tx: int64(1 + i/100), Op: uint64(2 * (i % 100))}, flags, body); err != nil {
			b.Fatal(err)
		}
	}
	if err := l.Sync(); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(total)
	b.ReportAllocs()
	var buf []byte
	for b.Loop() {
		from := protocol.Offset{Tx: 0, Op: 0}
		read := 0
		for {
			var last protocol.Offset
			var k int
			buf, last, k, err = l.AppendChanges(buf[:0], from)
			if err != nil {
				b.Fatal(err)
			}
			if k == 0 {
				break
			}
			read += k
			from = last
		}
		if read != n {
			b.Fatalf("read %d records, want %d", read, n)
		}
	}
}

// BenchmarkAppendRowObject encodes a six-column row as the JSON value
// object of a message.
func BenchmarkAppendRowObject(b *testing.B) {
	row := benchRow(123456)
	cols := []int{0, 1, 2, 3, 4, 5, 6}
	var buf []byte
	buf = pg.AppendRowObject(buf, benchRel, row, cols)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		buf = pg.AppendRowObject(buf[:0], benchRel, row, cols)
	}
}

// BenchmarkAppendJSONString quotes strings: plain ASCII, text needing
// escapes, and multi-byte UTF-8.
func BenchmarkAppendJSONString(b *testing.B) {
	for _, c := range []struct{ name, s string }{
		{"ascii_64", strings.Repeat("abcdefgh", 8)},
		{"escapes_64", strings.Repeat("a\"b\\c\nd\t", 8)},
		{"utf8_64", strings.Repeat("héllo wörld ", 5)},
		{"ascii_4k", strings.Repeat("abcdefgh", 512)},
	} {
		b.Run(c.name, func(b *testing.B) {
			var buf []byte
			b.SetBytes(int64(len(c.s)))
			b.ReportAllocs()
			for b.Loop() {
				buf = pg.AppendJSONString(buf[:0], c.s)
			}
		})
	}
}
