package metrics

import (
	"fmt"
	"io"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkObserve is what one request costs: method look-up, counter,
// both latency histograms.
func BenchmarkObserve(b *testing.B) {
	r := newTestRegistry(b, Options{OmitProcessMetrics: true})
	m := r.Route("petstore", "prod", "GET /pets/{id}")
	method := []byte("GET")
	b.ReportAllocs()
	for b.Loop() {
		m.Observe(MethodOf(method), 200, 3*time.Millisecond, 2*time.Millisecond)
	}
}

// BenchmarkObserveParallel is every core counting on the same route, the
// worst case for the histograms' mutexes.
func BenchmarkObserveParallel(b *testing.B) {
	r := newTestRegistry(b, Options{OmitProcessMetrics: true})
	m := r.Route("petstore", "prod", "GET /pets/{id}")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		method := []byte("GET")
		for pb.Next() {
			m.Observe(MethodOf(method), 200, 3*time.Millisecond, 2*time.Millisecond)
		}
	})
}

// BenchmarkObserveParallelRoutes is every core counting on its own route.
func BenchmarkObserveParallelRoutes(b *testing.B) {
	r := newTestRegistry(b, Options{OmitProcessMetrics: true})
	var next atomic.Int64
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		m := r.Route("petstore", "prod", fmt.Sprintf("GET /r%d", next.Add(1)))
		method := []byte("GET")
		for pb.Next() {
			m.Observe(MethodOf(method), 200, 3*time.Millisecond, 2*time.Millisecond)
		}
	})
}

// BenchmarkCount is the counter alone.
func BenchmarkCount(b *testing.B) {
	r := newTestRegistry(b, Options{OmitProcessMetrics: true})
	m := r.Route("petstore", "prod", "GET /pets/{id}")
	b.ReportAllocs()
	for b.Loop() {
		m.Count(MethodGET, 200)
	}
}

// BenchmarkWritePrometheus is a scrape of 100 routes with two methods each,
// without the process metrics.
func BenchmarkWritePrometheus(b *testing.B) {
	r := newTestRegistry(b, Options{OmitProcessMetrics: true})
	for i := range 100 {
		m := r.Route(fmt.Sprintf("api%d", i%5), "prod", fmt.Sprintf("GET /r%d", i))
		m.Observe(MethodGET, 200, time.Millisecond, time.Millisecond)
		m.Observe(MethodPOST, 500, time.Millisecond, time.Millisecond)
	}
	b.ReportAllocs()
	for b.Loop() {
		r.WritePrometheus(io.Discard)
	}
}
