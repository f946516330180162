// Package ascii folds case the way HTTP header names, media types and
// CORS values fold it: ASCII letters only, so other bytes never merge two
// distinct names (strings.ToLower and bytes.EqualFold also fold Unicode).
// Nothing here allocates; it sits on request paths.
package ascii

// Lower lower-cases an ASCII letter and returns any other byte unchanged.
func Lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + ('a' - 'A')
	}
	return c
}

// EqualFold reports whether a and b are equal when ASCII letters are
// compared without regard to case.
func EqualFold[A, B ~string | ~[]byte](a A, b B) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if x, y := a[i], b[i]; x != y && Lower(x) != Lower(y) {
			return false
		}
	}
	return true
}
