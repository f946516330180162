// Package headers edits fasthttp header blocks whose names keep the
// spelling they arrived with: responses frontdesk relays switch fasthttp's
// name normalizing off, so that clients see the origin's spelling, and
// then fasthttp's own lookups and deletions match names exactly.
//
// Hot path: DelFold runs on every relayed response that carries a header
// it removes (hop-by-hop lines, CORS headers the gateway replaces); it
// allocates nothing.
package headers

import (
	"github.com/frontdeskgw/frontdesk/internal/ascii"
	"github.com/valyala/fasthttp"
)

// DelFold deletes every line of h named name in any case. Each round
// deletes one spelling, so it ends after at most as many rounds as h has
// lines.
func DelFold(h *fasthttp.ResponseHeader, name []byte) {
	var buf [64]byte
	for range h.Len() + 1 {
		k := buf[:0]
		for n := range h.All() {
			if len(n) == len(name) && ascii.EqualFold(n, name) {
				k = append(k, n...)
				break
			}
		}
		if len(k) == 0 {
			return
		}
		h.DelBytes(k)
	}
}
