// Package metrics holds frontdesk's Prometheus metrics: request counts and
// latency histograms per API, stage and route, function invocations,
// errors and durations (and local functions' instance figures), per-API
// upstream errors and throttling,
// process-wide gauges, configuration reloads, figures the response cache,
// WebSocket bridges and access log report, and Go runtime and process
// metrics. The admin listener serves them with Registry.WritePrometheus.
//
// It is built on a private github.com/VictoriaMetrics/metrics Set (never the
// library's global one) and knows nothing of configuration or of the
// gateway's types: callers register an API and its routes by name and get
// handles back.
//
// Hot path: RouteMetrics.Observe, once per request. The handle was
// resolved when the route was compiled, and its counters sit in an array
// indexed by method and status class, so counting is an atomic pointer
// load and an atomic add, and latency is two histogram updates (a short
// bucket scan and a mutex-guarded add each). No map look-up, no label
// string and no allocation happens per request; a method's counters are
// created once, the first time a route sees that method.
package metrics
