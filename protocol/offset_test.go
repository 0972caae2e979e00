package protocol_test

import (
	"errors"
	"math"
	"strconv"
	"testing"

	"github.com/galvani-sync/galvani/protocol"
)

const maxTx = math.MaxInt64

// offsetTests are the text forms of protocol §4.1. want is the parsed offset;
// canon is its canonical text form when it differs from in.
var offsetTests = []struct {
	name  string
	in    string
	want  protocol.Offset
	canon string
}{
	{name: "before all", in: "-1", want: protocol.BeforeAll},
	{name: "before all with op 0", in: "-1_0", want: protocol.BeforeAll, canon: "-1"},
	{name: "first snapshot chunk", in: "0_0", want: protocol.Offset{Tx: 0, Op: 0}},
	{name: "leading zeros", in: "0_02", want: protocol.Offset{Tx: 0, Op: 2}, canon: "0_2"},
	{name: "leading zeros in tx", in: "007_1", want: protocol.Offset{Tx: 7, Op: 1}, canon: "7_1"},
	{name: "leading plus", in: "+5_3", want: protocol.Offset{Tx: 5, Op: 3}, canon: "5_3"},
	{name: "leading plus in op", in: "5_+3", want: protocol.Offset{Tx: 5, Op: 3}, canon: "5_3"},
	{name: "real entry", in: "23805808_6", want: protocol.Offset{Tx: 23805808, Op: 6}},
	{name: "after a transaction", in: "123_inf", want: protocol.Offset{Tx: 123, Op: protocol.OpInf}},
	{name: "snapshot end", in: "0_inf", want: protocol.SnapshotEnd},
	{name: "largest tx", in: "9223372036854775807_0", want: protocol.Offset{Tx: maxTx, Op: 0}},
	{name: "largest tx after all ops", in: "9223372036854775807_inf", want: protocol.Offset{Tx: maxTx, Op: protocol.OpInf}},
	{name: "largest numeric op", in: "1_18446744073709551614", want: protocol.Offset{Tx: 1, Op: math.MaxUint64 - 1}},
}

// invalidOffsetTests are texts ParseOffset rejects with "has invalid format".
var invalidOffsetTests = []struct {
	name string
	in   string
}{
	{name: "word", in: "invalid"},
	{name: "negative op", in: "0_-1"},
	{name: "no separator", in: "10"},
	{name: "three parts", in: "1_2_3"},
	{name: "trailing space", in: "1_2 "},
	{name: "leading space", in: " 1_2"},
	{name: "fraction", in: "10_32.1"},
	{name: "empty", in: ""},
	{name: "separator only", in: "_"},
	{name: "missing tx", in: "_1"},
	{name: "missing op", in: "1_"},
	{name: "negative tx", in: "-2_0"},
	{name: "minus one with op", in: "-1_1"},
	{name: "minus one after all ops", in: "-1_inf"},
	{name: "now is a request form, not an offset", in: "now"},
	{name: "op reserved for inf", in: "1_18446744073709551615"},
	{name: "op overflows uint64", in: "1_18446744073709551616"},
	{name: "tx overflows int64", in: "9223372036854775808_0"},
	{name: "tx overflows uint64", in: "18446744073709551616_0"},
	{name: "huge tx", in: "99999999999999999999999999999999_0"},
	{name: "huge op", in: "0_99999999999999999999999999999999"},
	{name: "plus only", in: "+_1"},
	{name: "double plus", in: "++5_3"},
	{name: "plus before inf", in: "5_+inf"},
	{name: "upper-case inf", in: "5_INF"},
	{name: "infinity", in: "5_infinity"},
	{name: "inf tx", in: "inf_0"},
	{name: "hex", in: "0x10_0"},
	{name: "digit separators", in: "1_000_0"},
	{name: "non-ASCII digits", in: "١_٢"},
	{name: "NUL", in: "1_2\x00"},
}

func TestParseOffset(t *testing.T) {
	for _, tt := range offsetTests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := protocol.ParseOffset(tt.in)
			if err != nil || got != tt.want {
				t.Fatalf("ParseOffset(%q) = %v, %v; want %v, nil", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestParseOffsetInvalid(t *testing.T) {
	for _, tt := range invalidOffsetTests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := protocol.ParseOffset(tt.in)
			if !errors.Is(err, protocol.ErrInvalidOffset) {
				t.Fatalf("ParseOffset(%q) = %v, %v; want error %v", tt.in, got, err, protocol.ErrInvalidOffset)
			}
			if err.Error() != "has invalid format" {
				t.Errorf("ParseOffset(%q) error = %q; want %q (the protocol's message)", tt.in, err, "has invalid format")
			}
		})
	}
}

func TestOffsetString(t *testing.T) {
	for _, tt := range offsetTests {
		t.Run(tt.name, func(t *testing.T) {
			want := tt.canon
			if want == "" {
				want = tt.in
			}
			if got := tt.want.String(); got != want {
				t.Errorf("%#v.String() = %q, want %q", tt.want, got, want)
			}
			if got := string(tt.want.AppendTo([]byte("x="))); got != "x="+want {
				t.Errorf("%#v.AppendTo(%q) = %q, want %q", tt.want, "x=", got, "x="+want)
			}
			back, err := protocol.ParseOffset(want)
			if err != nil || back != tt.want {
				t.Errorf("ParseOffset(%q) = %v, %v; want %v, nil", want, back, err, tt.want)
			}
		})
	}
}

// TestOffsetOrder checks the chain of protocol §4.2:
// -1 < 0_0 < 0_1 < 0_inf < L_0 < L_2 < L_inf < L'_0 for L < L'.
func TestOffsetOrder(t *testing.T) {
	const l, l2 = 23805808, 23805900
	chain := []protocol.Offset{
		protocol.BeforeAll,
		{Tx: 0, Op: 0},
		{Tx: 0, Op: 1},
		{Tx: 0, Op: 2},
		protocol.SnapshotEnd,
		{Tx: 1, Op: 0},
		{Tx: l, Op: 0},
		{Tx: l, Op: 1},
		{Tx: l, Op: 2},
		{Tx: l, Op: math.MaxUint64 - 1},
		{Tx: l, Op: protocol.OpInf},
		{Tx: l2, Op: 0},
		{Tx: l2, Op: protocol.OpInf},
		{Tx: maxTx, Op: 0},
		{Tx: maxTx, Op: protocol.OpInf},
	}
	for i, a := range chain {
		for j, b := range chain {
			want := 0
			switch {
			case i < j:
				want = -1
			case i > j:
				want = 1
			}
			if got := a.Compare(b); got != want {
				t.Errorf("%v.Compare(%v) = %d, want %d", a, b, got, want)
			}
			if got := a.Less(b); got != (i < j) {
				t.Errorf("%v.Less(%v) = %t, want %t", a, b, got, i < j)
			}
		}
	}
}

// TestOffsetOrderOfParsedText checks that order survives the text form:
// parsing the chain's texts gives the same order.
func TestOffsetOrderOfParsedText(t *testing.T) {
	texts := []string{"-1", "0_0", "0_1", "0_inf", "5_0", "5_2", "5_inf", "6_0", "10_0"}
	var prev protocol.Offset
	for i, s := range texts {
		off, err := protocol.ParseOffset(s)
		if err != nil {
			t.Fatalf("ParseOffset(%q) = %v, %v; want nil error", s, off, err)
		}
		if i > 0 && !prev.Less(off) {
			t.Errorf("ParseOffset(%q) = %v, not after ParseOffset(%q) = %v", s, off, texts[i-1], prev)
		}
		prev = off
	}
}

func TestOffsetIsSnapshot(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"-1", false},
		{"0_0", true},
		{"0_7", true},
		{"0_inf", true},
		{"1_0", false},
		{"23805808_inf", false},
	}
	for _, tt := range tests {
		off, err := protocol.ParseOffset(tt.in)
		if err != nil {
			t.Fatalf("ParseOffset(%q) = %v, %v; want nil error", tt.in, off, err)
		}
		if got := off.IsSnapshot(); got != tt.want {
			t.Errorf("ParseOffset(%q).IsSnapshot() = %t, want %t", tt.in, got, tt.want)
		}
	}
}

// FuzzParseOffset checks that ParseOffset never panics, that anything it
// accepts round-trips through String, and that the canonical form is a
// fixed point.
func FuzzParseOffset(f *testing.F) {
	for _, tt := range offsetTests {
		f.Add(tt.in)
	}
	for _, tt := range invalidOffsetTests {
		f.Add(tt.in)
	}
	f.Add(strconv.FormatUint(math.MaxUint64, 10) + "_0")
	f.Fuzz(func(t *testing.T, s string) {
		off, err := protocol.ParseOffset(s)
		if err != nil {
			if !errors.Is(err, protocol.ErrInvalidOffset) {
				t.Fatalf("ParseOffset(%q) = %v, %v; want nil or %v", s, off, err, protocol.ErrInvalidOffset)
			}
			return
		}
		if off.Tx < -1 || (off.Tx == -1 && off != protocol.BeforeAll) {
			t.Fatalf("ParseOffset(%q) = %#v; want tx ≥ 0 or exactly -1", s, off)
		}
		text := off.String()
		back, err := protocol.ParseOffset(text)
		if err != nil || back != off {
			t.Fatalf("ParseOffset(%q) = %v; ParseOffset(%q) = %v, %v; want %v, nil", s, off, text, back, err, off)
		}
		if again := back.String(); again != text {
			t.Fatalf("ParseOffset(%q).String() = %q; want the canonical %q", text, again, text)
		}
	})
}
