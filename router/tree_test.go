package router

import (
	"testing"

	fhrouter "github.com/fasthttp/router"
	"github.com/valyala/fasthttp"
)

func mustTree(t testing.TB, keys ...string) *Tree {
	t.Helper()
	tr := NewTree()
	for i, k := range keys {
		pk, err := ParseKey(k)
		if err != nil {
			t.Fatalf("ParseKey(%q): %v", k, err)
		}
		if err := tr.Add(pk, i, k); err != nil {
			t.Fatalf("Add(%q): %v", k, err)
		}
	}
	return tr
}

// The worked example of API Gateway's HTTP API routing,
// plus the tie-breaks frontdesk documents.
func TestLookupFollowsAPIGatewayPriority(t *testing.T) {
	keys := []string{
		"GET /pets/dog/1",     // 0
		"GET /pets/dog/{id}",  // 1
		"GET /pets/{proxy+}",  // 2
		"ANY /{proxy+}",       // 3
		"$default",            // 4
		"GET /items",          // 5
		"ANY /items",          // 6
		"GET /a/{x}/c",        // 7
		"GET /a/{x}/{y+}",     // 8
		"DELETE /orders/{id}", // 9
	}
	tr := mustTree(t, keys...)
	cases := []struct {
		method, path string
		want         string
		params       []string
	}{
		{"GET", "/pets/dog/1", "GET /pets/dog/1", nil},
		{"GET", "/pets/dog/2", "GET /pets/dog/{id}", []string{"2"}},
		{"GET", "/pets/cat/1", "GET /pets/{proxy+}", []string{"cat/1"}},
		{"GET", "/pets/dog/1/toys", "GET /pets/{proxy+}", []string{"dog/1/toys"}},
		{"GET", "/other", "ANY /{proxy+}", []string{"other"}},
		{"POST", "/test/5", "ANY /{proxy+}", []string{"test/5"}},
		{"POST", "/pets/dog/1", "ANY /{proxy+}", []string{"pets/dog/1"}},
		{"GET", "/", "$default", nil},
		{"GET", "/items", "GET /items", nil},
		{"DELETE", "/items", "ANY /items", nil},
		{"GET", "/items/", "GET /items", nil},
		{"GET", "/a/b/c", "GET /a/{x}/c", []string{"b"}},
		{"GET", "/a/b/d/e", "GET /a/{x}/{y+}", []string{"b", "d/e"}},
		{"PROPFIND", "/items", "$default", nil},
		{"DELETE", "/orders/7", "DELETE /orders/{id}", []string{"7"}},
		{"GET", "/pets//x", "GET /pets/{proxy+}", []string{"/x"}},
	}
	for _, c := range cases {
		t.Run(c.method+" "+c.path, func(t *testing.T) {
			var p Params
			id, ok := tr.Lookup(ParseMethod([]byte(c.method)), []byte(c.path), &p)
			if !ok {
				t.Fatalf("no match, want %q", c.want)
			}
			if keys[id] != c.want {
				t.Fatalf("matched %q, want %q", keys[id], c.want)
			}
			if p.Len() != len(c.params) {
				t.Fatalf("%d params, want %v", p.Len(), c.params)
			}
			for i, w := range c.params {
				path := []byte(c.path)
				if len(path) > 1 && path[len(path)-1] == '/' {
					path = path[:len(path)-1]
				}
				if got := string(p.Value(path, i)); got != w {
					t.Errorf("param %d = %q, want %q", i, got, w)
				}
			}
		})
	}
}

func TestLookupWithoutDefaultReportsNoMatch(t *testing.T) {
	tr := mustTree(t, "GET /pets/{id}", "ANY /files/{proxy+}")
	for _, c := range []struct{ method, path string }{
		{"POST", "/pets/1"},
		{"GET", "/pets"},
		{"GET", "/files"},
		{"GET", "/"},
		{"GET", "/pets/1/2"},
	} {
		var p Params
		if id, ok := tr.Lookup(ParseMethod([]byte(c.method)), []byte(c.path), &p); ok {
			t.Errorf("%s %s matched route %d, want no match", c.method, c.path, id)
		}
	}
}

func TestParseKeyRejectsInvalidKeys(t *testing.T) {
	for _, k := range []string{
		"GET",
		"FETCH /pets",
		"GET pets",
		"GET /pets/{proxy+}/more",
		"GET /pets/{id}/{id}",
		"GET /pets/x{id}",
		"GET /pets/",
		"GET /pets//x",
		"GET /pets/{}",
	} {
		if _, err := ParseKey(k); err == nil {
			t.Errorf("ParseKey(%q) accepted an invalid key", k)
		}
	}
}

func TestAddRejectsConflictingRoutes(t *testing.T) {
	tr := mustTree(t, "GET /pets/{id}", "$default")
	for _, k := range []string{"GET /pets/{name}", "$default"} {
		pk, _ := ParseKey(k)
		if err := tr.Add(pk, 9, k); err == nil {
			t.Errorf("Add(%q) accepted a route that conflicts", k)
		}
	}
	pk, _ := ParseKey("POST /pets/{name}")
	if err := tr.Add(pk, 9, "POST /pets/{name}"); err != nil {
		t.Errorf("another method on the same shape must be accepted: %v", err)
	}
}

func TestTableSelectsAPIAndStage(t *testing.T) {
	var tb Table
	mounts := []Mount{
		{BasePath: "/", DefaultStage: true},                                     // 0
		{BasePath: "/shop", Stages: []string{"v1", "v2"}},                       // 1
		{Hosts: []string{"api.example.com"}, BasePath: "/", DefaultStage: true}, // 2
		{BasePath: "/mixed", Stages: []string{"beta"}, DefaultStage: true},      // 3
	}
	for i, m := range mounts {
		if err := tb.Add(m, i); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		host, path string
		api, stage int
		rest       string
	}{
		{"localhost:8080", "/pets", 0, -1, "/pets"},
		{"API.example.com", "/pets", 2, -1, "/pets"},
		{"localhost", "/shop/v1/orders/1", 1, 0, "/orders/1"},
		{"localhost", "/shop/v2", 1, 1, "/"},
		{"localhost", "/shop/v3/orders", 1, NoStage, "/v3/orders"},
		{"localhost", "/shopping", 0, -1, "/shopping"},
		{"localhost", "/mixed/beta/x", 3, 0, "/x"},
		{"localhost", "/mixed/x", 3, -1, "/x"},
	}
	for _, c := range cases {
		s := tb.Match([]byte(c.host), []byte(c.path))
		if s.API != c.api || s.Stage != c.stage || string(s.Rest) != c.rest {
			t.Errorf("Match(%q, %q) = {%d %d %q}, want {%d %d %q}", c.host, c.path, s.API, s.Stage, s.Rest, c.api, c.stage, c.rest)
		}
	}
	if err := tb.Add(Mount{BasePath: "/shop/"}, 9); err == nil {
		t.Error("a second API on the same host and base path must conflict")
	}
}

var benchKeys = []string{
	"GET /pets", "POST /pets", "GET /pets/{id}", "DELETE /pets/{id}", "GET /pets/{id}/toys/{toy}",
	"ANY /files/{proxy+}", "GET /users/{user}/orders/{order}", "GET /health", "$default",
}

func BenchmarkLookup(b *testing.B) {
	tr := mustTree(b, benchKeys...)
	for _, c := range []struct{ name, path string }{
		{"literal", "/health"},
		{"param", "/pets/12345"},
		{"two-params", "/users/alice/orders/987"},
		{"greedy", "/files/a/b/c/d.txt"},
		{"default", "/nowhere/at/all"},
	} {
		b.Run(c.name, func(b *testing.B) {
			path := []byte(c.path)
			var p Params
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, ok := tr.Lookup(GET, path, &p); !ok {
					b.Fatal("no match")
				}
			}
		})
	}
}

// BenchmarkFasthttpRouterLookup measures github.com/fasthttp/router on the
// same routes, for comparison: its parameter capture allocates per match,
// which is why the data plane uses Tree (docs/architecture.md).
func BenchmarkFasthttpRouterLookup(b *testing.B) {
	r := fhrouter.New()
	h := func(*fasthttp.RequestCtx) {}
	r.GET("/pets/{id}", h)
	r.GET("/users/{user}/orders/{order}", h)
	r.GET("/files/{proxy:*}", h)
	r.GET("/health", h)
	var ctx fasthttp.RequestCtx
	for _, c := range []struct{ name, path string }{
		{"literal", "/health"},
		{"param", "/pets/12345"},
		{"two-params", "/users/alice/orders/987"},
		{"greedy", "/files/a/b/c/d.txt"},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				ctx.ResetUserValues()
				if h, _ := r.Lookup("GET", c.path, &ctx); h == nil {
					b.Fatal("no match")
				}
			}
		})
	}
}
