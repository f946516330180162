package server

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/url"
	"path"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// rawDo sends raw (a whole HTTP/1.1 request, written as it is, so that
// paths, repeated headers and request targets reach the gateway
// unnormalised) to the gateway at base and reads the answer.
func rawDo(t *testing.T, base, raw string) result {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, raw); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("reading the answer to %q: %v", raw, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return result{resp.StatusCode, resp.Header, string(b)}
}

// get is a raw GET of target with extra header lines ("Name: value").
func get(target string, lines ...string) string {
	var b strings.Builder
	b.WriteString("GET " + target + " HTTP/1.1\r\nHost: gw.test\r\n")
	for _, l := range lines {
		b.WriteString(l + "\r\n")
	}
	b.WriteString("Connection: close\r\n\r\n")
	return b.String()
}

// resolvingUpstream records every path it is asked for the way nginx
// resolves it: percent-decoded (so %2F and %5C become separators), a
// backslash taken for a slash, then dot segments removed.
type resolvingUpstream struct {
	mu       sync.Mutex
	resolved []string
	headers  []*fasthttp.RequestHeader
	addr     string
}

func startResolvingUpstream(t *testing.T) *resolvingUpstream {
	t.Helper()
	u := &resolvingUpstream{}
	u.addr = startServer(t, func(ctx *fasthttp.RequestCtx) {
		raw := string(ctx.Request.Header.RequestURI())
		if i := strings.IndexByte(raw, '?'); i >= 0 {
			raw = raw[:i]
		}
		dec, err := url.PathUnescape(raw)
		if err != nil {
			dec = raw
		}
		dec = path.Clean(strings.ReplaceAll(dec, `\`, "/"))
		h := &fasthttp.RequestHeader{}
		ctx.Request.Header.CopyTo(h)
		u.mu.Lock()
		u.resolved = append(u.resolved, dec)
		u.headers = append(u.headers, h)
		u.mu.Unlock()
		ctx.SetContentType("text/plain")
		ctx.SetBodyString(dec)
	})
	return u
}

func (u *resolvingUpstream) paths() []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]string(nil), u.resolved...)
}

// last is the header of the last request the upstream received.
func (u *resolvingUpstream) last(t *testing.T) *fasthttp.RequestHeader {
	t.Helper()
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.headers) == 0 {
		t.Fatal("the upstream received nothing")
	}
	return u.headers[len(u.headers)-1]
}

const prefixConfig = `
apis:
  a:
    integrations:
      pets: {type: http_proxy, url: "http://{{UP}}/pets/{id}"}
      files: {type: http_proxy, url: "http://{{UP}}/files/{proxy}"}
    routes:
      "GET /npets/{id}": {integration: pets}
      "GET /x/{proxy+}": {integration: files}
`

// However a path is encoded, an upstream that decodes and resolves it never
// sees a path outside the prefix of the route's integration URL.
func TestEncodedDotSegmentsNeverLeaveTheRoutePrefix(t *testing.T) {
	up := startResolvingUpstream(t)
	base := startGateway(t, prefixConfig, up.addr)
	for _, p := range []string{
		"/npets/..%2fadmin",
		"/npets/..%2Fadmin",
		"/npets/%2e%2e%2fadmin",
		"/npets/..%5cadmin",
		`/npets/..\admin`,
		"/npets/.%2e%2F.%2E%2Fadmin",
		"/x/..%2f..%2fadmin",
		"/x/a/..%2f..%2f..%2fadmin",
		"/x/a%2f..%2f..%2fadmin",
		"/x/..%5C..%5Cadmin",
		"/x/../../admin",
		"/x/..;/..;/admin",
		"/npets/a%00b",
	} {
		r := rawDo(t, base, get(p))
		if r.status != 400 || r.body != `{"message":"Bad Request"}` {
			t.Errorf("GET %s = %d %s, want 400 Bad Request", p, r.status, r.body)
		}
	}
	for _, c := range []struct{ path, want string }{
		{"/npets/a.b", "/pets/a.b"},
		{"/npets/...", "/pets/..."},
		{"/x/a/b.txt", "/files/a/b.txt"},
		{"/x/a%2fb", "/files/a/b"},
	} {
		r := rawDo(t, base, get(c.path))
		if r.status != 200 || r.body != c.want {
			t.Errorf("GET %s = %d %q, want 200 %q", c.path, r.status, r.body, c.want)
		}
	}
	for _, p := range up.paths() {
		if !strings.HasPrefix(p, "/pets/") && !strings.HasPrefix(p, "/files/") {
			t.Errorf("the upstream resolved a request to %s, outside the routes' prefixes", p)
		}
	}
}
