package attack

import (
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"
)

// expect is what a framing case demands of frontdesk, on top of the
// invariants every case checks (fixture.run).
type expect int

const (
	// anyAnswer: any answer will do; only the invariants matter (the
	// message is valid, or the RFC lets a recipient repair it).
	anyAnswer expect = iota
	// reject: answered with one of the statuses (default 400) and the
	// connection closed, so nothing behind the request is parsed.
	reject
	// rejectOrClose: refused, or answered once and the connection closed
	// (RFC 9112 §6.1 for Transfer-Encoding with Content-Length): the probe
	// sent behind the request is never answered.
	rejectOrClose
)

type framingCase struct {
	name     string
	payload  string
	want     expect
	statuses []int
	// origin checks the requests the origin saw, when the case needs more
	// than the invariants.
	origin func(t *testing.T, reqs []*seen)
}

const (
	smuggled = "GET /api/smuggled HTTP/1.1\r\nHost: a.example\r\n\r\n"
	postHead = "POST /api/first?t=first HTTP/1.1\r\nHost: a.example\r\n"
)

// clte is a POST whose Content-Length covers a smuggled request that the
// chunked framing named by te ends before.
func clte(te string) string {
	body := "0\r\n\r\n" + smuggled
	return postHead + "Content-Length: " + strconv.Itoa(len(body)) + "\r\n" + te + "\r\n" + body
}

// tecl is a POST whose chunked body holds a smuggled request that its
// Content-Length ends before.
func tecl() string {
	size := fmt.Sprintf("%x\r\n", len(smuggled))
	return postHead + "Content-Length: " + strconv.Itoa(len(size)) + "\r\nTransfer-Encoding: chunked\r\n\r\n" +
		size + smuggled + "\r\n0\r\n\r\n"
}

func noHeader(name string) func(t *testing.T, reqs []*seen) {
	return func(t *testing.T, reqs []*seen) {
		for _, r := range reqs {
			if v := r.values(name); len(v) > 0 {
				t.Errorf("origin received header %s: %q (injected by the client)", name, v)
			}
		}
	}
}

func framingCases() []framingCase {
	chunked := postHead + "Transfer-Encoding: chunked\r\n\r\n"
	return []framingCase{
		{name: "CL.TE", payload: clte("Transfer-Encoding: chunked\r\n"), want: rejectOrClose},
		{name: "TE.CL", payload: tecl(), want: rejectOrClose},
		{name: "TE xchunked", payload: clte("Transfer-Encoding: xchunked\r\n"), want: reject, statuses: []int{400, 501}},
		{name: "TE chunked then identity", payload: clte("Transfer-Encoding: chunked, identity\r\n"), want: reject, statuses: []int{400, 501}},
		{name: "TE identity", payload: clte("Transfer-Encoding: identity\r\n"), want: reject, statuses: []int{400, 501}},
		{name: "TE twice last not chunked", payload: clte("Transfer-Encoding: chunked\r\nTransfer-Encoding: x\r\n"), want: reject, statuses: []int{400, 501}},
		{name: "TE space before colon", payload: clte("Transfer-Encoding : chunked\r\n"), want: reject},
		{name: "TE vertical tab", payload: clte("Transfer-Encoding:\x0bchunked\r\n"), want: reject, statuses: []int{400, 501}},
		{name: "TE tab whitespace", payload: clte("Transfer-Encoding:\tchunked\r\n"), want: rejectOrClose},
		{name: "TE capitalised", payload: clte("Transfer-Encoding: Chunked\r\n"), want: rejectOrClose},
		{name: "TE obs-fold", payload: clte("Transfer-Encoding:\r\n chunked\r\n"), want: rejectOrClose},
		{name: "TE underscore", payload: clte("Transfer_Encoding: chunked\r\n"), want: anyAnswer},
		{name: "TE after whitespace line", payload: "POST /api/first HTTP/1.1\r\n Transfer-Encoding: chunked\r\nHost: a.example\r\nContent-Length: " +
			strconv.Itoa(len("0\r\n\r\n"+smuggled)) + "\r\n\r\n0\r\n\r\n" + smuggled, want: anyAnswer},
		{name: "CL twice differing", payload: postHead + "Content-Length: 5\r\nContent-Length: " + strconv.Itoa(5+len(smuggled)) + "\r\n\r\nhello" + smuggled, want: reject},
		{name: "CL twice equal", payload: postHead + "Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello", want: anyAnswer},
		{name: "CL list", payload: postHead + "Content-Length: 5, " + strconv.Itoa(5+len(smuggled)) + "\r\n\r\nhello" + smuggled, want: reject},
		{name: "CL plus sign", payload: postHead + "Content-Length: +5\r\n\r\nhello" + smuggled, want: reject},
		{name: "CL negative", payload: postHead + "Content-Length: -1\r\n\r\n" + smuggled, want: reject},
		{name: "CL hex", payload: postHead + "Content-Length: 0x5\r\n\r\nhello" + smuggled, want: reject},
		{name: "CL overflow", payload: postHead + "Content-Length: 99999999999999999999999\r\n\r\n" + smuggled, want: reject, statuses: []int{400, 413}},
		{name: "chunk size overflow", payload: chunked + "ffffffffffffffff1\r\nhello\r\n0\r\n\r\n" + smuggled, want: reject, statuses: []int{400, 413}},
		{name: "chunk size negative", payload: chunked + "-5\r\nhello\r\n0\r\n\r\n" + smuggled, want: reject},
		{name: "chunk longer than its size", payload: chunked + "3\r\nhello\r\n0\r\n\r\n" + smuggled, want: reject},
		{name: "chunk lines end in bare LF", payload: chunked + "5\nhello\n0\n\n", want: anyAnswer},
		{name: "headers end in bare LF", payload: "GET /api/first?t=lf HTTP/1.1\nHost: a.example\n\n", want: anyAnswer},
		{name: "bare CR in header value", payload: "GET /api/first HTTP/1.1\r\nHost: a.example\r\nX-A: b\rX-Injected: 1\r\n\r\n", want: anyAnswer, origin: noHeader("X-Injected")},
		{name: "bare CR in request line", payload: "GET /api/first\rX HTTP/1.1\r\nHost: a.example\r\n\r\n", want: reject},
		{name: "obs-fold", payload: "GET /api/first HTTP/1.1\r\nHost: a.example\r\nX-A: a\r\n b\r\n\r\n", want: anyAnswer},
		{name: "NUL in header value", payload: "GET /api/first HTTP/1.1\r\nHost: a.example\r\nX-A: a\x00b\r\n\r\n", want: anyAnswer},
		{name: "NUL in header name", payload: "GET /api/first HTTP/1.1\r\nHost: a.example\r\nX-A\x00B: 1\r\n\r\n", want: reject},
		{name: "NUL in request target", payload: "GET /api/first\x00x HTTP/1.1\r\nHost: a.example\r\n\r\n", want: reject},
		{name: "space in header name", payload: "GET /api/first HTTP/1.1\r\nHost: a.example\r\nX A: b\r\n\r\n", want: reject},
		{name: "header without colon", payload: "GET /api/first HTTP/1.1\r\nHost: a.example\r\nX-A b\r\n\r\n", want: reject},
		{name: "request line with extra field", payload: "GET /api/first HTTP/1.1 x\r\nHost: a.example\r\n\r\n", want: reject},
		{name: "HTTP/0.9 request", payload: "GET /api/first\r\n\r\n", want: rejectOrClose},
		{name: "trailer field", payload: chunked + "5\r\nhello\r\n0\r\nX-Trailer-Injected: 1\r\n\r\n",
			want: anyAnswer, origin: noHeader("X-Trailer-Injected")},
		{name: "forbidden trailer fields", payload: chunked + "5\r\nhello\r\n0\r\nContent-Length: 999\r\nAuthorization: Bearer trailer\r\nHost: evil.example\r\n\r\n",
			want: anyAnswer, origin: noHeader("Authorization")},
		{name: "GET with a body", payload: "GET /api/first HTTP/1.1\r\nHost: a.example\r\nContent-Length: " + strconv.Itoa(len(smuggled)) + "\r\n\r\n" + smuggled, want: anyAnswer},
		{name: "HTTP/1.0 chunked", payload: "POST /api/first HTTP/1.0\r\nHost: a.example\r\nTransfer-Encoding: chunked\r\nContent-Length: " +
			strconv.Itoa(len("0\r\n\r\n"+smuggled)) + "\r\n\r\n0\r\n\r\n" + smuggled, want: rejectOrClose},
	}
}

func TestSmugglingAndFraming(t *testing.T) {
	parallel(t)
	f := newFixture(t, options{})
	const class = "smuggling and framing"
	for _, c := range framingCases() {
		f.run(t, class, c.name, func(t *testing.T) {
			mark := f.up.mark()
			out := roundTrip(f.fd.Addr, c.payload+probe, 3*time.Second)
			t.Logf("%s", out)
			statuses := c.statuses
			if len(statuses) == 0 {
				statuses = []int{400}
			}
			switch c.want {
			case reject:
				if !slices.Contains(statuses, out.status()) {
					t.Errorf("want %v, got %s", statuses, out)
				}
				if !out.Closed || len(out.Replies) > 1 {
					t.Errorf("the connection must close after the refusal: %s", out)
				}
			case rejectOrClose:
				if out.answeredProbe() || len(out.Replies) > 1 {
					t.Errorf("frontdesk kept parsing the connection after an ambiguous message: %s", out)
				}
			}
			if out.status() >= 500 && out.status() != 501 {
				t.Errorf("a client's framing is not a server error: %s", out)
			}
			if c.origin != nil {
				c.origin(t, f.up.since(mark))
			}
		})
	}
}

// TestPipelinedAnswersKeepTheirOrder: two requests in one write get their
// own answers, in order.
func TestPipelinedAnswersKeepTheirOrder(t *testing.T) {
	parallel(t)
	f := newFixture(t, options{})
	f.run(t, "smuggling and framing", "pipelined requests", func(t *testing.T) {
		a, b := newToken(), newToken()
		out := roundTrip(f.fd.Addr, "GET /api/p?t="+a+" HTTP/1.1\r\nHost: a.example\r\n\r\nGET /api/p?t="+b+
			" HTTP/1.1\r\nHost: a.example\r\nConnection: close\r\n\r\n", 5*time.Second)
		if len(out.Replies) != 2 {
			t.Fatalf("want two answers, got %s", out)
		}
		for i, tok := range []string{a, b} {
			if err := checkOwn(out.Replies[i], tok); err != nil {
				t.Errorf("answer %d: %v", i+1, err)
			}
		}
	})
}
