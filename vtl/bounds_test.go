package vtl

import (
	"errors"
	"strings"
	"testing"
)

func TestBadTemplatesFailToParseWithLineAndColumn(t *testing.T) {
	cases := []struct {
		name, tmpl string
		line, col  int
		msg        string
	}{
		{"unclosed if", "{\n  #if($a)\n  x\n}", 2, 3, "#if is not closed by #end"},
		{"unclosed foreach", "#foreach($x in $l)\n$x", 1, 1, "#foreach is not closed by #end"},
		{"unknown directive", "ok\n  #frobnicate($x)", 2, 3, "unknown directive #frobnicate"},
		{"end without block", "a\n#end", 2, 1, "#end without an open block"},
		{"else without if", "#else", 1, 1, "#else without an open block"},
		{"unclosed comment", "a #* b", 1, 3, "comment #* is not closed"},
		{"unclosed reference", "${a.b", 1, 1, "reference ${ is not closed by }"},
		{"unclosed string", `#set($a = "x)`, 1, 11, "string is not closed"},
		{"bad expression", "#set($a = 1 +)", 1, 14, "unexpected ')' in an expression"},
		{"set without reference", "#set(1 = 2)", 1, 6, "#set needs a reference"},
		{"macro arity", "#macro(m $a)$a#end\n#m(1 2)", 2, 1, "macro #m takes 1 arguments, called with 2"},
		{"nesting too deep", strings.Repeat("#if(true)", 300), 1, 1, "nests too deep"},
		{"expression too deep", "#set($a = " + strings.Repeat("(", 1000) + ")", 1, 1, "nests too deep"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse(c.tmpl)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Parse(%q) = %v, want an *Error", c.tmpl, err)
			}
			if !strings.Contains(e.Msg, c.msg) {
				t.Errorf("message %q, want it to contain %q", e.Msg, c.msg)
			}
			if c.name == "nesting too deep" || c.name == "expression too deep" {
				return // the position is where the bound was crossed
			}
			if e.Line != c.line || e.Col != c.col {
				t.Errorf("at %d:%d, want %d:%d (%v)", e.Line, e.Col, c.line, c.col, err)
			}
		})
	}
}

func TestTemplateOver300KBIsRefused(t *testing.T) {
	src := strings.Repeat("x", 301*1024)
	_, err := Parse(src)
	var e *Error
	if !errors.As(err, &e) || e.Line != 1 || e.Col != 1 || !strings.Contains(e.Msg, "more than the 307200 allowed") {
		t.Fatalf("Parse(301 KB) = %v", err)
	}
	if _, err := Parse(strings.Repeat("x", MaxTemplateBytes)); err != nil {
		t.Fatalf("Parse(300 KB) = %v, want it accepted", err)
	}
}

func TestRunawayTemplatesStopWithABoundedError(t *testing.T) {
	cases := []struct {
		name, tmpl string
		want       error
	}{
		{"foreach over more than 1000 items", "#foreach($i in [1..1001])x#end", ErrForeachLimit},
		{"range of a billion", "#foreach($i in [1..1000000000])x#end", ErrTooManySteps},
		{"foreach nested a billion times", "#foreach($i in [1..1000])#foreach($j in [1..1000])#foreach($k in [1..1000])x#end#end#end", ErrTooManySteps},
		{"foreach over a list it grows", "#set($l = [1])#foreach($n in [1..1000])#foreach($i in $l)#set($_ = $l.add($i))#end#end", ErrForeachLimit},
		{"macro recursing forever", "#macro(r $n)x#r($n)#end#r(1)", ErrTooDeep},
		{"define referring to itself", "#define($d)$d#end$d", ErrTooDeep},
		{"string doubling", "#set($s = \"x\")#foreach($i in [1..64])#set($s = \"$s$s\")#end$s", ErrOutputTooLarge},
		{"output flood", "#foreach($i in [1..1000])#foreach($j in [1..1000])xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx#end#end", ErrOutputTooLarge},
		{"replace blow-up", "#set($s = \"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\")#foreach($i in [1..40])#set($s = $s.replace(\"x\", \"xx\"))#end", ErrOutputTooLarge},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tp, err := Parse(c.tmpl)
			if err != nil {
				t.Fatal(err)
			}
			_, err = tp.Execute(nil, &Input{}, nil)
			var re *RunError
			if !errors.As(err, &re) || !errors.Is(err, c.want) {
				t.Fatalf("Execute = %v, want a *RunError wrapping %v", err, c.want)
			}
			if re.Line < 1 || re.Col < 1 {
				t.Errorf("run error without a position: %v", err)
			}
		})
	}
}

func TestOutputLimitIsEnforced(t *testing.T) {
	tp := MustParse("#foreach($i in [1..100])0123456789#end")
	tp.Limits.MaxOutput = 500
	_, err := tp.Execute(nil, &Input{}, nil)
	if !errors.Is(err, ErrOutputTooLarge) {
		t.Fatalf("Execute = %v, want ErrOutputTooLarge", err)
	}
	tp.Limits.MaxOutput = 1000
	out, err := tp.Execute(nil, &Input{}, nil)
	if err != nil || len(out) != 1000 {
		t.Fatalf("Execute = %d bytes, %v; want 1000 bytes", len(out), err)
	}
}

func TestRunErrorsReportMethodFailures(t *testing.T) {
	cases := []struct{ name, tmpl, body string }{
		{"substring out of range", `$input.path('$.s').substring(5)`, `{"s":"ab"}`},
		{"list get out of range", `$input.path('$.l').get(3)`, `{"l":[1]}`},
		{"body not JSON", `$input.json('$.a')`, `<html>`},
		{"bad regex", `#set($r = "(")$input.path('$.s').matches($r)`, `{"s":"ab"}`},
		{"bad base64", `$util.base64Decode('***')`, `{}`},
		{"bad JSON to parse", `$util.parseJson('{')`, `{}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := MustParse(c.tmpl).Execute(nil, &Input{Body: []byte(c.body)}, nil)
			var re *RunError
			if !errors.As(err, &re) {
				t.Fatalf("Execute = %v, want a *RunError", err)
			}
		})
	}
}

func TestTemplateIsSafeForConcurrentUse(t *testing.T) {
	tp := MustParse(`#set($r = $input.path('$'))#foreach($x in $r.l)$x#end $input.params('id')`)
	done := make(chan string, 8)
	for i := 0; i < 8; i++ {
		go func() {
			var got string
			for j := 0; j < 200; j++ {
				s, err := tp.Render(&Input{Body: []byte(`{"l":[1,2,3]}`), Params: Params{Path: map[string]string{"id": "z"}}}, nil)
				if err != nil {
					s = err.Error()
				}
				if j == 0 || s != got {
					got = s
				}
			}
			done <- got
		}()
	}
	for i := 0; i < 8; i++ {
		if got := <-done; got != "123 z" {
			t.Errorf("concurrent render = %q, want %q", got, "123 z")
		}
	}
}

func TestContainersNeverHoldThemselves(t *testing.T) {
	cases := []struct{ name, tmpl, body, want string }{
		{"map put into itself", `#set($m = {"a": 1})#set($_ = $m.put("self", $m))$m`, `{}`, `{a=1, self={a=1}}`},
		{"list added to itself", `#set($l = [1])#set($_ = $l.add($l))#set($_ = $l.add($l))$l`, `{}`, `[1, [1], [1, [1]]]`},
		{"body mutated then searched", `#set($r = $input.path('$'))#set($r.me = $r)$input.json('$..a')`, `{"a":1}`, `[1,1]`},
		{"context stored as a value", `#set($m = {})#set($_ = $m.put("c", $context))#set($_ = $m.put("i", $input))$m.c.stage $m.i`, `{}`, `prod $m.i`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := reqInput()
			in.Body = []byte(c.body)
			got, err := MustParse(c.tmpl).Render(in, nil)
			if err != nil || got != c.want {
				t.Errorf("got %q, %v; want %q", got, err, c.want)
			}
		})
	}
}

func TestDoublingStructuresStopAtABound(t *testing.T) {
	// Each round nests the previous structure twice: without copies and
	// bounds this is 2^n work to print.
	tp := MustParse(`#set($l = [1])#foreach($i in [1..200])#set($l = [$l, $l])#end$l.size()`)
	_, err := tp.Execute(nil, &Input{}, nil)
	if !errors.Is(err, ErrTooManySteps) && !errors.Is(err, errTooDeepValue) {
		t.Fatalf("Execute = %v, want a bounded error", err)
	}
	tp = MustParse(`#set($l = [])#foreach($i in [1..600])#set($l = [$l])#end$l`)
	if _, err := tp.Execute(nil, &Input{}, nil); !errors.Is(err, errTooDeepValue) {
		t.Fatalf("Execute = %v, want the nesting bound", err)
	}
}
