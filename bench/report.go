package bench

import (
	"bufio"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Result is one line of the results table: a Galvani figure next to the
// baseline measured in the same run, and their ratio.
type Result struct {
	Benchmark string `json:"benchmark"`
	// Baseline says what the baseline is; BaselineValue is its figure.
	Baseline      string  `json:"baseline"`
	BaselineValue float64 `json:"baseline_value"`
	// BaselineUnit is the baseline's unit when it differs from Unit.
	BaselineUnit string  `json:"baseline_unit,omitempty"`
	Value        float64 `json:"value"`
	Unit         string  `json:"unit"`
	// Ratio is Value / BaselineValue, unless Note says otherwise.
	Ratio  float64 `json:"ratio"`
	Target string  `json:"target,omitempty"`
	// Met is nil when the line has no target.
	Met   *bool              `json:"met,omitempty"`
	Note  string             `json:"note,omitempty"`
	Extra map[string]float64 `json:"extra,omitempty"`
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

func met(ok bool) *bool { return &ok }

// Micro is one parsed `go test -bench` line.
type Micro struct {
	Name       string             `json:"name"`
	Iterations int64              `json:"iterations"`
	Metrics    map[string]float64 `json:"metrics"`
}

// ParseMicro reads the Benchmark lines of `go test -bench` output.
func ParseMicro(r io.Reader) ([]Micro, error) {
	var out []Micro
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		n, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			continue
		}
		m := Micro{Name: f[0], Iterations: n, Metrics: map[string]float64{}}
		for i := 2; i+1 < len(f); i += 2 {
			if v, err := strconv.ParseFloat(f[i], 64); err == nil {
				m.Metrics[f[i+1]] = v
			}
		}
		out = append(out, m)
	}
	return out, sc.Err()
}

// Report is one run's results file.
type Report struct {
	Facts    Facts              `json:"facts"`
	Seconds  float64            `json:"seconds"`
	Results  []Result           `json:"results"`
	Errors   []string           `json:"errors,omitempty"`
	Micro    []Micro            `json:"micro,omitempty"`
	Profiles map[string]Profile `json:"profiles,omitempty"`
}

// Write stores the report as dir/<timestamp>.json and returns the path.
func (r *Report) Write(dir string) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	t, err := time.Parse(time.RFC3339, r.Facts.Time)
	if err != nil {
		t = time.Now().UTC()
	}
	path := filepath.Join(dir, t.Format("20060102T150405Z")+".json")
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return "", err
	}
	return path, os.WriteFile(path, append(b, '\n'), 0o644)
}

// PrintTable writes the results as a Markdown table.
func (r *Report) PrintTable(w io.Writer) {
	fmt.Fprintf(w, "Scale %g, %d cores, %d MiB, Postgres %s, %s, commit %.12s%s, %s\n\n",
		r.Facts.Scale, r.Facts.Cores, r.Facts.MemoryMiB, r.Facts.Postgres, r.Facts.GoVersion, r.Facts.GitCommit,
		map[bool]string{true: " (dirty)"}[r.Facts.GitDirty], r.Facts.Time)
	fmt.Fprintln(w, "| Benchmark | Baseline (same run) | Baseline | Galvani | Ratio | Target | Met |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|")
	for _, res := range r.Results {
		m := "—"
		if res.Met != nil {
			m = map[bool]string{true: "yes", false: "**no**"}[*res.Met]
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s |\n", res.Benchmark, res.Baseline,
			formatValue(res.BaselineValue, cmp.Or(res.BaselineUnit, res.Unit)), formatValue(res.Value, res.Unit),
			formatRatio(res.Ratio), orDash(res.Target), m)
	}
	notes := false
	for _, res := range r.Results {
		if res.Note != "" {
			if !notes {
				fmt.Fprintln(w)
				notes = true
			}
			fmt.Fprintf(w, "- %s: %s\n", res.Benchmark, res.Note)
		}
	}
	if len(r.Errors) > 0 {
		fmt.Fprintln(w)
		for _, e := range r.Errors {
			fmt.Fprintf(w, "- ERROR: %s\n", e)
		}
	}
}

// PrintProfiles writes each profile's top functions.
func (r *Report) PrintProfiles(w io.Writer) {
	names := make([]string, 0, len(r.Profiles))
	for n := range r.Profiles {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		p := r.Profiles[n]
		fmt.Fprintf(w, "\nProfile %s (%s, %d samples over %.1fs): %s\n", n, p.Tool, p.Samples, p.Seconds, p.Note)
		fmt.Fprintln(w, "  self:")
		for _, f := range p.Self {
			fmt.Fprintf(w, "    %5.1f%%  %s\n", f.Percent, f.Symbol)
		}
		fmt.Fprintln(w, "  cumulative:")
		for _, f := range p.Cumulative {
			fmt.Fprintf(w, "    %5.1f%%  %s\n", f.Percent, f.Symbol)
		}
	}
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

func formatRatio(r float64) string {
	if r == 0 || math.IsNaN(r) || math.IsInf(r, 0) {
		return "—"
	}
	return strconv.FormatFloat(r, 'f', 2, 64) + "×"
}

// formatValue prints a figure with thousands separators and its unit.
func formatValue(v float64, unit string) string {
	if v == 0 && unit == "" {
		return "—"
	}
	var s string
	switch {
	case math.Abs(v) >= 1000:
		s = groupThousands(int64(math.Round(v)))
	case math.Abs(v) >= 100:
		s = strconv.FormatFloat(v, 'f', 0, 64)
	case math.Abs(v) >= 10:
		s = strconv.FormatFloat(v, 'f', 1, 64)
	default:
		s = strconv.FormatFloat(v, 'f', 2, 64)
	}
	if unit != "" {
		s += " " + unit
	}
	return s
}

func groupThousands(n int64) string {
	neg := n < 0
	if neg {
		n = -n
	}
	s := strconv.FormatInt(n, 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// percentile returns the p-quantile (0..1) of d, nearest rank.
func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	i := int(math.Ceil(p*float64(len(s)))) - 1
	return s[min(max(i, 0), len(s)-1)]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
