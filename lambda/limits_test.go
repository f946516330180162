package lambda

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// awsMaxResult is the largest result AWS Lambda returns from a synchronous
// invocation: "Response payload size exceeded maximum allowed payload size
// (6291556 bytes)".
const awsMaxResult = 6291556

// resultOfSize is a valid result of exactly n bytes whose body is padding.
func resultOfSize(n int) []byte {
	const head, tail = `{"statusCode":200,"body":"`, `"}`
	return []byte(head + strings.Repeat("a", n-len(head)-len(tail)) + tail)
}

func TestOversizedResultIsMalformed(t *testing.T) {
	cases := []struct {
		name      string
		size      int
		malformed bool
	}{
		{"at the AWS limit", awsMaxResult, false},
		{"one byte over", awsMaxResult + 1, true},
		{"7 MiB", 7 << 20, true},
	}
	parsers := []struct {
		name  string
		parse func([]byte, *Response) error
	}{{"1.0", ParseResponseV1}, {"2.0", ParseResponseV2}}
	for _, c := range cases {
		for _, p := range parsers {
			t.Run(c.name+"/"+p.name, func(t *testing.T) {
				var r Response
				err := p.parse(resultOfSize(c.size), &r)
				if !c.malformed {
					if err != nil || r.Status != 200 || len(r.Body) != c.size-len(`{"statusCode":200,"body":""}`) {
						t.Fatalf("refused or changed: %v, status %d, %d body bytes", err, r.Status, len(r.Body))
					}
					return
				}
				if !errors.Is(err, ErrMalformedResponse) {
					t.Fatalf("accepted (%v), want ErrMalformedResponse", err)
				}
			})
		}
	}
}

// headersJSON is a JSON object of n headers x-0 ... x-(n-1).
func headersJSON(n int) string {
	var b strings.Builder
	b.WriteByte('{')
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"x-%d":"%d"`, i, i)
	}
	b.WriteByte('}')
	return b.String()
}

// arrayJSON is a JSON array of n strings.
func arrayJSON(n int) string {
	vals := make([]string, n)
	for i := range vals {
		vals[i] = strconv.Quote("v" + strconv.Itoa(i))
	}
	return "[" + strings.Join(vals, ",") + "]"
}

func TestHeaderValueCountIsCapped(t *testing.T) {
	cases := []struct {
		name      string
		parse     func([]byte, *Response) error
		payload   string
		wantLines int // header lines when accepted, content-type included
		malformed bool
	}{
		{"2.0: 1,000 headers", ParseResponseV2, `{"statusCode":200,"headers":` + headersJSON(1000) + `}`, 1001, false},
		{"2.0: 1,001 headers", ParseResponseV2, `{"statusCode":200,"headers":` + headersJSON(1001) + `}`, 0, true},
		{"2.0: 999 headers and 1 cookie", ParseResponseV2, `{"statusCode":200,"headers":` + headersJSON(999) + `,"cookies":["a=1"]}`, 1001, false},
		{"2.0: 1,000 headers and 1 cookie", ParseResponseV2, `{"statusCode":200,"headers":` + headersJSON(1000) + `,"cookies":["a=1"]}`, 0, true},
		{"2.0: 1,001 cookies", ParseResponseV2, `{"statusCode":200,"cookies":` + arrayJSON(1001) + `}`, 0, true},
		{"2.0: 20,000 headers", ParseResponseV2, `{"statusCode":200,"headers":` + headersJSON(20000) + `}`, 0, true},
		{"2.0: null values do not count", ParseResponseV2, `{"statusCode":200,"headers":` +
			strings.Replace(headersJSON(1000), `"x-0":"0"`, `"x-0":"0","n":null`, 1) + `}`, 1001, false},
		{"1.0: 1,000 headers", ParseResponseV1, `{"headers":` + headersJSON(1000) + `}`, 1001, false},
		{"1.0: 1,001 headers", ParseResponseV1, `{"headers":` + headersJSON(1001) + `}`, 0, true},
		{"1.0: 1,001 values of one multi-value header", ParseResponseV1, `{"multiValueHeaders":{"X":` + arrayJSON(1001) + `}}`, 0, true},
		{"1.0: 500 multi values and 500 headers", ParseResponseV1,
			`{"multiValueHeaders":{"X":` + arrayJSON(500) + `},"headers":` + headersJSON(500) + `}`, 1001, false},
		{"1.0: 500 multi values and 501 headers", ParseResponseV1,
			`{"multiValueHeaders":{"X":` + arrayJSON(500) + `},"headers":` + headersJSON(501) + `}`, 0, true},
		{"1.0: 20,000 headers", ParseResponseV1, `{"headers":` + headersJSON(20000) + `}`, 0, true},
		{"1.0: 20,000 multi-value headers", ParseResponseV1, `{"multiValueHeaders":` +
			strings.ReplaceAll(strings.ReplaceAll(headersJSON(20000), `":"`, `":["`), `",`, `"],`) + `]}}`, 0, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var r Response
			err := c.parse([]byte(c.payload), &r)
			if c.malformed {
				if !errors.Is(err, ErrMalformedResponse) {
					t.Fatalf("accepted with %d header lines (%v), want ErrMalformedResponse", len(r.Headers), err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Headers) != c.wantLines {
				t.Errorf("%d header lines, want %d", len(r.Headers), c.wantLines)
			}
		})
	}
}

// A name repeated inside headers keeps its last value even when a
// multiValueHeaders entry gives the name another spelling.
func TestRepeatedHeaderKeyLastWinsAfterRespelling(t *testing.T) {
	runResponseCases(t, ParseResponseV1, []responseCase{
		{name: "repeated key respelled by multiValueHeaders",
			payload: `{"multiValueHeaders":{"Test":["a"]},"headers":{"test":"b","test":"c"}}`,
			status:  200, headers: []string{"Test: a", "Test: c", "Content-Type: application/json"}},
	})
}

// reference* restate the header rules of docs/lambda-events.md as plainly
// as possible, to check the parsers against on generated results.

type refEntry struct {
	name   string
	values []string // nil: a JSON null
}

func refLastNonNull(es []refEntry) map[string]int {
	last := map[string]int{}
	for i, e := range es {
		if e.values != nil {
			last[e.name] = i
		}
	}
	return last
}

func refHeadersV1(multi, headers []refEntry) []string {
	type line struct{ name, value string }
	var lines []line
	lastMulti := refLastNonNull(multi)
	for i, e := range multi {
		if lastMulti[e.name] == i && e.values != nil {
			for _, v := range e.values {
				lines = append(lines, line{e.name, v})
			}
		}
	}
	multiLines := len(lines)
	lastHeader := refLastNonNull(headers)
	for i, e := range headers {
		if lastHeader[e.name] != i || e.values == nil {
			continue
		}
		name, dup := e.name, false
		for _, l := range lines[:multiLines] {
			if strings.EqualFold(l.name, e.name) {
				name = l.name
				dup = dup || l.value == e.values[0]
			}
		}
		if !dup {
			lines = append(lines, line{name, e.values[0]})
		}
	}
	out := make([]string, 0, len(lines)+1)
	ct := false
	for _, l := range lines {
		out = append(out, l.name+": "+l.value)
		ct = ct || strings.EqualFold(l.name, "content-type")
	}
	if !ct {
		out = append(out, "Content-Type: application/json")
	}
	return out
}

func refHeadersV2(headers []refEntry, cookies []string) []string {
	var out []string
	last := refLastNonNull(headers)
	ct := false
	for i, e := range headers {
		if last[e.name] == i && e.values != nil {
			out = append(out, e.name+": "+e.values[0])
			ct = ct || strings.EqualFold(e.name, "content-type")
		}
	}
	for _, c := range cookies {
		out = append(out, "set-cookie: "+c)
	}
	if !ct {
		out = append(out, "content-type: application/json")
	}
	return out
}

func entriesJSON(es []refEntry, multi bool) string {
	parts := make([]string, len(es))
	for i, e := range es {
		val := "null"
		switch {
		case e.values == nil:
		case multi:
			q := make([]string, len(e.values))
			for j, v := range e.values {
				q[j] = strconv.Quote(v)
			}
			val = "[" + strings.Join(q, ",") + "]"
		default:
			val = strconv.Quote(e.values[0])
		}
		parts[i] = strconv.Quote(e.name) + ":" + val
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// Generated results with few distinct names, in several spellings, and few
// values, so repeats, respellings and duplicates are frequent. Every tenth
// result draws from 40 more names and is big enough for every index to be
// a hash table (more than linearEntries entries).
func TestParseResponseFollowsTheReferenceRules(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	names := []string{"X-A", "x-a", "X-a", "x-b", "X-B", "Set-Cookie", "set-cookie", "content-type", "Content-Type", "y"}
	for i := range 20 {
		names = append(names, "N-"+strconv.Itoa(i), "n-"+strconv.Itoa(i))
	}
	values := []string{"1", "2", "3", "a b", ""}
	var drawn int // names drawn from: the first 10, or all
	entries := func(n, maxValues int) []refEntry {
		es := make([]refEntry, n)
		for i := range es {
			es[i].name = names[rng.IntN(drawn)]
			if rng.IntN(8) == 0 {
				continue // null
			}
			es[i].values = []string{}
			for range 1 + rng.IntN(maxValues) {
				es[i].values = append(es[i].values, values[rng.IntN(len(values))])
			}
			if maxValues > 1 && rng.IntN(10) == 0 {
				es[i].values = []string{} // an empty array
			}
		}
		return es
	}
	var r Response // reused, as the gateway does
	for i := range 3000 {
		size := 1 + rng.IntN(4)
		drawn = 10
		if i%10 == 0 {
			size, drawn = 60+rng.IntN(100), len(names)
		}
		multi, headers := entries(rng.IntN(size+1), 3), entries(rng.IntN(size+1), 1)
		payload := `{"multiValueHeaders":` + entriesJSON(multi, true) + `,"headers":` + entriesJSON(headers, false) + `}`
		if err := ParseResponseV1([]byte(payload), &r); err != nil {
			t.Fatalf("1.0 %s: %v", payload, err)
		}
		if got, want := headerLines(&r), refHeadersV1(multi, headers); !slices.Equal(got, want) {
			t.Fatalf("1.0 %s:\n got %q\nwant %q", payload, got, want)
		}

		cookies := make([]string, rng.IntN(3))
		for j := range cookies {
			cookies[j] = "c=" + strconv.Itoa(j)
		}
		q := make([]string, len(cookies))
		for j, c := range cookies {
			q[j] = strconv.Quote(c)
		}
		payload = `{"statusCode":200,"headers":` + entriesJSON(headers, false) + `,"cookies":[` + strings.Join(q, ",") + `]}`
		if err := ParseResponseV2([]byte(payload), &r); err != nil {
			t.Fatalf("2.0 %s: %v", payload, err)
		}
		if got, want := headerLines(&r), refHeadersV2(headers, cookies); !reflect.DeepEqual(got, want) {
			t.Fatalf("2.0 %s:\n got %q\nwant %q", payload, got, want)
		}
	}
}

// The index stays correct when given more entries than reset was told of,
// in both its forms.
func TestSpanIndexBeyondItsHint(t *testing.T) {
	for _, hint := range []int{1, linearEntries + 1} {
		var x spanIndex
		x.reset(hint)
		keys := make([]uint64, 0, 300)
		for n := range 300 {
			key := uint64(n) * 7919
			keys = append(keys, key)
			hash := func() uint64 { return key % 13 } // many collisions
			if m, at := x.find(hash, func(m int) bool { return keys[m] == key }); m >= 0 {
				t.Fatalf("hint %d: key %d found before it was added", hint, n)
			} else {
				x.put(at, n)
			}
		}
		for n, key := range keys {
			hash := func() uint64 { return key % 13 }
			if m := x.get(hash, func(m int) bool { return keys[m] == key }); m != n {
				t.Errorf("hint %d: key %d found as %d", hint, n, m)
			}
		}
	}
}
