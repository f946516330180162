package upstream

import (
	"strings"
	"testing"
)

type releases struct{ slots []uint64 }

func (r *releases) Release(slot uint64) { r.slots = append(r.slots, slot) }

// A release arranged on a streamed response runs once, when the stream
// closes, whether it was read to the end or abandoned; responses read
// whole have no stream to arrange it on.
func TestReleaseOnCloseRunsOnceWhenTheStreamCloses(t *testing.T) {
	large := strings.Repeat("L", 300<<10)
	addr, _ := rawServer(t,
		"HTTP/1.1 200 OK\r\nContent-Length: 307200\r\n\r\n"+large,
		"HTTP/1.1 200 OK\r\nContent-Length: 307200\r\n\r\n"+large,
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nsmall",
	)
	// Responses over BufferResponses stream; this one is over it.
	p := New(Options{Addr: addr, BufferResponses: 64 << 10})
	var r releases

	resp, err := get(t, p, "GET")
	if err != nil {
		t.Fatal(err)
	}
	if !HoldsConnection(resp) || !ReleaseOnClose(resp, &r, 7) {
		t.Fatal("no stream on a 300 KiB response")
	}
	if len(r.slots) != 0 {
		t.Fatal("released before the stream closed")
	}
	if got := body(t, resp); got != large {
		t.Fatalf("body %d bytes", len(got))
	}
	resp.CloseBodyStream() // a second close gives nothing back again
	if len(r.slots) != 1 || r.slots[0] != 7 {
		t.Fatalf("releases %v after reading to the end, want [7]", r.slots)
	}

	resp, err = get(t, p, "GET")
	if err != nil {
		t.Fatal(err)
	}
	ReleaseOnClose(resp, &r, 8)
	resp.Reset() // abandoned unread
	if len(r.slots) != 2 || r.slots[1] != 8 {
		t.Fatalf("releases %v after abandoning the stream, want [7 8]", r.slots)
	}

	resp, err = get(t, p, "GET")
	if err != nil {
		t.Fatal(err)
	}
	if HoldsConnection(resp) || ReleaseOnClose(resp, &r, 9) {
		t.Error("a small body read whole has no stream")
	}
}
