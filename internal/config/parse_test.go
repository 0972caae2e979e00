package config_test

import (
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/galvani-sync/galvani/internal/config"
)

var durationTests = []struct {
	name string
	in   string
	want time.Duration
	err  error // nil, config.ErrInvalid or config.ErrOutOfRange
}{
	{name: "bare integer is milliseconds", in: "20000", want: 20 * time.Second},
	{name: "ms", in: "500ms", want: 500 * time.Millisecond},
	{name: "msec", in: "250msec", want: 250 * time.Millisecond},
	{name: "s", in: "20s", want: 20 * time.Second},
	{name: "sec", in: "3sec", want: 3 * time.Second},
	{name: "m", in: "2m", want: 2 * time.Minute},
	{name: "min", in: "1min", want: time.Minute},
	{name: "fraction", in: "1.5s", want: 1500 * time.Millisecond},
	{name: "fraction truncated to milliseconds", in: "1.0009s", want: time.Second},
	{name: "long fraction", in: "0.123456789123s", want: 123 * time.Millisecond},
	{name: "space before unit", in: "20 s", want: 20 * time.Second},
	{name: "surrounding space", in: " 30s\n", want: 30 * time.Second},
	{name: "leading zeros", in: "007s", want: 7 * time.Second},
	{name: "zero parses", in: "0", want: 0},
	{name: "largest whole ms", in: strconv.FormatInt(int64(1<<63-1)/int64(time.Millisecond), 10), want: time.Duration(int64(1<<63-1)/int64(time.Millisecond)) * time.Millisecond},
	{name: "empty", in: "", err: config.ErrInvalid},
	{name: "blank", in: "  ", err: config.ErrInvalid},
	{name: "negative", in: "-1", err: config.ErrInvalid},
	{name: "plus sign", in: "+5s", err: config.ErrInvalid},
	{name: "hours not supported", in: "1h", err: config.ErrInvalid},
	{name: "uppercase unit", in: "20S", err: config.ErrInvalid},
	{name: "Go syntax", in: "1m30s", err: config.ErrInvalid},
	{name: "exponent", in: "1e3", err: config.ErrInvalid},
	{name: "dot without digits", in: "1.s", err: config.ErrInvalid},
	{name: "leading dot", in: ".5s", err: config.ErrInvalid},
	{name: "unit only", in: "s", err: config.ErrInvalid},
	{name: "words", in: "twenty seconds", err: config.ErrInvalid},
	{name: "overflows int64", in: "99999999999999999999", err: config.ErrOutOfRange},
	{name: "overflows Duration", in: "9223372036854775s", err: config.ErrOutOfRange},
	{name: "overflows ms count", in: "153722867280913min", err: config.ErrOutOfRange},
}

func TestParseDuration(t *testing.T) {
	for _, tt := range durationTests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := config.ParseDuration(tt.in)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("ParseDuration(%q) = %v, %v; want error wrapping %v", tt.in, got, err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseDuration(%q) = %v, %v; want %v, nil", tt.in, got, err, tt.want)
			}
		})
	}
}

var sizeTests = []struct {
	name string
	in   string
	want int64
	err  error
}{
	{name: "bare integer is bytes", in: "10485760", want: 10485760},
	{name: "KB is 1000", in: "2KB", want: 2000},
	{name: "KiB is 1024", in: "2KiB", want: 2048},
	{name: "MB", in: "10MB", want: 10_000_000},
	{name: "MiB", in: "10MiB", want: 10 << 20},
	{name: "GB", in: "1GB", want: 1_000_000_000},
	{name: "GiB", in: "1GiB", want: 1 << 30},
	{name: "fraction", in: "2.23GB", want: 2_230_000_000},
	{name: "fraction truncated to bytes", in: "1.5KiB", want: 1536},
	{name: "fraction below a byte", in: "0.0001KB", want: 0},
	{name: "space before unit", in: "64 KiB", want: 64 << 10},
	{name: "surrounding space", in: " 10000 ", want: 10000},
	{name: "zero parses", in: "0", want: 0},
	{name: "largest", in: "9223372036854775807", want: 1<<63 - 1},
	{name: "empty", in: "", err: config.ErrInvalid},
	{name: "negative", in: "-1", err: config.ErrInvalid},
	{name: "lowercase unit", in: "10mb", err: config.ErrInvalid},
	{name: "bits", in: "10Mb", err: config.ErrInvalid},
	{name: "bytes suffix", in: "10B", err: config.ErrInvalid},
	{name: "TB not supported", in: "1TB", err: config.ErrInvalid},
	{name: "exponent", in: "1e6", err: config.ErrInvalid},
	{name: "words", in: "big", err: config.ErrInvalid},
	{name: "overflows int64", in: "9223372036854775808", err: config.ErrOutOfRange},
	{name: "overflows with unit", in: "8589934592GiB", err: config.ErrOutOfRange},
	{name: "overflows with fraction", in: "9223372036854775807.9KB", err: config.ErrOutOfRange},
}

func TestParseSize(t *testing.T) {
	for _, tt := range sizeTests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := config.ParseSize(tt.in)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("ParseSize(%q) = %v, %v; want error wrapping %v", tt.in, got, err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseSize(%q) = %v, %v; want %v, nil", tt.in, got, err, tt.want)
			}
		})
	}
}

func FuzzParseDuration(f *testing.F) {
	for _, tt := range durationTests {
		f.Add(tt.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := config.ParseDuration(s) // may reject any input; must never panic
		if err != nil {
			if !errors.Is(err, config.ErrInvalid) && !errors.Is(err, config.ErrOutOfRange) {
				t.Fatalf("ParseDuration(%q) error %v wraps neither ErrInvalid nor ErrOutOfRange", s, err)
			}
			return
		}
		if d < 0 || d%time.Millisecond != 0 {
			t.Fatalf("ParseDuration(%q) = %v; want whole non-negative milliseconds", s, d)
		}
		ms := strconv.FormatInt(d.Milliseconds(), 10)
		if back, err := config.ParseDuration(ms); err != nil || back != d {
			t.Fatalf("ParseDuration(%q) = %v; ParseDuration(%q) = %v, %v", s, d, ms, back, err)
		}
	})
}

func FuzzParseSize(f *testing.F) {
	for _, tt := range sizeTests {
		f.Add(tt.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := config.ParseSize(s) // may reject any input; must never panic
		if err != nil {
			if !errors.Is(err, config.ErrInvalid) && !errors.Is(err, config.ErrOutOfRange) {
				t.Fatalf("ParseSize(%q) error %v wraps neither ErrInvalid nor ErrOutOfRange", s, err)
			}
			return
		}
		if n < 0 {
			t.Fatalf("ParseSize(%q) = %d; want non-negative", s, n)
		}
		bytes := strconv.FormatInt(n, 10)
		if back, err := config.ParseSize(bytes); err != nil || back != n {
			t.Fatalf("ParseSize(%q) = %d; ParseSize(%q) = %d, %v", s, n, bytes, back, err)
		}
	})
}

func FuzzDatabaseURL(f *testing.F) {
	f.Add(testURL)
	f.Add(testURL + "?sslmode=verify-full")
	f.Add("host=h password='" + testPassword + "' sslmode=bad")
	f.Add("postgresql://u:" + testPassword + "@h:0/db")
	f.Add(`host=h password=a\`)
	f.Fuzz(func(t *testing.T, s string) {
		env := environ{"DATABASE_URL": s, "ELECTRIC_SECRET": testSecret}
		_, err := config.Load(nil, env.get, io.Discard) // may reject any input; must never panic
		if err != nil && strings.Contains(err.Error(), testSecret) {
			t.Fatalf("Load with DATABASE_URL=%q: error %q shows the secret", s, err)
		}
	})
}
