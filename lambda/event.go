package lambda

import (
	"bytes"
	"encoding/base64"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/valyala/fasthttp"

	"github.com/frontdeskgw/frontdesk/internal/ascii"
	"github.com/frontdeskgw/frontdesk/internal/clftime"
	"github.com/frontdeskgw/frontdesk/internal/jsonstr"
)

// Param is one named value: a path parameter or a stage variable.
type Param struct {
	Name  string
	Value []byte
}

// EventInput is what the gateway knows about one proxied request. The
// builders only read it, so the gateway may keep one per worker and refill it.
type EventInput struct {
	// Req is the client request: method, URI (path and raw query), headers
	// and body. It must not be nil. Header names are used as the request
	// holds them; serve with header-name normalizing disabled to keep the
	// client's casing in REST events.
	Req *fasthttp.Request

	// RouteKey is the matched HTTP API route, "GET /pets/{id}" or "$default".
	RouteKey string
	// Resource is the REST resource template ("/pets/{id}"); HTTP API 1.0
	// events fall back to the path part of RouteKey when it is empty.
	Resource string
	// Stage is "$default" or the stage name.
	Stage string
	// StagePrefix is true when the stage name is the first path segment
	// (a named stage). HTTP API 1.0 events then start their top-level path
	// with "/{stage}", as API Gateway does.
	StagePrefix bool
	// Path is the request path below the base path and stage, percent
	// encoding kept: the REST top-level "path".
	Path []byte
	// RawPath optionally overrides the path as the client sent it (base
	// path and stage included); nil means Req's original URI path. It fills
	// 2.0 rawPath and requestContext.http.path, and 1.0 requestContext.path.
	RawPath []byte

	PathParams []Param
	// StageVariables are the stage's variables, already resolved.
	StageVariables []Param

	APIID, AccountID string
	// ResourceID is the REST resource id; HTTP API 1.0 events use RouteKey
	// when it is empty.
	ResourceID string
	// DeploymentID, when set, is reported in 1.0 events as real REST
	// events do.
	DeploymentID string
	// DomainName optionally overrides the Host header as domainName.
	DomainName []byte

	RequestID []byte
	// ExtendedRequestID is 1.0's extendedRequestId; nil means RequestID.
	ExtendedRequestID []byte
	SourceIP          []byte
	// Time is when the request arrived; the zero value means now.
	Time time.Time

	// Authorizer is the raw JSON object placed at requestContext.authorizer
	// (2.0: {"jwt":...} or {"lambda":...}; 1.0: the authorizer context);
	// nil leaves the key out.
	Authorizer []byte
	// BinaryTypes are a REST API's binary media types: a REST event's body
	// is base64 when its Content-Type is one of them. nil: none.
	BinaryTypes *BinaryTypes

	// APIKey and APIKeyID fill 1.0 identity.apiKey/apiKeyId. With APIKey
	// nil (no key required) both are left out, as API Gateway does; a nil
	// APIKeyID alone is null.
	APIKey, APIKeyID []byte

	// The headers API Gateway adds to the client's, which web framework
	// adapters read for the client address, scheme and port. Each one
	// that is set replaces the client's lines of its name; nil adds
	// nothing. ForwardedFor is the whole X-Forwarded-For list (see
	// exchange.AppendForwardedFor), ForwardedPort the listener's port,
	// ForwardedProto "http" or "https", and TraceID the X-Amzn-Trace-Id
	// (the client's own, or one made for the request).
	ForwardedFor, ForwardedPort, ForwardedProto, TraceID []byte
}

// Names of the headers the gateway adds, in REST's spelling; HTTP API
// events lower-case them like every other name.
var (
	hdrForwardedFor   = []byte("X-Forwarded-For")
	hdrForwardedPort  = []byte("X-Forwarded-Port")
	hdrForwardedProto = []byte("X-Forwarded-Proto")
	hdrTraceID        = []byte("X-Amzn-Trace-Id")
)

// addGatewayHeaders replaces the client's lines of the headers the
// gateway sets (in's non-nil Forwarded* and TraceID) with one line of the
// gateway's value each, after the client's headers.
func addGatewayHeaders(hs []kv, in *EventInput) []kv {
	added := [...]kv{
		{hdrForwardedFor, in.ForwardedFor},
		{hdrForwardedPort, in.ForwardedPort},
		{hdrForwardedProto, in.ForwardedProto},
		{hdrTraceID, in.TraceID},
	}
	set := false
	for _, a := range added {
		set = set || a.v != nil
	}
	if !set {
		return hs
	}
	n := 0
	for _, h := range hs {
		replaced := false
		for _, a := range added {
			if a.v != nil && len(h.k) == len(a.k) && ascii.EqualFold(h.k, a.k) {
				replaced = true
				break
			}
		}
		if !replaced {
			hs[n] = h
			n++
		}
	}
	hs = hs[:n]
	for _, a := range added {
		if a.v != nil {
			hs = append(hs, a)
		}
	}
	return hs
}

// kv is a borrowed name/value pair: a request header or a raw query pair.
type kv struct{ k, v []byte }

// Small requests fit in these stack arrays, which is what keeps event
// building allocation-free; bigger ones spill to the heap once.
const (
	headerStack = 32
	queryStack  = 16
)

// AppendEventV2 appends the payload format 2.0 event (HTTP API) for in to
// dst. Field by field rules are in docs/lambda-events.md.
func AppendEventV2(dst []byte, in *EventInput) []byte {
	req := in.Req
	var hbuf [headerStack]kv
	hs := addGatewayHeaders(collectHeaders(hbuf[:0], &req.Header, false), in)
	rawQuery := req.URI().QueryString()
	var qbuf [queryStack]kv
	qs := splitQuery(qbuf[:0], rawQuery, false)
	var hgbuf, qgbuf [3 * linearGroupLimit]int32
	hg, qg := groupHeaders(hgbuf[:0], hs), groupQuery(qgbuf[:0], qs)
	path := rawPath(in)
	when := eventTime(in.Time)

	dst = append(dst, `{"version":"2.0","routeKey":`...)
	dst = jsonstr.Append(dst, in.RouteKey)
	dst = append(dst, `,"rawPath":`...)
	dst = jsonstr.Append(dst, path)
	dst = append(dst, `,"rawQueryString":`...)
	dst = jsonstr.Append(dst, rawQuery)
	dst = appendCookies(dst, &req.Header)
	dst = append(dst, `,"headers":`...)
	dst = appendHeadersJoined(dst, hs, hg)
	if len(qs) > 0 {
		dst = append(dst, `,"queryStringParameters":`...)
		dst = appendQueryJoined(dst, qs, qg)
	}

	domain := domainName(in)
	dst = append(dst, `,"requestContext":{"accountId":`...)
	dst = jsonstr.Append(dst, in.AccountID)
	dst = append(dst, `,"apiId":`...)
	dst = jsonstr.Append(dst, in.APIID)
	if in.Authorizer != nil {
		dst = append(dst, `,"authorizer":`...)
		dst = append(dst, in.Authorizer...)
	}
	dst = append(dst, `,"domainName":`...)
	dst = jsonstr.Append(dst, domain)
	dst = append(dst, `,"domainPrefix":`...)
	dst = jsonstr.Append(dst, domainPrefix(domain))
	dst = append(dst, `,"http":{"method":`...)
	dst = jsonstr.Append(dst, req.Header.Method())
	dst = append(dst, `,"path":`...)
	dst = jsonstr.Append(dst, path)
	dst = append(dst, `,"protocol":`...)
	dst = jsonstr.Append(dst, req.Header.Protocol())
	dst = append(dst, `,"sourceIp":`...)
	dst = jsonstr.Append(dst, in.SourceIP)
	dst = append(dst, `,"userAgent":`...)
	dst = jsonstr.Append(dst, req.Header.UserAgent())
	dst = append(dst, `},"requestId":`...)
	dst = jsonstr.Append(dst, in.RequestID)
	dst = append(dst, `,"routeKey":`...)
	dst = jsonstr.Append(dst, in.RouteKey)
	dst = append(dst, `,"stage":`...)
	dst = jsonstr.Append(dst, in.Stage)
	dst = append(dst, `,"time":"`...)
	dst = clftime.Append(dst, when)
	dst = append(dst, `","timeEpoch":`...)
	dst = strconv.AppendInt(dst, when.UnixMilli(), 10)
	dst = append(dst, '}')

	body := req.Body()
	binary := false
	if len(body) > 0 {
		binary = isBinaryBody(req.Header.ContentType(), body)
		dst = append(dst, `,"body":`...)
		dst = appendBody(dst, body, binary)
	}
	if len(in.PathParams) > 0 {
		dst = append(dst, `,"pathParameters":`...)
		dst = appendParams(dst, in.PathParams)
	}
	dst = append(dst, `,"isBase64Encoded":`...)
	dst = strconv.AppendBool(dst, binary)
	if len(in.StageVariables) > 0 {
		dst = append(dst, `,"stageVariables":`...)
		dst = appendParams(dst, in.StageVariables)
	}
	return append(dst, '}')
}

// AppendEventV1 appends the payload format 1.0 event for in to dst: the REST
// API event, or with httpAPI the HTTP API's 1.0 variant (version "1.0",
// lower-case header names, route-derived resource fields). Field by field
// rules are in docs/lambda-events.md.
func AppendEventV1(dst []byte, in *EventInput, httpAPI bool) []byte {
	req := in.Req
	var hbuf [headerStack]kv
	hs := addGatewayHeaders(dropV1Headers(collectHeaders(hbuf[:0], &req.Header, !httpAPI)), in)
	var qbuf [queryStack]kv
	// REST APIs split query data on ';' as well as '&'.
	qs := splitQuery(qbuf[:0], req.URI().QueryString(), !httpAPI)
	var hgbuf, qgbuf [3 * linearGroupLimit]int32
	hg, qg := groupHeaders(hgbuf[:0], hs), groupQuery(qgbuf[:0], qs)
	full := rawPath(in)
	when := eventTime(in.Time)
	method := req.Header.Method()

	resource, resourceID := in.Resource, in.ResourceID
	topPath := in.Path
	if httpAPI {
		if resource == "" {
			resource = routePath(in.RouteKey)
		}
		if resourceID == "" {
			resourceID = in.RouteKey
		}
	}
	if len(topPath) == 0 {
		topPath = full
	}

	dst = append(dst, '{')
	if httpAPI {
		dst = append(dst, `"version":"1.0",`...)
	}
	dst = append(dst, `"resource":`...)
	dst = jsonstr.Append(dst, resource)
	dst = append(dst, `,"path":`...)
	if httpAPI && in.StagePrefix && len(in.Path) > 0 {
		dst = append(dst, '"', '/')
		dst = jsonstr.AppendEscaped(dst, in.Stage)
		dst = jsonstr.AppendEscaped(dst, topPath)
		dst = append(dst, '"')
	} else {
		dst = jsonstr.Append(dst, topPath)
	}
	dst = append(dst, `,"httpMethod":`...)
	dst = jsonstr.Append(dst, method)
	dst = append(dst, ',')
	dst = appendHeadersMulti(dst, hs, hg, httpAPI)
	dst = append(dst, ',')
	dst = appendQueryMulti(dst, qs, qg)

	domain := domainName(in)
	dst = append(dst, `,"requestContext":{"accountId":`...)
	dst = jsonstr.Append(dst, in.AccountID)
	dst = append(dst, `,"apiId":`...)
	dst = jsonstr.Append(dst, in.APIID)
	if in.Authorizer != nil {
		dst = append(dst, `,"authorizer":`...)
		dst = append(dst, in.Authorizer...)
	}
	if in.DeploymentID != "" {
		dst = append(dst, `,"deploymentId":`...)
		dst = jsonstr.Append(dst, in.DeploymentID)
	}
	dst = append(dst, `,"domainName":`...)
	dst = jsonstr.Append(dst, domain)
	dst = append(dst, `,"domainPrefix":`...)
	dst = jsonstr.Append(dst, domainPrefix(domain))
	dst = append(dst, `,"extendedRequestId":`...)
	if in.ExtendedRequestID != nil {
		dst = jsonstr.Append(dst, in.ExtendedRequestID)
	} else {
		dst = jsonstr.Append(dst, in.RequestID)
	}
	dst = append(dst, `,"httpMethod":`...)
	dst = jsonstr.Append(dst, method)
	dst = append(dst, `,"identity":{"accessKey":null,"accountId":null`...)
	if in.APIKey != nil {
		// API Gateway reports the key only on routes that require one.
		dst = append(dst, `,"apiKey":`...)
		dst = jsonstr.Append(dst, in.APIKey)
		dst = append(dst, `,"apiKeyId":`...)
		dst = appendNullable(dst, in.APIKeyID)
	}
	dst = append(dst, `,"caller":null,"cognitoAuthenticationProvider":null,"cognitoAuthenticationType":null,`+
		`"cognitoIdentityId":null,"cognitoIdentityPoolId":null,"principalOrgId":null,"sourceIp":`...)
	dst = jsonstr.Append(dst, in.SourceIP)
	dst = append(dst, `,"user":null,"userAgent":`...)
	dst = jsonstr.Append(dst, req.Header.UserAgent())
	dst = append(dst, `,"userArn":null},"path":`...)
	dst = jsonstr.Append(dst, full)
	dst = append(dst, `,"protocol":`...)
	dst = jsonstr.Append(dst, req.Header.Protocol())
	dst = append(dst, `,"requestId":`...)
	dst = jsonstr.Append(dst, in.RequestID)
	dst = append(dst, `,"requestTime":"`...)
	dst = clftime.Append(dst, when)
	dst = append(dst, `","requestTimeEpoch":`...)
	dst = strconv.AppendInt(dst, when.UnixMilli(), 10)
	dst = append(dst, `,"resourceId":`...)
	dst = jsonstr.Append(dst, resourceID)
	dst = append(dst, `,"resourcePath":`...)
	dst = jsonstr.Append(dst, resource)
	dst = append(dst, `,"stage":`...)
	dst = jsonstr.Append(dst, in.Stage)
	dst = append(dst, `},"pathParameters":`...)
	dst = appendParamsOrNull(dst, in.PathParams)
	dst = append(dst, `,"stageVariables":`...)
	dst = appendParamsOrNull(dst, in.StageVariables)

	body := req.Body()
	binary := false
	dst = append(dst, `,"body":`...)
	if len(body) == 0 {
		dst = append(dst, "null"...)
	} else {
		if httpAPI {
			binary = isBinaryBody(req.Header.ContentType(), body)
		} else {
			binary = in.BinaryTypes.Match(req.Header.ContentType()) || !utf8.Valid(body)
		}
		dst = appendBody(dst, body, binary)
	}
	dst = append(dst, `,"isBase64Encoded":`...)
	dst = strconv.AppendBool(dst, binary)
	return append(dst, '}')
}

// ---------------------------------------------------------------------------
// Pieces shared by the event builders.

// collectHeaders appends the request's headers to hs, in fasthttp's order
// (Host, Content-Length, Content-Type, User-Agent, Cookie, then the rest as
// received). The pairs borrow fasthttp's memory and stay valid until the
// header is modified.
//
// The Cookie lines come from the header block as received when there is
// one (see rawCookies), so events carry them as sent. With asSent, names
// are spelled as the client sent them too (see nameSpeller); events that
// lower-case every name skip that work.
func collectHeaders(hs []kv, h *fasthttp.RequestHeader, asSent bool) []kv {
	raw, rawCookie := rawCookies(h)
	var names nameSpeller
	if asSent {
		names.raw = h.RawHeaders()
	}
	for k, v := range h.All() {
		if rawCookie && len(k) == len(nameCookie) && ascii.EqualFold(k, nameCookie) {
			rawHeaderLines(raw, nameCookie, func(k, v []byte) bool {
				hs = append(hs, kv{k, v})
				return true
			})
			rawCookie = false
			continue
		}
		hs = append(hs, kv{names.spell(k), v})
	}
	return hs
}

// dropV1Headers removes Connection and Content-Length from a 1.0 event's
// headers: API Gateway passes neither to 1.0 integrations (2.0 events
// keep content-length).
func dropV1Headers(hs []kv) []kv {
	n := 0
	for _, h := range hs {
		switch {
		case len(h.k) == 10 && ascii.EqualFold(h.k, "connection"),
			len(h.k) == 14 && ascii.EqualFold(h.k, "content-length"):
			continue
		}
		hs[n] = h
		n++
	}
	return hs[:n]
}

// lowerASCIIString lower-cases ASCII letters only, matching ascii.EqualFold
// (strings.ToLower would also fold other bytes and merge distinct names).
func lowerASCIIString(b []byte) string {
	out := make([]byte, len(b))
	for i, c := range b {
		out[i] = ascii.Lower(c)
	}
	return string(out)
}

// nameGroups links entries that share a name, so repeated headers and query
// parameters are handled in time linear in their number: head[i] is the
// first entry with i's name, next[i] the following one (-1 after the last).
// Entry 0 always heads its group, so writers that visit only heads put a
// comma before every head but entry 0.
type nameGroups struct {
	head, next []int32
}

// linearGroupLimit is the entry count up to which names are matched by
// scanning the groups found so far: allocation-free and faster than hashing
// for real requests. Above it a map keeps crafted requests with thousands
// of names from costing quadratic time.
const linearGroupLimit = headerStack

// groupNames links n entries; same compares two entries' names and key
// returns a canonical name for the map used on large inputs. buf provides
// the memory (3n int32s) when it is big enough.
func groupNames(buf []int32, n int, same func(i, j int) bool, key func(i int) string) nameGroups {
	if cap(buf) < 3*n {
		buf = make([]int32, 3*n)
	}
	buf = buf[:3*n]
	g := nameGroups{head: buf[:n], next: buf[n : 2*n]}
	tail := buf[2*n:] // tail[h]: last entry linked so far into h's group
	var heads map[string]int32
	if n > linearGroupLimit {
		heads = make(map[string]int32, n)
	}
	for i := range n {
		h := int32(i)
		if heads != nil {
			k := key(i)
			if first, ok := heads[k]; ok {
				h = first
			} else {
				heads[k] = h
			}
		} else {
			for j := range i {
				if g.head[j] == int32(j) && same(j, i) {
					h = int32(j)
					break
				}
			}
		}
		g.head[i], g.next[i] = h, -1
		if h != int32(i) {
			g.next[tail[h]] = int32(i)
		}
		tail[h] = int32(i)
	}
	return g
}

// last returns the last entry of the group headed by i.
func (g nameGroups) last(i int) int {
	for g.next[i] >= 0 {
		i = int(g.next[i])
	}
	return i
}

func groupHeaders(buf []int32, hs []kv) nameGroups {
	return groupNames(buf, len(hs),
		func(i, j int) bool { return ascii.EqualFold(hs[i].k, hs[j].k) },
		func(i int) string { return lowerASCIIString(hs[i].k) })
}

func groupQuery(buf []int32, qs []kv) nameGroups {
	return groupNames(buf, len(qs),
		func(i, j int) bool { return decodedEqual(qs[i].k, qs[j].k) },
		func(i int) string { return string(appendQueryDecoded(nil, qs[i].k)) })
}

// appendHeadersJoined writes 2.0 headers: lower-case names, repeated headers
// joined with ",", the Cookie header left out (it becomes "cookies").
func appendHeadersJoined(dst []byte, hs []kv, g nameGroups) []byte {
	dst = append(dst, '{')
	first := true
	for i := range hs {
		if g.head[i] != int32(i) || ascii.EqualFold(hs[i].k, "cookie") {
			continue
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = append(dst, '"')
		dst = appendLowerEscaped(dst, hs[i].k)
		dst = append(dst, '"', ':', '"')
		dst = jsonstr.AppendEscaped(dst, hs[i].v)
		for j := g.next[i]; j >= 0; j = g.next[j] {
			dst = append(dst, ',')
			dst = jsonstr.AppendEscaped(dst, hs[j].v)
		}
		dst = append(dst, '"')
	}
	return append(dst, '}')
}

// appendHeadersMulti writes the "headers" and "multiValueHeaders" members of
// 1.0 and WebSocket events. Names group case-insensitively under the first
// spelling seen; "headers" keeps the last value. Both are null for a request
// without headers (WebSocket events leave them out instead).
func appendHeadersMulti(dst []byte, hs []kv, g nameGroups, lower bool) []byte {
	if len(hs) == 0 {
		return append(dst, `"headers":null,"multiValueHeaders":null`...)
	}
	dst = append(dst, `"headers":{`...)
	for i := range hs {
		if g.head[i] != int32(i) {
			continue
		}
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendName(dst, hs[i].k, lower)
		dst = jsonstr.Append(dst, hs[g.last(i)].v)
	}
	dst = append(dst, `},"multiValueHeaders":{`...)
	for i := range hs {
		if g.head[i] != int32(i) {
			continue
		}
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendName(dst, hs[i].k, lower)
		dst = append(dst, '[')
		dst = jsonstr.Append(dst, hs[i].v)
		for j := g.next[i]; j >= 0; j = g.next[j] {
			dst = append(dst, ',')
			dst = jsonstr.Append(dst, hs[j].v)
		}
		dst = append(dst, ']')
	}
	return append(dst, '}')
}

// appendName writes a quoted object key followed by ':'.
func appendName(dst, name []byte, lower bool) []byte {
	dst = append(dst, '"')
	if lower {
		dst = appendLowerEscaped(dst, name)
	} else {
		dst = jsonstr.AppendEscaped(dst, name)
	}
	return append(dst, '"', ':')
}

// appendCookies writes 2.0's "cookies" member (with its leading comma), one
// string per request cookie as the client sent it, or nothing when there
// are none.
func appendCookies(dst []byte, h *fasthttp.RequestHeader) []byte {
	n := 0
	if raw, ok := rawCookies(h); ok {
		rawHeaderLines(raw, nameCookie, func(_, v []byte) bool {
			eachCookie(v, func(c []byte) {
				dst = appendCookie(dst, n, c)
				n++
			})
			return true
		})
	} else {
		// A request built in memory: fasthttp's pairs are all there is.
		for k, v := range h.Cookies() {
			dst = append(openCookie(dst, n), '"')
			if len(k) > 0 {
				dst = jsonstr.AppendEscaped(dst, k)
				dst = append(dst, '=')
			}
			dst = jsonstr.AppendEscaped(dst, v)
			dst = append(dst, '"')
			n++
		}
	}
	if n > 0 {
		dst = append(dst, ']')
	}
	return dst
}

// appendCookie writes the n-th cookie string c.
func appendCookie(dst []byte, n int, c []byte) []byte {
	return jsonstr.Append(openCookie(dst, n), c)
}

// openCookie opens the array before the first cookie, else separates.
func openCookie(dst []byte, n int) []byte {
	if n == 0 {
		return append(dst, `,"cookies":[`...)
	}
	return append(dst, ',')
}

// splitQuery appends the raw name/value pairs of a query string to qs.
// Empty segments and pairs without a name are dropped.
func splitQuery(qs []kv, raw []byte, semicolon bool) []kv {
	seps := "&"
	if semicolon {
		seps = "&;"
	}
	for len(raw) > 0 {
		seg := raw
		if i := bytes.IndexAny(raw, seps); i >= 0 {
			seg, raw = raw[:i], raw[i+1:]
		} else {
			raw = nil
		}
		if name, value, _ := bytes.Cut(seg, []byte{'='}); len(name) > 0 {
			qs = append(qs, kv{name, value})
		}
	}
	return qs
}

// decodedByte returns the byte that s[i:] starts with after query decoding
// ('+' is a space, %XX a byte; a malformed escape stays literal) and the
// offset of the next one.
func decodedByte(s []byte, i int) (byte, int) {
	switch c := s[i]; c {
	case '+':
		return ' ', i + 1
	case '%':
		if i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			return unhex(s[i+1])<<4 | unhex(s[i+2]), i + 3
		}
	}
	return s[i], i + 1
}

// decodedEqual compares two raw query components by their decoded bytes
// without materialising them ("a+b" equals "a%20b").
func decodedEqual(a, b []byte) bool {
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		var x, y byte
		x, i = decodedByte(a, i)
		y, j = decodedByte(b, j)
		if x != y {
			return false
		}
	}
	return i == len(a) && j == len(b)
}

// appendDecodedEscaped appends the query-decoded, JSON-escaped form of raw.
// It decodes straight into dst and only re-escapes (through a copy) in the
// rare case the decoded bytes need escaping.
func appendDecodedEscaped(dst, raw []byte) []byte {
	mark := len(dst)
	dst = appendQueryDecoded(dst, raw)
	if jsonstr.NeedsEscape(dst[mark:]) {
		var buf [256]byte
		tmp := append(buf[:0], dst[mark:]...)
		dst = jsonstr.AppendEscaped(dst[:mark], tmp)
	}
	return dst
}

// appendQueryDecoded appends the query-decoded bytes of raw.
func appendQueryDecoded(dst, raw []byte) []byte {
	for i := 0; i < len(raw); {
		var c byte
		c, i = decodedByte(raw, i)
		dst = append(dst, c)
	}
	return dst
}

func appendDecodedString(dst, raw []byte) []byte {
	dst = append(dst, '"')
	dst = appendDecodedEscaped(dst, raw)
	return append(dst, '"')
}

// appendQueryJoined writes 2.0's queryStringParameters: decoded, repeated
// names joined with ",".
func appendQueryJoined(dst []byte, qs []kv, g nameGroups) []byte {
	dst = append(dst, '{')
	for i := range qs {
		if g.head[i] != int32(i) {
			continue
		}
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendDecodedString(dst, qs[i].k)
		dst = append(dst, ':', '"')
		dst = appendDecodedEscaped(dst, qs[i].v)
		for j := g.next[i]; j >= 0; j = g.next[j] {
			dst = append(dst, ',')
			dst = appendDecodedEscaped(dst, qs[j].v)
		}
		dst = append(dst, '"')
	}
	return append(dst, '}')
}

// appendQueryMulti writes the 1.0 pair queryStringParameters (last value
// wins) and multiValueQueryStringParameters (all values in order). Without
// parameters both are null (WebSocket events leave them out instead).
func appendQueryMulti(dst []byte, qs []kv, g nameGroups) []byte {
	if len(qs) == 0 {
		return append(dst, `"queryStringParameters":null,"multiValueQueryStringParameters":null`...)
	}
	dst = append(dst, `"queryStringParameters":{`...)
	for i := range qs {
		if g.head[i] != int32(i) {
			continue
		}
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendDecodedString(dst, qs[i].k)
		dst = append(dst, ':')
		dst = appendDecodedString(dst, qs[g.last(i)].v)
	}
	dst = append(dst, `},"multiValueQueryStringParameters":{`...)
	for i := range qs {
		if g.head[i] != int32(i) {
			continue
		}
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendDecodedString(dst, qs[i].k)
		dst = append(dst, ':', '[')
		dst = appendDecodedString(dst, qs[i].v)
		for j := g.next[i]; j >= 0; j = g.next[j] {
			dst = append(dst, ',')
			dst = appendDecodedString(dst, qs[j].v)
		}
		dst = append(dst, ']')
	}
	return append(dst, '}')
}

func appendParams(dst []byte, ps []Param) []byte {
	dst = append(dst, '{')
	for i := range ps {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = jsonstr.Append(dst, ps[i].Name)
		dst = append(dst, ':')
		dst = jsonstr.Append(dst, ps[i].Value)
	}
	return append(dst, '}')
}

func appendParamsOrNull(dst []byte, ps []Param) []byte {
	if len(ps) == 0 {
		return append(dst, "null"...)
	}
	return appendParams(dst, ps)
}

func appendNullable(dst, v []byte) []byte {
	if v == nil {
		return append(dst, "null"...)
	}
	return jsonstr.Append(dst, v)
}

// appendBody writes the body as a JSON string: base64 when binary, text
// otherwise.
func appendBody(dst, body []byte, binary bool) []byte {
	if !binary {
		return jsonstr.Append(dst, body)
	}
	dst = append(dst, '"')
	dst = base64.StdEncoding.AppendEncode(dst, body)
	return append(dst, '"')
}

// isBinaryBody decides whether an HTTP API request body travels
// base64-encoded. HTTP APIs send a body as text only when its media type is
// text/*, application/json, application/xml or application/javascript;
// every other type, form posts and a missing Content-Type included, arrives
// base64, as API Gateway does. (REST APIs decide by their binary media
// types.) Either way bytes that are not valid UTF-8 go as base64, since a
// JSON string cannot carry them faithfully.
func isBinaryBody(contentType, body []byte) bool {
	return !isHTTPAPITextType(contentType) || !utf8.Valid(body)
}

// mediaType is ct without parameters and surrounding blanks.
func mediaType(ct []byte) []byte {
	mt, _, _ := bytes.Cut(ct, []byte{';'})
	return bytes.Trim(mt, " \t")
}

// isHTTPAPITextType reports whether an HTTP API passes a body of type ct
// as text.
func isHTTPAPITextType(ct []byte) bool {
	mt := mediaType(ct)
	return len(mt) > 5 && ascii.EqualFold(mt[:5], "text/") ||
		ascii.EqualFold(mt, "application/json") ||
		ascii.EqualFold(mt, "application/xml") ||
		ascii.EqualFold(mt, "application/javascript")
}

// rawPath is the path as the client sent it, base path and stage included.
func rawPath(in *EventInput) []byte {
	if in.RawPath != nil {
		return in.RawPath
	}
	uri := in.Req.URI()
	if p := uri.PathOriginal(); len(p) > 0 {
		return p
	}
	return uri.Path()
}

// routePath is the path part of a route key ("GET /pets" → "/pets"); keys
// without a method ("$default") are returned whole.
func routePath(routeKey string) string {
	for i := 0; i < len(routeKey); i++ {
		if routeKey[i] == ' ' {
			return routeKey[i+1:]
		}
	}
	return routeKey
}

// domainName is the Host the client used, port included so handlers that
// build callback URLs from it reach this gateway.
func domainName(in *EventInput) []byte {
	if in.DomainName != nil {
		return in.DomainName
	}
	if h := in.Req.Header.Host(); len(h) > 0 {
		return h
	}
	return in.Req.URI().Host()
}

// domainPrefix is the first DNS label of the host (no port).
func domainPrefix(host []byte) []byte {
	if len(host) > 0 && host[0] == '[' { // IPv6 literal
		for i, c := range host {
			if c == ']' {
				return host[:i+1]
			}
		}
		return host
	}
	for i, c := range host {
		if c == '.' || c == ':' {
			return host[:i]
		}
	}
	return host
}

// eventTime is t in UTC, or now when the caller left t zero.
func eventTime(t time.Time) time.Time {
	if t.IsZero() {
		t = time.Now()
	}
	return t.UTC()
}
