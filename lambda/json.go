package lambda

import (
	"bytes"
	"errors"
	"fmt"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/frontdeskgw/frontdesk/internal/ascii"
	"github.com/frontdeskgw/frontdesk/internal/jsonstr"
)

// This file holds the small JSON toolkit the event builders and response
// parsers share. Events are written by appending to a byte slice so a pooled
// buffer can be reused without reflection; responses are read with a
// validating scanner instead of encoding/json because API Gateway's rules
// need exact, case-sensitive key matching (encoding/json folds case, so
// "StatusCode" would wrongly count as "statusCode") and must know which keys
// were present at all.

// appendLowerEscaped appends s escaped as jsonstr.AppendEscaped does, with
// ASCII letters lower-cased: HTTP API events carry lower-case header names.
func appendLowerEscaped(dst, s []byte) []byte {
	start := len(dst)
	dst = jsonstr.AppendEscaped(dst, s)
	// Lower-casing the escaped form is safe: escape sequences only contain
	// lower-case letters and hex digits.
	for i := start; i < len(dst); i++ {
		dst[i] = ascii.Lower(dst[i])
	}
	return dst
}

// ---------------------------------------------------------------------------
// Scanning (validation) of JSON documents produced by functions.

// maxJSONDepth bounds nesting so a hostile payload cannot exhaust the stack;
// it matches encoding/json's limit so any document it accepts we accept.
const maxJSONDepth = 10000

var errJSONSyntax = errors.New("invalid JSON")

func syntaxError(p []byte, i int) error {
	if i >= len(p) {
		return fmt.Errorf("%w: unexpected end of input", errJSONSyntax)
	}
	return fmt.Errorf("%w: unexpected %q at offset %d", errJSONSyntax, p[i], i)
}

func skipWS(p []byte, i int) int {
	for i < len(p) {
		switch p[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// validJSON checks that p holds exactly one JSON value (surrounding
// whitespace allowed) and returns it trimmed.
func validJSON(p []byte) ([]byte, error) {
	start := skipWS(p, 0)
	end, err := scanValue(p, start, 0)
	if err != nil {
		return nil, err
	}
	if rest := skipWS(p, end); rest != len(p) {
		return nil, syntaxError(p, rest)
	}
	return p[start:end], nil
}

// scanValue returns the offset just past the JSON value starting at p[i].
func scanValue(p []byte, i, depth int) (int, error) {
	if i >= len(p) {
		return i, syntaxError(p, i)
	}
	switch c := p[i]; {
	case c == '"':
		return scanString(p, i)
	case c == '{' || c == '[':
		return scanComposite(p, i, depth+1)
	case c == 't':
		return scanLiteral(p, i, "true")
	case c == 'f':
		return scanLiteral(p, i, "false")
	case c == 'n':
		return scanLiteral(p, i, "null")
	case c == '-' || isDigit(c):
		return scanNumber(p, i)
	}
	return i, syntaxError(p, i)
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isHex(c byte) bool {
	return isDigit(c) || ('a' <= c && c <= 'f') || ('A' <= c && c <= 'F')
}

// unhex is the value of the hex digit c.
func unhex(c byte) byte {
	switch {
	case isDigit(c):
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

func scanLiteral(p []byte, i int, lit string) (int, error) {
	if len(p)-i < len(lit) || string(p[i:i+len(lit)]) != lit {
		return i, syntaxError(p, i)
	}
	return i + len(lit), nil
}

func scanString(p []byte, i int) (int, error) {
	for j := i + 1; j < len(p); {
		k := jsonstr.IndexSpecial(p[j:])
		if k < 0 {
			break
		}
		j += k
		switch c := p[j]; {
		case c == '"':
			return j + 1, nil
		case c == '\\':
			if j+1 >= len(p) {
				return j, syntaxError(p, len(p))
			}
			if _, ok := jsonstr.Unescape(p[j+1]); ok {
				j += 2
				continue
			}
			if p[j+1] != 'u' {
				return j, syntaxError(p, j+1)
			}
			if len(p)-j < 6 || !isHex(p[j+2]) || !isHex(p[j+3]) || !isHex(p[j+4]) || !isHex(p[j+5]) {
				return j, syntaxError(p, j)
			}
			j += 6
		case c < 0x20:
			return j, syntaxError(p, j)
		default:
			j++
		}
	}
	return len(p), syntaxError(p, len(p))
}

func scanNumber(p []byte, i int) (int, error) {
	j := i
	if p[j] == '-' {
		j++
	}
	switch {
	case j < len(p) && p[j] == '0':
		j++
	case j < len(p) && '1' <= p[j] && p[j] <= '9':
		for j < len(p) && isDigit(p[j]) {
			j++
		}
	default:
		return j, syntaxError(p, j)
	}
	if j < len(p) && p[j] == '.' {
		j++
		if j >= len(p) || !isDigit(p[j]) {
			return j, syntaxError(p, j)
		}
		for j < len(p) && isDigit(p[j]) {
			j++
		}
	}
	if j < len(p) && (p[j] == 'e' || p[j] == 'E') {
		j++
		if j < len(p) && (p[j] == '+' || p[j] == '-') {
			j++
		}
		if j >= len(p) || !isDigit(p[j]) {
			return j, syntaxError(p, j)
		}
		for j < len(p) && isDigit(p[j]) {
			j++
		}
	}
	return j, nil
}

// scanComposite scans the object or array starting at p[i]; an object's
// members are a key and a colon in front of what an array element is.
func scanComposite(p []byte, i, depth int) (int, error) {
	if depth > maxJSONDepth {
		return i, fmt.Errorf("%w: nesting deeper than %d", errJSONSyntax, maxJSONDepth)
	}
	object := p[i] == '{'
	closing := byte(']')
	if object {
		closing = '}'
	}
	j := skipWS(p, i+1)
	if j < len(p) && p[j] == closing {
		return j + 1, nil
	}
	for {
		var err error
		if object {
			if j >= len(p) || p[j] != '"' {
				return j, syntaxError(p, j)
			}
			if j, err = scanString(p, j); err != nil {
				return j, err
			}
			j = skipWS(p, j)
			if j >= len(p) || p[j] != ':' {
				return j, syntaxError(p, j)
			}
			j = skipWS(p, j+1)
		}
		if j, err = scanValue(p, j, depth); err != nil {
			return j, err
		}
		j = skipWS(p, j)
		if j >= len(p) {
			return j, syntaxError(p, j)
		}
		switch p[j] {
		case ',':
			j = skipWS(p, j+1)
		case closing:
			return j + 1, nil
		default:
			return j, syntaxError(p, j)
		}
	}
}

// ---------------------------------------------------------------------------
// Walking documents already checked by validJSON. These helpers ignore
// errors because the scanner has proven the input well formed.

// objectIter walks the members of a validated JSON object.
type objectIter struct {
	p []byte
	i int
}

func newObjectIter(obj []byte) objectIter { return objectIter{p: obj, i: 1} }

// next returns the raw (quoted) key and raw value of the next member.
func (it *objectIter) next() (key, val []byte, ok bool) {
	p := it.p
	i := skipWS(p, it.i)
	if i < len(p) && p[i] == ',' {
		i = skipWS(p, i+1)
	}
	if i >= len(p) || p[i] != '"' {
		return nil, nil, false
	}
	kend, _ := scanString(p, i)
	key = p[i:kend]
	vstart := skipWS(p, skipWS(p, kend)+1)
	vend, _ := scanValue(p, vstart, 0)
	it.i = vend
	return key, p[vstart:vend], true
}

// arrayIter walks the elements of a validated JSON array.
type arrayIter struct {
	p []byte
	i int
}

func newArrayIter(arr []byte) arrayIter { return arrayIter{p: arr, i: 1} }

func (it *arrayIter) next() (val []byte, ok bool) {
	p := it.p
	i := skipWS(p, it.i)
	if i < len(p) && p[i] == ',' {
		i = skipWS(p, i+1)
	}
	if i >= len(p) || p[i] == ']' {
		return nil, false
	}
	end, _ := scanValue(p, i, 0)
	it.i = end
	return p[i:end], true
}

// keyIs reports whether the raw quoted key decodes to name. Keys are compared
// exactly: API Gateway's response keys are case-sensitive.
func keyIs(raw []byte, name string) bool {
	inner := raw[1 : len(raw)-1]
	if bytes.IndexByte(inner, '\\') < 0 {
		return string(inner) == name
	}
	var buf [64]byte
	return string(appendUnquoted(buf[:0], raw)) == name
}

// appendUnquoted appends the decoded text of the validated JSON string raw
// (quotes included). Lone surrogates and invalid UTF-8 become U+FFFD, as
// encoding/json does.
func appendUnquoted(dst, raw []byte) []byte {
	s := raw[1 : len(raw)-1]
	for len(s) > 0 {
		// Text runs to the next escape and is copied whole.
		n := bytes.IndexByte(s, '\\')
		if n < 0 {
			n = len(s)
		}
		dst = appendValidUTF8(dst, s[:n])
		if s = s[n:]; len(s) == 0 {
			break
		}
		if c, ok := jsonstr.Unescape(s[1]); ok {
			dst = append(dst, c)
			s = s[2:]
			continue
		}
		// The only other escape of a validated string: \uXXXX, perhaps
		// the first of a surrogate pair.
		r := hex4(s[2:])
		s = s[6:]
		if utf16.IsSurrogate(r) {
			r2 := rune(-1)
			if len(s) >= 6 && s[0] == '\\' && s[1] == 'u' {
				r2 = hex4(s[2:])
			}
			if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
				r = dec
				s = s[6:]
			} else {
				r = utf8.RuneError
			}
		}
		dst = utf8.AppendRune(dst, r)
	}
	return dst
}

// appendValidUTF8 appends s with each byte that is not part of a valid
// UTF-8 sequence replaced by U+FFFD.
func appendValidUTF8(dst, s []byte) []byte {
	if utf8.Valid(s) {
		return append(dst, s...)
	}
	for len(s) > 0 {
		r, size := utf8.DecodeRune(s)
		if r == utf8.RuneError && size == 1 {
			dst = utf8.AppendRune(dst, utf8.RuneError)
		} else {
			dst = append(dst, s[:size]...)
		}
		s = s[size:]
	}
	return dst
}

func hex4(b []byte) rune {
	var r rune
	for _, c := range b[:4] {
		r = r<<4 | rune(unhex(c))
	}
	return r
}
