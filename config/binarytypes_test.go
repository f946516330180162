package config

import (
	"errors"
	"strings"
	"testing"
)

// binary_media_types is a REST API's list of "type/subtype" entries
// (wildcards allowed), refused on other API types and when malformed,
// each error at its line.
func TestBinaryMediaTypesAreCheckedAndRESTOnly(t *testing.T) {
	const rest = `apis:
  legacy:
    type: rest
    binary_media_types: [%s]
    integrations:
      m: {type: mock}
    routes:
      "GET /x": {integration: m}
`
	tests := []struct {
		name, src, errKey, errMsg string
		errLine                   int
	}{
		{name: "wildcards", src: fmtSrc(rest, `"image/*", "*/*", "application/octet-stream"`)},
		{name: "no slash", src: fmtSrc(rest, `"image"`), errKey: "apis.legacy.binary_media_types[0]", errMsg: "want type/subtype", errLine: 4},
		{name: "space", src: fmtSrc(rest, `"image/ png"`), errKey: "apis.legacy.binary_media_types[0]", errMsg: "want type/subtype", errLine: 4},
		{name: "on an HTTP API", src: `apis:
  web:
    binary_media_types: ["image/*"]
    integrations:
      m: {type: mock}
    routes:
      $default: {integration: m}
`, errKey: "apis.web.binary_media_types", errMsg: "rest APIs only", errLine: 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, _, err := Parse("b.yaml", []byte(tc.src), env(nil))
			if tc.errKey == "" {
				if err != nil {
					t.Fatal(err)
				}
				if got := c.APIs["legacy"].BinaryMediaTypes; len(got) != 3 {
					t.Fatalf("binary_media_types %q", got)
				}
				return
			}
			var list Errors
			if !errors.As(err, &list) {
				t.Fatalf("want Errors, got %v", err)
			}
			if !hasProblem(list, tc.errLine, tc.errKey, tc.errMsg) {
				t.Fatalf("missing %d %s %q in:\n%v", tc.errLine, tc.errKey, tc.errMsg, list)
			}
		})
	}
}

func fmtSrc(format, list string) string { return strings.Replace(format, "%s", list, 1) }
