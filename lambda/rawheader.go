package lambda

import (
	"bytes"

	"github.com/frontdeskgw/frontdesk/internal/ascii"
	"github.com/valyala/fasthttp"
)

// fasthttp parses Cookie lines into name/value pairs and writes them back
// from those: surrounding quotes go, and a cookie whose value holds '"',
// ';' or '\' is dropped. API Gateway passes cookies on as the client sent
// them, so events read the Cookie lines from the header block as received
// (fasthttp's RawHeaders) whenever there is one.

var nameCookie = []byte("Cookie")

// rawHeaderLines calls fn with the name and value (trimmed of blanks) of
// every line of raw, a header block as received, whose name equals name
// in any case. It stops early when fn returns false.
func rawHeaderLines(raw []byte, name []byte, fn func(k, v []byte) bool) {
	for len(raw) > 0 {
		line := raw
		if i := bytes.IndexByte(raw, '\n'); i >= 0 {
			line, raw = raw[:i], raw[i+1:]
		} else {
			raw = nil
		}
		line = bytes.TrimSuffix(line, []byte{'\r'})
		k, v, ok := bytes.Cut(line, []byte{':'})
		if !ok || len(k) != len(name) || !ascii.EqualFold(k, name) {
			continue
		}
		if !fn(k, bytes.Trim(v, " \t")) {
			return
		}
	}
}

// rawCookies reports whether h holds the header block it was parsed from
// and that block has at least one Cookie line; events then take cookies
// from it rather than from fasthttp's parsed pairs.
func rawCookies(h *fasthttp.RequestHeader) ([]byte, bool) {
	raw := h.RawHeaders()
	if len(raw) == 0 {
		return nil, false
	}
	found := false
	rawHeaderLines(raw, nameCookie, func(_, _ []byte) bool {
		found = true
		return false
	})
	return raw, found
}

// eachCookie calls fn with every cookie of a Cookie header value as sent:
// the value is split on ';' and blanks around each piece are trimmed, but
// nothing inside it (quotes, backslashes) is touched. Empty pieces are
// skipped.
func eachCookie(value []byte, fn func(c []byte)) {
	for len(value) > 0 {
		c := value
		if i := bytes.IndexByte(value, ';'); i >= 0 {
			c, value = value[:i], value[i+1:]
		} else {
			value = nil
		}
		if c = bytes.Trim(c, " \t"); len(c) > 0 {
			fn(c)
		}
	}
}
