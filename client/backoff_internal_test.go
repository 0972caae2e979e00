package client

import (
	"net/http"
	"testing"
	"time"
)

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 8, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name, value string
		want        time.Duration
	}{
		{"absent", "", 0},
		{"seconds", "7", 7 * time.Second},
		{"seconds with spaces", " 3 ", 3 * time.Second},
		{"zero", "0", 0},
		{"negative", "-5", 0},
		{"http date", now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{"http date in the past", now.Add(-time.Hour).Format(http.TimeFormat), 0},
		{"garbage", "soon", 0},
		{"fraction", "1.5", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			if tt.value != "" {
				h.Set("Retry-After", tt.value)
			}
			if got := retryAfter(h, now); got != tt.want {
				t.Errorf("retryAfter(%q) = %v, want %v", tt.value, got, tt.want)
			}
		})
	}
}

// TestBackoffDelay: full jitter within [0, min(Max, Initial·2^n)], never
// below Retry-After, which is capped at MaxRetryAfter.
func TestBackoffDelay(t *testing.T) {
	b := Backoff{}.withDefaults()
	now := time.Now()
	for attempt, ceiling := range []time.Duration{1, 2, 4, 8, 16, 32, 32, 32} {
		ceiling *= time.Second
		if got := b.ceiling(attempt); got != ceiling {
			t.Errorf("ceiling(%d) = %v, want %v", attempt, got, ceiling)
		}
		var lo, hi time.Duration = ceiling, 0
		for range 2000 {
			d := b.delay(attempt, nil, now)
			if d < 0 || d > ceiling {
				t.Fatalf("delay(%d) = %v, outside [0, %v]", attempt, d, ceiling)
			}
			lo, hi = min(lo, d), max(hi, d)
		}
		if lo > ceiling/10 || hi < ceiling*9/10 {
			t.Errorf("delay(%d) over 2000 draws spans [%v, %v]; want full jitter over [0, %v]", attempt, lo, hi, ceiling)
		}
	}
	if got := b.ceiling(1000); got != b.Max {
		t.Errorf("ceiling(1000) = %v, want the cap %v", got, b.Max)
	}
	h := http.Header{"Retry-After": {"120"}}
	for range 100 {
		if d := b.delay(0, h, now); d != 120*time.Second {
			t.Fatalf("delay with Retry-After 120 = %v, want 120s", d)
		}
	}
	h.Set("Retry-After", "86400")
	if d := b.delay(0, h, now); d != time.Hour {
		t.Errorf("delay with Retry-After of a day = %v, want the 1h cap", d)
	}
}
