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

// HoldsConnection reports whether resp's body streams from an upstream
// connection that it holds until the stream closes. A body Do read whole
// (a buffered one) holds none.
func HoldsConnection(resp *fasthttp.Response) bool {
	s, ok := resp.BodyStream().(*stream)
	return ok && s.c != nil
}
