package bench

import (
	"fmt"
	"strings"

	"github.com/frontdeskgw/frontdesk/bench/loadgen"
)

// MatrixCell places a scenario in the vendor matrix: the shape API gateway
// vendors publish their figures in — no plugins, a rate limit or key
// authentication, on a config of one route or of 1,000 — so frontdesk's
// and nginx's can be set beside theirs.
type MatrixCell struct {
	Gateway string `json:"gateway"` // frontdesk or nginx: the table's row
	Plugins string `json:"plugins"` // MatrixNone, MatrixRate or MatrixKey
	Routes  int    `json:"routes"`  // 1 or MatrixManyRoutes
}

// The matrix's axes.
const (
	MatrixNone = "none" // plain proxying
	MatrixRate = "rate" // a rate limit per client address that never refuses
	MatrixKey  = "key"  // an API key in X-Api-Key, checked on every request
	// MatrixManyRoutes is the route count of the matrix's larger configs.
	MatrixManyRoutes = 1000
	// matrixLoaded is the index of the loaded route among the many: in
	// the middle, not first.
	matrixLoaded = 500
	// matrixReference is the cell every matrix scenario is divided by.
	matrixReference = "nginx-m-none-1"
	// matrixRate is the rate and burst of the matrix's limits: far above
	// any rate one machine's loopback reaches, so no request is refused.
	matrixRate = 1000000
)

// matrixColumns are the matrix's cells in table order.
var matrixColumns = []struct {
	plugins string
	routes  int
	label   string
}{
	{MatrixNone, 1, "no plugins, 1 route"},
	{MatrixRate, 1, "rate limit, 1 route"},
	{MatrixKey, 1, "key auth, 1 route"},
	{MatrixNone, MatrixManyRoutes, "no plugins, 1,000 routes"},
	{MatrixRate, MatrixManyRoutes, "rate limit, 1,000 routes"},
	{MatrixKey, MatrixManyRoutes, "key auth, 1,000 routes"},
}

// matrixGateways are the matrix's rows.
var matrixGateways = []ProxyKind{Frontdesk, Nginx}

// MatrixName is a cell's scenario name: GATEWAY-m-PLUGINS-ROUTES.
func MatrixName(c MatrixCell) string {
	return fmt.Sprintf("%s-m-%s-%d", c.Gateway, c.Plugins, c.Routes)
}

// routePath is the matrix's i-th route.
func routePath(i int) string { return fmt.Sprintf("/routes/%04d", i) }

// MatrixPath is the route the matrix's load requests, in every cell.
var MatrixPath = routePath(matrixLoaded)

// matrixPaths are a cell's routes: the loaded one alone, or 1,000 with it
// in the middle.
func matrixPaths(routes int) []string {
	if routes <= 1 {
		return []string{MatrixPath}
	}
	out := make([]string, routes)
	for i := range out {
		out[i] = routePath(i)
	}
	return out
}

// matrixScenarios are the matrix's twelve cells, one group run back to
// back in every round.
func matrixScenarios() []Scenario {
	var out []Scenario
	for _, gw := range matrixGateways {
		for _, col := range matrixColumns {
			c := MatrixCell{Gateway: string(gw), Plugins: col.plugins, Routes: col.routes}
			sc := Scenario{Name: MatrixName(c), Proxy: gw, Path: MatrixPath, Group: "matrix", Matrix: &c,
				About: fmt.Sprintf("vendor matrix, %s: %s", gw, matrixAbout(c))}
			if sc.Name != matrixReference {
				sc.Reference = matrixReference
			}
			if c.Plugins == MatrixKey {
				sc.Headers = []loadgen.Header{{Name: "X-Api-Key", Value: apiKey}}
			}
			switch gw {
			case Frontdesk:
				sc.Config = matrixFrontdeskConfig(c)
				sc.Profiles = []Profile{{Pkg: "./gateway/", Bench: "BenchmarkProxyGET"}}
				if c.Plugins != MatrixNone {
					sc.Profiles = []Profile{{Pkg: "./gateway/", Bench: "BenchmarkProxyGETWithAPIKeyAndThrottle"}}
				}
			case Nginx:
				sc.NginxHTTP, sc.NginxServer = matrixNginx(c.Plugins)
				sc.NginxRoutes = matrixPaths(c.Routes)
			}
			out = append(out, sc)
		}
	}
	return out
}

func matrixAbout(c MatrixCell) string {
	plugins := map[string]string{
		MatrixNone: "no plugins",
		MatrixRate: "a rate limit per client address that never refuses",
		MatrixKey:  "an API key in X-Api-Key checked on every route",
	}[c.Plugins]
	if c.Routes <= 1 {
		return plugins + ", 1 route"
	}
	return fmt.Sprintf("%s, %d routes (the loaded one is route %d of them)", plugins, c.Routes, matrixLoaded+1)
}

// matrixFrontdeskConfig is a cell's frontdesk config: every route an
// http_proxy to the upstream, each with the cell's plugin — a throttle per
// client address, or api_key: true with one key on a plan covering the
// API.
func matrixFrontdeskConfig(c MatrixCell) string {
	var b strings.Builder
	if c.Plugins == MatrixKey {
		b.WriteString(`api_keys:
  - {name: bench, value: "` + apiKey + `", plan: bench, enabled: true}
usage_plans:
  bench:
    apis: [bench]
`)
	}
	b.WriteString(upstreamAPI)
	var opts string
	switch c.Plugins {
	case MatrixRate:
		opts = fmt.Sprintf(", throttle: {rate: %d, burst: %d, per: client_ip}", matrixRate, matrixRate)
	case MatrixKey:
		opts = ", api_key: true"
	}
	for _, p := range matrixPaths(c.Routes) {
		fmt.Fprintf(&b, "      \"GET %s\": {integration: up%s}\n", p, opts)
	}
	return b.String()
}

// matrixNginx is a cell's nginx directives at the http and server level:
// limit_req keyed on the client address ($binary_remote_addr, as
// frontdesk's per: client_ip), or a map of the X-Api-Key header and an if
// answering 401 without the key. At the server level they apply to every
// location.
func matrixNginx(plugins string) (http, server string) {
	switch plugins {
	case MatrixRate:
		return fmt.Sprintf("limit_req_zone $binary_remote_addr zone=bench_rate:1m rate=%dr/s;", matrixRate),
			fmt.Sprintf("limit_req zone=bench_rate burst=%d nodelay;", matrixRate)
	case MatrixKey:
		return "map $http_x_api_key $bench_key_ok {\n        default 0;\n        \"" + apiKey + "\" 1;\n    }",
			"if ($bench_key_ok = 0) {\n            return 401;\n        }"
	}
	return "", ""
}

// noisyMark follows a matrix cell whose median round ran under other
// load past the line the report flags.
const noisyMark = "†"

// MatrixRows is the vendor matrix as a table: a header, then one row per
// gateway with a cell measured, each cell "CPU µs/req (ratio)", the ratio
// to nginx's no-plugins, one-route cell, marked with noisyMark when its
// median round was noisy. Nil when no cell was measured.
func (r *Report) MatrixRows() [][]string {
	cells := map[string]*ScenarioResult{}
	for i := range r.Scenarios {
		if s := &r.Scenarios[i]; s.Matrix != nil {
			cells[s.Name] = s
		}
	}
	ref := cells[matrixReference]
	hdr := []string{"gateway"}
	for _, col := range matrixColumns {
		hdr = append(hdr, col.label)
	}
	rows := [][]string{hdr}
	for _, gw := range matrixGateways {
		row, measured := []string{string(gw)}, false
		for _, col := range matrixColumns {
			s := cells[MatrixName(MatrixCell{Gateway: string(gw), Plugins: col.plugins, Routes: col.routes})]
			switch {
			case s == nil:
				row = append(row, "not run")
			case s.Median == nil:
				row = append(row, string(s.Status))
			case s.Median.CPUNotMeasured:
				row = append(row, "not measured")
			default:
				measured = true
				cell := fmt.Sprintf("%.2f (%s)", s.Median.CPUUsPerReq, cpuRatio(s, ref))
				if s.Median.Noisy() {
					cell += " " + noisyMark
				}
				row = append(row, cell)
			}
		}
		if measured {
			rows = append(rows, row)
		}
	}
	if len(rows) == 1 {
		return nil
	}
	return rows
}

// matrixVerdict is the matrix in one sentence: in how many of the cells
// measured for both frontdesk was cheaper than nginx, and the ratio per
// cell. Empty when no cell was measured for both.
func (r *Report) matrixVerdict() string {
	var parts []string
	cheaper := 0
	for _, col := range matrixColumns {
		f := r.Scenario(MatrixName(MatrixCell{Gateway: string(Frontdesk), Plugins: col.plugins, Routes: col.routes}))
		n := r.Scenario(MatrixName(MatrixCell{Gateway: string(Nginx), Plugins: col.plugins, Routes: col.routes}))
		if f == nil || n == nil || f.Median == nil || n.Median == nil || f.Median.CPUUsPerReq <= 0 || n.Median.CPUUsPerReq <= 0 {
			continue
		}
		ratio := PairedRatio(f, n, roundCPU)
		if ratio < 1 {
			cheaper++
		}
		parts = append(parts, fmt.Sprintf("%s %.2f×", col.label, ratio))
	}
	if len(parts) == 0 {
		return ""
	}
	return fmt.Sprintf("In the vendor matrix frontdesk spent less CPU per request than nginx in %d of %d cells (frontdesk ÷ nginx: %s).",
		cheaper, len(parts), strings.Join(parts, "; "))
}
