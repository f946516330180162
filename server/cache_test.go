package server

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// countingUpstream counts the requests it serves per path.
type countingUpstream struct {
	mu   sync.Mutex
	hits map[string]int
	n    atomic.Int64
	addr string
}

func startCounting(t *testing.T) *countingUpstream {
	u := &countingUpstream{hits: map[string]int{}}
	u.addr = startServer(t, func(ctx *fasthttp.RequestCtx) {
		n := u.n.Add(1)
		u.mu.Lock()
		u.hits[string(ctx.Path())]++
		u.mu.Unlock()
		switch string(ctx.Path()) {
		case "/cookie":
			ctx.Response.Header.Set("Set-Cookie", "s=1")
		case "/slow":
			time.Sleep(200 * time.Millisecond)
		}
		ctx.SetContentType("application/json")
		ctx.Response.Header.Set("Server", "counting-origin")
		ctx.Response.Header.Set("X-Origin", "counted")
		fmt.Fprintf(ctx, `{"n":%d}`, n)
	})
	return u
}

func (u *countingUpstream) count(path string) int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.hits[path]
}

const cacheConfig = `
api_keys:
  - {name: alice, value: "alice-key-0123456789abcdef", plan: p}
usage_plans:
  p: {apis: [a]}
apis:
  a:
    integrations: {up: {type: http_proxy, url: "http://{{UP}}"}}
    routes:
      "GET /items": {integration: up, cache: {ttl: 60s, key: [query.limit, header.accept]}}
      "GET /short": {integration: up, cache: {ttl: 1s}}
      "GET /keyed": {integration: up, api_key: true, cache: {ttl: 60s}}
      "GET /open": {integration: up, cache: {ttl: 60s}}
      "GET /anyone": {integration: up, cache: {ttl: 60s, invalidate: anyone}}
      "GET /ignore": {integration: up, cache: {ttl: 60s, invalidate: ignore}}
      "ANY /post": {integration: up, cache: {ttl: 60s}}
      "GET /cookie": {integration: up, cache: {ttl: 60s}}
      "GET /slow": {integration: up, cache: {ttl: 60s}}
`

func TestCacheServesRepeatsWithoutTheUpstream(t *testing.T) {
	u := startCounting(t)
	base := startGateway(t, cacheConfig, u.addr)
	steps := []struct {
		path, accept string
		wantHits     int
		xcache       string
	}{
		{"/items?limit=5", "", 1, "Miss"},
		{"/items?limit=5", "", 1, "Hit"},
		{"/items?limit=6", "", 2, "Miss"},         // key parameter splits the cache
		{"/items?limit=5&page=2", "", 2, "Hit"},   // other parameters do not
		{"/items?limit=5", "text/csv", 3, "Miss"}, // key header splits it
		{"/items?limit=5", "text/csv", 3, "Hit"},
	}
	for i, s := range steps {
		var h []string
		if s.accept != "" {
			h = []string{"Accept", s.accept}
		}
		r := do(t, "GET", base+s.path, nil, h...)
		if r.status != 200 || u.count("/items") != s.wantHits || r.header.Get("X-Cache") != s.xcache {
			t.Errorf("step %d %s: status %d, upstream hits %d (want %d), X-Cache %q (want %s)", i, s.path, r.status, u.count("/items"), s.wantHits, r.header.Get("X-Cache"), s.xcache)
		}
		// A hit carries the origin's headers as the miss did, those
		// fasthttp keeps apart (Content-Type, Server) and the others.
		if r.header.Get("Content-Type") != "application/json" || r.header.Get("apigw-requestid") == "" ||
			r.header.Get("Server") != "counting-origin" || r.header.Get("X-Origin") != "counted" {
			t.Errorf("step %d: headers %v", i, r.header)
		}
	}
	// A hit has the body of the first answer.
	a, b := do(t, "GET", base+"/items?limit=5", nil), do(t, "GET", base+"/items?limit=5", nil)
	if a.body != b.body || a.body != `{"n":1}` {
		t.Errorf("hit bodies %q %q", a.body, b.body)
	}
	// HEAD (on an ANY route) is answered from GET's entry.
	do(t, "GET", base+"/post", nil)
	if r := do(t, "HEAD", base+"/post", nil); r.status != 200 || r.header.Get("X-Cache") != "Hit" {
		t.Errorf("HEAD: %d %v", r.status, r.header)
	}
}

func TestCacheEntriesExpire(t *testing.T) {
	u := startCounting(t)
	base := startGateway(t, cacheConfig, u.addr)
	start := time.Now()
	do(t, "GET", base+"/short", nil)
	do(t, "GET", base+"/short", nil)
	// The second request is a hit only if it came within the 1 s TTL,
	// which a stalled machine may not manage.
	if time.Since(start) < time.Second && u.count("/short") != 1 {
		t.Fatalf("hits %d", u.count("/short"))
	}
	before := u.count("/short")
	time.Sleep(1100 * time.Millisecond) // past the TTL: at least this long, never less
	if r := do(t, "GET", base+"/short", nil); u.count("/short") != before+1 || r.header.Get("X-Cache") != "Miss" {
		t.Errorf("after the TTL: hits %d, X-Cache %s", u.count("/short"), r.header.Get("X-Cache"))
	}
}

func TestMaxAgeZeroFollowsTheInvalidationOption(t *testing.T) {
	u := startCounting(t)
	base := startGateway(t, cacheConfig, u.addr)
	key := []string{"X-API-Key", "alice-key-0123456789abcdef"}
	cases := []struct {
		name, path string
		auth       bool
		refetch    bool
		warning    bool
	}{
		{"authorized with a key", "/keyed", true, true, false},
		{"authorized without one", "/open", false, false, true},
		{"anyone", "/anyone", false, true, false},
		{"ignore", "/ignore", false, false, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := []string{}
			if c.auth {
				h = append(h, key...)
			}
			do(t, "GET", base+c.path, nil, h...)
			before := u.count(c.path)
			r := do(t, "GET", base+c.path, nil, append(h, "Cache-Control", "max-age=0")...)
			refetched := u.count(c.path) == before+1
			if refetched != c.refetch || (r.header.Get("X-Cache-Invalidation") != "") != c.warning {
				t.Errorf("refetched %v (want %v), warning %q", refetched, c.refetch, r.header.Get("X-Cache-Invalidation"))
			}
			// After a refresh the new entry is what later requests get.
			if c.refetch {
				if next := do(t, "GET", base+c.path, nil, h...); next.body != r.body || next.header.Get("X-Cache") != "Hit" {
					t.Errorf("refreshed entry not stored: %q vs %q", next.body, r.body)
				}
			}
		})
	}
}

func TestUncacheableRequestsAndResponses(t *testing.T) {
	u := startCounting(t)
	base := startGateway(t, cacheConfig, u.addr)
	for i := 0; i < 3; i++ {
		do(t, "POST", base+"/post", strings.NewReader("x"))
		do(t, "GET", base+"/cookie", nil)
	}
	if u.count("/post") != 3 || u.count("/cookie") != 3 {
		t.Errorf("POST hits %d, Set-Cookie hits %d; want 3 and 3", u.count("/post"), u.count("/cookie"))
	}
}

func TestConcurrentMissesSendOneUpstreamRequest(t *testing.T) {
	u := startCounting(t)
	base := startGateway(t, cacheConfig, u.addr)
	var wg sync.WaitGroup
	var bad atomic.Int64
	for i := 0; i < 100; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := tryDo("GET", base+"/slow", nil)
			if err != nil {
				t.Error(err)
				return
			}
			if r.status != 200 || r.body != `{"n":1}` {
				bad.Add(1)
			}
		}()
	}
	wg.Wait()
	if u.count("/slow") != 1 || bad.Load() != 0 {
		t.Errorf("100 concurrent misses: %d upstream requests, %d wrong answers", u.count("/slow"), bad.Load())
	}
}

func TestAdminFlushesTheCache(t *testing.T) {
	u := startCounting(t)
	path := t.TempDir() + "/frontdesk.yaml"
	writeFile(t, path, strings.ReplaceAll(cacheConfig, "{{UP}}", u.addr))
	_, base, adm := startFromFile(t, path)
	get := func(p string) { do(t, "GET", base+p, nil) }
	get("/open")
	get("/anyone")
	if r := do(t, "DELETE", adm+"/cache/a/$default/"+url.PathEscape("GET /open"), nil); r.status != 200 {
		t.Fatalf("flush route: %d %s", r.status, r.body)
	}
	get("/open")
	get("/anyone")
	if u.count("/open") != 2 || u.count("/anyone") != 1 {
		t.Errorf("route flush: /open %d, /anyone %d", u.count("/open"), u.count("/anyone"))
	}
	if r := do(t, "DELETE", adm+"/cache/a/$default", nil); r.status != 200 {
		t.Fatalf("flush stage: %d", r.status)
	}
	get("/anyone")
	if u.count("/anyone") != 2 {
		t.Errorf("stage flush: /anyone %d", u.count("/anyone"))
	}
	if r := do(t, "DELETE", adm+"/cache", nil); r.status != 200 {
		t.Fatalf("flush all: %d", r.status)
	}
	get("/open")
	if u.count("/open") != 3 {
		t.Errorf("full flush: /open %d", u.count("/open"))
	}
	if r := do(t, "GET", adm+"/cache/stats", nil); r.status != 200 || !strings.Contains(strings.ToLower(r.body), "hits") {
		t.Errorf("stats: %d %s", r.status, r.body)
	}
}

func TestStaleWhileRevalidateServesTheOldEntryDuringOneRefresh(t *testing.T) {
	// The upstream holds the refresh (its second request) until the test
	// lets it go, so every other request meets the refresh in progress
	// however the goroutines are scheduled.
	release := make(chan struct{})
	var upstreamRequests atomic.Int64
	addr := startServer(t, func(ctx *fasthttp.RequestCtx) {
		n := upstreamRequests.Add(1)
		if n == 2 {
			<-release
		}
		ctx.SetContentType("application/json")
		fmt.Fprintf(ctx, `{"n":%d}`, n)
	})
	base := startGateway(t, `
apis:
  a:
    integrations: {up: {type: http_proxy, url: "http://{{UP}}"}}
    routes:
      "GET /slow": {integration: up, cache: {ttl: 1s, stale_while_revalidate: 30s}}
`, addr)
	if r := do(t, "GET", base+"/slow", nil); r.header.Get("X-Cache") != "Miss" || r.body != `{"n":1}` {
		t.Fatalf("first: %s %s", r.header.Get("X-Cache"), r.body)
	}
	time.Sleep(1100 * time.Millisecond) // past the TTL: at least this long, never less
	type answer struct {
		cache, body string
		err         error
	}
	answers := make(chan answer, 6)
	var once sync.Once
	unblock := func() { once.Do(func() { close(release) }) }
	defer unblock()
	for i := 0; i < 6; i++ {
		go func() {
			resp, err := http.Get(base + "/slow")
			if err != nil {
				answers <- answer{err: err}
				return
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			answers <- answer{resp.Header.Get("X-Cache"), string(b), err}
		}()
	}
	next := func() answer {
		select {
		case a := <-answers:
			return a
		case <-time.After(10 * time.Second):
			t.Fatal("no answer within 10 s")
			return answer{}
		}
	}
	// While the one refresh is held, the other five get the old entry.
	for i := 0; i < 5; i++ {
		if a := next(); a.err != nil || a.cache != "Stale" || a.body != `{"n":1}` {
			t.Fatalf("answer %d during the refresh: %q %s (%v), want Stale {\"n\":1}", i, a.cache, a.body, a.err)
		}
	}
	released := time.Now() // the new entry is stored after this
	unblock()
	if a := next(); a.err != nil || a.cache != "Refresh" || a.body != `{"n":2}` {
		t.Fatalf("the refreshing request: %q %s (%v), want Refresh {\"n\":2}", a.cache, a.body, a.err)
	}
	if n := upstreamRequests.Load(); n != 2 {
		t.Errorf("%d upstream requests, want 2", n)
	}
	r := do(t, "GET", base+"/slow", nil)
	// The new entry is a hit for its TTL; a stalled machine may reach it
	// later, when it is stale but still the refreshed one.
	if r.body != `{"n":2}` || time.Since(released) < time.Second && r.header.Get("X-Cache") != "Hit" {
		t.Errorf("after the refresh: %s %s", r.header.Get("X-Cache"), r.body)
	}
}
