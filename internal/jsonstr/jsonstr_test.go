package jsonstr

import (
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
