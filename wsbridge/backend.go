package wsbridge

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/frontdeskgw/frontdesk/internal/ascii"
	"github.com/frontdeskgw/frontdesk/lambda"
	"github.com/valyala/fasthttp"
)

// Reply is what a backend answered to one event.
type Reply struct {
	Status  int
	Headers [][2]string
	Body    []byte
}

// Backend receives the WebSocket proxy events of the routes it serves.
// event is only valid during the call: a Backend that keeps it must copy
// it. The returned Reply.Body may be queued for the client, so it must
// not be changed afterwards. Call is made sequentially per connection,
// concurrently across connections.
type Backend interface {
	Call(ctx context.Context, event []byte, connectionID string) (Reply, error)
}

// HTTPBackend POSTs each event's JSON to a URL, the "type: http"
// integration of a WebSocket API.
type HTTPBackend struct {
	url     string
	timeout time.Duration
	client  *fasthttp.Client
}

// DefaultBackendTimeout is API Gateway's WebSocket integration timeout.
const DefaultBackendTimeout = 29 * time.Second

// DefaultBackendMaxConns bounds the connections an HTTPClient opens to
// one backend host.
const DefaultBackendMaxConns = 1024

// HTTPClient is the connection pool the HTTP backends of one WebSocket
// API share: at most maxConns connections to each backend host, idle ones
// closed after 30 s.
type HTTPClient struct {
	c *fasthttp.Client
}

// NewHTTPClient returns a pool of at most maxConnsPerHost connections per
// backend host (0 = DefaultBackendMaxConns). A call that finds them all
// busy waits for one to come free, within its own timeout: a burst of
// connects, messages or disconnects larger than the pool is slowed down,
// not refused.
func NewHTTPClient(maxConnsPerHost int) *HTTPClient {
	if maxConnsPerHost <= 0 {
		maxConnsPerHost = DefaultBackendMaxConns
	}
	return &HTTPClient{c: &fasthttp.Client{
		Name:                "frontdesk",
		MaxConnsPerHost:     maxConnsPerHost,
		MaxIdleConnDuration: 30 * time.Second,
		// fasthttp waits for a free connection at most this long and at
		// most until the call's deadline: with a bound above any
		// integration timeout, the deadline alone decides. Without it a
		// full pool fails the call at once (ErrNoFreeConns).
		MaxConnWaitTimeout: maxConnWait,
	}}
}

// maxConnWait is far longer than any sensible backend timeout, so that
// each call's deadline is what bounds its wait for a connection.
const maxConnWait = 24 * time.Hour

// Backend returns a backend posting events to url through the pool, with
// a request timeout (0 = DefaultBackendTimeout) covering the wait for a
// connection, the request and the response.
func (hc *HTTPClient) Backend(url string, timeout time.Duration) *HTTPBackend {
	if timeout <= 0 {
		timeout = DefaultBackendTimeout
	}
	return &HTTPBackend{url: url, timeout: timeout, client: hc.c}
}

// NewHTTPBackend returns a backend posting events to url with a request
// timeout (0 = DefaultBackendTimeout), through a pool of its own of
// DefaultBackendMaxConns connections. The connection id also travels in
// the X-Connection-Id header so a backend can route without parsing.
func NewHTTPBackend(url string, timeout time.Duration) *HTTPBackend {
	return NewHTTPClient(0).Backend(url, timeout)
}

// Call implements Backend.
func (b *HTTPBackend) Call(ctx context.Context, event []byte, connectionID string) (Reply, error) {
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)

	req.SetRequestURI(b.url)
	req.Header.SetMethod(fasthttp.MethodPost)
	req.Header.SetContentType("application/json")
	req.Header.Set("X-Connection-Id", connectionID)
	req.SetBodyRaw(event)

	deadline := time.Now().Add(b.timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	if err := b.client.DoDeadline(req, resp, deadline); err != nil {
		return Reply{}, fmt.Errorf("wsbridge: POST %s: %w", b.url, err)
	}
	r := Reply{Status: resp.StatusCode(), Body: bytes.Clone(resp.Body())}
	for k, v := range resp.Header.All() {
		if !entityOrHopHeader(k) {
			r.Headers = append(r.Headers, [2]string{string(k), string(v)})
		}
	}
	return r, nil
}

// entityOrHopHeader reports headers that describe the HTTP exchange with
// the backend rather than anything meant for the WebSocket client.
func entityOrHopHeader(k []byte) bool {
	for _, h := range [...]string{
		"Content-Length", "Content-Type", "Content-Encoding", "Connection", "Keep-Alive",
		"Transfer-Encoding", "Date", "Server", "Upgrade", "Trailer", "Te",
	} {
		if ascii.EqualFold(k, h) {
			return true
		}
	}
	return false
}

// unwrapLambda returns r with a Lambda proxy result in its body
// ({"statusCode":..,"headers":{..},"body":".."}, read by API Gateway's 1.0
// rules) unfolded into status, headers and body, so one handler can sit
// behind an HTTP or a Lambda integration. Bodies without a statusCode
// member, non-2xx replies and malformed results are returned as they are.
func unwrapLambda(r Reply) Reply {
	b := bytes.TrimSpace(r.Body)
	if r.Status < 200 || r.Status > 299 || len(b) == 0 || b[0] != '{' || !bytes.Contains(b, []byte(`"statusCode"`)) {
		return r
	}
	var lr lambda.Response
	if lambda.ParseResponseV1(b, &lr) != nil {
		return r
	}
	out := Reply{Status: lr.Status, Headers: r.Headers, Body: bytes.Clone(lr.Body)}
	for _, h := range lr.Headers {
		out.Headers = append(out.Headers, [2]string{string(h.Name), string(h.Value)})
	}
	return out
}
