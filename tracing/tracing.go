// Package tracing is frontdesk's distributed tracing: it continues the
// trace a request brings (W3C traceparent/tracestate or AWS's
// X-Amzn-Trace-Id), records a server span per request with child spans
// for the authorizer, the cache decision and the integration call, passes
// the context on to HTTP upstreams (traceparent, tracestate and
// X-Amzn-Trace-Id), Lambda events (X-Amzn-Trace-Id) and local functions
// (Lambda-Runtime-Trace-Id), and exports the sampled spans over OTLP/HTTP
// with the OpenTelemetry SDK.
//
// Off by default: the gateway holds a nil *Tracer and the request path
// pays one nil check per hook. When on, a request takes a *Request from
// Tracer.Start; every method of Request and Span is safe on nil, so the
// hooks in gateway, pipeline, proxy and exchange are one line each.
//
// The exporter never holds a request: ended spans go into a bounded queue
// (QueueSize) that one goroutine drains in batches; a span that finds the
// queue full is dropped and counted, as are the spans of a batch the
// collector did not take (Stats, frontdesk_tracing_spans_dropped_total).
//
// Hot path: Start, End and the span methods, per traced request.
package tracing

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"sync"
	"time"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// Config is the tracing section of the configuration, compiled.
type Config struct {
	// Endpoint is the collector's OTLP/HTTP URL. A URL without a path
	// gets OTLP's /v1/traces.
	Endpoint string
	// SampleRatio is the share of new traces recorded, 0 to 1. A request
	// whose caller sampled (or not) its trace follows that decision,
	// except that 0 records nothing.
	SampleRatio float64
	// ServiceName is the service.name of the spans.
	ServiceName string
	// Headers are sent with every export (an API key of the collector).
	Headers map[string]string
	// QueueSize bounds the spans waiting for export (default 2048);
	// BatchSize the spans sent at once (default 512); Interval how long a
	// span waits for a batch to fill (default 1s); ExportTimeout one
	// export, retries included (default 10s).
	QueueSize     int
	BatchSize     int
	Interval      time.Duration
	ExportTimeout time.Duration
}

// Defaults of Config's bounds.
const (
	DefaultQueueSize     = 2048
	DefaultBatchSize     = 512
	DefaultInterval      = time.Second
	DefaultExportTimeout = 10 * time.Second
)

// Stats counts spans since start.
type Stats struct {
	// Exported counts spans the collector accepted.
	Exported uint64
	// Dropped counts sampled spans lost: the queue was full, or the
	// collector refused or could not be reached.
	Dropped uint64
}

// Tracer records and exports the spans of requests.
type Tracer struct {
	provider *sdktrace.TracerProvider
	tracer   trace.Tracer
	queue    *queue
	// never: sample_ratio 0; else bound is the ratio rule's bound.
	never bool
	bound uint64
	// pool holds Requests, so that a request that is not sampled
	// allocates nothing.
	pool sync.Pool
}

// New starts a tracer exporting to cfg.Endpoint. Nothing is sent until a
// sampled span ends, and a collector that cannot be reached fails no
// request: its spans are counted as dropped.
func New(cfg Config, log *slog.Logger) (*Tracer, error) {
	endpoint, err := tracesURL(cfg.Endpoint)
	if err != nil {
		return nil, err
	}
	timeout := cfg.ExportTimeout
	if timeout <= 0 {
		timeout = DefaultExportTimeout
	}
	opts := []otlptracehttp.Option{
		otlptracehttp.WithEndpointURL(endpoint),
		otlptracehttp.WithTimeout(timeout),
		// Retries stay within one export's time: the queue, not the
		// exporter, is where spans wait.
		otlptracehttp.WithRetry(otlptracehttp.RetryConfig{Enabled: true, InitialInterval: 500 * time.Millisecond,
			MaxInterval: 2 * time.Second, MaxElapsedTime: timeout}),
	}
	if len(cfg.Headers) > 0 {
		opts = append(opts, otlptracehttp.WithHeaders(cfg.Headers))
	}
	exp, err := otlptracehttp.New(context.Background(), opts...)
	if err != nil {
		return nil, fmt.Errorf("tracing: exporter: %w", err)
	}
	q := newQueue(exp, cfg, timeout, log)
	name := cfg.ServiceName
	if name == "" {
		name = "frontdesk"
	}
	res := resource.NewSchemaless(semconv.ServiceName(name))
	tp := sdktrace.NewTracerProvider(
		// Start decides (sampleBound); the SDK sees sampled requests only.
		sdktrace.WithSampler(sdktrace.AlwaysSample()),
		sdktrace.WithSpanProcessor(q),
		sdktrace.WithResource(res),
		sdktrace.WithIDGenerator(&idGenerator{}),
	)
	t := &Tracer{
		provider: tp,
		tracer:   tp.Tracer("github.com/frontdeskgw/frontdesk"),
		queue:    q,
		never:    cfg.SampleRatio <= 0,
		bound:    sampleBound(cfg.SampleRatio),
	}
	t.pool.New = func() any { return &Request{} }
	return t, nil
}

// sampleBound is the SDK's TraceIDRatioBased bound for ratio: a trace
// is sampled when its id's last 63 bits are below it.
func sampleBound(ratio float64) uint64 {
	switch {
	case ratio <= 0:
		return 0
	case ratio >= 1:
		return 1 << 63
	}
	return uint64(ratio * (1 << 63))
}

// tracesURL is endpoint with OTLP's /v1/traces when it has no path.
func tracesURL(endpoint string) (string, error) {
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("tracing: otlp_endpoint %q is not an http(s) URL", endpoint)
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = "/v1/traces"
	}
	return u.String(), nil
}

// Stats reports the spans exported and dropped so far.
func (t *Tracer) Stats() Stats {
	return Stats{Exported: t.queue.exported.Load(), Dropped: t.queue.dropped.Load()}
}

// Shutdown exports what is queued, within ctx, and stops the exporter.
func (t *Tracer) Shutdown(ctx context.Context) error {
	if err := t.provider.Shutdown(ctx); err != nil {
		return fmt.Errorf("tracing: shutdown: %w", err)
	}
	return nil
}

// ForceFlush exports what is queued now, within ctx.
func (t *Tracer) ForceFlush(ctx context.Context) error { return t.provider.ForceFlush(ctx) }

// forcedTraceID carries the trace id of an X-Amzn-Trace-Id that names a
// Root but no Parent, so that the root span continues that trace.
type forcedTraceID struct{}

// idGenerator is the SDK's random ids, but takes a new root span's trace
// id from the context when the request named one.
type idGenerator struct{}

func (g *idGenerator) NewIDs(ctx context.Context) (trace.TraceID, trace.SpanID) {
	tid, ok := ctx.Value(forcedTraceID{}).(trace.TraceID)
	if !ok {
		tid = randomTraceID()
	}
	return tid, g.NewSpanID(ctx, tid)
}

func (g *idGenerator) NewSpanID(context.Context, trace.TraceID) trace.SpanID { return randomSpanID() }
