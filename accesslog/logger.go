package accesslog

import (
	"bufio"
	"cmp"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/frontdeskgw/frontdesk/internal/clftime"
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
	// DefaultQueueBytes of formatted lines may wait for the writer: 4 MiB,
	// at 300–500 bytes a line about 10 ms of a million requests a second,
	// ten times the writer's polling interval.
	DefaultQueueBytes = 4 << 20
	// DefaultFlushInterval is the longest a written line waits in the
	// write buffer before it reaches the output.
	DefaultFlushInterval = time.Second
)

// MinQueueBytes is the smallest Options.QueueBytes: every shard of the
// queue must hold at least two lines of the longest kind.
const MinQueueBytes = 2 * MaxLineBytes

const (
	writeBufferSize = 64 << 10
	fileMode        = 0o644
	// maxShards bounds the queue's shards: enough that Log calls on many
	// cores rarely wait for each other, few enough that each is large.
	maxShards = 64
	// pollInterval is how long the writer sleeps between collections while
	// lines keep coming (see run). The queue must absorb this long of
	// traffic.
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
	// QueueBytes bounds the formatted lines waiting for the writer; when
	// they would not fit, Log drops the line. 0 means DefaultQueueBytes; at
	// least MinQueueBytes.
	QueueBytes int
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
	times  clftime.Cache
	shards []shard
	kick   chan struct{}   // a line went into an empty shard
	ctl    chan ctlRequest // Reopen and Close, run by the writer goroutine
	done   chan struct{}   // closed when the writer goroutine has exited

	closed      atomic.Bool
	closeOnce   sync.Once
	closeErr    error
	lines       atomic.Uint64
	dropped     atomic.Uint64
	writeErrors atomic.Uint64

	// Owned by the writer goroutine once New returns.
	spare      []byte // swapped with a shard's lines when the writer collects them
	path       string // file path, "" for stdout, stderr or Options.Writer
	name       string // output as configured, for reports
	file       *os.File
	out        io.Writer
	bw         *bufio.Writer
	flushEvery time.Duration
	log        *slog.Logger
	lastReport time.Time
}

// A shard is one part of the queue: lines formatted end to end in a
// buffer of fixed capacity, which the writer swaps for an empty one. Log
// takes the first shard no other Log holds, so concurrent calls rarely
// wait, and an uncontended caller always gets the first shard: lines leave
// in the order they came except when logged at once on several processors.
type shard struct {
	shardFields
	_ [cacheLine - unsafe.Sizeof(shardFields{})%cacheLine]byte
}

type shardFields struct {
	mu      sync.Mutex
	pending []byte // whole lines; cap is the shard's share of QueueBytes
	lines   uint64 // lines in pending
}

// cacheLine keeps shards on separate cache lines (two, against adjacent-line
// prefetch).
const cacheLine = 128

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
	queueBytes := cmp.Or(o.QueueBytes, DefaultQueueBytes)
	if queueBytes < MinQueueBytes {
		return nil, fmt.Errorf("accesslog: queue of %d bytes is below the minimum %d", o.QueueBytes, MinQueueBytes)
	}
	if o.FlushInterval < 0 {
		return nil, fmt.Errorf("accesslog: flush interval %v is negative", o.FlushInterval)
	}
	l := &Logger{
		format:     o.Format,
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
	n := min(runtime.GOMAXPROCS(0), maxShards, queueBytes/MinQueueBytes)
	l.shards = make([]shard, n)
	for i := range l.shards {
		l.shards[i].pending = make([]byte, 0, queueBytes/n)
	}
	l.spare = make([]byte, 0, queueBytes/n)
	l.kick = make(chan struct{}, 1)
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
	s := l.lockShard()
	// Checked under the shard's lock: Close's last collection takes it
	// after closed is set, so a line is either written or counted dropped.
	if l.closed.Load() || cap(s.pending)-len(s.pending) < MaxLineBytes {
		s.mu.Unlock()
		l.dropped.Add(1)
		return
	}
	wake := len(s.pending) == 0
	s.pending = appendLine(s.pending, l.format, r, &l.times)
	s.lines++
	s.mu.Unlock()
	if wake {
		// Only the first line after a collection can find the writer
		// asleep; while it polls, the kick waits in the channel.
		select {
		case l.kick <- struct{}{}:
		default:
		}
	}
}

// lockShard locks and returns the first shard that is free, or a random one
// when all are held.
func (l *Logger) lockShard() *shard {
	for i := range l.shards {
		if l.shards[i].mu.TryLock() {
			return &l.shards[i]
		}
	}
	s := &l.shards[rand.IntN(len(l.shards))]
	s.mu.Lock()
	return s
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

// run is the writer goroutine. While no lines come it waits for a kick.
// Once they do it switches to polling: it collects the shards' lines,
// sleeps pollInterval, and collects again, until a collection finds
// nothing. The point is who pays for wake-ups: a writer woken by every
// line would be woken on the request path (a futex call when a processor
// is idle). While the writer sleeps on its own timer, a line costs the
// request an uncontended lock and the formatting.
func (l *Logger) run() {
	defer close(l.done)
	tick := time.NewTicker(l.flushEvery)
	defer tick.Stop()
	poll := time.NewTimer(pollInterval)
	defer poll.Stop()
	for {
		select {
		case <-l.kick:
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

// poll collects lines until a collection after a pollInterval's sleep
// finds none. It reports false when a Close request ended the writer.
func (l *Logger) poll(poll *time.Timer, tick *time.Ticker) bool {
	for l.collect() > 0 {
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
	}
	return true
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

// collect moves every shard's lines into the write buffer and returns how
// many it moved. A shard's lock is held only to swap its buffer with the
// spare one.
func (l *Logger) collect() uint64 {
	var moved uint64
	for i := range l.shards {
		s := &l.shards[i]
		s.mu.Lock()
		batch, n := s.pending, s.lines
		if n > 0 {
			s.pending, s.lines = l.spare[:0], 0
		}
		s.mu.Unlock()
		if n == 0 {
			continue
		}
		l.spare = batch
		if _, err := l.bw.Write(batch); err != nil {
			l.failed(err)
		} else {
			l.lines.Add(n)
		}
		moved += n
	}
	return moved
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
	l.collect()
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

// shutdown writes what is queued, flushes and closes the file.
func (l *Logger) shutdown() error {
	l.collect()
	err := l.flush()
	if l.file != nil {
		if cerr := l.file.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("accesslog: close %s: %w", l.path, cerr)
		}
	}
	return err
}
