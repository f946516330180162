package lambda

import (
	"encoding/base64"
	"fmt"
	"slices"

	"github.com/frontdeskgw/frontdesk/internal/ascii"
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
}

type span struct{ off, n int }

type headerSpan struct {
	name, value span
	// fromMulti marks 1.0 multiValueHeaders entries, which headers entries
	// merge into.
	fromMulti bool
}

// Reset empties r, keeping its memory for the next parse.
func (r *Response) Reset() {
	r.Status = 0
	r.Headers = r.Headers[:0]
	r.Body = r.Body[:0]
	r.arena = r.arena[:0]
	r.spans = r.spans[:0]
	r.scratch = r.scratch[:0]
}

// ParseResponseV2 reads a payload format 2.0 (HTTP API) function result into
// out. A JSON value without a top-level "statusCode" key is itself the body
// (a JSON string contributes its text) with status 200 and content-type
// application/json. Otherwise statusCode, headers, cookies (one set-cookie
// each), body and isBase64Encoded are read and other keys are ignored. Errors
// wrap ErrMalformedResponse; the integration maps them to the client status.
func ParseResponseV2(payload []byte, out *Response) error {
	out.Reset()
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
	if err := out.setBody(body, b64); err != nil {
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
// both maps; Content-Type defaults to application/json. Errors wrap
// ErrMalformedResponse.
func ParseResponseV1(payload []byte, out *Response) error {
	out.Reset()
	doc, err := validJSON(payload)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrMalformedResponse, err)
	}
	if doc[0] != '{' {
		return fmt.Errorf("%w: result is not a JSON object", ErrMalformedResponse)
	}

	var status, headers, multi, body, b64 []byte
	it := newObjectIter(doc)
	for key, val, ok := it.next(); ok; key, val, ok = it.next() {
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
	if out.Status, err = parseStatus(status); err != nil {
		return err
	}
	if err := out.addMultiHeaders(multi); err != nil {
		return err
	}
	if err := out.addHeaders(headers, true); err != nil {
		return err
	}
	if err := out.setBody(body, b64); err != nil {
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
		r.spans = slices.DeleteFunc(r.spans, func(s headerSpan) bool {
			return !s.fromMulti && string(r.get(s.name)) == string(r.get(name))
		})
		if merge {
			dup, spelled := false, span{}
			for _, s := range r.spans {
				if s.fromMulti && ascii.EqualFold(r.get(s.name), r.get(name)) {
					spelled = s.name
					if string(r.get(s.value)) == string(r.get(value)) {
						dup = true
					}
				}
			}
			if dup {
				r.arena = r.arena[:mark]
				continue
			}
			if spelled.n > 0 {
				name = spelled
			}
		}
		r.spans = append(r.spans, headerSpan{name: name, value: value})
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
		r.spans = slices.DeleteFunc(r.spans, func(s headerSpan) bool {
			return s.fromMulti && string(r.get(s.name)) == string(r.get(name))
		})
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
			r.spans = append(r.spans, headerSpan{name: name, value: value, fromMulti: true})
		}
	}
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
		r.spans = append(r.spans, headerSpan{name: name, value: value})
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
		if ascii.EqualFold(r.get(s.name), "content-type") {
			return
		}
	}
	r.addLiteral(name, "application/json")
}

// setBody reads body (a string; numbers and booleans are taken as their
// text, null or absent is empty) and decodes base64 when isBase64Encoded.
func (r *Response) setBody(raw, b64raw []byte) error {
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
	if !b64 {
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
		r.Headers = append(r.Headers, Header{Name: r.get(s.name), Value: r.get(s.value)})
	}
}
