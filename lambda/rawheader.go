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

// fasthttp normalises header names as it parses them ("x-api-key" becomes
// "X-Api-Key"), and reports Host, Content-Length, Content-Type and
// User-Agent under fixed names. REST and WebSocket events carry names as
// the client spelled them, as API Gateway does, so the spelling is looked
// up in the header block as received.

// nameSpeller finds the received spelling of header names, walked in the
// order fasthttp keeps them (the order received), so that each lookup
// usually reads one line.
type nameSpeller struct {
	raw    []byte
	cursor int // offset in raw of the line after the last one matched
}

// spell returns how the client spelled name, or name itself when the
// received block has no such line (a header the gateway added).
func (s *nameSpeller) spell(name []byte) []byte {
	if len(s.raw) == 0 {
		return name
	}
	special := isSpecialName(name)
	if !special {
		if k, next, ok := findName(s.raw, s.cursor, len(s.raw), name); ok {
			s.cursor = next
			return k
		}
	}
	// fasthttp reports its special headers first, wherever they were, and
	// a deleted or re-added header may be behind the cursor.
	if k, _, ok := findName(s.raw, 0, len(s.raw), name); ok {
		return k
	}
	return name
}

// isSpecialName reports the names fasthttp reports before all others.
func isSpecialName(k []byte) bool {
	switch len(k) {
	case 4:
		return ascii.EqualFold(k, "host")
	case 10:
		return ascii.EqualFold(k, "user-agent")
	case 12:
		return ascii.EqualFold(k, "content-type")
	case 14:
		return ascii.EqualFold(k, "content-length")
	}
	return false
}

// findName looks for a line named name (in any case) among the lines of
// raw starting at offsets from..to, and returns the line's own spelling
// and the offset of the line after it.
func findName(raw []byte, from, to int, name []byte) ([]byte, int, bool) {
	for at := from; at < to; {
		line := raw[at:]
		next := len(raw)
		if i := bytes.IndexByte(line, '\n'); i >= 0 {
			line, next = line[:i], at+i+1
		}
		if len(line) > len(name) && line[len(name)] == ':' && ascii.EqualFold(line[:len(name)], name) {
			return line[:len(name)], next, true
		}
		at = next
	}
	return nil, 0, false
}
