package tracing

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// BenchmarkSampledRequest is what a sampled request costs the gateway: the
// SDK server span and upstream client span with their attributes, ended
// and queued for export (the exporter's own work runs on its goroutine and
// is measured separately by the benchmark suite's frontdesk-tracing).
// At sample_ratio r, a request costs the unsampled path plus r times this.
func BenchmarkSampledRequest(b *testing.B) {
	tr, err := New(Config{Endpoint: "http://127.0.0.1:9/v1/traces", SampleRatio: 1}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { tr.Shutdown(b.Context()) }) //nolint:errcheck // drops are counted
	ctx := newRequestCtx("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	var up fasthttp.RequestHeader
	up.SetMethod("GET")
	up.SetHost("upstream.test")
	up.SetRequestURI("/pets/42?verbose=1")
	start := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		r := tr.Start(ctx, start)
		r.StartUpstream(&up).End(200, nil)
		r.End(200, Route{APIID: []byte("a1b2c3d4e5"), Stage: []byte("$default"), RouteKey: []byte("GET /pets/{id}"), RequestID: []byte("abc")})
	}
}
