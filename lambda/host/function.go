package host

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/frontdeskgw/frontdesk/lambda"
)

// Function hosts one function: a pool of slots, each running at most one
// instance (process) at a time, fed from a bounded queue. It implements
// lambda.Invoker and is safe for concurrent use.
type Function struct {
	cfg     Config
	exe     string   // absolute path of Command[0]
	args    []string // Command[1:]
	baseEnv []string // inherited + configured + reserved, minus per-instance values
	arn     string
	log     *slog.Logger

	queue chan *invocation // capacity cfg.QueueSize
	done  chan struct{}    // closed by Close

	// ids draws request and trace IDs: a ChaCha8 stream seeded from
	// crypto/rand, as unpredictable as reading crypto/rand per invocation
	// at a fraction of its cost. Guarded by mu.
	ids *mrand.ChaCha8

	mu         sync.Mutex
	closed     bool
	slots      int // slot goroutines alive (≤ Concurrency)
	idle       int // slots waiting on the queue
	queued     int // invocations in the queue (including abandoned ones)
	procs      int // processes started and not yet reaped
	gen        uint64
	genChanged chan struct{} // closed and replaced by reload

	buildMu  sync.Mutex // serialises Build; held while it runs
	builtGen uint64     // generation + 1 of the last successful build; 0: none

	nextInstance atomic.Uint64
	coldStarts   atomic.Uint64 // instances started for an invocation
	wg           sync.WaitGroup
	watch        *watcher
}

var _ lambda.Invoker = (*Function)(nil)

// NewFunction validates cfg and returns a Function with no instance
// running yet; logger (nil discards) receives lifecycle events and the
// instances' output.
func NewFunction(cfg Config, logger *slog.Logger) (*Function, error) {
	if cfg.Name == "" {
		return nil, errors.New("host: function name is required")
	}
	if len(cfg.Command) == 0 || cfg.Command[0] == "" {
		return nil, fmt.Errorf("host: function %s: command is required", cfg.Name)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = DefaultConcurrency
	}
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = DefaultQueueSize
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.InitTimeout <= 0 {
		cfg.InitTimeout = DefaultInitTimeout
	}
	switch {
	case cfg.SchedSlice == 0:
		cfg.SchedSlice = DefaultSchedSlice
	case cfg.SchedSlice < 0:
		cfg.SchedSlice = 0
	}
	if cfg.MemorySize <= 0 {
		cfg.MemorySize = DefaultMemorySize
	}
	if cfg.Region == "" {
		cfg.Region = DefaultRegion
	}
	if cfg.ExecutionEnv == "" {
		cfg.ExecutionEnv = "AWS_Lambda_provided.al2023"
	}

	var err error
	if cfg.Dir == "" {
		if cfg.Dir, err = os.Getwd(); err != nil {
			return nil, fmt.Errorf("host: function %s: working directory: %w", cfg.Name, err)
		}
	}
	if cfg.Dir, err = filepath.Abs(cfg.Dir); err != nil {
		return nil, fmt.Errorf("host: function %s: working directory: %w", cfg.Name, err)
	}
	exe, err := resolveExecutable(cfg.Command[0])
	if err != nil {
		return nil, fmt.Errorf("host: function %s: %w", cfg.Name, err)
	}
	if cfg.Handler == "" {
		cfg.Handler = filepath.Base(exe)
	}

	var seed [32]byte
	_, _ = rand.Read(seed[:]) // crypto/rand.Read never fails (Go ≥ 1.24)
	f := &Function{
		ids:        mrand.NewChaCha8(seed),
		cfg:        cfg,
		exe:        exe,
		args:       cfg.Command[1:],
		arn:        "arn:aws:lambda:" + cfg.Region + ":" + AccountID + ":function:" + cfg.Name,
		log:        logger.With("function", cfg.Name),
		queue:      make(chan *invocation, cfg.QueueSize),
		done:       make(chan struct{}),
		genChanged: make(chan struct{}),
	}
	f.baseEnv = f.buildEnv(os.Environ())

	if cfg.Build != nil {
		// Built now, so that the first invocation does not wait for a
		// compiler, and a function that does not build does not start.
		if err := f.build(0); err != nil {
			return nil, fmt.Errorf("host: function %s: %w", cfg.Name, err)
		}
	}
	if cfg.Watch {
		paths := cfg.WatchPaths
		if len(paths) == 0 {
			paths = []string{exe}
		}
		if f.watch, err = newWatcher(paths, f.reload, f.log); err != nil {
			return nil, fmt.Errorf("host: function %s: watch: %w", cfg.Name, err)
		}
	}
	return f, nil
}

func resolveExecutable(name string) (string, error) {
	if !strings.ContainsRune(name, filepath.Separator) && !strings.ContainsRune(name, '/') {
		p, err := exec.LookPath(name)
		if err != nil {
			return "", fmt.Errorf("find executable: %w", err)
		}
		name = p
	}
	p, err := filepath.Abs(name)
	if err != nil {
		return "", fmt.Errorf("executable path: %w", err)
	}
	return p, nil
}

// reservedEnv lists the variables AWS Lambda reserves; the configured Env
// cannot override them, so functions see what they would see in AWS.
func (f *Function) reservedEnv() [][2]string {
	c := f.cfg
	return [][2]string{
		{"AWS_LAMBDA_FUNCTION_NAME", c.Name},
		{"AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"},
		{"AWS_LAMBDA_FUNCTION_MEMORY_SIZE", strconv.Itoa(c.MemorySize)},
		{"AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/" + c.Name},
		{"AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand"},
		{"_HANDLER", c.Handler},
		{"AWS_REGION", c.Region},
		{"AWS_DEFAULT_REGION", c.Region},
		{"AWS_EXECUTION_ENV", c.ExecutionEnv},
		{"LAMBDA_TASK_ROOT", c.Dir},
		{"LAMBDA_RUNTIME_DIR", c.RuntimeDir},
		{"TZ", ":UTC"},
	}
}

// buildEnv layers the inherited environment (so local functions keep PATH,
// HOME and any AWS credentials for the services they call), the configured
// Env, then the reserved variables. exec.Cmd keeps the last value of a
// duplicated key.
func (f *Function) buildEnv(inherited []string) []string {
	env := make([]string, 0, len(inherited)+len(f.cfg.Env)+16)
	for _, kv := range inherited {
		// Values of a surrounding Lambda sandbox or instance must not leak.
		if strings.HasPrefix(kv, "AWS_LAMBDA_RUNTIME_API=") || strings.HasPrefix(kv, "AWS_LAMBDA_LOG_STREAM_NAME=") {
			continue
		}
		env = append(env, kv)
	}
	reserved := map[string]bool{"AWS_LAMBDA_RUNTIME_API": true, "AWS_LAMBDA_LOG_STREAM_NAME": true}
	for _, kv := range f.reservedEnv() {
		reserved[kv[0]] = true
	}
	for _, k := range sortedKeys(f.cfg.EnvDefaults) {
		if !reserved[k] {
			env = append(env, k+"="+f.cfg.EnvDefaults[k])
		}
	}
	for k, v := range f.cfg.Env {
		if reserved[k] {
			f.log.Warn("ignoring reserved environment variable in function env", "key", k)
			continue
		}
		env = append(env, k+"="+v)
	}
	for _, kv := range f.reservedEnv() {
		if kv[1] == "" {
			continue // e.g. LAMBDA_RUNTIME_DIR of a custom runtime
		}
		env = append(env, kv[0]+"="+kv[1])
	}
	return env
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// build runs Config.Build once per generation of the code: before the
// first instance and before the first one after a change.
func (f *Function) build(gen uint64) error {
	if f.cfg.Build == nil {
		return nil
	}
	f.buildMu.Lock()
	defer f.buildMu.Unlock()
	if f.builtGen == gen+1 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	go func() {
		select {
		case <-f.done:
			cancel()
		case <-ctx.Done():
		}
	}()
	if err := f.cfg.Build(ctx); err != nil {
		return err
	}
	f.builtGen = gen + 1
	return nil
}

// Stats is a snapshot of a Function's pool.
type Stats struct {
	// Instances is the number of live processes (starting, idle or busy).
	Instances int
	// Idle is the number of slots waiting for work.
	Idle int
	// Queued is the number of invocations waiting for a slot.
	Queued int
	// ColdStarts is the number of instances started to run an invocation,
	// since the Function was created.
	ColdStarts uint64
}

// Stats returns the pool's current counters.
func (f *Function) Stats() Stats {
	f.mu.Lock()
	defer f.mu.Unlock()
	return Stats{Instances: f.procs, Idle: f.idle, Queued: f.queued, ColdStarts: f.coldStarts.Load()}
}

// Invoke runs payload on a warm instance, starting one if fewer than
// Concurrency exist and none is free, else waits in the queue. A handler
// error, crash or init failure is a Result with FunctionError "Unhandled";
// a timeout is an error wrapping lambda.ErrTimeout. Canceling ctx stops the
// wait but not a running invocation, which completes (or times out) on its
// instance.
func (f *Function) Invoke(ctx context.Context, payload []byte) (lambda.Result, error) {
	if err := ctx.Err(); err != nil {
		return lambda.Result{}, fmt.Errorf("invoke %s: %w", f.cfg.Name, err)
	}
	inv := newInvocation(payload)

	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return lambda.Result{}, fmt.Errorf("invoke %s: %w", f.cfg.Name, ErrClosed)
	}
	if f.queued >= f.cfg.QueueSize {
		f.mu.Unlock()
		return lambda.Result{}, fmt.Errorf("invoke %s: %d waiting: %w", f.cfg.Name, f.cfg.QueueSize, ErrQueueFull)
	}
	f.queued++
	var random [36]byte
	_, _ = f.ids.Read(random[:]) // never fails
	inv.setIDs(&random, lambda.TraceHeader(ctx))
	// Never blocks: len(queue) ≤ queued ≤ QueueSize = cap(queue).
	f.queue <- inv
	f.growLocked()
	f.mu.Unlock()

	select {
	case o := <-inv.done:
		return o.res, o.err
	case <-ctx.Done():
		inv.abandon()
		return lambda.Result{}, fmt.Errorf("invoke %s: %w", f.cfg.Name, ctx.Err())
	}
}

// growLocked adds slots while queued work outnumbers idle slots.
func (f *Function) growLocked() {
	for f.queued > f.idle && f.slots < f.cfg.Concurrency && !f.closed {
		f.slots++
		f.idle++ // a new slot goes straight to the queue
		f.wg.Add(1)
		go f.runSlot()
	}
}

// reload retires every instance started before now: idle ones at once,
// busy ones when their invocation ends.
func (f *Function) reload() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return
	}
	f.gen++
	close(f.genChanged)
	f.genChanged = make(chan struct{})
	f.log.Info("function code changed; retiring instances", "generation", f.gen)
	if f.cfg.Build != nil {
		// Rebuild ahead of the next instance, which waits for it.
		gen := f.gen
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			if err := f.build(gen); err != nil {
				f.log.Warn("rebuild after a code change failed; the next invocation tries again", "err", err)
			}
		}()
	}
}

// Close stops all instances, fails queued and running invocations with
// ErrClosed and stops watching. It is safe to call more than once.
func (f *Function) Close() error {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return nil
	}
	f.closed = true
	close(f.done)
	f.mu.Unlock()

	var err error
	if f.watch != nil {
		err = f.watch.close()
	}
	f.wg.Wait()
	// No slot is left and Invoke no longer enqueues: fail what is waiting.
	for drained := false; !drained; {
		select {
		case inv := <-f.queue:
			if inv.take() {
				inv.complete(outcome{err: fmt.Errorf("invoke %s: %w", f.cfg.Name, ErrClosed)})
			}
		default:
			drained = true
		}
	}
	return err
}

// runSlot is one unit of concurrency: it takes invocations from the queue
// and runs them on its instance, replacing the instance (on demand) when
// it crashes, times out, or the code changed.
func (f *Function) runSlot() {
	defer f.wg.Done()
	var inst *instance
	defer func() {
		if inst != nil {
			inst.destroy()
		}
		f.mu.Lock()
		f.slots--
		f.idle--
		f.mu.Unlock()
	}()

	for {
		f.mu.Lock()
		if inst != nil && inst.gen != f.gen {
			f.mu.Unlock()
			inst.log.Info("retiring instance after code change")
			inst.destroy()
			inst = nil
			f.mu.Lock()
		}
		changed := f.genChanged
		f.mu.Unlock()

		var died <-chan struct{}
		if inst != nil {
			died = inst.exited
		}
		var inv *invocation
		select {
		case inv = <-f.queue:
		case <-changed:
			continue
		case <-died:
			inst.log.Warn("idle instance exited", "state", inst.state())
			inst.destroy()
			inst = nil
			continue
		case <-f.done:
			return
		}

		f.mu.Lock()
		f.queued--
		f.idle--
		f.mu.Unlock()

		var o outcome
		taken := inv.take()
		if taken {
			o, inst = f.execute(inst, inv)
		}

		// The slot is idle before the caller has its outcome: a caller
		// that invokes again at once finds it, instead of a new slot and
		// a cold start.
		f.mu.Lock()
		f.idle++
		closed := f.closed
		f.mu.Unlock()
		if taken {
			inv.complete(o)
		}
		if closed {
			return
		}
	}
}

// execute runs inv on inst, starting a fresh instance when inst is nil or
// its process died before taking the event. It returns the outcome and the
// instance to keep (nil when it was destroyed).
func (f *Function) execute(inst *instance, inv *invocation) (outcome, *instance) {
	for attempt := 0; ; attempt++ {
		cold := inst == nil
		if cold {
			var err error
			if inst, err = f.startInstance(); err != nil {
				return outcome{err: fmt.Errorf("invoke %s: %w", f.cfg.Name, err)}, nil
			}
			f.coldStarts.Add(1)
		}
		o, st := inst.run(inv, cold)
		switch st {
		case keep:
			return o, inst
		case notDelivered:
			// A warm instance died while idle, before this event reached
			// it: the invocation never ran, so retry it on a fresh one.
			inst.destroy()
			inst = nil
			if attempt == 0 {
				continue
			}
			return o, nil
		default:
			inst.destroy()
			return o, nil
		}
	}
}

// invocation is one Invoke call travelling to an instance.
type invocation struct {
	id      string
	traceID string
	payload []byte
	state   atomic.Int32
	// deadline is set (unix ns) when a GET /next takes the event.
	deadline atomic.Int64
	done     chan outcome // buffered: completing never blocks
}

const (
	invQueued int32 = iota
	invTaken
	invAbandoned
)

type outcome struct {
	res lambda.Result
	err error
}

// newInvocation copies payload into a new invocation; setIDs names it
// before it is queued.
func newInvocation(payload []byte) *invocation {
	return &invocation{
		// The caller may reuse its buffer once Invoke returns, which can be
		// before the instance reads the event (ctx cancel).
		payload: append([]byte(nil), payload...),
		done:    make(chan outcome, 1),
	}
}

// setIDs sets the request ID, and the trace ID unless the caller passed
// one (the gateway's trace, not a new one), from 36 random bytes.
func (inv *invocation) setIDs(random *[36]byte, trace string) {
	inv.id = uuid(random[:16])
	if trace == "" {
		trace = traceID(random[16:])
	}
	inv.traceID = trace
}

// take claims a queued invocation for execution; false if the caller gave up.
func (inv *invocation) take() bool { return inv.state.CompareAndSwap(invQueued, invTaken) }

// abandon marks a still-queued invocation as not to be run.
func (inv *invocation) abandon() { inv.state.CompareAndSwap(invQueued, invAbandoned) }

func (inv *invocation) complete(o outcome) { inv.done <- o }

// uuid formats 16 random bytes as a version 4 UUID, the shape of Lambda
// request IDs.
func uuid(b []byte) string {
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:36], b[10:16])
	return string(s[:])
}

// traceID builds an X-Ray trace header value from 20 random bytes:
// Root=1-<epoch seconds hex>-<24 hex>;Parent=<16 hex>;Sampled=0.
func traceID(b []byte) string {
	var s [8 + 24 + 16]byte
	epoch := uint32(time.Now().Unix())
	hex.Encode(s[0:8], []byte{byte(epoch >> 24), byte(epoch >> 16), byte(epoch >> 8), byte(epoch)})
	hex.Encode(s[8:32], b[0:12])
	hex.Encode(s[32:48], b[12:20])
	return "Root=1-" + string(s[0:8]) + "-" + string(s[8:32]) + ";Parent=" + string(s[32:48]) + ";Sampled=0"
}
