package accesslog

import (
	"bufio"
	"cmp"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Output names Options.Output recognises; anything else is a file path.
// A file literally named "stdout" is reached as "./stdout".
const (
	OutputStdout = "stdout"
	OutputStderr = "stderr"
	OutputOff    = "off"
)

// Defaults for the zero Options.
const (
	// DefaultQueueLength lines may wait for the writer. With the default,
	// the queue's memory is bounded by 1024 × MaxLineBytes = 32 MiB, a
	// bound only a flood of maximal lines reaches; ordinary lines of a few
	// hundred bytes keep it near 1024 × 1 KiB (the initial line buffer).
	DefaultQueueLength = 1024
	// DefaultFlushInterval is the longest a written line waits in the
	// write buffer before it reaches the output.
	DefaultFlushInterval = time.Second
)

const (
	writeBufferSize = 64 << 10
	// A line buffer starts at initialLineCap, which holds any ordinary
	// line. One that grew past keptLineCap for an unusually long line is
	// replaced by the writer goroutine after use, so a burst of long lines
	// does not keep its memory once it has been written.
	initialLineCap = 1 << 10
	keptLineCap    = 4 << 10
	fileMode       = 0o644
	// pollInterval is how long the writer sleeps between drains while lines
	// keep coming (see run). The queue must absorb this long of traffic:
	// 1024 lines cover a million requests a second.
	pollInterval = time.Millisecond
	// errorReportInterval spaces out slog reports of a failing output; the
	// WriteErrors counter keeps the exact count.
	errorReportInterval = time.Minute
)

// ErrClosed is returned by Reopen after Close.
var ErrClosed = errors.New("accesslog: logger closed")

// Options configure a Logger.
type Options struct {
	// Output is "stdout", "stderr", "off", or the path of a file, which is
	// created if missing (mode 0644) and appended to. "" is off: API
	// Gateway, too, logs no access lines until a destination is set.
	Output string
	// Format is the line format.
	Format Format
	// Writer, when set, receives the lines instead of Output. Close
	// flushes it but does not close it, and Reopen does nothing.
	Writer io.Writer
	// QueueLength is how many formatted lines may wait for the writer
	// before Log drops lines; 0 means DefaultQueueLength. Memory held by
	// the queue is at most QueueLength × MaxLineBytes.
	QueueLength int
	// FlushInterval is how often buffered lines are flushed to the
	// output; 0 means DefaultFlushInterval.
	FlushInterval time.Duration
	// Logger receives the Logger's own problems (a failing output, a
	// failed reopen); nil means slog.Default().
	Logger *slog.Logger
}

// Stats are a Logger's counters since New.
type Stats struct {
	// Lines is how many lines were handed to the output.
	Lines uint64
	// Dropped is how many lines Log discarded because the queue was full,
	// or because they came after Close.
	Dropped uint64
	// WriteErrors is how many writes to the output failed. Each failure
	// loses the lines that were buffered at the time (up to 64 KiB).
	WriteErrors uint64
}

// A Logger formats records on the caller's goroutine and writes them on
// its own. Its methods are safe for concurrent use. A nil *Logger is valid
// and logs nothing: that is what New returns for output "off".
type Logger struct {
	format Format
	times  timeCache
	limit  int64           // buffers that may exist, = queue capacity
	made   atomic.Int64    // buffers created so far, at most limit
	free   chan *lineBuf   // buffers ready for Log
	queue  chan *lineBuf   // formatted lines waiting for the writer
	ctl    chan ctlRequest // Reopen and Close, run by the writer goroutine
	done   chan struct{}   // closed when the writer goroutine has exited

	closed      atomic.Bool
	closeOnce   sync.Once
	closeErr    error
	lines       atomic.Uint64
	dropped     atomic.Uint64
	writeErrors atomic.Uint64

	// Owned by the writer goroutine once New returns.
	path       string // file path, "" for stdout, stderr or Options.Writer
	name       string // output as configured, for reports
	file       *os.File
	out        io.Writer
	bw         *bufio.Writer
	flushEvery time.Duration
	log        *slog.Logger
	lastReport time.Time
}

type lineBuf struct{ b []byte }

type ctlRequest struct {
	reopen bool // false: close
	reply  chan error
}

// New starts a Logger. It returns a nil *Logger and no error for output
// "off" (or ""), so the caller can keep and call it unconditionally.
func New(o Options) (*Logger, error) {
	switch o.Format {
	case FormatJSON, FormatCLF:
	default:
		return nil, fmt.Errorf("accesslog: unknown format %v", o.Format)
	}
	if o.QueueLength < 0 {
		return nil, fmt.Errorf("accesslog: queue length %d is negative", o.QueueLength)
	}
	if o.FlushInterval < 0 {
		return nil, fmt.Errorf("accesslog: flush interval %v is negative", o.FlushInterval)
	}
	l := &Logger{
		format:     o.Format,
		limit:      int64(cmp.Or(o.QueueLength, DefaultQueueLength)),
		flushEvery: cmp.Or(o.FlushInterval, DefaultFlushInterval),
		log:        o.Logger,
		name:       o.Output,
	}
	if l.log == nil {
		l.log = slog.Default()
	}
	switch {
	case o.Writer != nil:
		l.out, l.name = o.Writer, "writer"
	case o.Output == "" || o.Output == OutputOff:
		return nil, nil
	case o.Output == OutputStdout:
		l.out = os.Stdout
	case o.Output == OutputStderr:
		l.out = os.Stderr
	default:
		f, err := openLogFile(o.Output)
		if err != nil {
			return nil, fmt.Errorf("accesslog: %w", err)
		}
		l.path, l.file, l.out = o.Output, f, f
	}
	l.bw = bufio.NewWriterSize(l.out, writeBufferSize)
	l.free = make(chan *lineBuf, l.limit)
	l.queue = make(chan *lineBuf, l.limit)
	l.ctl = make(chan ctlRequest)
	l.done = make(chan struct{})
	go l.run()
	return l, nil
}

func openLogFile(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, fileMode)
}

// Log formats r and queues the line for writing. It never waits for the
// output: when the queue is full the line is dropped and counted in
// Stats.Dropped. r is not retained. On a nil *Logger, Log does nothing.
func (l *Logger) Log(r *Record) {
	if l == nil {
		return
	}
	if l.closed.Load() {
		l.dropped.Add(1)
		return
	}
	b := l.take()
	if b == nil {
		l.dropped.Add(1)
		return
	}
	b.b = appendLine(b.b[:0], l.format, r, &l.times)
	// Never blocks: at most limit buffers exist and the queue holds limit.
	l.queue <- b
}

// take returns a free line buffer, creating one while fewer than limit
// exist, or nil when all of them are queued or being written.
func (l *Logger) take() *lineBuf {
	select {
	case b := <-l.free:
		return b
	default:
	}
	for {
		n := l.made.Load()
		if n >= l.limit {
			return nil
		}
		if l.made.CompareAndSwap(n, n+1) {
			return &lineBuf{b: make([]byte, 0, initialLineCap)}
		}
	}
}

// Stats returns the Logger's counters; zero for a nil *Logger.
func (l *Logger) Stats() Stats {
	if l == nil {
		return Stats{}
	}
	return Stats{
		Lines:       l.lines.Load(),
		Dropped:     l.dropped.Load(),
		WriteErrors: l.writeErrors.Load(),
	}
}

// Reopen flushes and closes the log file and opens its path again, so a
// rotated file (renamed by logrotate or the like) is let go and a fresh one
// is started. Lines logged before the call go to the old file; lines logged
// while it runs wait in the queue for the new one. If the path cannot
// be opened, the Logger keeps writing to the old file and Reopen returns
// the error. For stdout, stderr and Options.Writer, Reopen does nothing.
// Reopen runs on the writer goroutine and waits for it, so it waits for a
// stuck output too; Log never does.
func (l *Logger) Reopen() error {
	if l == nil {
		return nil
	}
	return l.request(true)
}

// Close writes every queued line, flushes, closes the file (not stdout,
// stderr or Options.Writer) and stops the writer goroutine. Lines logged
// after Close are dropped; lines logged while Close runs may be lost.
// Close waits for the output: if a write is stuck, so is Close. Calling it
// again returns the first call's result.
func (l *Logger) Close() error {
	if l == nil {
		return nil
	}
	l.closeOnce.Do(func() {
		l.closed.Store(true)
		l.closeErr = l.request(false)
	})
	return l.closeErr
}

// request hands a Reopen or Close to the writer goroutine and waits.
func (l *Logger) request(reopen bool) error {
	req := ctlRequest{reopen: reopen, reply: make(chan error, 1)}
	select {
	case l.ctl <- req:
	case <-l.done:
		return ErrClosed
	}
	err := <-req.reply
	if !reopen {
		<-l.done
	}
	return err
}

// run is the writer goroutine. While the queue is idle it waits on the
// queue channel. Once lines arrive it switches to polling: it drains the
// queue, sleeps pollInterval, and drains again, until a sleep finds the
// queue empty. The point is who pays for wake-ups: a goroutine parked on a
// channel is woken by the next send, and that wake-up (a futex call when a
// processor is idle) is paid by the request goroutine inside Log. While the
// writer sleeps on its own timer, a send is just a copy into the channel.
func (l *Logger) run() {
	defer close(l.done)
	tick := time.NewTicker(l.flushEvery)
	defer tick.Stop()
	poll := time.NewTimer(pollInterval)
	defer poll.Stop()
	for {
		select {
		case b := <-l.queue:
			l.write(b)
			if !l.poll(poll, tick) {
				return
			}
		case <-tick.C:
			l.flushIfBuffered()
		case req := <-l.ctl:
			if l.control(req) {
				return
			}
		}
	}
}

// poll drains the queue until it stays empty for pollInterval. It
// reports false when a Close request ended the writer.
func (l *Logger) poll(poll *time.Timer, tick *time.Ticker) bool {
	for {
		l.drain()
		poll.Reset(pollInterval)
		select {
		case <-poll.C:
		case <-tick.C:
			l.flushIfBuffered()
		case req := <-l.ctl:
			if l.control(req) {
				return false
			}
		}
		if len(l.queue) == 0 {
			return true
		}
	}
}

// control runs a Reopen or Close request and reports whether the writer
// must stop.
func (l *Logger) control(req ctlRequest) bool {
	if req.reopen {
		req.reply <- l.reopen()
		return false
	}
	req.reply <- l.shutdown()
	return true
}

func (l *Logger) flushIfBuffered() {
	if l.bw.Buffered() > 0 {
		_ = l.flush() // counted and reported by flush
	}
}

func (l *Logger) write(b *lineBuf) {
	if _, err := l.bw.Write(b.b); err != nil {
		l.failed(err)
	} else {
		l.lines.Add(1)
	}
	if cap(b.b) > keptLineCap {
		b.b = make([]byte, 0, initialLineCap)
	}
	// Never blocks: free holds limit buffers and at most limit exist.
	l.free <- b
}

func (l *Logger) flush() error {
	if err := l.bw.Flush(); err != nil {
		l.failed(err)
		return fmt.Errorf("accesslog: flush %s: %w", l.name, err)
	}
	return nil
}

// failed counts a write error and reports it, at most once per
// errorReportInterval. bufio.Writer keeps its first error forever, so the
// buffer is reset: what it held is lost, but later lines get a new try
// (a full disk may free up).
func (l *Logger) failed(err error) {
	n := l.writeErrors.Add(1)
	l.bw.Reset(l.out)
	if now := time.Now(); now.Sub(l.lastReport) >= errorReportInterval {
		l.lastReport = now
		l.log.Error("access log write failed; buffered lines lost", "output", l.name, "err", err, "write_errors", n)
	}
}

func (l *Logger) reopen() error {
	if l.path == "" {
		return nil
	}
	// Lines logged before Reopen was called belong to the old file.
	l.drain()
	flushErr := l.flush()
	f, err := openLogFile(l.path)
	if err != nil {
		l.log.Error("access log reopen failed; still writing to the old file", "output", l.name, "err", err)
		return fmt.Errorf("accesslog: reopen: %w", err)
	}
	old := l.file
	l.file, l.out = f, f
	l.bw.Reset(f)
	if err := old.Close(); err != nil {
		return fmt.Errorf("accesslog: close rotated %s: %w", l.path, err)
	}
	return flushErr
}

// drain writes every queued line to the write buffer. Only the writer
// goroutine receives from the queue, so a non-zero length means a receive
// cannot block.
func (l *Logger) drain() {
	for len(l.queue) > 0 {
		l.write(<-l.queue)
	}
}

// shutdown writes what is queued, flushes and closes the file.
func (l *Logger) shutdown() error {
	l.drain()
	err := l.flush()
	if l.file != nil {
		if cerr := l.file.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("accesslog: close %s: %w", l.path, cerr)
		}
	}
	return err
}
