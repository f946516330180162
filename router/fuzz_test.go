package router

import (
	"bytes"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// renderKey writes a parsed key back in route-key syntax.
func renderKey(k Key) string {
	if k.Default {
		return "$default"
	}
	var b strings.Builder
	b.WriteString(k.Method.String())
	b.WriteString(" /")
	for i, s := range k.Segments {
		if i > 0 {
			b.WriteByte('/')
		}
		switch s.Kind {
		case Literal:
			b.WriteString(s.Value)
		case Param:
			b.WriteString("{" + s.Value + "}")
		case Greedy:
			b.WriteString("{" + s.Value + "+}")
		}
	}
	return b.String()
}

func TestParseKeyAcceptsTheDocumentedSyntax(t *testing.T) {
	for _, tc := range []struct {
		key    string
		method Method
		params []string
	}{
		{"GET /", GET, nil},
		{"ANY /{proxy+}", ANY, []string{"proxy"}},
		{"OPTIONS /a/{b}/c/{d+}", OPTIONS, []string{"b", "d"}},
		{"PATCH /v1.0/{user_id}/{x-y.z}", PATCH, []string{"user_id", "x-y.z"}},
		{"HEAD /a+b/%7Bnot-a-var%7D", HEAD, nil},
		{"DELETE /" + manyParams(MaxParams), DELETE, paramNames(MaxParams)},
	} {
		t.Run(tc.key, func(t *testing.T) {
			k, err := ParseKey(tc.key)
			if err != nil {
				t.Fatal(err)
			}
			if k.Default || k.Method != tc.method || !slices.Equal(k.ParamNames(), tc.params) {
				t.Fatalf("parsed %+v (params %q), want method %v params %q", k, k.ParamNames(), tc.method, tc.params)
			}
			if got := renderKey(k); got != tc.key {
				t.Fatalf("renders as %q", got)
			}
		})
	}
}

func TestParseKeyRejects(t *testing.T) {
	for _, tc := range []struct{ name, key string }{
		{"lower-case method", "get /pets"},
		{"the name of the catch-all method", "OTHER /pets"},
		{"a method outside the list", "TRACE /pets"},
		{"two spaces", "GET  /pets"},
		{"$default with a path", "$default /pets"},
		{"$default in another case", "$DEFAULT"},
		{"empty key", ""},
		{"greedy without a name", "GET /{+}"},
		{"a variable name with a space", "GET /{a b}"},
		{"two variables in one segment", "GET /{a}{b}"},
		{"an opening brace alone", "GET /a{"},
		{"a closing brace alone", "GET /a}"},
		{"greedy and plain with one name", "GET /{a}/{a+}"},
		{"more variables than a match can hold", "GET /" + manyParams(MaxParams+1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if k, err := ParseKey(tc.key); err == nil {
				t.Fatalf("ParseKey(%q) = %+v, want an error", tc.key, k)
			}
		})
	}
}

func paramNames(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = "p" + strconv.Itoa(i)
	}
	return out
}

func manyParams(n int) string {
	var segs []string
	for _, p := range paramNames(n) {
		segs = append(segs, "{"+p+"}")
	}
	return strings.Join(segs, "/")
}

func TestLookupBacktracksAndBindsManyParams(t *testing.T) {
	tr := mustTree(t,
		"GET /a/b/d",                  // 0
		"GET /a/{x}/c",                // 1
		"ANY /n/b/{y}",                // 2
		"GET /n/{x}/{y}",              // 3
		"GET /"+manyParams(MaxParams), // 4
		"ANY /m/{x}",                  // 5
	)
	for _, tc := range []struct {
		method Method
		path   string
		want   int
		params []string
		ok     bool
	}{
		{GET, "/a/b/c", 1, []string{"b"}, true}, // the literal b leads nowhere for c: back to {x}
		{GET, "/n/b/e", 2, []string{"e"}, true}, // a literal segment beats a variable before methods count
		{POST, "/n/z/e", 0, nil, false},         // no route of POST on that shape
		{GET, "/n/z/e", 3, []string{"z", "e"}, true},
		{GET, "/" + strings.Join(paramNames(MaxParams), "/"), 4, paramNames(MaxParams), true},
		{Other, "/m/1", 0, nil, false}, // ANY is the list's methods, not every method
		{HEAD, "/m/1", 5, []string{"1"}, true},
		{GET, "/m//", 0, nil, false}, // a variable never binds an empty segment
	} {
		var p Params
		id, ok := tr.Lookup(tc.method, []byte(tc.path), &p)
		if ok != tc.ok || (ok && id != tc.want) {
			t.Errorf("%v %s = %d %v, want %d %v", tc.method, tc.path, id, ok, tc.want, tc.ok)
			continue
		}
		var got []string
		for i := 0; i < p.Len(); i++ {
			got = append(got, string(p.Value([]byte(tc.path), i)))
		}
		if ok && !slices.Equal(got, tc.params) {
			t.Errorf("%v %s params %q, want %q", tc.method, tc.path, got, tc.params)
		}
	}
}

// FuzzParseKey checks that an accepted key is exactly its parsed form
// written back, that its variables obey the documented limits, and that a
// request path built from it matches it with the values it was built from.
func FuzzParseKey(f *testing.F) {
	for _, k := range []string{
		"$default", "GET /", "GET /pets/{id}", "ANY /{proxy+}", "POST /a/{b}/c/{d+}", "GET /pets/{id}/{id}",
		"FETCH /x", "GET /x/", "GET //x", "GET /{a b}", "PUT /v1.0/{user_id}/{x-y.z}", "DELETE /" + manyParams(MaxParams+1),
	} {
		f.Add(k, "value")
	}
	f.Fuzz(func(t *testing.T, s, value string) {
		k, err := ParseKey(s)
		if err != nil {
			return
		}
		if got := renderKey(k); got != s {
			t.Fatalf("ParseKey(%q) = %+v, which renders as %q", s, k, got)
		}
		if k.Default {
			return
		}
		if k.Method >= Other {
			t.Fatalf("%q: method %v", s, k.Method)
		}
		names := k.ParamNames()
		if len(names) > MaxParams {
			t.Fatalf("%q: %d variables accepted", s, len(names))
		}
		seen := map[string]bool{}
		for i, seg := range k.Segments {
			if seg.Value == "" || strings.ContainsAny(seg.Value, "/{}") {
				t.Fatalf("%q: segment %d is %+v", s, i, seg)
			}
			if seg.Kind == Greedy && i != len(k.Segments)-1 {
				t.Fatalf("%q: greedy variable in segment %d of %d", s, i, len(k.Segments))
			}
			if seg.Kind != Literal && seen[seg.Value] {
				t.Fatalf("%q: variable %q twice", s, seg.Value)
			}
			seen[seg.Value] = seg.Kind != Literal
		}

		// Build a request path from the key: one value per variable.
		value = strings.ReplaceAll(value, "/", "")
		if value == "" {
			value = "v"
		}
		var path []byte
		var want []string
		for i, seg := range k.Segments {
			path = append(path, '/')
			switch seg.Kind {
			case Literal:
				path = append(path, seg.Value...)
			case Param:
				v := value + strconv.Itoa(i)
				path = append(path, v...)
				want = append(want, v)
			case Greedy:
				v := value + "/" + value + strconv.Itoa(i)
				path = append(path, v...)
				want = append(want, v)
			}
		}
		if len(path) == 0 {
			path = []byte("/")
		}
		tr := NewTree()
		if err := tr.Add(k, 7, s); err != nil {
			t.Fatalf("Add(%q): %v", s, err)
		}
		method := k.Method
		if method == ANY {
			method = PATCH
		}
		var p Params
		id, ok := tr.Lookup(method, path, &p)
		if !ok || id != 7 {
			t.Fatalf("%q: %v %s = %d %v, want the route", s, method, path, id, ok)
		}
		var got []string
		for i := 0; i < p.Len(); i++ {
			got = append(got, string(p.Value(path, i)))
		}
		if !slices.Equal(got, want) {
			t.Fatalf("%q: %s bound %q, want %q", s, path, got, want)
		}
		if _, ok := tr.Lookup(Other, path, &p); ok {
			t.Fatalf("%q: a method outside the list matched", s)
		}
	})
}

// route is a key the tree accepted, as the model sees it.
type route struct {
	id  int
	key Key
}

// modelLookup is Lookup done by brute force from the package's comment:
// of the routes that match, the one whose segments rank first (literal
// before {var} before {var+}, compared segment by segment), then an
// explicit method before ANY; else $default.
func modelLookup(routes []route, def int, m Method, path []byte) (int, []string, bool) {
	if len(path) > 1 && path[len(path)-1] == '/' {
		path = path[:len(path)-1]
	}
	var segs [][]byte
	if len(path) > 1 {
		segs = bytes.Split(path[1:], []byte("/"))
	}
	best, bestRank := -1, []int(nil)
	var bestParams []string
	for _, r := range routes {
		if m == Other || (r.key.Method != m && r.key.Method != ANY) {
			continue
		}
		params, ok := matchSegments(r.key.Segments, segs)
		if !ok {
			continue
		}
		var rank []int
		for _, s := range r.key.Segments {
			rank = append(rank, int(s.Kind))
		}
		methodRank := 0
		if r.key.Method == ANY {
			methodRank = 1
		}
		rank = append(rank, 10+methodRank) // after any segment kind: a longer route never ties
		if best < 0 || slices.Compare(rank, bestRank) < 0 {
			best, bestRank, bestParams = r.id, rank, params
		}
	}
	if best >= 0 {
		return best, bestParams, true
	}
	return def, nil, def >= 0
}

func matchSegments(route []Segment, segs [][]byte) ([]string, bool) {
	var params []string
	for i, s := range route {
		if i >= len(segs) {
			return nil, false
		}
		switch s.Kind {
		case Literal:
			if string(segs[i]) != s.Value {
				return nil, false
			}
		case Param:
			if len(segs[i]) == 0 {
				return nil, false
			}
			params = append(params, string(segs[i]))
		case Greedy:
			rest := bytes.Join(segs[i:], []byte("/"))
			if len(rest) == 0 {
				return nil, false
			}
			return append(params, string(rest)), true
		}
	}
	return params, len(route) == len(segs)
}

// FuzzTreeLookup builds a tree from fuzzed route keys (one a line; those
// ParseKey or Add refuses are left out) and checks every lookup against
// modelLookup: the same route and the same variable values.
func FuzzTreeLookup(f *testing.F) {
	priority := "GET /pets/dog/1\nGET /pets/dog/{id}\nGET /pets/{proxy+}\nANY /{proxy+}\n$default\nGET /items\nANY /items\n" +
		"GET /a/{x}/c\nGET /a/{x}/{y+}\nDELETE /orders/{id}"
	for _, s := range []struct{ keys, method, path string }{
		{priority, "GET", "/pets/dog/1"},
		{priority, "GET", "/pets//x"},
		{priority, "POST", "/pets/dog/1"},
		{priority, "PROPFIND", "/items/"},
		{priority, "GET", "/a/b/d/e"},
		{"GET /a/b/d\nGET /a/{x}/c\nANY /a/b/{y}", "GET", "/a/b/c"},
		{"GET /\nANY /{p}", "HEAD", "//"},
		{"GET /{a}/{b+}\nGET /{a}/b", "GET", "/x/b/"},
		{"ANY /x\nGET /{y}", "GET", "/x"},
	} {
		f.Add(s.keys, s.method, s.path)
	}
	f.Fuzz(func(t *testing.T, keys, method, path string) {
		tr := NewTree()
		var routes []route
		def := -1
		for i, line := range strings.SplitN(keys, "\n", 33)[:min(32, strings.Count(keys, "\n")+1)] {
			k, err := ParseKey(line)
			if err != nil || tr.Add(k, i, line) != nil {
				continue
			}
			if k.Default {
				def = i
			} else {
				routes = append(routes, route{i, k})
			}
		}
		if !strings.HasPrefix(path, "/") {
			path = "/" + path
		}
		m := ParseMethod([]byte(method))
		var p Params
		id, ok := tr.Lookup(m, []byte(path), &p)
		wantID, wantParams, wantOK := modelLookup(routes, def, m, []byte(path))
		if ok != wantOK || id != wantID {
			t.Fatalf("%v %q over %q: route %d %v, want %d %v", m, path, keys, id, ok, wantID, wantOK)
		}
		trimmed := []byte(path)
		if len(trimmed) > 1 && trimmed[len(trimmed)-1] == '/' {
			trimmed = trimmed[:len(trimmed)-1]
		}
		var got []string
		for i := 0; i < p.Len(); i++ {
			got = append(got, string(p.Value(trimmed, i)))
		}
		if !slices.Equal(got, wantParams) {
			t.Fatalf("%v %q over %q: params %q, want %q", m, path, keys, got, wantParams)
		}
	})
}
