package lambda

import (
	"encoding/json"
	"strings"
	"testing"
)

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

// FuzzAppendUnquoted: every JSON string decodes as encoding/json decodes
// it; runs of text between escapes are copied whole, so escapes at the
// edges and text with invalid UTF-8 between them are what to vary.
func FuzzAppendUnquoted(f *testing.F) {
	for _, s := range []string{`""`, `"plain text without escapes, long enough for words"`, `"\\a\"b\/"`,
		`"\u00e9x\ud83d\ude00y"`, "\"bad \xff\\n byte \xc3\"", `"\ud83d\u0041\ude00"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		if doc, err := validJSON(raw); err != nil || len(doc) != len(raw) || raw[0] != '"' {
			return // not one JSON string with nothing around it
		}
		var want string
		if err := json.Unmarshal(raw, &want); err != nil {
			t.Fatal(err)
		}
		if got := string(appendUnquoted(nil, raw)); got != want {
			t.Errorf("appendUnquoted(%q) = %q, want %q", raw, got, want)
		}
	})
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
