package oracle

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
)

func oneOf(r *rand.Rand, xs ...string) string { return xs[r.IntN(len(xs))] }

// RandomValue returns the input text of a random value of type ty,
// weighted towards edge cases.
func RandomValue(r *rand.Rand, ty string) string {
	if IsArray(ty) {
		return randomArray(r, Elem(ty))
	}
	switch ty {
	case "bool":
		return oneOf(r, "t", "f", "true", "false")
	case "int2":
		return oneOf(r, "0", "1", "-1", "2", "7", "42", "-100", "32767", "-32768", "1000", strconv.Itoa(r.IntN(200)-100))
	case "int4":
		return oneOf(r, "0", "1", "-1", "3", "10", "42", "-7", "2147483647", "-2147483648", "65536", strconv.Itoa(r.IntN(2000)-1000))
	case "int8":
		return oneOf(r, "0", "1", "-1", "5", "42", "9223372036854775807", "-9223372036854775808", "4294967296", strconv.Itoa(r.IntN(100000)-50000))
	case "float4":
		if r.IntN(5) == 0 {
			if f := math.Float32frombits(r.Uint32()); !math.IsNaN(float64(f)) && !math.IsInf(float64(f), 0) {
				return strconv.FormatFloat(float64(f), 'g', -1, 32)
			}
		}
		return oneOf(r, "0", "-0", "1", "-1.5", "2.5", "0.1", "3.4e38", "1e-30", "NaN", "Infinity", "-Infinity", "100", fmt.Sprint(float32(r.NormFloat64()*100)))
	case "float8":
		if r.IntN(5) == 0 {
			if f := math.Float64frombits(r.Uint64()); !math.IsNaN(f) && !math.IsInf(f, 0) {
				return strconv.FormatFloat(f, 'g', -1, 64)
			}
		}
		return oneOf(r, "0", "-0", "1", "-1.5", "2.5", "0.1", "1e300", "1e-300", "NaN", "Infinity", "-Infinity", "100", "4.9e-324", fmt.Sprint(r.NormFloat64()*1000))
	case "numeric":
		return oneOf(r, "0", "0.00", "1", "1.5", "1.50", "-2.25", "3.14159265358979323846", "100", "1e20", "0.000001", "NaN", "Infinity", "-Infinity", "123456789012345678901234567890.123",
			fmt.Sprintf("%d.%02d", r.IntN(2000)-1000, r.IntN(100)))
	case "text", "varchar":
		return oneOf(r, "", "a", "A", "b", "abc", "ABC", "Abc", "a b", "a%b", "a_b", `back\slash`, "it's", "é", "日本", "NULL", "x", "hello world", "%", "_", "z", "10", "2")
	case "uuid":
		return oneOf(r, "00000000-0000-0000-0000-000000000000", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "ffffffff-ffff-ffff-ffff-ffffffffffff",
			fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", r.Uint32(), r.IntN(65536), r.IntN(65536), r.IntN(65536), r.Uint64()&0xffffffffffff))
	case "date":
		return randomDate(r)
	case "time":
		return randomTime(r)
	case "timestamp":
		if r.IntN(8) == 0 {
			return oneOf(r, "infinity", "-infinity")
		}
		d, era := finiteDate(r)
		return d + " " + randomTime(r) + era
	case "timestamptz":
		if r.IntN(8) == 0 {
			return oneOf(r, "infinity", "-infinity")
		}
		d, era := finiteDate(r)
		return d + " " + randomTime(r) + oneOf(r, "", "+00", "+05:30", "-08", "Z", " Europe/Paris") + era
	case "interval":
		return randomInterval(r)
	case "bytea":
		return oneOf(r, `\x`, `\x00`, `\x00ff`, `\x616263`, `\x41`, `\x2525`, `\xdeadbeef`)
	case "jsonb":
		return oneOf(r, "null", "true", "false", "1", "-2", "1.5", "2.50", "1e3", `"s"`, `{"a":1}`, "[1,2]", "123456789012", `"10"`)
	}
	if e := Enum(ty); e != nil {
		return e.Labels[r.IntN(len(e.Labels))]
	}
	panic("oracle: no values for type " + ty)
}

func randomDate(r *rand.Rand) string {
	if r.IntN(10) == 0 {
		return oneOf(r, "infinity", "-infinity")
	}
	d, era := finiteDate(r)
	return d + era
}

// finiteDate returns a date and its era suffix ("" or " BC").
func finiteDate(r *rand.Rand) (string, string) {
	if r.IntN(9) == 0 {
		d := oneOf(r, "2000-02-29", "1999-12-31", "0044-03-15", "9999-12-31", "1970-01-01", "2024-02-29", "2000-01-01")
		if d == "0044-03-15" {
			return d, " BC"
		}
		return d, ""
	}
	return fmt.Sprintf("%04d-%02d-%02d", 1990+r.IntN(40), 1+r.IntN(12), 1+r.IntN(28)), ""
}

func randomTime(r *rand.Rand) string {
	switch r.IntN(8) {
	case 0:
		return oneOf(r, "00:00:00", "23:59:59.999999", "12:00:00", "24:00:00")
	case 1:
		return fmt.Sprintf("%02d:%02d:%02d.%06d", r.IntN(24), r.IntN(60), r.IntN(60), r.IntN(1000000))
	}
	return fmt.Sprintf("%02d:%02d:%02d", r.IntN(24), r.IntN(60), r.IntN(60))
}

func randomInterval(r *rand.Rand) string {
	switch r.IntN(4) {
	case 0:
		return oneOf(r, "1 day", "-2 hours", "1 mon", "30 days", "1 year", "00:00:00", "1 mon -30 days", "P1Y2M3DT4H5M6S", "-1 day +02:00", "1.5 days", "7 days 00:00:01.5", "36 hours")
	case 1:
		return fmt.Sprintf("%s %s", oneOf(r, "1.5", "-1.5", "0.1", "2.25", "1.01", "-0.333", "10", ".5", "1000.0001"),
			oneOf(r, "years", "mons", "weeks", "days", "hours", "minutes", "seconds", "ms", "us", "decades", "centuries", "millennium"))
	case 2:
		return oneOf(r, "P1.5Y", "P0.1M", "P2.5W", "P1.5D", "PT1.5H", "PT1.5M", "PT0.000001S", "P-1.5Y", "PT-1.25H", "P1Y-2M", "@ 2 days ago", "1-2", "-1-2", "1 day 2 hours 3", "3 days ago", "1.999999999 seconds")
	}
	var parts []string
	if r.IntN(3) == 0 {
		parts = append(parts, fmt.Sprintf("%d mon", r.IntN(30)-10))
	}
	if r.IntN(2) == 0 {
		parts = append(parts, fmt.Sprintf("%d days", r.IntN(60)-20))
	}
	if r.IntN(2) == 0 || len(parts) == 0 {
		parts = append(parts, fmt.Sprintf("%02d:%02d:%02d", r.IntN(48), r.IntN(60), r.IntN(60)))
	}
	return strings.Join(parts, " ")
}

// arrayElemText quotes an element for an array literal.
func arrayElemText(s string) string {
	if s == "" || strings.ContainsAny(s, "{}\",\\ \t") || strings.EqualFold(s, "NULL") {
		return `"` + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), `"`, `\"`) + `"`
	}
	return s
}

func randomArray(r *rand.Rand, elem string) string {
	switch r.IntN(12) {
	case 0:
		return "{}"
	case 1:
		// Two dimensions.
		var rows []string
		n := 1 + r.IntN(2)
		for i := 0; i < 2; i++ {
			var es []string
			for j := 0; j < n; j++ {
				es = append(es, arrayElemText(RandomValue(r, elem)))
			}
			rows = append(rows, "{"+strings.Join(es, ",")+"}")
		}
		return "{" + strings.Join(rows, ",") + "}"
	}
	n := 1 + r.IntN(4)
	var es []string
	for i := 0; i < n; i++ {
		if r.IntN(6) == 0 {
			es = append(es, "NULL")
			continue
		}
		es = append(es, arrayElemText(RandomValue(r, elem)))
	}
	s := "{" + strings.Join(es, ",") + "}"
	if r.IntN(10) == 0 {
		lb := r.IntN(3) - 1
		s = fmt.Sprintf("[%d:%d]=%s", lb, lb+n-1, s)
	}
	return s
}
