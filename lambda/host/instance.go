package host

import (
	"bufio"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/frontdeskgw/frontdesk/internal/jsonstr"
	"github.com/frontdeskgw/frontdesk/lambda"
)

// instance is one process of a function and the Runtime API server that
// only it talks to.
type instance struct {
	f   *Function
	id  uint64
	gen uint64
	log *slog.Logger

	cmd *exec.Cmd
	ln  net.Listener
	srv *fasthttp.Server

	next    chan *invocation // GET /next handlers receive here
	pending chan *invocation // buffered (1): an event for the next GET /next
	result  chan outcome     // POST /response and /error send here
	initErr chan []byte      // POST /init/error sends here
	current atomic.Pointer[invocation]
	timer   *time.Timer // run's, reused: an instance runs one invocation at a time

	stop     chan struct{} // closed by destroy: unblocks GET /next
	stopOnce sync.Once
	exited   chan struct{} // closed once the process is reaped
	exitDesc string        // "exit status 2", "signal: killed"; set before exited closes
	output   sync.WaitGroup

	destroyOnce sync.Once
}

// startInstance launches a process with its own Runtime API listener.
func (f *Function) startInstance() (*instance, error) {
	f.mu.Lock()
	gen := f.gen
	f.mu.Unlock()

	if err := f.build(gen); err != nil {
		return nil, err
	}
	id := f.nextInstance.Add(1)
	inst := &instance{
		f:       f,
		id:      id,
		gen:     gen,
		log:     f.log.With("instance", id),
		next:    make(chan *invocation),
		pending: make(chan *invocation, 1),
		result:  make(chan outcome, 1),
		initErr: make(chan []byte, 1),
		timer:   time.NewTimer(f.cfg.InitTimeout), // run resets it before each wait
		stop:    make(chan struct{}),
		exited:  make(chan struct{}),
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("runtime API listener: %w", err)
	}
	inst.ln = ln
	inst.srv = &fasthttp.Server{
		Handler: inst.serveRuntimeAPI,
		// No Server header: the runtime parses every header of every
		// response, twice per invocation, and Lambda's Runtime API sends
		// none.
		NoDefaultServerHeader: true,
		NoDefaultDate:         true,
		// GET /next blocks while the instance is idle and POST /response
		// follows a handler that may run for the whole timeout: a read or
		// idle timeout would cut the runtime's keep-alive connection.
		ReadTimeout:        0,
		IdleTimeout:        0,
		MaxRequestBodySize: maxRuntimeBody,
		Logger:             fasthttpLogger{inst.log},
	}
	go func() { _ = inst.srv.Serve(ln) }()

	stdout, err := inst.pipeOutput("stdout")
	if err != nil {
		inst.closeServer()
		return nil, err
	}
	stderr, err := inst.pipeOutput("stderr")
	if err != nil {
		_ = stdout.Close()
		inst.closeServer()
		return nil, err
	}

	cmd := exec.Command(f.exe, f.args...)
	cmd.Dir = f.cfg.Dir
	cmd.Env = append(append(make([]string, 0, len(f.baseEnv)+2), f.baseEnv...),
		"AWS_LAMBDA_RUNTIME_API="+ln.Addr().String(),
		"AWS_LAMBDA_LOG_STREAM_NAME="+logStreamName(),
	)
	cmd.Stdout = stdout
	cmd.Stderr = stderr
	setProcessGroup(cmd)
	inst.cmd = cmd

	err = startProcess(cmd, f.cfg.SchedSlice)
	// The child holds its own copies; closing ours lets the readers see EOF
	// when the process (and any child it spawned) is gone.
	_ = stdout.Close()
	_ = stderr.Close()
	if err != nil {
		inst.closeServer()
		inst.output.Wait()
		return nil, fmt.Errorf("start %s: %w", f.exe, err)
	}

	f.mu.Lock()
	f.procs++
	f.mu.Unlock()
	inst.log.Info("instance started", "pid", cmd.Process.Pid, "runtime_api", ln.Addr().String())

	go func() {
		err := cmd.Wait()
		if cmd.ProcessState != nil {
			inst.exitDesc = cmd.ProcessState.String()
		} else {
			inst.exitDesc = err.Error()
		}
		close(inst.exited)
	}()
	return inst, nil
}

// pipeOutput returns the write end of a pipe whose lines are logged.
// An *os.File (not an io.Writer) is given to exec.Cmd so Wait does not
// wait for grandchildren that inherited it.
func (inst *instance) pipeOutput(stream string) (*os.File, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("%s pipe: %w", stream, err)
	}
	inst.output.Add(1)
	go func() {
		defer inst.output.Done()
		defer func() { _ = r.Close() }()
		logLines(r, inst.log, stream)
	}()
	return w, nil
}

// maxLogLine splits longer output lines into several log records.
const maxLogLine = 64 << 10

func logLines(r io.Reader, log *slog.Logger, stream string) {
	br := bufio.NewReaderSize(r, maxLogLine)
	for {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 {
			if line[len(line)-1] == '\n' {
				line = line[:len(line)-1]
			}
			if len(line) > 0 && line[len(line)-1] == '\r' {
				line = line[:len(line)-1]
			}
			log.Info(string(line), "stream", stream)
		}
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return
		}
	}
}

// runState says what became of an instance after run.
type runState int

const (
	keep         runState = iota // healthy, ready for the next event
	discard                      // must be destroyed
	notDelivered                 // died before taking the event; destroy and retry
)

// run hands inv to the instance and waits for its outcome. cold means the
// instance was just started and has not asked for an event yet.
func (inst *instance) run(inv *invocation, cold bool) (outcome, runState) {
	f := inst.f
	name := f.cfg.Name
	timer := inst.timer
	defer timer.Stop()
	// Phase 1: a GET /next takes the event, or it waits in pending.
	pending, handed := inst.handOver(inv, cold)
	if !handed {
		if o, st, ok := inst.deliver(inv, cold); !ok {
			return o, st
		}
	}

	// Phase 2: the function runs with its timeout.
	timer.Reset(f.cfg.Timeout)
	for {
		select {
		case o := <-inst.result:
			return o, keep
		case <-inst.exited:
			if pending && inst.reclaim() {
				return inst.exitOutcome(inv), notDelivered
			}
			// A runtime that reports an error and then exits (aws-lambda-go
			// after a panic) has already delivered the outcome.
			select {
			case o := <-inst.result:
				return o, discard
			default:
			}
			inst.log.Warn("instance exited during invocation", "state", inst.exitDesc, "request_id", inv.id)
			return inst.exitOutcome(inv), discard
		case <-timer.C:
			if pending {
				pending = false
				if inst.reclaim() {
					return inst.notTaken(inv, false, f.cfg.Timeout), discard
				}
				// Taken meanwhile: the function's time runs from then.
				rest := f.cfg.Timeout
				if d := inv.deadline.Load(); d != 0 {
					rest = time.Until(time.Unix(0, d))
				}
				if rest > 0 {
					timer.Reset(rest)
					continue
				}
			}
			inst.log.Warn("invocation timed out; killing instance", "timeout", f.cfg.Timeout, "request_id", inv.id)
			return outcome{err: fmt.Errorf("invoke %s: request %s: task timed out after %s: %w", name, inv.id, f.cfg.Timeout, lambda.ErrTimeout)}, discard
		case <-f.done:
			return outcome{err: fmt.Errorf("invoke %s: %w", name, ErrClosed)}, discard
		}
	}
}

// reclaim takes back an event no GET /next has taken yet.
func (inst *instance) reclaim() bool {
	select {
	case <-inst.pending:
		return true
	default:
		return false
	}
}

// handOver gives a warm instance inv without waiting: to its GET /next
// when one is waiting, else in pending, where its next GET /next finds it
// (pending true), so the slot need not wait for that request. handed is
// false when inv must go through deliver: the instance is new or known to
// have exited.
func (inst *instance) handOver(inv *invocation, cold bool) (pending, handed bool) {
	select {
	case <-inst.exited:
		// deliver then retries the event on a fresh instance rather than
		// hand it to a handler nobody reads.
		return false, false
	default:
	}
	select {
	case inst.next <- inv:
		return false, true
	default:
	}
	if cold {
		return false, false
	}
	// Under load the runtime is still reading its last answer; its GET
	// /next follows.
	inst.pending <- inv // one invocation at a time: never blocks
	return true, true
}

// deliver waits for a GET /next to take inv: a new instance has
// InitTimeout to get there, a warm one the function timeout. ok is false
// when the event was not delivered, with the outcome and the instance's
// state.
func (inst *instance) deliver(inv *invocation, cold bool) (o outcome, st runState, ok bool) {
	f := inst.f
	wait := f.cfg.Timeout
	if cold {
		wait = f.cfg.InitTimeout
	}
	timer := inst.timer
	timer.Reset(wait)
	select {
	case inst.next <- inv:
		return outcome{}, keep, true
	case body := <-inst.initErr:
		inst.log.Warn("init error reported", "request_id", inv.id)
		return outcome{res: lambda.Result{Payload: body, FunctionError: "Unhandled"}}, discard, false
	case <-inst.exited:
		if !cold {
			return inst.exitOutcome(inv), notDelivered, false
		}
		inst.log.Warn("instance exited during init", "state", inst.exitDesc, "request_id", inv.id)
		if body, ok := inst.postedInitError(); ok {
			return outcome{res: lambda.Result{Payload: body, FunctionError: "Unhandled"}}, discard, false
		}
		return inst.exitOutcome(inv), discard, false
	case <-timer.C:
		return inst.notTaken(inv, cold, wait), discard, false
	case <-f.done:
		return outcome{err: fmt.Errorf("invoke %s: %w", f.cfg.Name, ErrClosed)}, discard, false
	}
}

// notTaken is the timeout of an instance that did not take inv within
// wait: a new one did not initialise, a warm one did not ask for it.
func (inst *instance) notTaken(inv *invocation, cold bool, wait time.Duration) outcome {
	phase := "take the next event"
	if cold {
		phase = "initialise"
	}
	inst.log.Warn("instance did not "+phase+" in time; killing it", "after", wait, "request_id", inv.id)
	return outcome{err: fmt.Errorf("invoke %s: instance did not %s within %s: %w", inst.f.cfg.Name, phase, wait, lambda.ErrTimeout)}
}

func (inst *instance) postedInitError() ([]byte, bool) {
	select {
	case body := <-inst.initErr:
		return body, true
	default:
		return nil, false
	}
}

// exitOutcome is the function error Lambda reports when the runtime exits
// mid-invocation.
func (inst *instance) exitOutcome(inv *invocation) outcome {
	return outcome{res: lambda.Result{
		Payload: errorDocument(
			"RequestId: "+inv.id+" Error: Runtime exited with error: "+inst.exitDesc,
			"Runtime.ExitError"),
		FunctionError: "Unhandled",
	}}
}

func errorDocument(message, errorType string) []byte {
	b := jsonstr.Append([]byte(`{"errorMessage":`), message)
	b = append(b, `,"errorType":`...)
	b = jsonstr.Append(b, errorType)
	return append(b, '}')
}

// state describes the process for logs.
func (inst *instance) state() string {
	select {
	case <-inst.exited:
		return inst.exitDesc
	default:
		return "running"
	}
}

// destroy kills the process group, reaps the process, waits (briefly) for
// its output and closes the Runtime API server. Safe to call twice.
func (inst *instance) destroy() {
	inst.destroyOnce.Do(func() {
		inst.stopOnce.Do(func() { close(inst.stop) })
		// Also reaches children that outlived a runtime which exited on its
		// own: they keep its group.
		killProcessGroup(inst.cmd)
		<-inst.exited
		waitTimeout(&inst.output, time.Second)
		inst.closeServer()

		f := inst.f
		f.mu.Lock()
		f.procs--
		f.mu.Unlock()
		inst.log.Info("instance stopped", "state", inst.exitDesc)
	})
}

func (inst *instance) closeServer() {
	inst.stopOnce.Do(func() { close(inst.stop) })
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := inst.srv.ShutdownWithContext(ctx); err != nil {
		inst.log.Debug("runtime API shutdown", "error", err)
	}
	// Shutdown only closes listeners Serve has registered; closing ours too
	// covers a Serve goroutine that has not started yet.
	_ = inst.ln.Close()
}

func waitTimeout(wg *sync.WaitGroup, d time.Duration) {
	ch := make(chan struct{})
	go func() {
		wg.Wait()
		close(ch)
	}()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ch:
	case <-t.C:
	}
}

// logStreamName imitates Lambda's "2006/01/02/[$LATEST]<32 hex>".
func logStreamName() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return time.Now().UTC().Format("2006/01/02") + "/[$LATEST]" + fmt.Sprintf("%x", b)
}

// fasthttpLogger routes the Runtime API server's own diagnostics to slog.
type fasthttpLogger struct{ log *slog.Logger }

func (l fasthttpLogger) Printf(format string, args ...any) {
	l.log.Debug(fmt.Sprintf(format, args...), "component", "runtime-api")
}
