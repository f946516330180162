// Package layers names the floors of frontdesk's code base, lowest first,
// so that the rule "a package never imports a package above it" is data a
// test can check (layers_test.go) and docs/architecture.md can show.
//
// Hot path: none; nothing imports this package.
package layers

// Floors lists every package of the module (paths relative to the module
// root) by floor, lowest first. A package may import packages on lower
// floors only; on the library floor, libraries may also import each other
// (Go already forbids cycles). bench/ and examples/ are tools beside the
// gateway, not part of it, and are not listed; test/ holds suites that run
// the built binary from above everything.
var Floors = []Floor{
	{Name: "library", Peers: true, Packages: []string{
		"console", "internal/ascii", "internal/clftime", "internal/jsonstr", "internal/localca", "internal/browsertest", "internal/testdeps", "internal/redistest", "internal/headers", "internal/layers",
		"apierror", "router", "limiter", "cache", "metrics", "accesslog", "upstream", "registry",
		"auth", "auth/internal/ttlcache", "auth/cors", "auth/jwtauth", "auth/lambdaauth",
		"auth/sigv4", "lambda", "lambda/invoke", "lambda/host", "wsbridge", "tracing", "vtl", "cluster",
	}},
	{Name: "config", Packages: []string{"config"}},
	// importer produces config from OpenAPI and SAM files and reads
	// config's types; nothing on the request path needs it, so it sits
	// just above config, below everything that serves.
	{Name: "import", Packages: []string{"importer"}},
	{Name: "request", Packages: []string{"exchange"}},
	{Name: "steps and integrations", Packages: []string{"pipeline", "proxy"}},
	{Name: "request path", Packages: []string{"gateway"}},
	{Name: "control plane", Packages: []string{"controlplane"}},
	{Name: "admin API", Packages: []string{"admin"}},
	{Name: "process", Packages: []string{"server"}},
	{Name: "command", Packages: []string{"cmd/frontdesk"}},
	// Helpers that start the whole server for other packages' tests.
	{Name: "tests", Packages: []string{"internal/servertest", "test/attack"}},
}

// Floor is one level of the code base.
type Floor struct {
	Name string
	// Peers allows imports between packages of this floor.
	Peers    bool
	Packages []string
}
