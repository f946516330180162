package lambda

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// marshalString is encoding/json's encoding of s without HTML escaping: the
// reference our escaper must reproduce byte for byte.
func marshalString(t testing.TB, s string) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		t.Fatal(err)
	}
	return strings.TrimSuffix(buf.String(), "\n")
}

var escapeSeeds = []string{
	"",
	"plain ascii",
	`quote " and backslash \`,
	"controls \x00\x01\x08\x0c\n\r\t\x1f\x7f",
	"utf-8 é € 😀",
	"invalid \xff \xc3 \xe2\x82 \xed\xa0\x80 end",
	"separators \u2028 \u2029",
	"html <a href='x'>&amp;</a>",
	"\xf4\x90\x80\x80 beyond U+10FFFF",
}

func TestAppendJSONStringMatchesEncodingJSON(t *testing.T) {
	for _, s := range escapeSeeds {
		want := marshalString(t, s)
		if got := string(appendJSONString(nil, s)); got != want {
			t.Errorf("string %q:\n got  %s\n want %s", s, got, want)
		}
		if got := string(appendJSONString(nil, []byte(s))); got != want {
			t.Errorf("bytes %q:\n got  %s\n want %s", s, got, want)
		}
	}
}

func FuzzAppendJSONString(f *testing.F) {
	for _, s := range escapeSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := string(appendJSONString(nil, []byte(s))), marshalString(t, s); got != want {
			t.Errorf("%q:\n got  %s\n want %s", s, got, want)
		}
		if needsEscape([]byte(s)) != (string(appendEscaped(nil, s)) != s) {
			t.Errorf("needsEscape(%q) disagrees with appendEscaped", s)
		}
	})
}

var validitySeeds = []string{
	`{}`, `[]`, `""`, `0`, `-0`, `1.5e+10`, `-1E-2`, `true`, `false`, `null`,
	` {"a" : [1, 2, {"b": null}], "c": "\u00e9\n"} `,
	`{"a":1,}`, `[1,]`, `[1 2]`, `{"a" 1}`, `{a:1}`, `01`, `1.`, `.5`, `1e`, `-`, `+1`,
	`"\x"`, `"\u12g4"`, "\"a\x01\"", `"unterminated`, `{"a":1`, `[`, `tru`, `nul`, `nulll`,
	`"a" "b"`, ``, `   `, "\"\xff\"", `[[[[]]]]`, `{"":""}`,
	strings.Repeat("[", maxJSONDepth) + strings.Repeat("]", maxJSONDepth),
	strings.Repeat("[", maxJSONDepth+1) + strings.Repeat("]", maxJSONDepth+1),
}

func TestValidJSONAgreesWithEncodingJSON(t *testing.T) {
	for _, s := range validitySeeds {
		_, err := validJSON([]byte(s))
		if got, want := err == nil, json.Valid([]byte(s)); got != want {
			t.Errorf("validJSON(%.40q) = %v (err %v), encoding/json says %v", s, got, err, want)
		}
	}
}

func FuzzValidJSON(f *testing.F) {
	for _, s := range validitySeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, p []byte) {
		_, err := validJSON(p)
		if got, want := err == nil, json.Valid(p); got != want {
			t.Errorf("validJSON(%q) = %v (err %v), encoding/json says %v", p, got, err, want)
		}
	})
}

func TestAppendUnquotedMatchesEncodingJSON(t *testing.T) {
	for _, raw := range []string{
		`""`, `"plain"`, `"\"\\\/\b\f\n\r\t"`, `"\u00e9\u20AC"`, `"\ud83d\ude00"`,
		`"\ud83d"`, `"\ude00 lone low"`, `"\ud83d\u0041"`, "\"bad \xff byte\"", `"mixed \u0000 nul"`,
	} {
		var want string
		if err := json.Unmarshal([]byte(raw), &want); err != nil {
			t.Fatalf("%s: %v", raw, err)
		}
		if got := string(appendUnquoted(nil, []byte(raw))); got != want {
			t.Errorf("appendUnquoted(%s) = %q, want %q", raw, got, want)
		}
	}
}

func TestObjectIterYieldsMembersInOrder(t *testing.T) {
	doc, err := validJSON([]byte(` { "a" : 1 , "b\u0063" :[ 2 , 3 ], "d":{"e":"}"} } `))
	if err != nil {
		t.Fatal(err)
	}
	var keys, vals []string
	it := newObjectIter(doc)
	for k, v, ok := it.next(); ok; k, v, ok = it.next() {
		keys = append(keys, string(appendUnquoted(nil, k)))
		vals = append(vals, string(v))
	}
	if strings.Join(keys, "|") != "a|bc|d" || strings.Join(vals, "|") != `1|[ 2 , 3 ]|{"e":"}"}` {
		t.Errorf("keys %q values %q", keys, vals)
	}
}
