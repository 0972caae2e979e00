package pg_test

import (
	"math"
	"testing"

	"github.com/galvani-sync/galvani/internal/pg"
)

var lsnTests = []struct {
	name  string
	in    string
	want  pg.LSN
	canon string // String's form when it differs from in
}{
	{name: "protocol example", in: "0/16B3F70", want: 23805808},
	{name: "lower-case hex", in: "0/16b3f70", want: 23805808, canon: "0/16B3F70"},
	{name: "zero", in: "0/0", want: 0},
	{name: "high half", in: "1/0", want: 1 << 32},
	{name: "both halves", in: "16/B374D848", want: 0x16_B374D848},
	{name: "leading zeros", in: "00/0010", want: 16, canon: "0/10"},
	{name: "largest", in: "FFFFFFFF/FFFFFFFF", want: math.MaxUint64},
}

var invalidLSNTests = []struct {
	name string
	in   string
}{
	{name: "empty", in: ""},
	{name: "no slash", in: "16B3F70"},
	{name: "slash only", in: "/"},
	{name: "missing low half", in: "0/"},
	{name: "missing high half", in: "/0"},
	{name: "not hex", in: "0/G"},
	{name: "high half over 32 bits", in: "100000000/0"},
	{name: "low half over 32 bits", in: "0/100000000"},
	{name: "two slashes", in: "0/1/2"},
	{name: "space", in: " 0/1"},
	{name: "minus sign", in: "-1/0"},
	{name: "plus sign", in: "+1/0"},
	{name: "0x prefix", in: "0x1/0"},
	{name: "digit separator", in: "1_0/0"},
}

func TestParseLSN(t *testing.T) {
	for _, tt := range lsnTests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := pg.ParseLSN(tt.in)
			if err != nil || got != tt.want {
				t.Fatalf("ParseLSN(%q) = %d, %v; want %d, nil", tt.in, uint64(got), err, uint64(tt.want))
			}
		})
	}
	for _, tt := range invalidLSNTests {
		t.Run(tt.name, func(t *testing.T) {
			if got, err := pg.ParseLSN(tt.in); err == nil {
				t.Fatalf("ParseLSN(%q) = %d, nil; want an error", tt.in, uint64(got))
			}
		})
	}
}

func TestLSNString(t *testing.T) {
	for _, tt := range lsnTests {
		t.Run(tt.name, func(t *testing.T) {
			want := tt.canon
			if want == "" {
				want = tt.in
			}
			if got := tt.want.String(); got != want {
				t.Errorf("LSN(%d).String() = %q, want %q", uint64(tt.want), got, want)
			}
		})
	}
}

// FuzzParseLSN checks that ParseLSN never panics and that String and
// ParseLSN are inverses.
func FuzzParseLSN(f *testing.F) {
	for _, tt := range lsnTests {
		f.Add(tt.in, uint64(tt.want))
	}
	for _, tt := range invalidLSNTests {
		f.Add(tt.in, uint64(0))
	}
	f.Fuzz(func(t *testing.T, s string, n uint64) {
		if l, err := pg.ParseLSN(s); err == nil {
			if back, err := pg.ParseLSN(l.String()); err != nil || back != l {
				t.Fatalf("ParseLSN(%q) = %d; ParseLSN(%q) = %d, %v; want %d, nil", s, uint64(l), l.String(), uint64(back), err, uint64(l))
			}
		}
		l := pg.LSN(n)
		if back, err := pg.ParseLSN(l.String()); err != nil || back != l {
			t.Fatalf("ParseLSN(%q) = %d, %v; want %d, nil", l.String(), uint64(back), err, n)
		}
	})
}
