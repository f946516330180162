package accesslog

import (
	"io"
	"runtime"
	"testing"
	"time"

	"github.com/frontdeskgw/frontdesk/internal/clftime"
)

// BenchmarkLog measures what a request goroutine pays for a line that is
// kept: format and enqueue. A tight loop logs far faster than any output
// drains, so the loop pauses (timer stopped) after every batch until the
// writer goroutine has caught up; drops/op stays 0.
func BenchmarkLog(b *testing.B) {
	for _, f := range []Format{FormatJSON, FormatCLF} {
		b.Run(f.String(), func(b *testing.B) {
			const batch = 4096
			l, err := New(Options{Writer: io.Discard, Format: f})
			if err != nil {
				b.Fatal(err)
			}
			r := sampleRecord()
			logged := uint64(0)
			caughtUp := func() {
				for l.Stats().Lines+l.Stats().Dropped < logged {
					runtime.Gosched()
				}
			}
			// Warm up: bursts fill and empty the shards, as traffic would.
			for range 4 * batch {
				l.Log(r)
				if logged++; logged%batch == 0 {
					caughtUp()
				}
			}
			b.ReportAllocs()
			for b.Loop() {
				l.Log(r)
				if logged++; logged%batch == 0 {
					b.StopTimer()
					caughtUp()
					b.StartTimer()
				}
			}
			b.ReportMetric(float64(l.Stats().Dropped)/float64(b.N), "drops/op")
			if err := l.Close(); err != nil {
				b.Fatal(err)
			}
		})
	}
}

// BenchmarkLogQueueFull is the cost of a dropped line: the writer is stuck
// and every Log finds no free buffer.
func BenchmarkLogQueueFull(b *testing.B) {
	w := newBlockingWriter()
	l, err := New(Options{Writer: w, QueueBytes: MinQueueBytes, FlushInterval: time.Millisecond})
	if err != nil {
		b.Fatal(err)
	}
	r := sampleRecord()
	l.Log(r)
	<-w.entered
	l.Log(r) // fills the queue
	b.ReportAllocs()
	for b.Loop() {
		l.Log(r)
	}
	w.unblock()
	if err := l.Close(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkLogOff is output: off, a nil *Logger.
func BenchmarkLogOff(b *testing.B) {
	var l *Logger
	r := sampleRecord()
	b.ReportAllocs()
	for b.Loop() {
		l.Log(r)
	}
}

// BenchmarkFormat is the formatting alone, without the queue.
func BenchmarkFormat(b *testing.B) {
	for _, f := range []Format{FormatJSON, FormatCLF} {
		b.Run(f.String(), func(b *testing.B) {
			r := sampleRecord()
			buf := make([]byte, 0, MaxLineBytes)
			var tc clftime.Cache
			b.ReportAllocs()
			for b.Loop() {
				buf = appendLine(buf[:0], f, r, &tc)
			}
			b.SetBytes(int64(len(buf)))
		})
	}
}
