package accesslog

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer is an io.Writer the test can read while the writer
// goroutine writes.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *lockedBuffer) lines() int { return strings.Count(b.String(), "\n") }

// blockingWriter is a stuck disk: every Write waits until release is
// closed.
type blockingWriter struct {
	entered chan struct{}
	release chan struct{}
	once    sync.Once
	out     lockedBuffer
}

// unblock lets every Write through; a test that fails early calls it too,
// so its Logger's Close does not wait forever.
func (w *blockingWriter) unblock() { w.once.Do(func() { close(w.release) }) }

func newBlockingWriter() *blockingWriter {
	return &blockingWriter{entered: make(chan struct{}, 1), release: make(chan struct{})}
}

func (w *blockingWriter) Write(p []byte) (int, error) {
	select {
	case w.entered <- struct{}{}:
	default:
	}
	<-w.release
	return w.out.Write(p)
}

// failingWriter fails its first fails writes.
type failingWriter struct {
	mu    sync.Mutex
	fails int
	out   lockedBuffer
}

var errDiskFull = errors.New("disk full")

func (w *failingWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	fail := w.fails > 0
	w.fails--
	w.mu.Unlock()
	if fail {
		return 0, errDiskFull
	}
	return w.out.Write(p)
}

func newLogger(t *testing.T, o Options) *Logger {
	t.Helper()
	l, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	if l == nil {
		t.Fatal("New returned a nil Logger")
	}
	t.Cleanup(func() { _ = l.Close() })
	return l
}

// eventually polls cond for up to 5 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func TestOutputOffIsANilLoggerThatDoesNothing(t *testing.T) {
	for _, out := range []string{"off", ""} {
		l, err := New(Options{Output: out})
		if err != nil || l != nil {
			t.Fatalf("New(%q) = %v, %v; want nil, nil", out, l, err)
		}
		l.Log(sampleRecord())
		if err := l.Reopen(); err != nil {
			t.Errorf("Reopen on nil: %v", err)
		}
		if err := l.Close(); err != nil {
			t.Errorf("Close on nil: %v", err)
		}
		if s := l.Stats(); s != (Stats{}) {
			t.Errorf("Stats on nil = %+v", s)
		}
	}
}

func TestNewRejectsInvalidOptions(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		o    Options
	}{
		{"unknown format", Options{Output: "stdout", Format: Format(9)}},
		{"negative queue", Options{Output: "stdout", QueueBytes: -1}},
		{"queue below the minimum", Options{Output: "stdout", QueueBytes: MinQueueBytes - 1}},
		{"negative flush interval", Options{Output: "stdout", FlushInterval: -time.Second}},
		{"path is a directory", Options{Output: dir}},
		{"missing parent directory", Options{Output: filepath.Join(dir, "no", "such", "access.log")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := New(tt.o)
			if err == nil {
				_ = l.Close()
				t.Fatal("New succeeded")
			}
			if !strings.HasPrefix(err.Error(), "accesslog: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
		})
	}
}

func TestStdoutAndStderrOutputsStartAndClose(t *testing.T) {
	for _, out := range []string{OutputStdout, OutputStderr} {
		l := newLogger(t, Options{Output: out})
		if err := l.Reopen(); err != nil {
			t.Errorf("%s: Reopen: %v", out, err)
		}
		if err := l.Close(); err != nil {
			t.Errorf("%s: Close: %v", out, err)
		}
	}
}

func TestFileOutputAppendsAndReopenStartsAFreshFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "access.log")
	if err := os.WriteFile(path, []byte("earlier line\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	l := newLogger(t, Options{Output: path, Format: FormatCLF, FlushInterval: time.Hour})
	l.Log(sampleRecord())
	l.Log(sampleRecord())

	// What logrotate does: rename, then ask for a reopen.
	rotated := path + ".1"
	if err := os.Rename(path, rotated); err != nil {
		t.Fatal(err)
	}
	if err := l.Reopen(); err != nil {
		t.Fatalf("Reopen: %v", err)
	}
	l.Log(sampleRecord())
	if err := l.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	line := string(appendLine(nil, FormatCLF, sampleRecord(), nil))
	old, err := os.ReadFile(rotated)
	if err != nil {
		t.Fatal(err)
	}
	if want := "earlier line\n" + line + line; string(old) != want {
		t.Errorf("rotated file = %q, want %q", old, want)
	}
	fresh, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(fresh) != line {
		t.Errorf("new file = %q, want %q", fresh, line)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	// 0644 less whatever the umask removes.
	if perm := fi.Mode().Perm(); perm&^0o644 != 0 || perm&0o600 != 0o600 {
		t.Errorf("new file mode = %v, want 0644 (less the umask)", perm)
	}
	if got := l.Stats(); got.Lines != 3 || got.Dropped != 0 {
		t.Errorf("Stats = %+v, want 3 lines, none dropped", got)
	}
}

func TestFailedReopenKeepsWritingToTheOldFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "access.log")
	l := newLogger(t, Options{Output: path, Format: FormatCLF, FlushInterval: time.Hour, Logger: slog.New(slog.DiscardHandler)})
	l.Log(sampleRecord())
	rotated := path + ".1"
	if err := os.Rename(path, rotated); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(path, 0o755); err != nil { // the path cannot be opened now
		t.Fatal(err)
	}
	err := l.Reopen()
	if err == nil || !strings.HasPrefix(err.Error(), "accesslog: reopen: ") {
		t.Fatalf("Reopen = %v, want an accesslog: reopen error", err)
	}
	l.Log(sampleRecord())
	if err := l.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	got, err := os.ReadFile(rotated)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(got), "\n"); n != 2 {
		t.Errorf("old file has %d lines, want 2:\n%s", n, got)
	}
}

func TestBlockedWriterNeverBlocksLogAndDropsAreCounted(t *testing.T) {
	// The smallest queue is one shard; it takes lines while a line of the
	// longest kind would still fit.
	lineLen := len(appendLine(nil, FormatJSON, sampleRecord(), nil))
	queue := uint64((MinQueueBytes-MaxLineBytes)/lineLen + 1)
	w := newBlockingWriter()
	l := newLogger(t, Options{Writer: w, QueueBytes: MinQueueBytes, FlushInterval: 5 * time.Millisecond})
	t.Cleanup(w.unblock) // runs before the Logger's Close

	// The first line gets the writer goroutine stuck in a flush.
	l.Log(sampleRecord())
	select {
	case <-w.entered:
	case <-time.After(5 * time.Second):
		t.Fatal("writer was never called")
	}

	const n = 1000
	returned := make(chan struct{})
	go func() {
		defer close(returned)
		r := sampleRecord()
		for range n {
			l.Log(r)
		}
	}()
	select {
	case <-returned:
	case <-time.After(5 * time.Second):
		t.Fatal("Log blocked behind a stuck writer")
	}

	// The queue takes queue lines; the rest are dropped.
	if n <= queue {
		t.Fatalf("%d lines fit the queue; the test needs more", queue)
	}
	if got := l.Stats(); got.Dropped != n-queue {
		t.Errorf("Dropped = %d, want %d", got.Dropped, n-queue)
	}
	w.unblock()
	if err := l.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if got, want := uint64(w.out.lines()), 1+queue; got != want {
		t.Errorf("output has %d lines, want %d", got, want)
	}
	if got := l.Stats(); got.Lines != 1+queue || got.Dropped != n-queue {
		t.Errorf("Stats = %+v", got)
	}
}

func TestCloseFlushesBufferedLines(t *testing.T) {
	var out lockedBuffer
	l := newLogger(t, Options{Writer: &out, FlushInterval: time.Hour})
	for range 3 {
		l.Log(sampleRecord())
	}
	if err := l.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if got := out.lines(); got != 3 {
		t.Fatalf("output has %d lines after Close, want 3", got)
	}
	for line := range strings.Lines(out.String()) {
		decodeJSONLine(t, []byte(line))
	}
}

func TestLinesReachTheOutputWithinTheFlushInterval(t *testing.T) {
	var out lockedBuffer
	l := newLogger(t, Options{Writer: &out, FlushInterval: 20 * time.Millisecond})
	l.Log(sampleRecord())
	eventually(t, "the line to be flushed", func() bool { return out.lines() == 1 })
}

func TestLogAfterCloseIsDropped(t *testing.T) {
	var out lockedBuffer
	l := newLogger(t, Options{Writer: &out})
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l.Log(sampleRecord())
	if got := l.Stats(); got.Dropped != 1 || got.Lines != 0 {
		t.Errorf("Stats = %+v, want one drop", got)
	}
	if err := l.Reopen(); !errors.Is(err, ErrClosed) {
		t.Errorf("Reopen after Close = %v, want ErrClosed", err)
	}
	if err := l.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
	if out.lines() != 0 {
		t.Errorf("output = %q", out.String())
	}
}

func TestWriteErrorsAreCountedReportedAndSurvived(t *testing.T) {
	w := &failingWriter{fails: 1}
	var report lockedBuffer
	l := newLogger(t, Options{
		Writer:        w,
		FlushInterval: 5 * time.Millisecond,
		Logger:        slog.New(slog.NewTextHandler(&report, nil)),
	})
	l.Log(sampleRecord())
	eventually(t, "the write error", func() bool { return l.Stats().WriteErrors == 1 })
	l.Log(sampleRecord())
	eventually(t, "the next line to be written", func() bool { return w.out.lines() == 1 })
	if err := l.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if got := l.Stats(); got.WriteErrors != 1 || got.Lines != 2 {
		t.Errorf("Stats = %+v, want 1 write error and 2 lines handed over", got)
	}
	if s := report.String(); !strings.Contains(s, "access log write failed") || !strings.Contains(s, "disk full") {
		t.Errorf("report = %q", s)
	}
}

func TestConcurrentLogAccountsForEveryLine(t *testing.T) {
	var out lockedBuffer
	l := newLogger(t, Options{Writer: &out, QueueBytes: MinQueueBytes, FlushInterval: time.Millisecond})
	const goroutines, each = 4, 500
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			r := sampleRecord()
			for range each {
				l.Log(r)
			}
		})
	}
	wg.Go(func() {
		for range 5 {
			_ = l.Reopen() // a no-op for a writer, but it runs on the writer goroutine
			_ = l.Stats()
		}
	})
	wg.Wait()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	s := l.Stats()
	if s.Lines+s.Dropped != goroutines*each {
		t.Errorf("Lines %d + Dropped %d != %d", s.Lines, s.Dropped, goroutines*each)
	}
	if got := out.lines(); uint64(got) != s.Lines {
		t.Errorf("output has %d lines, Stats.Lines = %d", got, s.Lines)
	}
}

func TestLogDoesNotAllocateInSteadyState(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	for _, f := range []Format{FormatJSON, FormatCLF} {
		l := newLogger(t, Options{Writer: io.Discard, Format: f})
		r := sampleRecord()
		for range 100_000 {
			l.Log(r)
		}
		if n := testing.AllocsPerRun(1000, func() { l.Log(r) }); n != 0 {
			t.Errorf("%v: Log allocates %.1f times per call", f, n)
		}
	}
	var off *Logger
	r := sampleRecord()
	if n := testing.AllocsPerRun(1000, func() { off.Log(r) }); n != 0 {
		t.Errorf("off: Log allocates %.1f times per call", n)
	}
}

// TestALineGoesToAFreeShardAndIsWritten: while another Log holds the first
// shard, a line goes to the next one, and the writer collects every shard.
func TestALineGoesToAFreeShardAndIsWritten(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	var out lockedBuffer
	l := newLogger(t, Options{Writer: &out, FlushInterval: time.Hour})
	if len(l.shards) != 4 {
		t.Fatalf("%d shards, want one per processor (4)", len(l.shards))
	}
	l.shards[0].mu.Lock()
	r := sampleRecord()
	r.RequestID = []byte("while-shard-0-is-held")
	l.Log(r)
	l.shards[0].mu.Unlock()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "while-shard-0-is-held") {
		t.Errorf("the line in shard 1 was not written: %q", out.String())
	}
}
