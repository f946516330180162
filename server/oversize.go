package server

import (
	"sync"
	"sync/atomic"

	"github.com/valyala/fasthttp"
)

// oversized remembers the requests whose head declared a body over
// max_body_bytes, from headerReceived until they are answered. fasthttp
// resets a request whose body read failed before it calls the error
// handler, so the head (its Host and target, which choose the API's error
// dialect) is kept here to answer 413 in the right dialect.
//
// An entry lives only between a head and its answer, so there is at most
// one per connection; the map is bounded by server.max_conns.
type oversized struct {
	n  atomic.Int32 // entries, read without the lock on every request
	mu sync.Mutex
	m  map[*fasthttp.RequestHeader]oversizedHead
}

type oversizedHead struct {
	host, uri []byte
}

func (o *oversized) add(h *fasthttp.RequestHeader) {
	e := oversizedHead{host: append([]byte(nil), h.Host()...), uri: append([]byte(nil), h.RequestURI()...)}
	o.mu.Lock()
	if o.m == nil {
		o.m = map[*fasthttp.RequestHeader]oversizedHead{}
	}
	if _, ok := o.m[h]; !ok {
		o.n.Add(1)
	}
	o.m[h] = e
	o.mu.Unlock()
}

// take removes and returns h's entry. It costs one atomic load when there
// is none anywhere, as on almost every request.
func (o *oversized) take(h *fasthttp.RequestHeader) (oversizedHead, bool) {
	if o.n.Load() == 0 {
		return oversizedHead{}, false
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	e, ok := o.m[h]
	if ok {
		delete(o.m, h)
		o.n.Add(-1)
	}
	return e, ok
}
