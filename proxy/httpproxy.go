package proxy

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/frontdeskgw/frontdesk/apierror"
	"github.com/frontdeskgw/frontdesk/exchange"
	"github.com/frontdeskgw/frontdesk/internal/ascii"
	"github.com/frontdeskgw/frontdesk/internal/headers"
	"github.com/frontdeskgw/frontdesk/upstream"
	"github.com/valyala/fasthttp"
)

type pathPart struct {
	literal []byte
	param   string
}

// HTTPProxy forwards a request to an HTTP service (type: http_proxy),
// balanced over the origins of url and targets.
type HTTPProxy struct {
	client  *upstream.Balancer
	host    []byte
	path    []pathPart // nil: forward the request path
	query   []byte
	timeout time.Duration
}

// Upstream is how an http_proxy integration reaches its origins.
type Upstream struct {
	// URL has its stage variables substituted and may hold {param}
	// templates; its origin is the first target.
	URL string
	// Targets are more origins (scheme://host[:port]) sharing URL's path.
	Targets []string
	Policy  upstream.Policy
	Retries int
	Timeout time.Duration
	// HealthPath and HealthInterval enable active health checks.
	HealthPath     string
	HealthInterval time.Duration
}

// NewHTTPProxy compiles an http_proxy integration for one stage.
func NewHTTPProxy(pools Origins, u Upstream) (*HTTPProxy, error) {
	pu, err := url.Parse(u.URL)
	if err != nil {
		return nil, fmt.Errorf("integration url %q: %w", u.URL, err)
	}
	if pu.Scheme != "http" && pu.Scheme != "https" || pu.Host == "" {
		return nil, fmt.Errorf("integration url %q: want http(s)://host[:port][/path]", u.URL)
	}
	origins := []*url.URL{pu}
	for _, t := range u.Targets {
		tu, err := url.Parse(t)
		if err != nil || (tu.Scheme != "http" && tu.Scheme != "https") || tu.Host == "" {
			return nil, fmt.Errorf("target %q: want http(s)://host[:port]", t)
		}
		origins = append(origins, tu)
	}
	var list []*upstream.Pool
	for _, o := range origins {
		pool := pools.Get(o.Scheme, hostPort(o), o.Hostname())
		if u.HealthPath != "" && u.HealthInterval > 0 {
			pools.WantHealthCheck(o.Scheme, hostPort(o), o.Hostname(), u.HealthPath, u.HealthInterval)
		}
		list = append(list, pool)
	}
	p := &HTTPProxy{
		client:  upstream.NewBalancer(list, u.Policy, u.Retries, 0),
		host:    []byte(pu.Host),
		query:   []byte(pu.RawQuery),
		timeout: u.Timeout,
	}
	if raw := pu.EscapedPath(); raw != "" {
		p.path = parseTemplate(strings.NewReplacer("%7B", "{", "%7D", "}").Replace(raw))
	}
	return p, nil
}

func hostPort(u *url.URL) string {
	if _, _, err := net.SplitHostPort(u.Host); err == nil {
		return u.Host
	}
	port := "80"
	if u.Scheme == "https" {
		port = "443"
	}
	return net.JoinHostPort(u.Hostname(), port)
}

func parseTemplate(s string) []pathPart {
	var parts []pathPart
	for s != "" {
		i := strings.IndexByte(s, '{')
		j := strings.IndexByte(s, '}')
		if i < 0 || j < i {
			parts = append(parts, pathPart{literal: []byte(s)})
			break
		}
		if i > 0 {
			parts = append(parts, pathPart{literal: []byte(s[:i])})
		}
		parts = append(parts, pathPart{param: s[i+1 : j]})
		s = s[j+1:]
	}
	return parts
}

// Request headers that describe one connection, not the request: never
// forwarded (RFC 9110 §7.6.1), in either direction.
var hopHeaders = [...][]byte{
	[]byte("Connection"), []byte("Keep-Alive"), []byte("Proxy-Authenticate"),
	[]byte("Proxy-Authorization"), []byte("Proxy-Connection"), []byte("TE"),
	[]byte("Trailer"), []byte("Transfer-Encoding"), []byte("Upgrade"),
}

var (
	hdrXFF     = []byte("X-Forwarded-For")
	hdrXFProto = []byte("X-Forwarded-Proto")
	hdrXFPort  = []byte("X-Forwarded-Port")
	hdrXFHost  = []byte("X-Forwarded-Host")
	// hdrAPIID tells the upstream which API the request came through, as
	// API Gateway's x-amzn-apigateway-api-id does.
	hdrAPIID      = []byte("X-Amzn-Apigateway-Api-Id")
	hdrConnection = []byte("Connection")
)

// Serve forwards ex's request upstream and streams the response back.
func (p *HTTPProxy) Serve(ex *exchange.Exchange) { p.serve(ex, nil, nil) }

// serve forwards the request with path as its upstream path (nil: the
// URL's template, else the request path), as a parameter mapping's
// overwrite:path asks, and with the path variables a mapping template
// overrode ($context.requestOverride.path; nil: none).
func (p *HTTPProxy) serve(ex *exchange.Exchange, path []byte, pathOverride map[string]string) {
	ctx := ex.Ctx
	in := &ctx.Request
	up := &ex.Upstream
	defer up.Reset()

	in.Header.CopyTo(&up.Header)
	// A body sent without a Content-Type goes on without one: fasthttp
	// would otherwise label it application/octet-stream.
	up.Header.SetNoDefaultContentType(true)
	// Fields of a chunked body's trailer section are not headers; the
	// upstream gets the body with a Content-Length and no trailer.
	for k := range in.Header.Trailers() {
		up.Header.DelBytes(k)
	}
	found := dropRequestHeaders(&up.Header, &in.Header)
	up.Header.ResetConnectionClose()

	// The request line and Host are set as raw bytes and the URI is never
	// parsed: fasthttp then writes them as they are, so the path keeps the
	// client's encoding and costs no parse and re-render per request. The
	// scheme is the pool's business (TLS or not).
	ex.Scratch = p.appendMappedURI(ex.Scratch[:0], ex, path, pathOverride)
	up.Header.SetRequestURIBytes(ex.Scratch)
	up.Header.SetHostBytes(p.host)
	up.SetBodyRaw(in.Body())

	setForwarded(ctx, &up.Header, &ex.Scratch, found.own[xffOwn])
	if r := ex.RouteInfo; r != nil && len(r.APIIDBytes) > 0 {
		up.Header.SetCanonical(hdrAPIID, r.APIIDBytes)
	}
	if len(ex.RequestIDHeader) > 0 {
		up.Header.SetCanonical(ex.RequestIDHeader, ex.RequestID)
	}

	resp := &ctx.Response
	// The client gets the upstream's header names as the upstream spelled
	// them, as API Gateway relays them; lookups on the response from here
	// on ignore case (delFold).
	resp.Header.DisableNormalizing()
	span := ex.Trace.StartUpstream(&up.Header)
	start := time.Now()
	err := p.client.Do(up, resp, start, start.Add(p.timeout))
	ex.IntegrationLatency = time.Since(start)
	span.End(resp.StatusCode(), err)
	if err != nil {
		ex.IntegrationError = err
		resp.Reset()
		switch {
		case errors.Is(err, upstream.ErrTimeout):
			ex.Fail(apierror.IntegrationTimeout)
		case errors.Is(err, upstream.ErrAllDown):
			ex.Fail(apierror.NoHealthyUpstream)
		case badEndpoint(err):
			ex.Fail(apierror.BadEndpoint)
		default:
			ex.Fail(apierror.IntegrationFailure)
		}
		return
	}
	// Only a stream that holds its origin connection counts against the
	// client's share: a body read whole holds nothing upstream.
	if ex.Streams != nil && upstream.HoldsConnection(resp) && !admitStream(ex, resp) {
		return
	}
	settleResponseHeaders(&resp.Header, ex)
	resp.Header.ResetConnectionClose()
	// An answer without a Content-Type goes on without one: fasthttp
	// would otherwise label it text/plain.
	resp.Header.SetNoDefaultContentType(true)
}

// admitStream counts a streamed response against its client's share of
// upstream streams until the stream closes. A client past its share gets
// 429 at once, and the stream's origin connection is closed instead of
// waiting on a reader that may never come.
func admitStream(ex *exchange.Exchange, resp *fasthttp.Response) bool {
	slot, ok := ex.Streams.Acquire(ex.SourceIP())
	if !ok {
		resp.Reset() // closes the stream, and with it the origin connection
		ex.Fail(apierror.TooManyRequests)
		return false
	}
	if slot != 0 && !upstream.ReleaseOnClose(resp, ex.Streams, slot) {
		ex.Streams.Release(slot)
	}
	return true
}

// appendURI builds the upstream path and query: the URL template with route
// variables filled in, or the request path; then the template's query and
// the request's query.
func (p *HTTPProxy) appendURI(dst []byte, ex *exchange.Exchange) []byte {
	return p.appendMappedURI(dst, ex, nil, nil)
}

// appendMappedURI is appendURI with path, when not nil, in place of the
// template's or the request's path, and pathOverride's values in place of
// the route's for the template's variables.
func (p *HTTPProxy) appendMappedURI(dst []byte, ex *exchange.Exchange, path []byte, pathOverride map[string]string) []byte {
	start := len(dst)
	if path != nil {
		dst = append(dst, path...)
	} else if p.path == nil {
		dst = append(dst, ex.Path...)
	} else {
		emptyLast := false
		for _, part := range p.path {
			if part.param == "" {
				dst = append(dst, part.literal...)
				emptyLast = false
			} else {
				if pathOverride != nil {
					if o, ok := pathOverride[part.param]; ok {
						dst = append(dst, o...)
						emptyLast = o == ""
						continue
					}
				}
				v := ex.Param(part.param)
				dst = append(dst, v...)
				emptyLast = len(v) == 0
			}
		}
		// A variable the route does not define expands to nothing; drop
		// the slash it leaves at the end ("/pets/{id}" on GET /pets
		// forwards "/pets").
		if emptyLast && len(dst)-start > 1 && dst[len(dst)-1] == '/' {
			dst = dst[:len(dst)-1]
		}
	}
	q := ex.Ctx.URI().QueryString()
	if len(p.query) > 0 || len(q) > 0 {
		dst = append(dst, '?')
		dst = append(dst, p.query...)
		if len(p.query) > 0 && len(q) > 0 {
			dst = append(dst, '&')
		}
		dst = append(dst, q...)
	}
	return dst
}

// dropRequestHeaders removes the request's hop-by-hop headers, the
// headers its Connection header names, and every line of the headers
// frontdesk sets itself (ownHeaders), so that no client copy rides along
// after the one frontdesk writes. One pass over the names finds which are
// present, so the common request costs no deletion.
//
// Every Connection line of the client's request (in) counts: a second line
// names hop-by-hop headers as much as the first does.
func dropRequestHeaders(h, in *fasthttp.RequestHeader) (found requestSet) {
	for k := range h.All() {
		found.note(k)
	}
	found.drop(h)
	if found.hop[connectionHop] {
		for k, v := range in.All() {
			if len(k) == len(hdrConnection) && ascii.EqualFold(k, hdrConnection) {
				dropNamed(h, v)
			}
		}
	}
	return found
}

// connectionHop is Connection's index in hopHeaders.
const connectionHop = 0

type headerDeleter interface {
	DelBytes(key []byte)
}

// hopSet marks which hop-by-hop headers a message has.
type hopSet [len(hopHeaders)]bool

func (s *hopSet) note(name []byte) {
	switch len(name) {
	case 2, 7, 10, 16, 17, 18, 19:
		for i, k := range hopHeaders {
			if len(k) == len(name) && ascii.EqualFold(k, name) {
				s[i] = true
			}
		}
	}
}

func (s *hopSet) drop(h headerDeleter) {
	for i, present := range s {
		if present {
			h.DelBytes(hopHeaders[i])
		}
	}
}

// xffOwn is X-Forwarded-For's index in ownHeaders.
const xffOwn = 0

// ownHeaders are the request headers frontdesk sets toward the upstream,
// and Forwarded, which would contradict them: the client's lines of these
// are never passed on. Both request id names go, whichever the API uses.
var ownHeaders = [...][]byte{
	hdrXFF, hdrXFProto, hdrXFPort, hdrXFHost, []byte("Forwarded"),
	[]byte("Apigw-Requestid"), []byte("X-Amzn-Requestid"), hdrAPIID,
}

// requestSet marks which hop-by-hop headers and which of ownHeaders a
// request has.
type requestSet struct {
	hop hopSet
	own [len(ownHeaders)]bool
}

// note marks name and reports whether it is one of ownHeaders.
func (s *requestSet) note(name []byte) bool {
	s.hop.note(name)
	switch len(name) {
	case 9, 15, 16, 17, 24:
		for i, k := range ownHeaders {
			if len(k) == len(name) && ascii.EqualFold(k, name) {
				s.own[i] = true
				return true
			}
		}
	}
	return false
}

func (s *requestSet) drop(h headerDeleter) {
	s.hop.drop(h)
	for i, present := range s.own {
		if present {
			h.DelBytes(ownHeaders[i])
		}
	}
}

// dropNamed removes the headers a Connection header lists.
func dropNamed(h headerDeleter, connection []byte) {
	for len(connection) > 0 {
		var tok []byte
		if i := bytes.IndexByte(connection, ','); i >= 0 {
			tok, connection = connection[:i], connection[i+1:]
		} else {
			tok, connection = connection, nil
		}
		tok = bytes.TrimSpace(tok)
		if len(tok) > 0 {
			h.DelBytes(tok)
		}
	}
}

// setForwarded sets X-Forwarded-For to the client's lines, joined, with
// the peer appended (clientXFF says whether the client sent any), and
// X-Forwarded-Proto, -Port and -Host, like Amazon API Gateway does toward
// HTTP integrations. The client's lines of these are gone already
// (dropRequestHeaders), so each is set as one line. (SetCanonical, which
// looks for the name among the headers, costs half what AddBytesKV does,
// which normalises the name again.)
func setForwarded(ctx *fasthttp.RequestCtx, h *fasthttp.RequestHeader, scratch *[]byte, clientXFF bool) {
	var b []byte
	if clientXFF {
		b = exchange.AppendForwardedFor((*scratch)[:0], ctx)
	} else {
		b = exchange.AppendPeer((*scratch)[:0], ctx)
	}
	h.SetCanonical(hdrXFF, b)
	h.SetCanonical(hdrXFProto, exchange.Proto(ctx))
	if port, ok := exchange.AppendLocalPort(b[:0], ctx); ok {
		h.SetCanonical(hdrXFPort, port)
		b = port
	}
	h.SetCanonical(hdrXFHost, ctx.Request.Header.Host())
	*scratch = b
}

// badEndpoint reports a failure that lies in the integration's endpoint
// rather than in reaching it: a host name that does not resolve, or TLS
// that fails (a certificate not trusted or not for the host, an origin
// that does not speak TLS). API Gateway answers those as a configuration
// error (500), unreachable origins as an integration failure.
func badEndpoint(err error) bool {
	var (
		dns     *net.DNSError
		verify  *tls.CertificateVerificationError
		record  tls.RecordHeaderError
		alert   tls.AlertError
		unknown x509.UnknownAuthorityError
		host    x509.HostnameError
	)
	return errors.As(err, &dns) || errors.As(err, &verify) || errors.As(err, &record) ||
		errors.As(err, &alert) || errors.As(err, &unknown) || errors.As(err, &host)
}

// remapped are the upstream response headers a REST API passes on under
// another name, as API Gateway does for HTTP proxy integrations: the
// answer's own Connection, Content-Length, Date and request id are the
// gateway's, and the upstream's are kept as x-amzn-Remapped-*.
var remapped = [...]struct{ name, as []byte }{
	{hdrConnection, []byte("x-amzn-Remapped-Connection")},
	{[]byte("Content-Length"), []byte("x-amzn-Remapped-Content-Length")},
	{hdrDate, []byte("x-amzn-Remapped-Date")},
	{[]byte("x-amzn-RequestId"), []byte("x-amzn-Remapped-x-amzn-RequestId")},
}

var hdrDate = []byte("Date")

// settleResponseHeaders takes out of an upstream's response the headers
// the gateway writes itself, in any spelling: Date (fasthttp writes its
// own, and would repeat an upstream's spelled otherwise), the API's
// request id header and the hop-by-hop headers (RFC 9110 §7.6.1). On REST
// APIs the upstream's Connection,
// Content-Length, Date and x-amzn-RequestId reach the client as
// x-amzn-Remapped-* (Connection is then dropped as hop-by-hop).
func settleResponseHeaders(h *fasthttp.ResponseHeader, ex *exchange.Exchange) {
	if ex.Dialect == apierror.REST {
		// Values are copied out first: h cannot change while walked.
		var at [len(remapped)][2]int
		buf := ex.Scratch[:0]
		for k, v := range h.All() {
			for i, r := range remapped {
				if at[i][1] == 0 && len(k) == len(r.name) && ascii.EqualFold(k, r.name) {
					start := len(buf)
					buf = append(buf, v...)
					at[i] = [2]int{start, len(buf) + 1} // +1: set even for an empty value
				}
			}
		}
		ex.Scratch = buf
		for i, r := range remapped {
			if at[i][1] > 0 {
				h.AddBytesKV(r.as, buf[at[i][0]:at[i][1]-1])
			}
		}
	}
	// One pass finds which of the headers to take out are there: most
	// answers have only a Date, spelled so.
	var hops hopSet
	var date, dateOtherwise, id bool
	for k := range h.All() {
		hops.note(k)
		switch {
		case len(k) == len(hdrDate) && ascii.EqualFold(k, hdrDate):
			date = true
			dateOtherwise = dateOtherwise || string(k) != string(hdrDate)
		case len(k) == len(ex.RequestIDHeader) && len(k) > 0 && ascii.EqualFold(k, ex.RequestIDHeader):
			id = true
		}
	}
	switch {
	case dateOtherwise:
		headers.DelFold(h, hdrDate)
	case date:
		// Names are kept as spelled (no normalising), so this removes
		// exactly the "Date" lines, without DelFold's two walks.
		h.DelBytes(hdrDate)
	}
	if id {
		headers.DelFold(h, ex.RequestIDHeader)
	}
	for i, present := range hops {
		if present {
			headers.DelFold(h, hopHeaders[i])
		}
	}
}
