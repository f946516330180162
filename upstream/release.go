package upstream

import "github.com/valyala/fasthttp"

// Releaser takes back something a streamed response held, such as a
// client's share of upstream streams.
type Releaser interface {
	Release(slot uint64)
}

// ReleaseOnClose arranges for r.Release(slot) to run once, when the body
// stream Do set on resp closes: after the client has read it all, or when
// it went away. It reports false, and arranges nothing, when resp has no
// such stream.
func ReleaseOnClose(resp *fasthttp.Response, r Releaser, slot uint64) bool {
	s, ok := resp.BodyStream().(*stream)
	if !ok || s.c == nil {
		return false
	}
	s.release, s.slot = r, slot
	return true
}
