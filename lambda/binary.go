package lambda

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/frontdeskgw/frontdesk/internal/ascii"
)

// BinaryTypes is a REST API's binary media types (binary_media_types, API
// Gateway's binaryMediaTypes): the request and response bodies a REST
// Lambda integration passes as bytes rather than text. A nil *BinaryTypes
// matches nothing, so an API without the setting costs nothing.
type BinaryTypes struct {
	pats []mediaPattern
}

// mediaPattern is one "type/subtype"; "*" in either part matches anything.
type mediaPattern struct{ typ, sub []byte }

// MaxBinaryTypes bounds the binary media types of one API.
const MaxBinaryTypes = 100

// NewBinaryTypes compiles list; each entry is "type/subtype", where either
// part may be "*" ("image/*", "*/*"). An empty list gives nil.
func NewBinaryTypes(list []string) (*BinaryTypes, error) {
	if len(list) == 0 {
		return nil, nil
	}
	if len(list) > MaxBinaryTypes {
		return nil, fmt.Errorf("binary media types: %d, at most %d", len(list), MaxBinaryTypes)
	}
	b := &BinaryTypes{}
	for _, s := range list {
		p, err := parseMediaPattern(s)
		if err != nil {
			return nil, err
		}
		b.pats = append(b.pats, p)
	}
	return b, nil
}

// parseMediaPattern reads one binary media type entry.
func parseMediaPattern(s string) (mediaPattern, error) {
	t, sub, ok := bytes.Cut([]byte(s), []byte{'/'})
	if !ok || !isMediaToken(t) || !isMediaToken(sub) {
		return mediaPattern{}, fmt.Errorf("binary media type %q: want type/subtype, either part may be *", s)
	}
	return mediaPattern{typ: t, sub: sub}, nil
}

// isMediaToken reports an RFC 9110 token (which includes "*").
func isMediaToken(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}

// Match reports whether the media type of a Content-Type or Accept value
// (parameters ignored; for Accept, its first type, as API Gateway uses)
// is one of b's, ignoring case.
func (b *BinaryTypes) Match(value []byte) bool {
	if b == nil {
		return false
	}
	if i := bytes.IndexByte(value, ','); i >= 0 {
		value = value[:i]
	}
	t, sub, ok := bytes.Cut(mediaType(value), []byte{'/'})
	if !ok {
		return false
	}
	for _, p := range b.pats {
		if (len(p.typ) == 1 && p.typ[0] == '*' || ascii.EqualFold(p.typ, t)) &&
			(len(p.sub) == 1 && p.sub[0] == '*' || ascii.EqualFold(p.sub, sub)) {
			return true
		}
	}
	return false
}
