package metrics

import (
	"bytes"
	"maps"
	"math"
	"slices"
	"strings"
	"testing"
)

// The tests read scrapes through parseExposition (parse_expfmt_test.go),
// which uses the Prometheus project's own text parser.

// family is one parsed metric family.
type family struct {
	typ    string // counter, gauge, histogram, summary or untyped
	help   string
	series []series
}

// series is one labelled sample, or one histogram.
type series struct {
	labels  map[string]string
	value   float64            // counter, gauge, untyped
	buckets map[float64]uint64 // histogram: cumulative count by upper bound, +Inf included
	count   uint64             // histogram
	sum     float64            // histogram
}

func newTestRegistry(t testing.TB, o Options) *Registry {
	t.Helper()
	r, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// scrape writes r and parses the result.
func scrape(t testing.TB, r *Registry) map[string]*family {
	t.Helper()
	var b bytes.Buffer
	r.WritePrometheus(&b)
	return parseExposition(t, b.Bytes())
}

// find returns the series of fam whose labels include want, failing when
// there is not exactly one.
func find(t testing.TB, fams map[string]*family, fam string, want map[string]string) series {
	t.Helper()
	f := fams[fam]
	if f == nil {
		t.Fatalf("family %s missing; have %v", fam, slices.Sorted(maps.Keys(fams)))
	}
	var found []series
	for _, s := range f.series {
		if matches(s.labels, want) {
			found = append(found, s)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%s%v: %d series, want 1", fam, want, len(found))
	}
	return found[0]
}

// has reports whether fam has a series whose labels include want.
func has(fams map[string]*family, fam string, want map[string]string) bool {
	f := fams[fam]
	if f == nil {
		return false
	}
	for _, s := range f.series {
		if matches(s.labels, want) {
			return true
		}
	}
	return false
}

func matches(labels, want map[string]string) bool {
	for k, v := range want {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// value is find(...).value.
func value(t testing.TB, fams map[string]*family, fam string, want map[string]string) float64 {
	t.Helper()
	return find(t, fams, fam, want).value
}

// L builds a label set from name/value pairs.
func L(pairs ...string) map[string]string {
	m := make(map[string]string, len(pairs)/2)
	for i := 0; i+1 < len(pairs); i += 2 {
		m[pairs[i]] = pairs[i+1]
	}
	return m
}

// checkHistogram verifies a parsed histogram's internal consistency:
// buckets never decrease with the bound, and +Inf equals the count.
func checkHistogram(t testing.TB, name string, s series) {
	t.Helper()
	bounds := slices.Sorted(maps.Keys(s.buckets))
	prev := uint64(0)
	for _, le := range bounds {
		if s.buckets[le] < prev {
			t.Errorf("%s%v: bucket le=%v has %d, below the previous %d", name, s.labels, le, s.buckets[le], prev)
		}
		prev = s.buckets[le]
	}
	if inf, ok := s.buckets[math.Inf(1)]; ok && inf != s.count {
		t.Errorf("%s%v: +Inf bucket %d != count %d", name, s.labels, inf, s.count)
	}
}

// frontdeskFamilies returns the names of the parsed families that are
// frontdesk's own.
func frontdeskFamilies(fams map[string]*family) []string {
	var out []string
	for name := range fams {
		if strings.HasPrefix(name, "frontdesk_") {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}
