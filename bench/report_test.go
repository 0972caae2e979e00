package bench

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseScale(t *testing.T) {
	tests := []struct {
		in      string
		want    float64
		wantErr bool
	}{
		{"", 1, false},
		{"0.1", 0.1, false},
		{" 2 ", 2, false},
		{"0", 0, true},
		{"-1", 0, true},
		{"x", 0, true},
		{"NaN", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseScale(tt.in)
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("ParseScale(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestParseMicro(t *testing.T) {
	out := `goos: linux
BenchmarkWhereEval/int_eq-2     	  168430	      1215 ns/op	     160 B/op	       2 allocs/op
BenchmarkRecordAppendTo-2       	 4343546	        49.90 ns/op	4849.72 MB/s	       0 B/op	       0 allocs/op
PASS
`
	got, err := ParseMicro(strings.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	want := []Micro{
		{Name: "BenchmarkWhereEval/int_eq-2", Iterations: 168430, Metrics: map[string]float64{"ns/op": 1215, "B/op": 160, "allocs/op": 2}},
		{Name: "BenchmarkRecordAppendTo-2", Iterations: 4343546, Metrics: map[string]float64{"ns/op": 49.9, "MB/s": 4849.72, "B/op": 0, "allocs/op": 0}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ParseMicro mismatch (-want +got):\n%s", diff)
	}
}

func TestFormatValue(t *testing.T) {
	tests := []struct {
		v    float64
		unit string
		want string
	}{
		{1234567.4, "rows/s", "1,234,567 rows/s"},
		{250.4, "ms", "250 ms"},
		{12.34, "KiB", "12.3 KiB"},
		{0.456, "s", "0.46 s"},
		{0, "", "—"},
	}
	for _, tt := range tests {
		if got := formatValue(tt.v, tt.unit); got != tt.want {
			t.Errorf("formatValue(%v, %q) = %q; want %q", tt.v, tt.unit, got, tt.want)
		}
	}
}

func TestPercentile(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 100; i++ {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	for _, tt := range []struct {
		p    float64
		want time.Duration
	}{{0.5, 50 * time.Millisecond}, {0.99, 99 * time.Millisecond}, {1, 100 * time.Millisecond}, {0, time.Millisecond}} {
		if got := percentile(d, tt.p); got != tt.want {
			t.Errorf("percentile(1..100ms, %v) = %v; want %v", tt.p, got, tt.want)
		}
	}
}
