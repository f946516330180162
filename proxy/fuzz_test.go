package proxy

import (
	"bufio"
	"bytes"
	"net"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/frontdeskgw/frontdesk/exchange"
	"github.com/frontdeskgw/frontdesk/internal/ascii"
	"github.com/frontdeskgw/frontdesk/router"
	"github.com/valyala/fasthttp"
)

// templateExchange is a request for uri matched by a route with the
// variables names (in path order), whose path is one segment per value.
func templateExchange(t testing.TB, names, values []string, query string) *exchange.Exchange {
	t.Helper()
	key, path := "ANY /", "/"
	if len(names) > 0 {
		var kp, pp []string
		for i, n := range names {
			kp = append(kp, "{"+n+"}")
			pp = append(pp, values[i])
		}
		key += strings.Join(kp, "/")
		path += strings.Join(pp, "/")
	}
	k, err := router.ParseKey(key)
	if err != nil {
		t.Fatalf("route %q: %v", key, err)
	}
	tree := router.NewTree()
	if err := tree.Add(k, 0, key); err != nil {
		t.Fatal(err)
	}
	ex := &exchange.Exchange{Path: []byte(path), ParamNames: k.ParamNames()}
	if _, ok := tree.Lookup(router.GET, ex.Path, &ex.Params); !ok {
		t.Fatalf("route %q does not match %q", key, path)
	}
	var req fasthttp.Request
	uri := path
	if query != "" {
		uri += "?" + query
	}
	req.SetRequestURI(uri)
	ex.Ctx = new(fasthttp.RequestCtx)
	ex.Ctx.Init(&req, &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1)}, nil)
	return ex
}

func templateProxy(path, query string) *HTTPProxy {
	p := &HTTPProxy{query: []byte(query)}
	if path != "" {
		p.path = parseTemplate(path)
	}
	return p
}

func TestAppendURIFillsTheTemplate(t *testing.T) {
	for _, tc := range []struct {
		name            string
		template, query string // the integration URL's path and query
		names, values   []string
		reqQuery        string
		want            string
	}{
		{"no path: the request path", "", "", []string{"id"}, []string{"42"}, "", "/42"},
		{"no path, both queries", "", "src=gw", []string{"id"}, []string{"42"}, "v=1", "/42?src=gw&v=1"},
		{"template query alone", "/pets/{id}", "src=gw", []string{"id"}, []string{"42"}, "", "/pets/42?src=gw"},
		{"request query alone", "/pets/{id}", "", []string{"id"}, []string{"42"}, "v=1&w=2", "/pets/42?v=1&w=2"},
		{"two variables in one segment", "/p/{a}-{b}.json", "", []string{"a", "b"}, []string{"x", "y"}, "", "/p/x-y.json"},
		{"a variable twice", "/{a}/{a}", "", []string{"a"}, []string{"x"}, "", "/x/x"},
		{"variables in any order", "/{b}/{a}", "", []string{"a", "b"}, []string{"1", "2"}, "", "/2/1"},
		{"values keep their encoding", "/pets/{id}", "", []string{"id"}, []string{"a%20b%2F"}, "", "/pets/a%20b%2F"},
		{"undefined last variable drops the slash it leaves", "/pets/{id}", "", nil, nil, "", "/pets"},
		{"undefined variable inside keeps its slashes", "/a/{x}/b", "", nil, nil, "", "/a//b"},
		{"undefined variable alone leaves the root", "/{id}", "", nil, nil, "", "/"},
		{"undefined last variable after a literal in its segment", "/pets/v{id}", "", nil, nil, "", "/pets/v"},
		{"a literal trailing slash of the template stays", "/pets/", "", nil, nil, "", "/pets/"},
		{"undefined variable, then the query", "/pets/{id}", "src=gw", nil, nil, "v=1", "/pets?src=gw&v=1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ex := templateExchange(t, tc.names, tc.values, tc.reqQuery)
			got := templateProxy(tc.template, tc.query).appendURI(nil, ex, nil)
			if string(got) != tc.want {
				t.Fatalf("appendURI = %q, want %q", got, tc.want)
			}
		})
	}
}

// wellFormedTemplate is the documented template syntax: literal text
// without braces and {name} variables named like route variables.
var wellFormedTemplate = regexp.MustCompile(`^(?:[^{}]|\{[A-Za-z0-9_.-]+\})*$`)

var templateVar = regexp.MustCompile(`\{([A-Za-z0-9_.-]+)\}`)

// FuzzParseTemplate checks that a well-formed template comes apart into
// exactly its literals and variables, and that no template panics.
func FuzzParseTemplate(f *testing.F) {
	for _, s := range []string{"/pets/{id}", "/store/{proxy}", "/p/{a}-{b}.json", "/", "{a}{b}", "/v1.0/{x_y-z.w}/tail", "/a}/{id}", "/{", "/a{}b", "/{a{b}c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		parts := parseTemplate(s)
		if !wellFormedTemplate.MatchString(s) {
			return
		}
		var rendered strings.Builder
		var names []string
		for i, p := range parts {
			switch {
			case p.param != "" && len(p.literal) > 0:
				t.Fatalf("%q: part %d is both literal %q and variable %q", s, i, p.literal, p.param)
			case p.param != "":
				rendered.WriteString("{" + p.param + "}")
				names = append(names, p.param)
			case len(p.literal) == 0:
				t.Fatalf("%q: part %d is empty", s, i)
			case i > 0 && parts[i-1].param == "":
				t.Fatalf("%q: literal parts %d and %d are not merged", s, i-1, i)
			default:
				rendered.Write(p.literal)
			}
		}
		if rendered.String() != s {
			t.Fatalf("%q parsed into %+v, which renders as %q", s, parts, rendered.String())
		}
		var want []string
		for _, m := range templateVar.FindAllStringSubmatch(s, -1) {
			want = append(want, m[1])
		}
		if !slices.Equal(names, want) {
			t.Fatalf("%q: variables %q, want %q", s, names, want)
		}
	})
}

// FuzzAppendURI checks the upstream URI against the documented rules: each
// {name} takes the route variable's value as sent, a variable the route
// does not define expands to nothing and drops the slash it leaves at the
// end, no template forwards the request path, and the template's query
// comes before the request's.
func FuzzAppendURI(f *testing.F) {
	for _, s := range []struct {
		template, query, value, reqQuery string
		defined                          bool
	}{
		{"/pets/{id}", "", "42", "", true},
		{"/pets/{id}", "", "42", "", false},
		{"/store/{proxy}", "src=gw", "a%20b", "v=2", true},
		{"", "src=gw", "x", "v=1", true},
		{"", "", "x", "", false},
		{"/{a}-{b}/{a}", "", "v", "q", true},
		{"/{id}", "", "", "", false},
		{"/a/{x}/b", "k=v", "1", "", false},
	} {
		f.Add(s.template, s.query, s.value, s.reqQuery, s.defined)
	}
	f.Fuzz(func(t *testing.T, template, query, value, reqQuery string, defined bool) {
		if !wellFormedTemplate.MatchString(template) || (template != "" && template[0] != '/') {
			return
		}
		var names []string
		for _, m := range templateVar.FindAllStringSubmatch(template, -1) {
			if !slices.Contains(names, m[1]) {
				names = append(names, m[1])
			}
		}
		if len(names) > router.MaxParams {
			return
		}
		// One request path segment per variable: no slash, never empty.
		value = strings.Map(func(r rune) rune {
			if r == '/' || r == '?' || r == '#' || r < 0x21 || r > 0x7e {
				return -1
			}
			return r
		}, value)
		values := make([]string, len(names))
		for i := range names {
			values[i] = value + strconv.Itoa(i)
		}
		var routeNames, routeValues []string
		if defined {
			routeNames, routeValues = names, values
		}
		ex := templateExchange(t, routeNames, routeValues, reqQuery)
		// Serve builds the URI into an empty buffer.
		got := templateProxy(template, query).appendURI(nil, ex, nil)

		want := string(ex.Path)
		if template != "" {
			emptyLast := false
			want = templateVar.ReplaceAllStringFunc(template, func(m string) string {
				if !defined {
					return ""
				}
				return values[slices.Index(names, m[1:len(m)-1])]
			})
			if loc := templateVar.FindAllStringIndex(template, -1); len(loc) > 0 {
				emptyLast = !defined && loc[len(loc)-1][1] == len(template)
			}
			if emptyLast && len(want) > 1 && strings.HasSuffix(want, "/") {
				want = want[:len(want)-1]
			}
		}
		q := string(ex.Ctx.URI().QueryString())
		switch {
		case query != "" && q != "":
			want += "?" + query + "&" + q
		case query != "" || q != "":
			want += "?" + query + q
		}
		if string(got) != want {
			t.Fatalf("template %q query %q, route %v = %v, request query %q: got %q, want %q",
				template, query, routeNames, routeValues, q, got, want)
		}
	})
}

// readHeaders parses a request with the given header lines as the server
// would.
func readHeaders(t testing.TB, lines ...string) *fasthttp.Request {
	t.Helper()
	raw := "GET / HTTP/1.1\r\nHost: gw.test\r\n" + strings.Join(lines, "\r\n") + "\r\n\r\n"
	req := new(fasthttp.Request)
	if err := req.Read(bufio.NewReader(strings.NewReader(raw))); err != nil {
		t.Fatalf("read request: %v", err)
	}
	return req
}

// forwardedHeaders is what Serve sends upstream of in's headers, one
// "Name: value" line each, in order.
func forwardedHeaders(in *fasthttp.Request) []string {
	var up fasthttp.RequestHeader
	in.Header.CopyTo(&up)
	dropRequestHeaders(&up, &in.Header)
	var out []string
	for k, v := range up.All() {
		out = append(out, string(k)+": "+string(v))
	}
	return out
}

func TestDropRequestHopHeaders(t *testing.T) {
	for _, tc := range []struct {
		name  string
		lines []string
		want  []string
	}{
		{"every hop-by-hop header goes", []string{
			"Connection: keep-alive", "Keep-Alive: timeout=5", "Proxy-Authenticate: Basic", "Proxy-Authorization: Basic eA==",
			"Proxy-Connection: keep-alive", "TE: trailers", "Trailer: X-Sum", "Upgrade: h2c", "X-Kept: 1",
		}, []string{"Host: gw.test", "X-Kept: 1"}},
		{"names in any case", []string{"keep-alive: 1", "PROXY-AUTHORIZATION: x", "te: trailers", "x-kept: 1"},
			[]string{"Host: gw.test", "X-Kept: 1"}},
		{"headers the Connection header lists go", []string{"Connection: X-A, x-b", "X-A: 1", "X-B: 2", "X-C: 3"},
			[]string{"Host: gw.test", "X-C: 3"}},
		{"list with empty entries and tabs", []string{"Connection: ,\tX-A\t, ,X-B,", "X-A: 1", "X-B: 2", "X-C: 3"},
			[]string{"Host: gw.test", "X-C: 3"}},
		{"a listed header that is not there is no harm", []string{"Connection: X-Missing", "X-C: 3"},
			[]string{"Host: gw.test", "X-C: 3"}},
		{"every value of a listed header goes", []string{"Connection: X-A", "X-A: 1", "X-A: 2", "X-C: 3"},
			[]string{"Host: gw.test", "X-C: 3"}},
		{"every Connection line names headers", []string{"Connection: X-A", "Connection: X-B", "X-A: 1", "X-B: 2", "X-C: 3"},
			[]string{"Host: gw.test", "X-C: 3"}},
		{"repeated end-to-end headers stay in order", []string{"X-M: 1", "X-M: 2", "Accept: */*"},
			[]string{"Host: gw.test", "Accept: */*", "X-M: 1", "X-M: 2"}},
		{"nothing to drop", []string{"Accept: */*", "X-Request-Id: r1"},
			[]string{"Host: gw.test", "Accept: */*", "X-Request-Id: r1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := forwardedHeaders(readHeaders(t, tc.lines...))
			slices.Sort(got)
			want := slices.Sorted(slices.Values(tc.want))
			if !slices.Equal(got, want) {
				t.Fatalf("forwarded %q, want %q", got, want)
			}
		})
	}
}

// deletions records what dropNamed deletes.
type deletions []string

func (d *deletions) DelBytes(k []byte) { *d = append(*d, string(k)) }

func TestDropNamedDeletesEachListedName(t *testing.T) {
	for _, tc := range []struct {
		connection string
		want       []string
	}{
		{"", nil},
		{"close", []string{"close"}},
		{"X-A,X-B", []string{"X-A", "X-B"}},
		{" X-A ,\tX-B\t", []string{"X-A", "X-B"}},
		{",,, ,", nil},
		{"X-A,", []string{"X-A"}},
	} {
		var got deletions
		dropNamed(&got, []byte(tc.connection))
		if !slices.Equal(got, tc.want) {
			t.Errorf("Connection %q: deleted %q, want %q", tc.connection, got, tc.want)
		}
	}
}

// FuzzDropNamed checks that every name a Connection header lists is
// deleted, and that nothing but a listed name is.
func FuzzDropNamed(f *testing.F) {
	for _, s := range []string{"keep-alive, X-A", " X-A ,\tX-B\t", ",,", "", "a,b,c,d", "X-\u00a0A, \u2028"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, connection string) {
		var got deletions
		dropNamed(&got, []byte(connection))
		for _, d := range got {
			if d == "" || strings.Contains(d, ",") || strings.TrimSpace(d) != d {
				t.Fatalf("Connection %q: deleted %q, which is not a listed name", connection, d)
			}
			if !strings.Contains(connection, d) {
				t.Fatalf("Connection %q: deleted %q, which it does not hold", connection, d)
			}
		}
		for tok := range strings.SplitSeq(connection, ",") {
			tok = strings.Trim(tok, " \t")
			if tok != "" && isToken(tok) && !slices.Contains(got, tok) {
				t.Fatalf("Connection %q lists %q, not deleted (deleted %q)", connection, tok, got)
			}
		}
	})
}

// FuzzDropRequestHopHeaders parses a request with fuzzed header lines as the
// server would and checks what would go upstream: no hop-by-hop header, no
// header the Connection header names, and every other header unchanged.
func FuzzDropRequestHopHeaders(f *testing.F) {
	for _, s := range []string{
		"Connection: keep-alive, X-A\nX-A: 1\nX-B: 2",
		"keep-alive: 1\nTE: trailers\nTrailer: X\nUpgrade: websocket\nProxy-Connection: x\nX-Kept: y",
		"Connection: ,\tX-A ,,\nX-A: 1\nX-A: 2\nAccept: */*",
		"Connection: Content-Type, User-Agent\nContent-Type: text/plain\nUser-Agent: ua\nCookie: a=1",
		"Proxy-Authorization: Basic eA==\nProxy-Authenticate: x\nX-M: 1\nX-M: 2",
		"Connection: X-A\nConnection: X-B\nX-A: 1\nX-B: 2\nX-Forwarded-Proto: https",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, block string) {
		raw := "GET / HTTP/1.1\r\nHost: gw.test\r\n" + strings.ReplaceAll(block, "\n", "\r\n") + "\r\n\r\n"
		in := new(fasthttp.Request)
		if err := in.Read(bufio.NewReader(strings.NewReader(raw))); err != nil {
			return
		}
		listed := func(name []byte) bool {
			for k, v := range in.Header.All() {
				if !ascii.EqualFold(k, hdrConnection) {
					continue
				}
				for tok := range bytes.SplitSeq(v, []byte(",")) {
					if ascii.EqualFold(bytes.TrimSpace(tok), name) {
						return true
					}
				}
			}
			return false
		}
		// Hop-by-hop headers, and the client's copies of the headers
		// frontdesk sets itself, never go upstream.
		isHop := func(name []byte) bool {
			eq := func(h []byte) bool { return ascii.EqualFold(h, name) }
			return slices.ContainsFunc(hopHeaders[:], eq) || slices.ContainsFunc(ownHeaders[:], eq)
		}
		var want []string
		for k, v := range in.Header.All() {
			if !isHop(k) && !listed(k) {
				want = append(want, string(k)+": "+string(v))
			}
		}
		got := forwardedHeaders(in)
		for _, line := range got {
			name, _, _ := strings.Cut(line, ": ")
			if isHop([]byte(name)) || listed([]byte(name)) {
				t.Fatalf("forwarded %q from\n%s", line, raw)
			}
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("forwarded %q, want %q, from\n%s", got, want, raw)
		}
	})
}

func isToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}
