package bench

import (
	"fmt"
	"strings"

	"github.com/frontdeskgw/frontdesk/bench/loadgen"
)

// ProxyKind is what sits between the load generator and the upstream.
type ProxyKind string

// The proxies the suite knows how to start.
const (
	Direct    ProxyKind = "direct"    // nothing: the load goes to the upstream, which is then the measured process
	Nginx     ProxyKind = "nginx"     // the reference proxy
	Frontdesk ProxyKind = "frontdesk" // bin/frontdesk serve
)

// Generator is the program that applies the load.
type Generator string

// The load generators.
const (
	Loadgen Generator = "loadgen" // the suite's own (bench/loadgen), in a child process
	Wrk     Generator = "wrk"     // wrk -t1, to check the suite's generator against
)

// Profile names the micro-benchmark that drives the same code as a
// frontdesk scenario, used as its profiling path (frontdesk has no pprof
// endpoint).
type Profile struct {
	Pkg   string // package directory, e.g. ./gateway/
	Bench string // benchmark name, e.g. BenchmarkProxyGET
}

// Scenario is one measured setup. Adding a feature's scenario is adding a
// value to Scenarios: a frontdesk config fragment, the path to load and the
// headers to send.
type Scenario struct {
	Name      string
	Proxy     ProxyKind
	Generator Generator // Loadgen when empty
	// Config is, for frontdesk, the YAML placed after the generated
	// server block (apis, api_keys, cache, ...); for nginx, extra
	// directives inside its proxying location. It is a text/template over
	// ConfigData.
	Config string
	// NginxHTTP and NginxServer are, for nginx, directives at the http
	// and the server level (NginxHTTP is a text/template over ConfigData,
	// for paths in .Dir); NginxRoutes, when set, are the exact paths
	// nginx serves, a `location = PATH` each proxied as `location /` is,
	// in place of `location /`.
	NginxHTTP, NginxServer string
	NginxRoutes            []string
	// HitHeader, when set, is the header a cache's answer carries on a
	// hit: the first request fills the cache, and the probe asks again
	// until the answer has it, so the window measures hits only.
	HitHeader *loadgen.Header
	// Matrix places the scenario in the vendor matrix (matrix.go).
	Matrix  *MatrixCell
	Path    string
	Headers []loadgen.Header
	// Reference names the nginx scenario this one's CPU/request and
	// requests/s are divided by.
	Reference string
	// Builds lists Lambda functions built into the run directory before
	// the proxy starts, name → package, reachable in Config as
	// {{index .Bins "name"}}. They are built as AWS's tools build Go
	// functions: static, with -tags lambda.norpc (goBuildFunction).
	Builds map[string]string
	// Profiles are the micro-benchmarks that drive the scenario's code
	// path, profiled by -profile.
	Profiles []Profile
	// Group keeps scenarios that are compared with each other next to
	// each other in every round (their order alternating), so that a
	// drift of the machine's speed between them does not skew the
	// comparison. Empty: a group of its own.
	Group string
	// Endpoint names a Builds binary served by a local Lambda Invoke API
	// endpoint (this program's invoke-endpoint subcommand on the lambda/host
	// function host, on the proxy's CPU), at {{.Endpoint}} in Config; its
	// CPU time, instances included, counts as the proxy's.
	Endpoint string
	// Redis starts a redis-server on the load generator's CPUs for the
	// scenario; its URL is {{.Redis}} in Config.
	Redis bool
	// TLS serves the scenario over TLS 1.3 with the suite's certificate
	// (tls.go); NewConn makes the load a new connection per request.
	TLS, NewConn bool
	// Target is a running gateway put into the run with -target
	// (target.go): Proxy is External and Path its URL's.
	Target *Target
	// Unavailable, when set, says why the suite cannot run the scenario
	// yet, whatever frontdesk supports.
	Unavailable string
	About       string
}

// ConfigData is what a scenario's Config template may use.
type ConfigData struct {
	Upstream string            // host:port of the upstream
	Dir      string            // the run's scratch directory
	Bins     map[string]string // built binaries by name
	Redis    string            // redis://host:port/0 of the scenario's redis-server
	Endpoint string            // host:port of the scenario's Invoke endpoint
	Cert     CertFiles         // the suite's certificate, for TLS scenarios
}

// Bodies the upstream and the mock route answer with: ~100 bytes of JSON,
// and 64 KiB.
const (
	SmallPath = "/small"
	LargePath = "/64k"
	MockPath  = "/mock"
	LargeSize = 64 << 10
)

// SmallBody is the ~100-byte JSON answer of the upstream's small route and
// of the mock route.
const SmallBody = `{"id":42,"name":"frontdesk","tags":["gateway","bench"],"status":"available","price":12.5,"ok":true}`

// apiKey is the x-api-key of the pipeline scenario (20-128 characters).
const apiKey = "bench-key-0123456789abcdef"

// upstreamAPI opens the API of every proxying scenario: one http_proxy
// integration to the upstream; the scenario's routes follow.
const upstreamAPI = `apis:
  bench:
    type: http
    integrations:
      up:
        type: http_proxy
        url: "http://{{.Upstream}}"
        timeout: 10s
    routes:
`

// lambdaAPI ends the Lambda scenarios' configs: the function's timeout and
// a route to it.
const lambdaAPI = `    timeout: 10s
apis:
  bench:
    type: http
    integrations:
      fn: {type: lambda, function: hello}
    routes:
      "GET /hello": {integration: fn}
`

// cachedAPI is the cache-hit scenarios' cache and cached route.
const cachedAPI = `cache:
  max_size: 64MiB
` + upstreamAPI + `      "GET ` + SmallPath + `":
        integration: up
        cache: {ttl: 300s}
`

const proxyAPI = upstreamAPI + `      "GET ` + SmallPath + `": {integration: up}
      "GET ` + LargePath + `": {integration: up}
`

// Scenarios is every scenario the suite knows, in report order.
func Scenarios() []Scenario {
	gatewayBench := func(names ...string) []Profile {
		var out []Profile
		for _, n := range names {
			out = append(out, Profile{Pkg: "./gateway/", Bench: n})
		}
		return out
	}
	gatewayProxy := gatewayBench("BenchmarkProxyGET")
	all := []Scenario{
		{Name: "direct", Proxy: Direct, Path: SmallPath, Group: "direct",
			About: "load straight to the upstream (~100 B JSON): the ceiling of this machine"},
		{Name: "direct-wrk", Proxy: Direct, Generator: Wrk, Path: SmallPath, Group: "direct",
			About: "as direct, with wrk -t1 as the generator: checks the suite's generator"},
		{Name: "nginx", Proxy: Nginx, Path: SmallPath, Group: "small",
			About: "nginx proxying ~100 B JSON over keep-alive upstream connections"},
		{Name: "frontdesk-proxy", Proxy: Frontdesk, Path: SmallPath, Reference: "nginx", Group: "small", Config: proxyAPI, Profiles: gatewayProxy,
			About: "plain http_proxy route, ~100 B JSON"},
		{Name: "frontdesk-tracing", Proxy: Frontdesk, Path: SmallPath, Reference: "nginx", Group: "small", Profiles: gatewayProxy,
			About: "as frontdesk-proxy, traced at sample_ratio 0.01 with spans exported over OTLP/HTTP (to the upstream, which answers 200)",
			Config: `tracing:
  otlp_endpoint: "http://{{.Upstream}}"
  sample_ratio: 0.01
` + proxyAPI},
		{Name: "nginx-64k", Proxy: Nginx, Path: LargePath, Group: "64k",
			About: "nginx proxying 64 KiB responses"},
		{Name: "frontdesk-64k", Proxy: Frontdesk, Path: LargePath, Reference: "nginx-64k", Group: "64k", Config: proxyAPI, Profiles: gatewayProxy,
			About: "http_proxy route, 64 KiB responses"},
		{Name: "nginx-static", Proxy: Nginx, Path: MockPath, Group: "memory",
			About:  "nginx answering the ~100 B JSON from its config (return 200): the floor of any answer that needs no upstream",
			Config: "default_type application/json;\n            return 200 '" + SmallBody + "';"},
		{Name: "frontdesk-mock", Proxy: Frontdesk, Path: MockPath, Reference: "nginx-static", Group: "memory",
			Profiles: gatewayBench("BenchmarkMockRoute"),
			About:    "mock route: the gateway's own overhead without an upstream",
			Config: `apis:
  bench:
    type: http
    integrations:
      mock:
        type: mock
        status: 200
        headers: {content-type: application/json}
        body: '` + SmallBody + `'
    routes:
      "GET ` + MockPath + `": {integration: mock}
`},
		{Name: "frontdesk-pipeline", Proxy: Frontdesk, Path: SmallPath, Reference: "nginx", Group: "pipeline",
			Profiles: gatewayBench("BenchmarkProxyGETWithAPIKeyAndThrottle", "BenchmarkProxyGETObserved"),
			Headers:  []loadgen.Header{{Name: "X-Api-Key", Value: apiKey}},
			About:    "full pipeline: API key, usage-plan and route throttles, JSON access log, admin metrics",
			Config: `access_log:
  output: "{{.Dir}}/access.log"
  format: json
admin:
  listen: "127.0.0.1:0"
api_keys:
  - {name: bench, value: "` + apiKey + `", plan: bench, enabled: true}
usage_plans:
  bench:
    throttle: {rate: 1000000, burst: 1000000}
    apis: [bench]
` + upstreamAPI + `      "GET ` + SmallPath + `":
        integration: up
        api_key: true
        throttle: {rate: 1000000, burst: 1000000}
`},
		{Name: "frontdesk-cluster", Proxy: Frontdesk, Path: SmallPath, Reference: "nginx", Group: "pipeline", Redis: true,
			Profiles: gatewayBench("BenchmarkProxyGETWithAPIKeyAndThrottle"),
			Headers:  []loadgen.Header{{Name: "X-Api-Key", Value: apiKey}},
			About:    "frontdesk-pipeline in cluster mode: throttles shared and the quota reserved through redis-server (on the load generator's CPUs)",
			Config: `cluster:
  redis: "{{.Redis}}"
  instance_id: bench
access_log:
  output: "{{.Dir}}/access.log"
  format: json
admin:
  listen: "127.0.0.1:0"
api_keys:
  - {name: bench, value: "` + apiKey + `", plan: bench, enabled: true}
usage_plans:
  bench:
    throttle: {rate: 1000000, burst: 1000000}
    quota: {limit: 1000000000000, period: month}
    apis: [bench]
` + upstreamAPI + `      "GET ` + SmallPath + `":
        integration: up
        api_key: true
        throttle: {rate: 1000000, burst: 1000000}
`},
		{Name: "frontdesk-cache-hit", Proxy: Frontdesk, Path: SmallPath, Reference: "nginx-static", Group: "memory",
			Profiles:  gatewayBench("BenchmarkCacheHit"),
			HitHeader: &loadgen.Header{Name: "X-Cache", Value: "Hit"},
			About:     "cached route answered from the response cache",
			Config:    cachedAPI},
		{Name: "frontdesk-cache-hit-log", Proxy: Frontdesk, Path: SmallPath, Reference: "nginx-static", Group: "memory",
			HitHeader: &loadgen.Header{Name: "X-Cache", Value: "Hit"},
			About:     "frontdesk-cache-hit with the JSON access log written to a file",
			Config: `access_log:
  output: "{{.Dir}}/access.log"
  format: json
` + cachedAPI},
		nginxCacheHit(),
		varnishCacheHit(),
		{Name: "frontdesk-lambda", Proxy: Frontdesk, Path: "/hello", Group: "lambda",
			About:  "lambda integration on the local function host (examples/functions/hello)",
			Builds: map[string]string{"hello": "./examples/functions/hello"},
			Config: `functions:
  hello:
    command: ["{{index .Bins "hello"}}"]
    concurrency: 4
` + lambdaAPI},
		{Name: "frontdesk-lambda-invoke", Proxy: Frontdesk, Path: "/hello", Endpoint: "hello", Group: "lambda",
			About:  "lambda integration through the Invoke API client (invoke_url) to a local Invoke endpoint running examples/functions/hello on the local function host; the endpoint's and its instances' CPU count as frontdesk's",
			Builds: map[string]string{"hello": "./examples/functions/hello"},
			Config: `functions:
  hello:
    invoke_url: "http://{{.Endpoint}}"
` + lambdaAPI},
	}
	all = append(all, wsScenarios()...)
	all = append(all, peerScenarios()...)
	all = append(all, tlsScenarios(gatewayProxy)...)
	return append(all, matrixScenarios()...)
}

// SelectScenarios returns the scenarios named in the comma-separated list,
// in report order; an empty list selects all.
func SelectScenarios(all []Scenario, list string) ([]Scenario, error) {
	if strings.TrimSpace(list) == "" {
		return all, nil
	}
	want := map[string]bool{}
	for _, n := range strings.Split(list, ",") {
		if n = strings.TrimSpace(n); n != "" {
			want[n] = true
		}
	}
	var out []Scenario
	for _, s := range all {
		if want[s.Name] {
			out = append(out, s)
			delete(want, s.Name)
		}
	}
	if len(want) > 0 {
		var unknown, known []string
		for n := range want {
			unknown = append(unknown, n)
		}
		for _, s := range all {
			known = append(known, s.Name)
		}
		return nil, fmt.Errorf("unknown scenario(s) %s; known: %s", strings.Join(unknown, ", "), strings.Join(known, ", "))
	}
	return out, nil
}

// RoundOrder returns the indexes of scenarios in the order round r
// (0-based) runs them: groups rotated by r, and the members of each group
// rotated by r as well.
func RoundOrder(scenarios []Scenario, runnable []int, r int) []int {
	var groups [][]int
	at := map[string]int{}
	for _, i := range runnable {
		g := scenarios[i].Group
		if k, ok := at[g]; ok && g != "" {
			groups[k] = append(groups[k], i)
			continue
		}
		at[g] = len(groups)
		groups = append(groups, []int{i})
	}
	var out []int
	for _, g := range Rotate(groups, r) {
		out = append(out, Rotate(g, r)...)
	}
	return out
}

// Rotate returns the order of round r: the list rotated left by r, so each
// scenario runs early and late in turn and slow drifts of the machine
// spread over all of them.
func Rotate[T any](list []T, r int) []T {
	if len(list) == 0 {
		return nil
	}
	k := r % len(list)
	out := make([]T, 0, len(list))
	out = append(out, list[k:]...)
	return append(out, list[:k]...)
}
