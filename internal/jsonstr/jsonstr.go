// Package jsonstr writes JSON strings into byte slices without
// allocating: the one escaper of the event builders, the access log and the
// WebSocket bridge. IndexSpecial finds where a string's plain bytes end,
// for the scanners that read JSON. Hot path: both look at eight bytes at a
// time while the bytes need nothing done.
package jsonstr

import "unicode/utf8"

// Bytes is what the functions take: a string or a byte slice.
type Bytes interface {
	~string | ~[]byte
}

const hexDigits = "0123456789abcdef"

// Append appends s as a quoted JSON string.
func Append[S Bytes](dst []byte, s S) []byte {
	dst = append(dst, '"')
	dst = AppendEscaped(dst, s)
	return append(dst, '"')
}

// AppendEscaped appends the JSON string escaping of s without quotes.
// Control characters, quote and backslash are escaped; bytes that are not
// valid UTF-8 become \ufffd so the event is always valid JSON (a Lambda
// runtime would otherwise reject the whole payload); U+2028 and U+2029 are
// escaped as encoding/json does, so handlers that eval JSON stay safe.
func AppendEscaped[S Bytes](dst []byte, s S) []byte {
	start := 0
	for i := 0; i < len(s); {
		for i+8 <= len(s) && plain8(load8(s, i)) {
			i += 8
		}
		if i == len(s) {
			break
		}
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := decodeRune(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	return append(dst, s[start:]...)
}

// NeedsEscape reports whether AppendEscaped would change s, so callers that
// wrote raw bytes optimistically know when to redo them. It applies the same
// rules as AppendEscaped without writing anything.
func NeedsEscape[S Bytes](s S) bool {
	for i := 0; i < len(s); {
		for i+8 <= len(s) && plain8(load8(s, i)) {
			i += 8
		}
		if i == len(s) {
			break
		}
		c := s[i]
		if c < utf8.RuneSelf {
			if c < 0x20 || c == '"' || c == '\\' {
				return true
			}
			i++
			continue
		}
		r, size := decodeRune(s[i:])
		if (r == utf8.RuneError && size == 1) || r == '\u2028' || r == '\u2029' {
			return true
		}
		i += size
	}
	return false
}

// Eight bytes at a time: values are mostly plain ASCII, and a word test
// skips them more than twice as fast as a byte loop
// (BenchmarkAppendEscaped).
const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// load8 reads s[i:i+8] as a little-endian word; the compiler turns the
// shifts into one load.
func load8[S Bytes](s S, i int) uint64 {
	_ = s[i+7]
	return uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
		uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
}

// plain8 reports whether each of w's bytes is printable ASCII (0x20–0x7f)
// other than '"' and '\\': bytes AppendEscaped copies as they are.
func plain8(w uint64) bool {
	return (w&highs)|specialBits(w) == 0
}

// specialBits has the high bit set in each byte of w that is a quote, a
// backslash or below 0x20 (and possibly in bytes above such a one): a byte
// below 0x20 borrows into its high bit when 0x20 is taken from it, a quote
// or backslash does when 1 is taken from it XORed with itself. Bytes of
// 0x80 and up never set their own high bit here (the &^ w and &^ q terms),
// and a borrow only runs upwards from a real hit, so the result is zero
// exactly when no byte is special.
func specialBits(w uint64) uint64 {
	q := w ^ ('"' * ones)
	b := w ^ ('\\' * ones)
	return ((w-0x20*ones)&^w | (q-ones)&^q | (b-ones)&^b) & highs
}

// IndexSpecial returns the index of the first byte of p that a JSON string
// cannot hold as it is, a quote, a backslash or a control character below
// 0x20, or -1 if there is none. Other bytes, 0x80 and up included, are
// skipped eight at a time: it is how a scanner finds a string's end.
func IndexSpecial(p []byte) int {
	i := 0
	for i+8 <= len(p) && specialBits(load8(p, i)) == 0 {
		i += 8
	}
	for ; i < len(p); i++ {
		if c := p[i]; c < 0x20 || c == '"' || c == '\\' {
			return i
		}
	}
	return -1
}

// Unescape returns the byte a one-letter JSON escape \e stands for, and
// false for any other letter ('u' included: its four hex digits are the
// caller's to read). The decoders of Lambda results and of mapping
// templates' JSON share it.
func Unescape(e byte) (byte, bool) {
	switch e {
	case '"', '\\', '/':
		return e, true
	case 'b':
		return '\b', true
	case 'f':
		return '\f', true
	case 'n':
		return '\n', true
	case 'r':
		return '\r', true
	case 't':
		return '\t', true
	}
	return 0, false
}

// decodeRune decodes the first UTF-8 sequence of s. The copy into a fixed
// array keeps the string instantiation allocation-free.
func decodeRune[S Bytes](s S) (rune, int) {
	var b [utf8.UTFMax]byte
	n := copy(b[:], s)
	return utf8.DecodeRune(b[:n])
}
