package jsonstr

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestJSONStringsMatchEncodingJSON(t *testing.T) {
	for _, s := range []string{
		"plain", `q"uote\back`, "ctl\x00\x01\x1f\n\r\t", "héllo ✓ 𝄞", "bad\xffutf8\xc3", "",
	} {
		out := Append(nil, s)
		var back string
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("%q -> %s: %v", s, out, err)
		}
		want := strings.ToValidUTF8(s, "\uFFFD")
		if s == "bad\xffutf8\xc3" {
			want = "bad\uFFFDutf8\uFFFD"
		}
		if back != want {
			t.Fatalf("%q round-tripped to %q", s, back)
		}
	}
}

// marshalString is encoding/json's encoding of s without HTML escaping: the
// reference the escaper must reproduce byte for byte.
func marshalString(t testing.TB, s string) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		t.Fatal(err)
	}
	return strings.TrimSuffix(buf.String(), "\n")
}

var escapeSeeds = []string{
	"",
	"plain ascii",
	`quote " and backslash \`,
	"controls \x00\x01\x08\x0c\n\r\t\x1f\x7f",
	"utf-8 é € 😀",
	"invalid \xff \xc3 \xe2\x82 \xed\xa0\x80 end",
	"separators \u2028 \u2029",
	"html <a href='x'>&amp;</a>",
	"\xf4\x90\x80\x80 beyond U+10FFFF",
}

func TestAppendMatchesEncodingJSON(t *testing.T) {
	for _, s := range escapeSeeds {
		want := marshalString(t, s)
		if got := string(Append(nil, s)); got != want {
			t.Errorf("string %q:\n got  %s\n want %s", s, got, want)
		}
		if got := string(Append(nil, []byte(s))); got != want {
			t.Errorf("bytes %q:\n got  %s\n want %s", s, got, want)
		}
	}
}

// TestEveryByteIsSeenAtEveryPlaceInAWord puts each byte value at each
// offset of a 17-byte plain string, so the eight-bytes-at-a-time skip is
// checked against encoding/json at every lane of a word and in the tail.
func TestEveryByteIsSeenAtEveryPlaceInAWord(t *testing.T) {
	plain := []byte("abcdefghijklmnopq")
	for c := range 256 {
		for at := range plain {
			s := bytes.Clone(plain)
			s[at] = byte(c)
			want := marshalString(t, string(s))
			if got := string(Append(nil, s)); got != want {
				t.Fatalf("byte %#02x at %d:\n got  %s\n want %s", c, at, got, want)
			}
			if NeedsEscape(s) != (want != `"`+string(s)+`"`) {
				t.Fatalf("NeedsEscape wrong for byte %#02x at %d", c, at)
			}
		}
	}
}

// TestIndexSpecialFindsTheFirstSpecialByteAtEveryPlace checks every byte
// value at every offset of a 17-byte string against a byte loop, alone and
// after a special byte placed later (so a borrow cannot hide the first).
func TestIndexSpecialFindsTheFirstSpecialByteAtEveryPlace(t *testing.T) {
	naive := func(p []byte) int {
		for i, c := range p {
			if c < 0x20 || c == '"' || c == '\\' {
				return i
			}
		}
		return -1
	}
	plain := []byte("abcdefghijklmnop\xc3")
	for c := range 256 {
		for at := range plain {
			for _, later := range []int{-1, at + 1, len(plain) - 1} {
				p := bytes.Clone(plain)
				p[at] = byte(c)
				if later > at && later < len(p) {
					p[later] = '"'
				}
				if got, want := IndexSpecial(p), naive(p); got != want {
					t.Fatalf("byte %#02x at %d (quote at %d): got %d, want %d", c, at, later, got, want)
				}
			}
		}
	}
}

func FuzzAppend(f *testing.F) {
	for _, s := range escapeSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := string(Append(nil, []byte(s))), marshalString(t, s); got != want {
			t.Errorf("%q:\n got  %s\n want %s", s, got, want)
		}
		if NeedsEscape([]byte(s)) != (string(AppendEscaped(nil, s)) != s) {
			t.Errorf("NeedsEscape(%q) disagrees with AppendEscaped", s)
		}
	})
}

// BenchmarkAppendEscaped escapes the values an access-log line or an
// event carries most: a user agent, a path, a request id, all plain ASCII.
func BenchmarkAppendEscaped(b *testing.B) {
	values := [][]byte{
		[]byte("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"),
		[]byte("/v1/pets/42/owners"),
		[]byte("Zx0aGWyUoAMEbIw="),
	}
	n := 0
	for _, v := range values {
		n += len(v)
	}
	b.SetBytes(int64(n))
	b.ReportAllocs()
	buf := make([]byte, 0, 512)
	for b.Loop() {
		buf = buf[:0]
		for _, v := range values {
			buf = AppendEscaped(buf, v)
		}
	}
}

// TestUnescapeMatchesEncodingJSON decodes "\e" for every byte e with
// encoding/json: Unescape accepts exactly the one-letter escapes it
// accepts, and gives the same byte.
func TestUnescapeMatchesEncodingJSON(t *testing.T) {
	for e := range 256 {
		var want string
		err := json.Unmarshal([]byte{'"', '\\', byte(e), '"'}, &want)
		got, ok := Unescape(byte(e))
		if ok != (err == nil) || (ok && string(got) != want) {
			t.Errorf("Unescape(%q) = %q, %v; encoding/json gives %q, %v", byte(e), got, ok, want, err)
		}
	}
}
