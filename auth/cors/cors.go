// Package cors implements an HTTP API's CORS configuration (API Gateway
// corsConfiguration): the gateway answers preflight requests itself and
// sets the configured CORS headers on every other response, overriding
// whatever the backend sent.
//
// A Policy is compiled once from Options; every header value it can send is
// precomputed as bytes. Hot path: Apply runs on every response of an API
// with CORS and Preflight on every OPTIONS; neither allocates.
package cors

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/frontdeskgw/frontdesk/internal/ascii"
	"github.com/frontdeskgw/frontdesk/internal/headers"
	"github.com/valyala/fasthttp"
)

// Options is an API's CORS configuration, as the gateway read it.
type Options struct {
	// AllowOrigins lists the origins allowed to call: exact origins
	// ("https://app.example.com"), "*" for any, "https://*" or "http://*"
	// for any origin of that scheme, and "https://*.example.com" for any
	// subdomain (one label or more) of example.com.
	AllowOrigins []string
	// AllowMethods lists the methods a preflight may ask for; "*" for any.
	AllowMethods []string
	// AllowHeaders lists the request headers a preflight may ask for;
	// "*" echoes whatever the preflight asked for.
	AllowHeaders []string
	// ExposeHeaders lists the response headers scripts may read.
	ExposeHeaders []string
	// MaxAge is how long, in seconds, browsers may cache a preflight
	// answer: 0 sends no header (browser default), -1 sends 0 (no caching),
	// at most 86400.
	MaxAge int
	// AllowCredentials lets browsers send cookies and read the answer; it
	// cannot be combined with the "*" origin.
	AllowCredentials bool
}

// originPattern is a compiled wildcard origin: the scheme prefix
// ("https://") and, for subdomain patterns, the suffix after the "*"
// (".example.com" or ".example.com:8443"). An empty suffix means any host.
type originPattern struct {
	scheme []byte
	suffix []byte
}

// Policy is a compiled CORS configuration; safe for concurrent use.
type Policy struct {
	anyOrigin   bool
	exact       [][]byte // lower case
	patterns    []originPattern
	credentials bool

	anyMethod bool
	methods   [][]byte

	anyHeader bool

	allowMethods  []byte // joined list, sent when anyMethod is false
	allowHeaders  []byte // joined list, sent when anyHeader is false
	exposeHeaders []byte
	maxAge        []byte
}

// Indexes into hdrKey: every Access-Control-* response header a backend
// could send (Fetch standard plus Private Network Access), then Vary.
const (
	kAllowOrigin = iota
	kAllowCredentials
	kAllowMethods
	kAllowHeaders
	kExposeHeaders
	kMaxAge
	kAllowPrivateNetwork
	kVary
	numKeys
	numCORSKeys = kVary
)

// Header names already in canonical form and constant values, so setting
// a header skips fasthttp's key normalisation and converts nothing.
var (
	hdrKey = [numKeys][]byte{
		kAllowOrigin:         []byte("Access-Control-Allow-Origin"),
		kAllowCredentials:    []byte("Access-Control-Allow-Credentials"),
		kAllowMethods:        []byte("Access-Control-Allow-Methods"),
		kAllowHeaders:        []byte("Access-Control-Allow-Headers"),
		kExposeHeaders:       []byte("Access-Control-Expose-Headers"),
		kMaxAge:              []byte("Access-Control-Max-Age"),
		kAllowPrivateNetwork: []byte("Access-Control-Allow-Private-Network"),
		kVary:                []byte(hVary),
	}
	valStar, valTrue = []byte("*"), []byte("true")
	valOrigin        = []byte(hOrigin)
	// A preflight answer depends on all three.
	valPreflightVary = []byte("Origin, Access-Control-Request-Method, Access-Control-Request-Headers")
)

// Request header names and the Vary header.
const (
	hOrigin         = "Origin"
	hRequestMethod  = "Access-Control-Request-Method"
	hRequestHeaders = "Access-Control-Request-Headers"
	hVary           = "Vary"
)

// ErrCredentialsWithAnyOrigin is returned by Compile for the combination
// browsers refuse.
var ErrCredentialsWithAnyOrigin = errors.New(`cors: allow_credentials cannot be combined with allow_origins "*": browsers refuse a wildcard origin on credentialed requests; list the origins instead`)

// Compile checks o and precomputes the policy.
func Compile(o Options) (*Policy, error) {
	p := &Policy{credentials: o.AllowCredentials}
	for _, raw := range o.AllowOrigins {
		if err := p.addOrigin(raw); err != nil {
			return nil, err
		}
	}
	if p.anyOrigin && p.credentials {
		return nil, ErrCredentialsWithAnyOrigin
	}

	var methods []string
	for _, m := range o.AllowMethods {
		m = strings.ToUpper(strings.TrimSpace(m))
		switch {
		case m == "*":
			p.anyMethod = true
		case m == "" || strings.ContainsAny(m, " ,\t"):
			return nil, fmt.Errorf("cors: allow_methods entry %q is not a method", m)
		default:
			methods = append(methods, m)
			p.methods = append(p.methods, []byte(m))
		}
	}
	p.allowMethods = []byte(strings.Join(methods, ","))

	headers, anyHeader, err := headerList("allow_headers", o.AllowHeaders)
	if err != nil {
		return nil, err
	}
	p.anyHeader = anyHeader
	p.allowHeaders = []byte(strings.Join(headers, ","))

	expose, anyExpose, err := headerList("expose_headers", o.ExposeHeaders)
	if err != nil {
		return nil, err
	}
	if anyExpose {
		// Browsers take "*" literally on credentialed requests; without
		// credentials it exposes everything, which is what was asked.
		expose = []string{"*"}
	}
	p.exposeHeaders = []byte(strings.Join(expose, ","))

	switch {
	case o.MaxAge < -1 || o.MaxAge > 86400:
		return nil, fmt.Errorf("cors: max_age %d out of range -1..86400", o.MaxAge)
	case o.MaxAge == -1:
		p.maxAge = []byte("0")
	case o.MaxAge > 0:
		p.maxAge = strconv.AppendInt(nil, int64(o.MaxAge), 10)
	}
	return p, nil
}

func (p *Policy) addOrigin(raw string) error {
	o := strings.ToLower(strings.TrimSpace(raw))
	if o == "*" {
		p.anyOrigin = true
		return nil
	}
	if o == "null" {
		// Sandboxed documents and file: pages send "Origin: null"; allowing
		// it is the operator's explicit choice.
		p.exact = append(p.exact, []byte(o))
		return nil
	}
	scheme, host, ok := strings.Cut(o, "://")
	if !ok || scheme == "" || host == "" {
		return fmt.Errorf("cors: allow_origins entry %q is not scheme://host[:port]", raw)
	}
	if strings.ContainsAny(host, "/?#@ ") {
		return fmt.Errorf("cors: allow_origins entry %q has a path or other non-origin part (browsers never send one, so it could not match)", raw)
	}
	prefix := []byte(scheme + "://")
	if !strings.Contains(host, "*") {
		p.exact = append(p.exact, []byte(o))
		return nil
	}
	if host == "*" {
		p.patterns = append(p.patterns, originPattern{scheme: prefix})
		return nil
	}
	suffix, ok := strings.CutPrefix(host, "*.")
	if !ok || suffix == "" || strings.Contains(suffix, "*") || strings.HasPrefix(suffix, ".") {
		return fmt.Errorf("cors: allow_origins entry %q: a wildcard may only stand for whole leading labels, as in https://*.example.com", raw)
	}
	p.patterns = append(p.patterns, originPattern{scheme: prefix, suffix: []byte("." + suffix)})
	return nil
}

// headerList trims and validates header names; "*" sets any.
func headerList(field string, in []string) (names []string, wild bool, err error) {
	for _, h := range in {
		h = strings.TrimSpace(h)
		switch {
		case h == "*":
			wild = true
		case h == "" || strings.ContainsAny(h, " ,\t:"):
			return nil, false, fmt.Errorf("cors: %s entry %q is not a header name", field, h)
		default:
			names = append(names, h)
		}
	}
	return names, wild, nil
}

// allowed reports whether origin may call.
func (p *Policy) allowed(origin []byte) bool {
	if p.anyOrigin {
		return true
	}
	for _, e := range p.exact {
		if ascii.EqualFold(origin, e) {
			return true
		}
	}
	for _, pt := range p.patterns {
		if pt.match(origin) {
			return true
		}
	}
	return false
}

// setAllowOrigin sends "*" when every origin is allowed (Compile refused
// credentials then, so browsers honour it) and echoes origin otherwise.
func (p *Policy) setAllowOrigin(h *fasthttp.ResponseHeader, origin []byte) {
	if p.anyOrigin {
		h.SetCanonical(hdrKey[kAllowOrigin], valStar)
		return
	}
	h.SetCanonical(hdrKey[kAllowOrigin], origin)
}

func (pt originPattern) match(origin []byte) bool {
	if len(origin) <= len(pt.scheme) || !ascii.EqualFold(origin[:len(pt.scheme)], pt.scheme) {
		return false
	}
	host := origin[len(pt.scheme):]
	if len(pt.suffix) == 0 {
		return validHostPort(host)
	}
	if len(host) <= len(pt.suffix) || !ascii.EqualFold(host[len(host)-len(pt.suffix):], pt.suffix) {
		return false
	}
	return validLabels(host[:len(host)-len(pt.suffix)])
}

// validLabels reports whether b is one or more DNS labels: what a "*." in
// a pattern may stand for. Rejecting anything else keeps a forged Origin
// such as "https://evil.com/.example.com" from matching.
func validLabels(b []byte) bool {
	if len(b) == 0 || b[0] == '.' || b[len(b)-1] == '.' {
		return false
	}
	for i, c := range b {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-':
		case c == '.' && b[i-1] != '.':
		default:
			return false
		}
	}
	return true
}

// validHostPort accepts what may follow "scheme://" in an origin.
func validHostPort(b []byte) bool {
	for _, c := range b {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '-', c == '.', c == ':', c == '[', c == ']':
		default:
			return false
		}
	}
	return len(b) > 0
}

// methodAllowed also accepts the CORS-safelisted methods: browsers never
// need their permission, so refusing them would only break preflights that
// are about a header.
func (p *Policy) methodAllowed(m []byte) bool {
	if p.anyMethod {
		return true
	}
	switch string(m) {
	case fasthttp.MethodGet, fasthttp.MethodHead, fasthttp.MethodPost:
		return true
	}
	for _, allowed := range p.methods {
		if ascii.EqualFold(m, allowed) {
			return true
		}
	}
	return false
}

// Preflight answers req when it is a CORS preflight (OPTIONS with Origin
// and Access-Control-Request-Method) and reports whether it did; a false
// return leaves resp untouched for normal routing.
//
// The answer is always 204 with no body. An allowed origin and method get
// the Access-Control-* headers; anything else gets the bare 204, which the
// browser reads as a refusal, so a probe learns nothing about the policy.
// The answer is complete: it must not be passed to Apply.
func (p *Policy) Preflight(req *fasthttp.Request, resp *fasthttp.Response) bool {
	if !req.Header.IsOptions() {
		return false
	}
	origin := req.Header.Peek(hOrigin)
	method := req.Header.Peek(hRequestMethod)
	if len(origin) == 0 || len(method) == 0 {
		return false
	}
	resp.SetStatusCode(fasthttp.StatusNoContent)
	resp.ResetBody()
	h := &resp.Header
	h.SetCanonical(hdrKey[kVary], valPreflightVary)

	if !p.allowed(origin) || !p.methodAllowed(method) {
		return true
	}
	p.setAllowOrigin(h, origin)
	if p.credentials {
		h.SetCanonical(hdrKey[kAllowCredentials], valTrue)
	}
	if p.anyMethod {
		// Echo rather than "*": browsers take "*" literally on credentialed
		// requests, and the echo is right either way.
		h.SetCanonical(hdrKey[kAllowMethods], method)
	} else if len(p.allowMethods) > 0 {
		h.SetCanonical(hdrKey[kAllowMethods], p.allowMethods)
	}
	if p.anyHeader {
		if asked := req.Header.Peek(hRequestHeaders); len(asked) > 0 {
			h.SetCanonical(hdrKey[kAllowHeaders], asked)
		}
	} else if len(p.allowHeaders) > 0 {
		h.SetCanonical(hdrKey[kAllowHeaders], p.allowHeaders)
	}
	if len(p.maxAge) > 0 {
		h.SetCanonical(hdrKey[kMaxAge], p.maxAge)
	}
	return true
}

// Apply sets the CORS headers on an actual (non-preflight) response,
// whoever produced it: backend, Lambda or the gateway's own 4xx/5xx. Any
// Access-Control-* header already on resp is removed first, as API Gateway
// ignores backend CORS headers when the API has a CORS configuration.
func (p *Policy) Apply(req *fasthttp.Request, resp *fasthttp.Response) {
	h := &resp.Header
	p.stripCORS(h)
	if !p.anyOrigin {
		// The answer depends on Origin, so shared caches must key on it,
		// including for requests without one.
		p.addVaryOrigin(h)
	}
	origin := req.Header.Peek(hOrigin)
	if len(origin) == 0 || !p.allowed(origin) {
		return
	}
	p.setAllowOrigin(h, origin)
	if p.credentials {
		h.SetCanonical(hdrKey[kAllowCredentials], valTrue)
	}
	if len(p.exposeHeaders) > 0 {
		h.SetCanonical(hdrKey[kExposeHeaders], p.exposeHeaders)
	}
}

// stripCORS removes the Access-Control-* headers already on h. One pass
// finds which are present, so the usual response without any costs no
// deletion (each of which normalises its key and scans every header).
func (p *Policy) stripCORS(h *fasthttp.ResponseHeader) {
	const prefix = "access-control-"
	var present [numCORSKeys]bool
	found := false
	for k := range h.All() {
		if len(k) < len(prefix) || !ascii.EqualFold(k[:len(prefix)], prefix) {
			continue
		}
		for i := range numCORSKeys {
			if ascii.EqualFold(k, hdrKey[i]) {
				present[i], found = true, true
			}
		}
	}
	if !found {
		return
	}
	for i, ok := range present {
		if ok {
			headers.DelFold(h, hdrKey[i])
		}
	}
}

// addVaryOrigin adds Origin to Vary unless a Vary line already names it
// (or "*"); a second Vary line is equivalent to a comma-joined one and
// avoids building a new value.
func (p *Policy) addVaryOrigin(h *fasthttp.ResponseHeader) {
	lines := h.PeekAll(hVary) // reuses the header's own buffer
	if len(lines) == 0 {
		h.SetCanonical(hdrKey[kVary], valOrigin)
		return
	}
	for _, line := range lines {
		if hasToken(line, hOrigin) || hasToken(line, "*") {
			return
		}
	}
	h.AddBytesKV(hdrKey[kVary], valOrigin)
}

// hasToken reports whether the comma-separated list contains tok,
// ignoring ASCII case and spaces.
func hasToken(list []byte, tok string) bool {
	for len(list) > 0 {
		item := list
		if i := bytes.IndexByte(list, ','); i >= 0 {
			item, list = list[:i], list[i+1:]
		} else {
			list = nil
		}
		if ascii.EqualFold(bytes.TrimSpace(item), tok) {
			return true
		}
	}
	return false
}
