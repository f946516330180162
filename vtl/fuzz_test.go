package vtl

import (
	"errors"
	"testing"
)

// FuzzParse feeds arbitrary text to the parser: it must return a template
// or an *Error, never panic or hang. The seed corpus (every conformance
// template) runs in go test.
func FuzzParse(f *testing.F) {
	for _, c := range conformance {
		f.Add(c.tmpl)
	}
	f.Add("#if(")
	f.Add("${")
	f.Add(`#set($a = "$b #if(")`)
	f.Fuzz(func(t *testing.T, src string) {
		_, err := Parse(src)
		var e *Error
		if err != nil && !errors.As(err, &e) {
			t.Fatalf("Parse(%q) = %T %v, want *Error", src, err, err)
		}
		if e != nil && (e.Line < 1 || e.Col < 1) {
			t.Fatalf("Parse(%q): error without a position: %v", src, err)
		}
	})
}

// FuzzExecute runs whatever parses against a fuzzed body with tight
// limits: it must finish with output or a *RunError, never panic.
func FuzzExecute(f *testing.F) {
	for _, c := range conformance {
		f.Add(c.tmpl, string(c.in.Body))
	}
	f.Add("#foreach($i in $input.path('$'))$i#end", `[1,[2],{"a":3}]`)
	f.Add("$input.json('$..*')", `{"a":{"b":[1,2,{"c":null}]}}`)
	f.Fuzz(func(t *testing.T, src, body string) {
		tp, err := Parse(src)
		if err != nil {
			return
		}
		tp.Limits = Limits{MaxOutput: 64 << 10, MaxSteps: 20_000, MaxForeach: 100, MaxDepth: 8}
		in := reqInput()
		in.Body = []byte(body)
		out, err := tp.Execute(nil, in, &Overrides{})
		var re *RunError
		if err != nil && !errors.As(err, &re) {
			t.Fatalf("Execute(%q) = %T %v, want *RunError", src, err, err)
		}
		if len(out) > 2*tp.Limits.MaxOutput {
			t.Fatalf("Execute(%q) wrote %d bytes past the %d limit", src, len(out), tp.Limits.MaxOutput)
		}
	})
}
