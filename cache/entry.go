package cache

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/frontdeskgw/frontdesk/internal/ascii"
)

// Header is one response header as raw bytes.
type Header struct {
	Name  []byte
	Value []byte
}

// Entry is a cached response. A caller keeps one Entry per worker and reuses
// it: Get refills it in place, reusing the Headers slice, so a steady stream
// of hits does not grow it.
//
// After a successful Get, Headers and Body alias a buffer owned by the Entry
// and stay valid until the next Get, GetStale or Reset on the same Entry.
// Before Set, the fields may alias any caller memory: Set copies what it
// stores and keeps no reference.
type Entry struct {
	// Status is the HTTP status code (0..65535 are storable).
	Status int
	// Headers are the end-to-end response headers, in order. Set drops
	// hop-by-hop headers, which describe one connection, not the response.
	Headers []Header
	// Body is the response body.
	Body []byte
	// Expires is the absolute expiry in Unix nanoseconds; an entry is fresh
	// while now < Expires.
	Expires int64

	// buf is the value bigcache copied out on the last read; Headers and Body
	// point into it, which spares a second copy per hit.
	buf []byte
	// slot is scratch space for the 8-byte bigcache key of a read, kept here
	// so building that key allocates nothing.
	slot [slotLen]byte
}

// Reset empties e for reuse, keeping the capacity of Headers.
func (e *Entry) Reset() {
	clear(e.Headers) // drop references so the old buffer can be collected
	e.Headers = e.Headers[:0]
	e.Status = 0
	e.Body = nil
	e.Expires = 0
	e.buf = nil
}

// AddHeader appends a header without copying name or value.
func (e *Entry) AddHeader(name, value []byte) {
	e.Headers = append(e.Headers, Header{Name: name, Value: value})
}

// Header returns the value of the first header whose name matches name
// case-insensitively, or nil.
func (e *Entry) Header(name string) []byte {
	for i := range e.Headers {
		if ascii.EqualFold(e.Headers[i].Name, name) {
			return e.Headers[i].Value
		}
	}
	return nil
}

// Encoded entry layout, little-endian. Every variable part carries its own
// length so a decoder never trusts the enclosing buffer's size alone:
//
//	version    1 byte
//	status     uint16
//	expires    int64, Unix nanoseconds
//	key        uint32 length + bytes (the full logical key)
//	headers    uint16 count, then per header:
//	           uint16 name length + name, uint32 value length + value
//	body       uint32 length + bytes
const (
	entryVersion   = 1
	fixedEntrySize = 1 + 2 + 8 + 4 + 2 + 4
)

// errMalformed is wrapped by encoding errors for entries that cannot be
// represented (a field longer than its length prefix allows).
var errMalformed = errors.New("entry not representable")

// encodedSize returns the number of bytes appendEntry will produce, which is
// what the item cap is checked against.
func encodedSize(key []byte, e *Entry) (int, error) {
	if e.Status < 0 || e.Status > math.MaxUint16 {
		return 0, fmt.Errorf("status %d: %w", e.Status, errMalformed)
	}
	if uint64(len(key)) > math.MaxUint32 || uint64(len(e.Body)) > math.MaxUint32 {
		return 0, fmt.Errorf("key or body over 4 GiB: %w", errMalformed)
	}
	n := fixedEntrySize + len(key) + len(e.Body)
	count := 0
	for i := range e.Headers {
		h := &e.Headers[i]
		if hopByHop(h.Name) {
			continue
		}
		if len(h.Name) > math.MaxUint16 || uint64(len(h.Value)) > math.MaxUint32 {
			return 0, fmt.Errorf("header %.32q too long: %w", h.Name, errMalformed)
		}
		count++
		n += 2 + len(h.Name) + 4 + len(h.Value)
	}
	if count > math.MaxUint16 {
		return 0, fmt.Errorf("%d headers: %w", count, errMalformed)
	}
	return n, nil
}

// appendEntry appends the encoding of e under key to b. The caller has
// validated e with encodedSize.
func appendEntry(b, key []byte, e *Entry) []byte {
	le := binary.LittleEndian
	b = append(b, entryVersion)
	b = le.AppendUint16(b, uint16(e.Status))
	b = le.AppendUint64(b, uint64(e.Expires))
	b = le.AppendUint32(b, uint32(len(key)))
	b = append(b, key...)

	countAt := len(b)
	b = le.AppendUint16(b, 0)
	count := 0
	for i := range e.Headers {
		h := &e.Headers[i]
		if hopByHop(h.Name) {
			continue
		}
		count++
		b = le.AppendUint16(b, uint16(len(h.Name)))
		b = append(b, h.Name...)
		b = le.AppendUint32(b, uint32(len(h.Value)))
		b = append(b, h.Value...)
	}
	le.PutUint16(b[countAt:], uint16(count))

	b = le.AppendUint32(b, uint32(len(e.Body)))
	return append(b, e.Body...)
}

// decodeResult says why decodeEntry accepted or refused a value.
type decodeResult uint8

const (
	decodeOK decodeResult = iota
	// decodeOtherKey: the slot holds a different logical key whose hash
	// collided with ours. Serving it would be serving the wrong response.
	decodeOtherKey
	decodeCorrupt
)

// decodeEntry fills dst from v if v is a well-formed entry stored under key.
// dst's Headers and Body alias v, and dst takes ownership of v. On failure
// the contents of dst are unspecified.
func decodeEntry(v, key []byte, dst *Entry) decodeResult {
	le := binary.LittleEndian
	if len(v) < fixedEntrySize || v[0] != entryVersion {
		return decodeCorrupt
	}
	status := int(le.Uint16(v[1:]))
	expires := int64(le.Uint64(v[3:]))
	keyLen := uint64(le.Uint32(v[11:]))
	p := uint64(15)
	if keyLen > uint64(len(v))-p {
		return decodeCorrupt
	}
	// The full key, not just its hash, decides whether this is our entry.
	if !bytes.Equal(v[p:p+keyLen], key) {
		return decodeOtherKey
	}
	p += keyLen

	if uint64(len(v))-p < 2 {
		return decodeCorrupt
	}
	count := int(le.Uint16(v[p:]))
	p += 2
	headers := dst.Headers[:0]
	for range count {
		if uint64(len(v))-p < 2 {
			return decodeCorrupt
		}
		nl := uint64(le.Uint16(v[p:]))
		p += 2
		if uint64(len(v))-p < nl+4 {
			return decodeCorrupt
		}
		name := v[p : p+nl : p+nl]
		p += nl
		vl := uint64(le.Uint32(v[p:]))
		p += 4
		if uint64(len(v))-p < vl {
			return decodeCorrupt
		}
		// Capacity is capped so an append by the caller cannot run into the
		// next field of the shared buffer.
		headers = append(headers, Header{Name: name, Value: v[p : p+vl : p+vl]})
		p += vl
	}

	if uint64(len(v))-p < 4 {
		return decodeCorrupt
	}
	bl := uint64(le.Uint32(v[p:]))
	p += 4
	if uint64(len(v))-p != bl {
		return decodeCorrupt
	}

	// Clear any stale tail past the new length so old buffers can be freed.
	if old := dst.Headers; len(old) > len(headers) {
		clear(old[len(headers):])
	}
	dst.Status = status
	dst.Expires = expires
	dst.Headers = headers
	dst.Body = v[p : p+bl : p+bl]
	dst.buf = v
	return decodeOK
}

// hopByHop reports whether name is a hop-by-hop header (RFC 9110 §7.6.1,
// plus the legacy Keep-Alive and Proxy-Connection): such headers describe
// one connection and must not be replayed from a cache.
func hopByHop(name []byte) bool {
	switch len(name) {
	case 2:
		return ascii.EqualFold(name, "te")
	case 7:
		return ascii.EqualFold(name, "trailer") || ascii.EqualFold(name, "upgrade")
	case 10:
		return ascii.EqualFold(name, "connection") || ascii.EqualFold(name, "keep-alive")
	case 16:
		return ascii.EqualFold(name, "proxy-connection")
	case 17:
		return ascii.EqualFold(name, "transfer-encoding")
	case 18:
		return ascii.EqualFold(name, "proxy-authenticate")
	case 19:
		return ascii.EqualFold(name, "proxy-authorization")
	}
	return false
}
