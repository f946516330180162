package wsbridge

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Predefined route keys.
const (
	RouteConnect    = "$connect"
	RouteDisconnect = "$disconnect"
	RouteDefault    = "$default"
)

// selector is a compiled route selection expression: literals and
// $request.body paths, concatenated in order.
type selector struct {
	parts []selectorPart
}

type selectorPart struct {
	literal string
	path    []string // nil for a literal part
}

const bodyPrefix = "request.body."

// parseSelector compiles the two forms API Gateway accepts: a whole
// expression "$request.body.a.b", or a template mixing literals with
// "${request.body.x}" placeholders. "\$" stands for a literal dollar sign.
func parseSelector(expr string) (*selector, error) {
	if expr == "" {
		expr = "$request.body.action"
	}
	if strings.HasPrefix(expr, "$"+bodyPrefix) && !strings.ContainsAny(expr[1:], "${}\\") {
		path, err := splitPath(expr[1+len(bodyPrefix):])
		if err != nil {
			return nil, fmt.Errorf("route selection expression %q: %w", expr, err)
		}
		return &selector{parts: []selectorPart{{path: path}}}, nil
	}
	s := &selector{}
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			s.parts = append(s.parts, selectorPart{literal: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(expr); i++ {
		switch {
		case expr[i] == '\\' && i+1 < len(expr) && expr[i+1] == '$':
			lit.WriteByte('$')
			i++
		case strings.HasPrefix(expr[i:], "${"):
			end := strings.IndexByte(expr[i:], '}')
			if end < 0 {
				return nil, fmt.Errorf("route selection expression %q: unterminated ${", expr)
			}
			inner := expr[i+2 : i+end]
			if !strings.HasPrefix(inner, bodyPrefix) {
				return nil, fmt.Errorf("route selection expression %q: only ${request.body.<path>} is available to WebSocket messages, got ${%s}", expr, inner)
			}
			path, err := splitPath(inner[len(bodyPrefix):])
			if err != nil {
				return nil, fmt.Errorf("route selection expression %q: %w", expr, err)
			}
			flush()
			s.parts = append(s.parts, selectorPart{path: path})
			i += end
		case expr[i] == '$':
			return nil, fmt.Errorf("route selection expression %q: bare $ at offset %d (write \\$ for a literal, ${request.body.x} for a value)", expr, i)
		default:
			lit.WriteByte(expr[i])
		}
	}
	flush()
	if len(s.parts) == 0 {
		return nil, fmt.Errorf("route selection expression %q: empty", expr)
	}
	return s, nil
}

func splitPath(p string) ([]string, error) {
	if p == "" {
		return nil, errors.New("empty body path")
	}
	path := strings.Split(p, ".")
	for _, seg := range path {
		if seg == "" {
			return nil, fmt.Errorf("empty segment in body path %q", p)
		}
	}
	return path, nil
}

// eval appends the selected route key for a message to dst. ok is false
// when the message is not JSON, which API Gateway routes to $default.
func (s *selector) eval(dst, msg []byte) (key []byte, ok bool) {
	if !json.Valid(msg) {
		return dst, false
	}
	for _, p := range s.parts {
		if p.path == nil {
			dst = append(dst, p.literal...)
			continue
		}
		dst = appendScalar(dst, lookupPath(msg, p.path))
	}
	return dst, true
}

// lookupPath returns the raw JSON value at path inside doc, or nil when
// any step is missing or not an object. doc must be valid JSON.
func lookupPath(doc []byte, path []string) []byte {
	v := doc
	for _, key := range path {
		v = lookupKey(v, key)
		if v == nil {
			return nil
		}
	}
	return v
}

// lookupKey finds key in the JSON object obj (valid JSON, possibly with
// surrounding whitespace) without decoding anything else.
func lookupKey(obj []byte, key string) []byte {
	i := skipSpace(obj, 0)
	if i >= len(obj) || obj[i] != '{' {
		return nil
	}
	i++
	for {
		i = skipSpace(obj, i)
		if i >= len(obj) || obj[i] != '"' {
			return nil // '}' or malformed
		}
		kEnd := skipString(obj, i)
		rawKey := obj[i:kEnd]
		i = skipSpace(obj, kEnd)
		i++ // ':'
		i = skipSpace(obj, i)
		vEnd := skipValue(obj, i)
		if keyEquals(rawKey, key) {
			return obj[i:vEnd]
		}
		i = skipSpace(obj, vEnd)
		if i >= len(obj) || obj[i] != ',' {
			return nil
		}
		i++
	}
}

// keyEquals compares a quoted JSON key with a plain string; escaped keys
// are rare, so only they pay for decoding.
func keyEquals(quoted []byte, key string) bool {
	inner := quoted[1 : len(quoted)-1]
	if bytes.IndexByte(inner, '\\') < 0 {
		return string(inner) == key
	}
	var s string
	if json.Unmarshal(quoted, &s) != nil {
		return false
	}
	return s == key
}

// appendScalar appends the route-key form of a JSON value: strings
// unquoted, null and missing as "", anything else as its JSON text.
func appendScalar(dst, v []byte) []byte {
	if len(v) == 0 || string(v) == "null" {
		return dst
	}
	if v[0] != '"' {
		return append(dst, v...)
	}
	inner := v[1 : len(v)-1]
	if bytes.IndexByte(inner, '\\') < 0 {
		return append(dst, inner...)
	}
	var s string
	if json.Unmarshal(v, &s) != nil {
		return dst
	}
	return append(dst, s...)
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index just past the string starting at b[i]=='"'.
func skipString(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(b)
}

// skipValue returns the index just past the JSON value starting at b[i].
// The input is known to be valid JSON, so only nesting and strings matter.
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return i
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				i = skipString(b, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return i
	default:
		for i < len(b) {
			switch b[i] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				return i
			}
			i++
		}
		return i
	}
}
