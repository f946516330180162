package headers

import (
	"testing"

	"github.com/valyala/fasthttp"
)

func TestDelFoldRemovesEverySpellingAndNothingElse(t *testing.T) {
	var h fasthttp.ResponseHeader
	h.DisableNormalizing()
	h.Add("x-debug", "1")
	h.Add("X-Debug", "2")
	h.Add("X-DEBUG", "3")
	h.Add("X-Debugger", "kept")
	h.Add("Content-Type", "text/plain")
	DelFold(&h, []byte("X-Debug"))
	for n, v := range h.All() {
		if string(n) != "X-Debugger" && string(n) != "Content-Type" {
			t.Errorf("line %s: %s left", n, v)
		}
	}
	if string(h.Peek("X-Debugger")) != "kept" {
		t.Errorf("a longer name sharing the prefix was removed")
	}
}

func TestDelFoldAllocatesNothing(t *testing.T) {
	var h fasthttp.ResponseHeader
	h.DisableNormalizing()
	name := []byte("connection")
	allocs := testing.AllocsPerRun(100, func() {
		h.Add("Connection", "close")
		DelFold(&h, name)
	})
	if allocs != 0 {
		t.Errorf("DelFold allocates %v times per call", allocs)
	}
}
