package gateway

import "testing"

// Paths an upstream could resolve outside the route's prefix once it
// decodes them (nginx decodes %2F before resolving dot segments, IIS and
// many frameworks take a backslash for a slash, Tomcat ends a segment at
// ';'), and paths with a NUL, are refused; harmless dots are not.
func TestUnsafePathsAreRefused(t *testing.T) {
	for _, tc := range []struct {
		path string
		want bool
	}{
		{"/pets/../admin", true},
		{"/pets/./x", true},
		{"/pets/%2e%2e/admin", true},
		{"/pets/.%2E", true},
		{"/pets/..", true},
		{"/..", true},
		{"/.", true},
		{"/..%2fadmin", true},
		{"/..%2Fadmin", true},
		{"/x/..%2f..%2fadmin", true},
		{"/x%2f..%2fadmin", true},
		{"/x%2F.%2Fadmin", true},
		{"/%2e%2e%2fadmin", true},
		{"/..%5cadmin", true},
		{"/..%5Cadmin", true},
		{"/x%5c..%5cadmin", true},
		{`/..\admin`, true},
		{`/x\..\admin`, true},
		{`/x\.`, true},
		{"/x/..;/admin", true},
		{"/x/..;jsessionid=1/admin", true},
		{"/x/.%3b/admin", true},
		{"/pets/a%00b", true},
		{"/pets/%00", true},
		{"/%00/x", true},

		{"/pets/..x", false},
		{"/pets/a.b", false},
		{"/", false},
		{"", false},
		{"/pets/...", false},
		{"/.well-known/x", false},
		{"/pets/%2e%2e%2e", false},
		{"/pets/a%2fb", false},
		{"/pets/a%5cb", false},
		{"/pets/x..%2fy", false},
		{"/pets/%2", false},
		{"/pets/%", false},
		{"/pets/%zz", false},
		{"/pets/%2e%2", false},
		{"/pets/a;b", false},
		{"/pets/%01", false},
		{"/pets/100%25", false},
	} {
		if got := unsafePath([]byte(tc.path)); got != tc.want {
			t.Errorf("unsafePath(%q) = %v, want %v", tc.path, got, tc.want)
		}
	}
}
