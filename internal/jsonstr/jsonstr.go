// Package jsonstr writes JSON strings into byte slices without
// allocating: the one escaper of the event builders, the access log and the
// WebSocket bridge.
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

// decodeRune decodes the first UTF-8 sequence of s. The copy into a fixed
// array keeps the string instantiation allocation-free.
func decodeRune[S Bytes](s S) (rune, int) {
	var b [utf8.UTFMax]byte
	n := copy(b[:], s)
	return utf8.DecodeRune(b[:n])
}
