package ascii

import "testing"

func TestEqualFoldFoldsASCIILettersOnly(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"Content-Type", "content-type", true},
		{"X-API-KEY", "x-api-key", true},
		{"", "", true},
		{"abc", "abcd", false},
		{"a-b", "a_b", false},
		{"\xc3\x84", "\xc3\xa4", false}, // Ä and ä: not ASCII, not folded
		{"@", "`", false},               // one below 'A' and one below 'a'
		{"[", "{", false},               // one above 'Z' and one above 'z'
	} {
		if got := EqualFold(tc.a, []byte(tc.b)); got != tc.want {
			t.Errorf("EqualFold(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestLowerChangesOnlyUpperCaseLetters(t *testing.T) {
	for c := 0; c < 256; c++ {
		want := byte(c)
		if c >= 'A' && c <= 'Z' {
			want = byte(c) + 32
		}
		if got := Lower(byte(c)); got != want {
			t.Errorf("Lower(%#x) = %#x, want %#x", c, got, want)
		}
	}
}

func TestEqualFoldDoesNotAllocate(t *testing.T) {
	b := []byte("Access-Control-Request-Headers")
	if n := testing.AllocsPerRun(100, func() { EqualFold(b, "access-control-request-headers") }); n != 0 {
		t.Errorf("%v allocs", n)
	}
}
