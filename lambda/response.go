package lambda

import (
	"encoding/base64"
	"fmt"
	"hash/maphash"

	"github.com/frontdeskgw/frontdesk/internal/ascii"
)

// Limits on a function result. Results beyond them are malformed.
const (
	// MaxResultBytes is AWS Lambda's limit on a synchronous invocation's
	// result ("6 MB": its error says "Response payload size exceeded
	// maximum allowed payload size (6291556 bytes)"). AWS never delivers a
	// larger one; emulators may, and frontdesk answers it as API Gateway
	// answers the function error AWS returns instead.
	MaxResultBytes = 6291556
	// MaxHeaderValues bounds the header values one result may give:
	// headers entries, multiValueHeaders elements and cookies together,
	// repeats included and nulls not, so a result cannot make the gateway
	// store and write an unbounded number of header lines.
	MaxHeaderValues = 1000
)

// Header is one response header line.
type Header struct {
	Name, Value []byte
}

// Response is a function result translated into the HTTP response API
// Gateway would send. It is meant to be reused: parsing into it again keeps
// its buffers, so steady-state parsing does not allocate. Headers and Body
// point into the Response's own memory (never into the payload) and stay
// valid until the next parse into it.
type Response struct {
	Status int
	// Headers in the order they should be written. Names repeat when a
	// header has several values (each set-cookie, each multi-value entry);
	// write them with Add, not Set.
	Headers []Header
	Body    []byte

	arena   []byte // header names and values
	spans   []headerSpan
	scratch []byte // unquoted body text before base64 decoding

	// Repeated and merged names are found through hash indexes, so
	// parsing stays linear in the number of headers.
	byName spanIndex // spans by exact name (multiValueHeaders) or key (headers)
	byFold spanIndex // 1.0 multiValueHeaders spans by case-folded name
	byPair spanIndex // the same by case-folded name and value
	key    []byte    // the bytes being hashed
	seed   maphash.Seed
	seeded bool
}

type span struct{ off, n int }

type headerSpan struct {
	name, value span
	// key is the headers key as the function wrote it; 1.0 merging may
	// give name another spelling.
	key span
	// fromMulti marks 1.0 multiValueHeaders entries, which headers entries
	// merge into.
	fromMulti bool
	// dead marks a value a later repeat of its key replaced.
	dead bool
}

// Reset empties r, keeping its memory for the next parse.
func (r *Response) Reset() {
	r.Status = 0
	r.Headers = r.Headers[:0]
	r.Body = r.Body[:0]
	r.arena = r.arena[:0]
	r.spans = r.spans[:0]
	r.scratch = r.scratch[:0]
	if !r.seeded {
		// Per Response, so a function cannot pick names that collide.
		r.seed, r.seeded = maphash.MakeSeed(), true
	}
}

// checkSize refuses a result over MaxResultBytes.
func checkSize(payload []byte) error {
	if len(payload) > MaxResultBytes {
		return fmt.Errorf("%w: result of %d bytes is over the %d-byte limit", ErrMalformedResponse, len(payload), MaxResultBytes)
	}
	return nil
}

// ParseResponseV2 reads a payload format 2.0 (HTTP API) function result into
// out. A JSON value without a top-level "statusCode" key is itself the body
// (a JSON string contributes its text) with status 200 and content-type
// application/json. Otherwise statusCode, headers, cookies (one set-cookie
// each), body and isBase64Encoded are read and other keys are ignored.
// Results over MaxResultBytes or MaxHeaderValues are refused. Errors wrap
// ErrMalformedResponse; the integration maps them to the client status.
func ParseResponseV2(payload []byte, out *Response) error {
	out.Reset()
	if err := checkSize(payload); err != nil {
		return err
	}
	doc, err := validJSON(payload)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrMalformedResponse, err)
	}
	if doc[0] != '{' || !hasMember(doc, "statusCode") {
		out.Status = 200
		out.addLiteral("content-type", "application/json")
		if doc[0] == '"' {
			out.Body = appendUnquoted(out.Body, doc)
		} else {
			out.Body = append(out.Body, doc...)
		}
		out.finish()
		return nil
	}

	var status, headers, cookies, body, b64 []byte
	it := newObjectIter(doc)
	for key, val, ok := it.next(); ok; key, val, ok = it.next() {
		var buf [32]byte
		switch string(appendUnquoted(buf[:0], key)) {
		case "statusCode":
			status = val
		case "headers":
			headers = val
		case "cookies":
			cookies = val
		case "body":
			body = val
		case "isBase64Encoded":
			b64 = val
		}
		// Other keys, multiValueHeaders included, are not part of the
		// documented 2.0 response and are ignored.
	}
	if out.Status, err = parseStatus(status); err != nil {
		return err
	}
	if err := out.addHeaders(headers, false); err != nil {
		return err
	}
	if err := out.addCookies(cookies); err != nil {
		return err
	}
	if err := out.setBody(body, b64, true); err != nil {
		return err
	}
	out.defaultContentType("content-type")
	out.finish()
	return nil
}

// ParseResponseV1 reads a payload format 1.0 (REST, HTTP API 1.0) function
// result into out, enforcing API Gateway's rules: the result must be a JSON
// object with only statusCode, headers, multiValueHeaders, body and
// isBase64Encoded; statusCode may be a number or a numeric string and
// defaults to 200; header values may be scalars of any type;
// multiValueHeaders values must be arrays and come first when a name is in
// both maps; Content-Type defaults to application/json. Results over
// MaxResultBytes or MaxHeaderValues are refused. Errors wrap
// ErrMalformedResponse.
func ParseResponseV1(payload []byte, out *Response) error {
	return parseV1(payload, out, nil)
}

// RESTBinary is what decides whether a REST API decodes a result's base64
// body: the API's binary media types and the request's Accept header.
type RESTBinary struct {
	Types  *BinaryTypes
	Accept []byte
}

// ParseResponseREST reads a REST API's function result as ParseResponseV1
// does, except that a body with isBase64Encoded true is decoded only when
// the request's first Accept type or the result's Content-Type is one of
// the API's binary media types; otherwise the base64 text itself is the
// body, as API Gateway sends it (a missing binary_media_types setting
// shows locally as it would once deployed).
func ParseResponseREST(payload []byte, out *Response, bin RESTBinary) error {
	return parseV1(payload, out, &bin)
}

// parseV1 is ParseResponseV1; with rest set, REST's binary rule decides
// whether a base64 body is decoded.
func parseV1(payload []byte, out *Response, rest *RESTBinary) error {
	out.Reset()
	if err := checkSize(payload); err != nil {
		return err
	}
	doc, err := validJSON(payload)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrMalformedResponse, err)
	}
	if doc[0] != '{' {
		return fmt.Errorf("%w: result is not a JSON object", ErrMalformedResponse)
	}

	var status, headers, multi, body, b64 []byte
	members := 0
	it := newObjectIter(doc)
	for key, val, ok := it.next(); ok; key, val, ok = it.next() {
		members++
		var buf [32]byte
		switch string(appendUnquoted(buf[:0], key)) {
		case "statusCode":
			status = val
		case "headers":
			headers = val
		case "multiValueHeaders":
			multi = val
		case "body":
			body = val
		case "isBase64Encoded":
			b64 = val
		default:
			return fmt.Errorf("%w: unexpected key %s", ErrMalformedResponse, key)
		}
	}
	if rest != nil && members == 0 {
		// REST answers an empty result object 502, as it does null;
		// one with only headers is a 200.
		return fmt.Errorf("%w: result is an empty object", ErrMalformedResponse)
	}
	if out.Status, err = parseStatus(status); err != nil {
		return err
	}
	if err := out.addMultiHeaders(multi); err != nil {
		return err
	}
	if err := out.addHeaders(headers, true); err != nil {
		return err
	}
	decode := rest == nil || rest.Types.Match(rest.Accept) || rest.Types.Match(out.contentType())
	if err := out.setBody(body, b64, decode); err != nil {
		return err
	}
	out.defaultContentType("Content-Type")
	out.finish()
	return nil
}

// hasMember reports whether the validated object has the key name.
func hasMember(obj []byte, name string) bool {
	it := newObjectIter(obj)
	for key, _, ok := it.next(); ok; key, _, ok = it.next() {
		if keyIs(key, name) {
			return true
		}
	}
	return false
}

func isNull(raw []byte) bool { return raw == nil || raw[0] == 'n' }

func isComposite(raw []byte) bool { return raw[0] == '{' || raw[0] == '[' }

// parseStatus reads statusCode: absent or null means 200; a JSON integer or
// a string of digits is accepted; the result must be 100–599.
func parseStatus(raw []byte) (int, error) {
	if isNull(raw) {
		return 200, nil
	}
	digits := raw
	if raw[0] == '"' {
		var buf [8]byte
		digits = appendUnquoted(buf[:0], raw)
	}
	for _, c := range digits {
		if !isDigit(c) {
			return 0, fmt.Errorf("%w: statusCode %s is not an integer", ErrMalformedResponse, raw)
		}
	}
	if len(digits) == 0 {
		return 0, fmt.Errorf("%w: statusCode %s is not an integer", ErrMalformedResponse, raw)
	}
	n := 0
	if len(digits) == 3 {
		n = int(digits[0]-'0')*100 + int(digits[1]-'0')*10 + int(digits[2]-'0')
	}
	if n < 100 || n > 599 {
		return 0, fmt.Errorf("%w: statusCode %s out of range", ErrMalformedResponse, raw)
	}
	return n, nil
}

// parseBool reads isBase64Encoded: a boolean, null, or the strings "true"
// and "false" (API Gateway coerces them).
func parseBool(raw []byte) (bool, error) {
	switch string(raw) {
	case "", "null", "false", `"false"`:
		return false, nil
	case "true", `"true"`:
		return true, nil
	}
	return false, fmt.Errorf("%w: isBase64Encoded %s is not a boolean", ErrMalformedResponse, raw)
}

// appendScalar appends the text of a scalar JSON value the way API Gateway
// stringifies header values: strings unquoted, numbers and booleans as
// written. The caller has excluded null and composites.
func appendScalar(dst, raw []byte) []byte {
	if raw[0] == '"' {
		return appendUnquoted(dst, raw)
	}
	return append(dst, raw...)
}

// addHeaders adds the members of a headers object. With merge (1.0), a
// name already given by multiValueHeaders takes that entry's spelling and is
// dropped when its value is already there.
func (r *Response) addHeaders(raw []byte, merge bool) error {
	if isNull(raw) {
		return nil
	}
	if raw[0] != '{' {
		return fmt.Errorf("%w: headers is not an object", ErrMalformedResponse)
	}
	r.byName.reset(indexHint(raw))
	merge = merge && r.indexMulti()
	it := newObjectIter(raw)
	for key, val, ok := it.next(); ok; key, val, ok = it.next() {
		if isNull(val) {
			continue
		}
		if isComposite(val) {
			return fmt.Errorf("%w: header %s has a non-scalar value", ErrMalformedResponse, key)
		}
		mark := len(r.arena)
		name, err := r.appendName(key)
		if err != nil {
			return err
		}
		value, err := r.appendValue(val)
		if err != nil {
			return err
		}
		// A key repeated inside the object: the later one wins, as with
		// any JSON map.
		prev, at := r.byName.find(r.hashOf(name), func(n int) bool { return string(r.get(r.spans[n].key)) == string(r.get(name)) })
		if prev >= 0 {
			r.spans[prev].dead = true
		}
		spelled := name
		if merge {
			if r.inMulti(name, value) {
				r.arena = r.arena[:mark]
				continue
			}
			if m := r.byFold.get(r.foldHash(name), func(n int) bool { return r.sameFold(n, name) }); m >= 0 {
				spelled = r.spans[m].name
			}
		}
		if err := r.push(headerSpan{name: spelled, value: value, key: name}); err != nil {
			return err
		}
		r.byName.put(at, len(r.spans)-1)
	}
	return nil
}

// addMultiHeaders adds 1.0 multiValueHeaders: every value an array element.
func (r *Response) addMultiHeaders(raw []byte) error {
	if isNull(raw) {
		return nil
	}
	if raw[0] != '{' {
		return fmt.Errorf("%w: multiValueHeaders is not an object", ErrMalformedResponse)
	}
	r.byName.reset(indexHint(raw))
	it := newObjectIter(raw)
	for key, val, ok := it.next(); ok; key, val, ok = it.next() {
		if isNull(val) {
			continue
		}
		if val[0] != '[' {
			return fmt.Errorf("%w: multiValueHeaders %s is not an array", ErrMalformedResponse, key)
		}
		name, err := r.appendName(key)
		if err != nil {
			return err
		}
		// A key repeated inside the object replaces all earlier values.
		prev, at := r.byName.find(r.hashOf(name), func(n int) bool { return string(r.get(r.spans[n].name)) == string(r.get(name)) })
		if prev >= 0 {
			// An entry's values are consecutive spans sharing its name.
			for i := prev; i < len(r.spans) && r.spans[i].name == r.spans[prev].name; i++ {
				r.spans[i].dead = true
			}
		}
		first := len(r.spans)
		elems := newArrayIter(val)
		for elem, ok := elems.next(); ok; elem, ok = elems.next() {
			if isNull(elem) {
				continue
			}
			if isComposite(elem) {
				return fmt.Errorf("%w: multiValueHeaders %s has a non-scalar value", ErrMalformedResponse, key)
			}
			value, err := r.appendValue(elem)
			if err != nil {
				return err
			}
			if err := r.push(headerSpan{name: name, value: value, fromMulti: true}); err != nil {
				return err
			}
		}
		if len(r.spans) > first {
			r.byName.put(at, first)
		}
	}
	return nil
}

// indexMulti indexes the live multiValueHeaders spans by folded name (the
// last one, whose spelling merged headers take) and by folded name and
// value. It reports whether there are any.
func (r *Response) indexMulti() bool {
	live := 0
	for _, s := range r.spans {
		if s.fromMulti && !s.dead {
			live++
		}
	}
	if live == 0 {
		return false
	}
	r.byFold.reset(live)
	r.byPair.reset(live)
	for n, s := range r.spans {
		if !s.fromMulti || s.dead {
			continue
		}
		r.byFold.add(r.foldHash(s.name), func(m int) bool { return r.sameFold(m, s.name) }, n)
		r.byPair.add(r.pairHash(s.name, s.value), func(m int) bool { return r.samePair(m, s.name, s.value) }, n)
	}
	return true
}

// inMulti reports whether a live multiValueHeaders span has name (any
// case) and value.
func (r *Response) inMulti(name, value span) bool {
	return r.byPair.get(r.pairHash(name, value), func(n int) bool { return r.samePair(n, name, value) }) >= 0
}

func (r *Response) sameFold(n int, name span) bool {
	return ascii.EqualFold(r.get(r.spans[n].name), r.get(name))
}

func (r *Response) samePair(n int, name, value span) bool {
	return r.sameFold(n, name) && string(r.get(r.spans[n].value)) == string(r.get(value))
}

// The key hashes are functions so that a list index never computes them.

// hashOf hashes the name as written.
func (r *Response) hashOf(name span) func() uint64 {
	return func() uint64 { return maphash.Bytes(r.seed, r.get(name)) }
}

// foldHash hashes the lower-cased name.
func (r *Response) foldHash(name span) func() uint64 {
	return func() uint64 {
		r.key = appendLower(r.key[:0], r.get(name))
		return maphash.Bytes(r.seed, r.key)
	}
}

// pairHash hashes the lower-cased name and the value; NUL, which neither
// may contain, separates them.
func (r *Response) pairHash(name, value span) func() uint64 {
	return func() uint64 {
		r.key = append(appendLower(r.key[:0], r.get(name)), 0)
		r.key = append(r.key, r.get(value)...)
		return maphash.Bytes(r.seed, r.key)
	}
}

func appendLower(dst, b []byte) []byte {
	for _, c := range b {
		dst = append(dst, ascii.Lower(c))
	}
	return dst
}

// push adds a header line, refusing more than MaxHeaderValues.
func (r *Response) push(s headerSpan) error {
	if len(r.spans) >= MaxHeaderValues {
		return fmt.Errorf("%w: more than %d header values", ErrMalformedResponse, MaxHeaderValues)
	}
	r.spans = append(r.spans, s)
	return nil
}

// addCookies turns 2.0 cookies into set-cookie headers.
func (r *Response) addCookies(raw []byte) error {
	if isNull(raw) {
		return nil
	}
	if raw[0] != '[' {
		return fmt.Errorf("%w: cookies is not an array", ErrMalformedResponse)
	}
	elems := newArrayIter(raw)
	for elem, ok := elems.next(); ok; elem, ok = elems.next() {
		if isNull(elem) {
			continue
		}
		if elem[0] != '"' {
			return fmt.Errorf("%w: cookie %s is not a string", ErrMalformedResponse, elem)
		}
		off := len(r.arena)
		r.arena = append(r.arena, "set-cookie"...)
		name := span{off, len(r.arena) - off}
		value, err := r.appendValue(elem)
		if err != nil {
			return err
		}
		if err := r.push(headerSpan{name: name, value: value}); err != nil {
			return err
		}
	}
	return nil
}

// appendName stores a header name from a raw JSON key. Names must be HTTP
// tokens: anything else could not be written as a header line and would let
// a function inject raw bytes into the response.
func (r *Response) appendName(rawKey []byte) (span, error) {
	off := len(r.arena)
	r.arena = appendUnquoted(r.arena, rawKey)
	s := span{off, len(r.arena) - off}
	name := r.get(s)
	if len(name) == 0 {
		return s, fmt.Errorf("%w: empty header name", ErrMalformedResponse)
	}
	for _, c := range name {
		if !isTokenChar(c) {
			return s, fmt.Errorf("%w: invalid header name %s", ErrMalformedResponse, rawKey)
		}
	}
	return s, nil
}

// appendValue stores a header value from a raw scalar JSON value. CR, LF and
// NUL are refused: they would split the response.
func (r *Response) appendValue(raw []byte) (span, error) {
	off := len(r.arena)
	r.arena = appendScalar(r.arena, raw)
	s := span{off, len(r.arena) - off}
	for _, c := range r.get(s) {
		if c == '\r' || c == '\n' || c == 0 {
			return s, fmt.Errorf("%w: header value %s contains a line break or NUL", ErrMalformedResponse, raw)
		}
	}
	return s, nil
}

func isTokenChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', isDigit(c):
		return true
	}
	switch c {
	case '!', '#', '$', '%', '&', '\'', '*', '+', '-', '.', '^', '_', '`', '|', '~':
		return true
	}
	return false
}

func (r *Response) get(s span) []byte { return r.arena[s.off : s.off+s.n] }

func (r *Response) addLiteral(name, value string) {
	off := len(r.arena)
	r.arena = append(r.arena, name...)
	n := span{off, len(name)}
	r.arena = append(r.arena, value...)
	r.spans = append(r.spans, headerSpan{name: n, value: span{off + len(name), len(value)}})
}

// defaultContentType adds application/json when the function set no
// Content-Type, as API Gateway does.
func (r *Response) defaultContentType(name string) {
	for _, s := range r.spans {
		if !s.dead && ascii.EqualFold(r.get(s.name), "content-type") {
			return
		}
	}
	r.addLiteral(name, "application/json")
}

// contentType is the value of the result's first live Content-Type
// header, or nil.
func (r *Response) contentType() []byte {
	for _, s := range r.spans {
		if !s.dead && ascii.EqualFold(r.get(s.name), "content-type") {
			return r.get(s.value)
		}
	}
	return nil
}

// setBody reads body (a string; numbers and booleans are taken as their
// text, null or absent is empty) and, when decode, decodes base64 when
// isBase64Encoded.
func (r *Response) setBody(raw, b64raw []byte, decode bool) error {
	b64, err := parseBool(b64raw)
	if err != nil {
		return err
	}
	if isNull(raw) {
		return nil
	}
	if isComposite(raw) {
		return fmt.Errorf("%w: body is not a string", ErrMalformedResponse)
	}
	if !b64 || !decode {
		r.Body = appendScalar(r.Body, raw)
		return nil
	}
	r.scratch = appendScalar(r.scratch, raw)
	// Padding is optional, as in the JVM decoder API Gateway uses; line
	// breaks are skipped by the decoder.
	text := r.scratch
	for len(text) > 0 && (text[len(text)-1] == '=' || text[len(text)-1] == '\n' || text[len(text)-1] == '\r') {
		text = text[:len(text)-1]
	}
	if r.Body, err = base64.RawStdEncoding.AppendDecode(r.Body, text); err != nil {
		return fmt.Errorf("%w: body is not valid base64: %w", ErrMalformedResponse, err)
	}
	return nil
}

// finish exposes the collected spans as Headers. Slices are made only now
// because the arena may move while it grows.
func (r *Response) finish() {
	for _, s := range r.spans {
		if !s.dead {
			r.Headers = append(r.Headers, Header{Name: r.get(s.name), Value: r.get(s.value)})
		}
	}
}
