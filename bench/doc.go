// Package bench is frontdesk's macro benchmark suite: it starts an
// upstream, the proxy under test (frontdesk, or nginx as the reference,
// HAProxy or Caddy beside it; over plain HTTP or TLS; nginx's proxy_cache
// and Varnish beside frontdesk's cache) and the load generator as separate
// processes pinned to separate CPUs, adds any running gateway named with
// -target, runs every scenario for several interleaved rounds, and
// reports the median round's throughput, latency, CPU time per request
// and peak RSS, with frontdesk's ratios to nginx measured in the same
// run, the vendor matrix (no plugins, rate limit, key auth × 1 and 1,000
// routes; matrix.go) as a table, the cache hits side by side, and a
// one-paragraph verdict. WebSocket
// scenarios (websocket.go) are measured the same way, per message, against
// a plain fasthttp/websocket server (WSFloorServer) instead of nginx. It
// also checks those figures, and the hot-path micro-benchmarks'
// allocations, against the performance budget.
//
// Hot path: none of this package's code runs while load is applied, except
// the two samples of CPU times from /proc per round that bracket the
// measured window (each scans /proc for the measured process's
// descendants); the request loop is bench/loadgen's, in its own process.
// WSFloorServer's handler is the floor's hot path when it runs as its own
// process (frontdesk-bench wsfloor): it keeps to what any such server
// would do, one read, one backend call or one write per message.
package bench
