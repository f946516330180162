package attack

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// do sends payload on a new connection and returns what the client got
// and the requests the origin saw meanwhile.
func (f *fixture) do(payload string) (outcome, []*seen) {
	mark := f.up.mark()
	out := roundTrip(f.fd.Addr, payload, 5*time.Second)
	return out, f.up.since(mark)
}

// get is a GET of target with Host and extra header lines.
func get(target, host, extra string) string {
	return "GET " + target + " HTTP/1.1\r\nHost: " + host + "\r\n" + extra + "Connection: close\r\n\r\n"
}

type pathCase struct {
	name    string
	payload string
	// status is the answer wanted; 0: anything but a 5xx.
	status int
	// target, when set, is the request the origin must have received.
	target string
}

func pathCases() []pathCase {
	g := func(target string) string { return get(target, "a.example", "") }
	return []pathCase{
		{name: "..%2f", payload: g("/api/..%2fadmin"), status: 400},
		{name: "..%2F", payload: g("/api/..%2Fadmin"), status: 400},
		{name: "%2f..%2f", payload: g("/api/a%2f..%2f..%2fadmin"), status: 400},
		{name: "%2e%2e/", payload: g("/api/%2e%2e/admin"), status: 400},
		{name: "%2e%2e%2f", payload: g("/api/%2e%2e%2fadmin"), status: 400},
		{name: ".%2e/", payload: g("/api/.%2e/admin"), status: 400},
		{name: "..%5c", payload: g("/api/..%5cadmin"), status: 400},
		{name: "%5c..%5c", payload: g("/api/a%5c..%5c..%5cadmin"), status: 400},
		{name: "raw ../", payload: g("/api/../admin"), status: 400},
		{name: "%2f.. in one-segment variable", payload: g("/pets/1%2f..%2f..%2fadmin"), status: 400},
		{name: "%00 inside a segment", payload: g("/api/a%00b"), status: 400},
		{name: "%00 at the end", payload: g("/api/a%00"), status: 400},
		{name: "double-encoded dots", payload: g("/api/%252e%252e/admin")},
		{name: "overlong UTF-8 dots", payload: g("/api/%c0%ae%c0%ae/admin")},
		{name: "absolute-form routed by authority b", payload: get("http://b.example/x?t=abs", "a.example", ""), status: 200, target: "/bhost/x?t=abs"},
		{name: "absolute-form routed by authority a", payload: get("http://a.example/api/x?t=abs", "b.example", ""), status: 200, target: "/api/x?t=abs"},
		{name: "absolute-form with dot segments", payload: get("http://a.example/api/../admin", "a.example", ""), status: 400},
		{name: "Host in capitals", payload: get("/x?t=h", "B.EXAMPLE", ""), status: 200, target: "/bhost/x?t=h"},
		{name: "Host with port", payload: get("/x?t=h", "b.example:8080", ""), status: 200, target: "/bhost/x?t=h"},
		{name: "two Host headers", payload: "GET /api/x HTTP/1.1\r\nHost: a.example\r\nHost: b.example\r\nConnection: close\r\n\r\n", status: 400},
		{name: "no Host", payload: "GET /api/x HTTP/1.1\r\nConnection: close\r\n\r\n", status: 400},
		{name: "empty Host", payload: "GET /api/x HTTP/1.1\r\nHost: \r\nConnection: close\r\n\r\n", status: 400},
	}
}

func TestPathsAndHeaders(t *testing.T) {
	parallel(t)
	f := newFixture(t, options{cache: true})
	const class = "paths and headers"
	for _, c := range pathCases() {
		f.run(t, class, c.name, func(t *testing.T) {
			out, reqs := f.do(c.payload)
			t.Logf("%s", out)
			switch {
			case c.status != 0 && out.status() != c.status:
				t.Errorf("want %d, got %s", c.status, out)
			case c.status == 0 && (out.status() == 0 || out.status() >= 500):
				t.Errorf("want an answer that is not a server error, got %s", out)
			}
			if c.target != "" && (len(reqs) != 1 || reqs[0].Target != c.target) {
				t.Errorf("origin should have received %s, got %s", c.target, targets(reqs))
			}
			if c.status >= 400 && len(reqs) > 0 {
				t.Errorf("a refused request reached the origin: %s", targets(reqs))
			}
		})
	}

	f.run(t, class, "repeated X-Forwarded-For without trusted_proxies", func(t *testing.T) {
		out, reqs := f.do(get("/api/xff?t=x", "a.example", "X-Forwarded-For: 198.51.100.1\r\nX-Forwarded-For: 198.51.100.2\r\n"))
		if out.status() != 200 || len(reqs) != 1 {
			t.Fatalf("want 200 from the origin, got %s", out)
		}
		xff := reqs[0].values("X-Forwarded-For")
		if len(xff) != 1 || !strings.HasSuffix(xff[0], "127.0.0.1") {
			t.Errorf("origin should get one X-Forwarded-For line ending with the peer, got %q", xff)
		}
	})

	f.run(t, class, "forged X-Forwarded-For does not escape a per-client throttle", func(t *testing.T) {
		throttled := 0
		for i := range 8 {
			out, _ := f.do(get("/throttled/u?t=x", "a.example", fmt.Sprintf("X-Forwarded-For: 198.51.100.%d\r\n", i+1)))
			if out.status() == 429 {
				throttled++
			}
		}
		if throttled == 0 {
			t.Errorf("8 requests from one client with burst 3 were never throttled")
		}
	})

	for _, h := range []struct{ name, line, want string }{
		{"X-Forwarded-Proto", "X-Forwarded-Proto: https", "http"},
		{"X-Forwarded-Port", "X-Forwarded-Port: 1", ""}, // the data plane's port, filled in below
		{"X-Forwarded-Host", "X-Forwarded-Host: evil.example", "a.example"},
		{"Forwarded", "Forwarded: for=192.0.2.1;host=evil.example;proto=https", ""},
		{"Apigw-Requestid", "Apigw-Requestid: forged-request-id", ""},
	} {
		f.run(t, class, "client copies of "+h.name+" replaced", func(t *testing.T) {
			out, reqs := f.do(get("/api/fwd?t=x", "a.example", h.line+"\r\n"+h.line+"x\r\n"))
			if out.status() != 200 || len(reqs) != 1 {
				t.Fatalf("want 200 from the origin, got %s", out)
			}
			got := reqs[0].values(h.name)
			for _, v := range got {
				if strings.Contains(v, "evil") || strings.Contains(v, "forged") || strings.Contains(v, "192.0.2.1") || v == "1" || v == "1x" || v == "https" {
					t.Errorf("the client's %s reached the origin: %q", h.name, got)
				}
			}
			want := h.want
			switch h.name {
			case "X-Forwarded-Port":
				want = strconv.Itoa(f.fd.Port)
			case "Apigw-Requestid":
				want = out.Replies[0].Header.Get("Apigw-Requestid")
			case "Forwarded":
				if len(got) > 1 {
					t.Errorf("origin got %d Forwarded lines: %q", len(got), got)
				}
				return
			}
			if len(got) != 1 || got[0] != want {
				t.Errorf("origin should get one %s: %q, got %q", h.name, want, got)
			}
		})
	}

	for _, c := range []struct{ name, target string }{
		{"CRLF in a path variable", "/api/a%0d%0aX-Injected:%201?t=x"},
		{"CRLF in the query", "/api/a?t=x&q=%0d%0aX-Injected:%201"},
		{"LF in the path", "/api/a%0aX-Injected:%201?t=x"},
	} {
		f.run(t, class, c.name, func(t *testing.T) {
			out, reqs := f.do(get(c.target, "a.example", ""))
			if out.status() == 0 || out.status() >= 500 {
				t.Errorf("want an answer that is not a server error, got %s", out)
			}
			noHeader("X-Injected")(t, reqs)
		})
	}
	for _, c := range []struct{ name, claim string }{
		{"CRLF in a claim copied into a header", "x\r\nX-Injected: 1"},
		{"LF in a claim copied into a header", "x\nX-Injected: 1"},
		{"NUL in a claim copied into a header", "x\x00X-Injected: 1"},
	} {
		f.run(t, class, c.name, func(t *testing.T) {
			tok := token(t, jwt.MapClaims{"note": c.claim}, nil)
			out, reqs := f.do(get("/jwt/claims?t=x", "a.example", "Authorization: Bearer "+tok+"\r\n"))
			if out.status() == 0 || out.status() >= 500 {
				t.Errorf("want an answer that is not a server error, got %s", out)
			}
			noHeader("X-Injected")(t, reqs)
		})
	}

	f.run(t, class, "100 KB header", func(t *testing.T) {
		out, reqs := f.do(get("/api/big?t=x", "a.example", "X-Big: "+strings.Repeat("b", 100<<10)+"\r\n"))
		if out.status() != 431 || len(reqs) > 0 {
			t.Errorf("want 431 before the origin, got %s (origin saw %d)", out, len(reqs))
		}
	})
	f.run(t, class, "10,000 headers", func(t *testing.T) {
		var b strings.Builder
		for i := range 10000 {
			fmt.Fprintf(&b, "X-H%d: v\r\n", i)
		}
		out, reqs := f.do(get("/api/many?t=x", "a.example", b.String()))
		if out.status() != 431 || len(reqs) > 0 {
			t.Errorf("want 431 before the origin, got %s (origin saw %d)", out, len(reqs))
		}
	})
	f.run(t, class, "headers just under the limit", func(t *testing.T) {
		tok := newToken()
		out, _ := f.do(get("/api/fits?t="+tok, "a.example", "X-Fill: "+strings.Repeat("f", 9000)+"\r\n"))
		if len(out.Replies) != 1 || checkOwn(out.Replies[0], tok) != nil {
			t.Errorf("a request under max_header_bytes should pass, got %s", out)
		}
	})

	f.run(t, class, "underscore header names dropped", func(t *testing.T) {
		out, reqs := f.do(get("/api/us?t=x", "a.example", "X_Custom_Thing: 1\r\nX-Custom-Thing: 2\r\n"))
		if out.status() != 200 || len(reqs) != 1 {
			t.Fatalf("want 200 from the origin, got %s", out)
		}
		for _, h := range reqs[0].Headers {
			if strings.Contains(h[0], "_") {
				t.Errorf("origin received header %s", h[0])
			}
		}
	})
	f.run(t, class, "underscore twin of a claims_to_headers header", func(t *testing.T) {
		tok := token(t, nil, nil)
		out, reqs := f.do(get("/jwt/us?t=x", "a.example", "Authorization: Bearer "+tok+"\r\nX_User_Sub: admin\r\nX-User-Sub: admin\r\n"))
		if out.status() != 200 || len(reqs) != 1 {
			t.Fatalf("want 200 from the origin, got %s", out)
		}
		if got := reqs[0].values("X-User-Sub"); !slices.Equal(got, []string{"alice"}) {
			t.Errorf("X-User-Sub should be the token's sub only, got %q", got)
		}
		if got := reqs[0].values("X_User_Sub"); len(got) > 0 {
			t.Errorf("origin received X_User_Sub: %q", got)
		}
	})

	f.run(t, class, "Expect not forwarded", func(t *testing.T) {
		out, reqs := f.do("POST /api/expect?t=x HTTP/1.1\r\nHost: a.example\r\nContent-Type: text/plain\r\nExpect: 100-continue\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello")
		if out.status() != 200 || len(reqs) != 1 {
			t.Fatalf("want 200 from the origin, got %s", out)
		}
		if got := reqs[0].values("Expect"); len(got) > 0 {
			t.Errorf("origin received Expect: %q", got)
		}
	})
	f.run(t, class, "no Content-Type added to a request body", func(t *testing.T) {
		out, reqs := f.do("POST /api/noct?t=x HTTP/1.1\r\nHost: a.example\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello")
		if out.status() != 200 || len(reqs) != 1 {
			t.Fatalf("want 200 from the origin, got %s", out)
		}
		if got := reqs[0].values("Content-Type"); len(got) > 0 {
			t.Errorf("origin received Content-Type %q on a body sent without one", got)
		}
	})
	f.run(t, class, "no Content-Type added to a response body", func(t *testing.T) {
		tok := newToken()
		out, _ := f.do(get("/api/noct?noct=1&t="+tok, "a.example", ""))
		if len(out.Replies) != 1 || checkOwn(out.Replies[0], tok) != nil {
			t.Fatalf("want the origin's answer, got %s", out)
		}
		if ct := out.Replies[0].Header.Values("Content-Type"); len(ct) > 0 {
			t.Errorf("client got Content-Type %q on a body the origin sent without one", ct)
		}
	})
	f.run(t, class, "cache key includes Host", func(t *testing.T) {
		path := "/cached/" + newToken()
		a, b := newToken(), newToken()
		outA, _ := f.do(get(path+"?t="+a, "a.example", ""))
		outB, _ := f.do(get(path+"?t="+b, "c.example", ""))
		if len(outA.Replies) != 1 || checkOwn(outA.Replies[0], a) != nil {
			t.Fatalf("first request: %s", outA)
		}
		if len(outB.Replies) != 1 {
			t.Fatalf("second request: %s", outB)
		}
		if err := checkOwn(outB.Replies[0], b); err != nil {
			t.Errorf("another Host got the cached answer of a.example: %v (X-Cache: %s)", err, outB.Replies[0].Header.Get("X-Cache"))
		}
	})
}

// TestTrustedProxies runs the X-Forwarded-For cases with trusted_proxies
// naming the loopback address every test client uses.
func TestTrustedProxies(t *testing.T) {
	parallel(t)
	f := newFixture(t, options{server: "  trusted_proxies: [\"127.0.0.1/32\"]"})
	const class = "paths and headers"

	f.run(t, class, "forged first X-Forwarded-For line does not escape a per-client throttle", func(t *testing.T) {
		throttled := 0
		for i := range 8 {
			out, _ := f.do(get("/throttled/t?t=x", "a.example",
				fmt.Sprintf("X-Forwarded-For: 198.51.100.%d\r\nX-Forwarded-For: 203.0.113.7\r\n", i+1)))
			if out.status() == 429 {
				throttled++
			}
		}
		if throttled == 0 {
			t.Errorf("8 requests from client 203.0.113.7 with burst 3 were never throttled: the forged first line was taken as the client")
		}
	})
	f.run(t, class, "X-Forwarded-For lines joined in order", func(t *testing.T) {
		out, reqs := f.do(get("/api/xff?t=x", "a.example", "X-Forwarded-For: 198.51.100.1\r\nX-Forwarded-For: 203.0.113.7\r\n"))
		if out.status() != 200 || len(reqs) != 1 {
			t.Fatalf("want 200 from the origin, got %s", out)
		}
		want := []string{"198.51.100.1, 203.0.113.7, 127.0.0.1"}
		if got := reqs[0].values("X-Forwarded-For"); !slices.Equal(got, want) {
			t.Errorf("origin should get %q, got %q", want, got)
		}
	})
	f.run(t, class, "@connections without credentials decided on the client address", func(t *testing.T) {
		out, _ := f.do("POST /ws/prod/@connections/AAAAAAAAAAAAAAAA HTTP/1.1\r\nHost: a.example\r\nX-Forwarded-For: 203.0.113.9\r\n" +
			"Content-Length: 2\r\nConnection: close\r\n\r\nhi")
		if out.status() != 403 {
			t.Errorf("a non-loopback client behind a trusted proxy must be refused (403), got %s", out)
		}
		out, _ = f.do("POST /ws/prod/@connections/AAAAAAAAAAAAAAAA HTTP/1.1\r\nHost: a.example\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi")
		if out.status() != 410 {
			t.Errorf("a loopback client is allowed (410 for an unknown connection), got %s", out)
		}
	})
}

func targets(reqs []*seen) string {
	var s []string
	for _, r := range reqs {
		s = append(s, r.Method+" "+trunc(r.Target, 80))
	}
	if len(s) == 0 {
		return "nothing"
	}
	return strings.Join(s, ", ")
}
