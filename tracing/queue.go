package tracing

import (
	"context"
	"encoding/binary"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// queue is the span processor: a bounded channel that ended spans enter
// without waiting, and one goroutine that exports them in batches. The
// SDK's batch processor also drops when full, but does not say how many;
// operators need that number (a collector that is down shows as drops).
type queue struct {
	exp      sdktrace.SpanExporter
	spans    chan sdktrace.ReadOnlySpan
	batch    int
	interval time.Duration
	timeout  time.Duration
	log      *slog.Logger

	exported, dropped atomic.Uint64

	flush    chan chan struct{}
	stop     chan struct{}
	stopOnce sync.Once
	done     chan struct{}
	// lastErr limits export errors in the log to one a minute.
	lastErr atomic.Int64
}

func newQueue(exp sdktrace.SpanExporter, cfg Config, timeout time.Duration, log *slog.Logger) *queue {
	q := &queue{
		exp:      exp,
		spans:    make(chan sdktrace.ReadOnlySpan, orDefault(cfg.QueueSize, DefaultQueueSize)),
		batch:    orDefault(cfg.BatchSize, DefaultBatchSize),
		interval: cfg.Interval,
		timeout:  timeout,
		log:      log,
		flush:    make(chan chan struct{}),
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
	}
	if q.interval <= 0 {
		q.interval = DefaultInterval
	}
	go q.run()
	return q
}

func orDefault(n, d int) int {
	if n <= 0 {
		return d
	}
	return n
}

func (q *queue) OnStart(context.Context, sdktrace.ReadWriteSpan) {}

// OnEnd queues a sampled span, or drops it when the queue is full: a
// request never waits for the exporter.
func (q *queue) OnEnd(s sdktrace.ReadOnlySpan) {
	if !s.SpanContext().IsSampled() {
		return
	}
	select {
	case q.spans <- s:
	default:
		q.dropped.Add(1)
	}
}

func (q *queue) run() {
	defer close(q.done)
	buf := make([]sdktrace.ReadOnlySpan, 0, q.batch)
	tick := time.NewTicker(q.interval)
	defer tick.Stop()
	send := func() {
		if len(buf) == 0 {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), q.timeout)
		err := q.exp.ExportSpans(ctx, buf)
		cancel()
		if err != nil {
			q.dropped.Add(uint64(len(buf)))
			if now := time.Now().Unix(); now-q.lastErr.Load() >= 60 {
				q.lastErr.Store(now)
				q.log.Warn("tracing: export failed; spans dropped", "spans", len(buf), "err", err)
			}
		} else {
			q.exported.Add(uint64(len(buf)))
		}
		clear(buf)
		buf = buf[:0]
	}
	drain := func() {
		for {
			select {
			case s := <-q.spans:
				buf = append(buf, s)
				if len(buf) == q.batch {
					send()
				}
			default:
				send()
				return
			}
		}
	}
	for {
		select {
		case s := <-q.spans:
			buf = append(buf, s)
			if len(buf) == q.batch {
				send()
			}
		case <-tick.C:
			send()
		case ack := <-q.flush:
			drain()
			close(ack)
		case <-q.stop:
			drain()
			return
		}
	}
}

func (q *queue) ForceFlush(ctx context.Context) error {
	ack := make(chan struct{})
	select {
	case q.flush <- ack:
	case <-q.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-ack:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (q *queue) Shutdown(ctx context.Context) error {
	q.stopOnce.Do(func() { close(q.stop) })
	select {
	case <-q.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	return q.exp.Shutdown(ctx)
}

func randomTraceID() trace.TraceID {
	var t trace.TraceID
	binary.NativeEndian.PutUint64(t[:8], rand.Uint64())
	binary.NativeEndian.PutUint64(t[8:], rand.Uint64())
	return t
}

func randomSpanID() trace.SpanID {
	var s trace.SpanID
	for s == (trace.SpanID{}) {
		binary.NativeEndian.PutUint64(s[:], rand.Uint64())
	}
	return s
}
