// Package host runs Lambda functions locally, without containers: it
// starts each function's executable (a custom runtime such as an
// aws-lambda-go "bootstrap", or any runtime interface client) as a child
// process and serves it the Lambda Runtime API on a loopback port.
//
// Its job is the function's execution environment: the standard
// environment variables, a pool of up to Concurrency warm instances started
// on demand, a bounded queue of waiting invocations, the function timeout
// (the instance's process group is killed and replaced), crash and init
// failure reporting as function errors, stdout/stderr capture into slog,
// and hot reload when the function's code (its executable or, for an
// interpreted runtime, its script: see CodePaths) changes.
//
// Resolve (runtimes.go) turns a function written for a Lambda managed
// runtime — SAM's Runtime, Handler and CodeUri — into what to start:
// python3.x and nodejs* handlers under the runtime loops frontdesk ships
// (runtime/, standard library only, embedded and written to a cache
// directory) or under the official runtime interface clients; provided.*
// and go1.x run code_uri's bootstrap, built with go build (Config.Build)
// when only Go source is there.
//
// Each instance gets its own Runtime API listener (127.0.0.1:0, passed as
// AWS_LAMBDA_RUNTIME_API). Runtimes only know a host:port and fixed paths,
// so a per-instance port is the one identification every runtime client
// honours; per-instance path prefixes would break clients that treat the
// value as a bare authority.
//
// Hot path: Function.Invoke on a warm instance. The invocation travels
// through a buffered channel to an instance's slot goroutine, is handed to
// the instance's blocked GET /next handler (or left in the instance's
// one-place pending box for its next GET /next, when the runtime is still
// reading its last answer) and completed by its POST /response handler;
// no locks are held while the function runs. On Linux
// instances run with a long scheduler slice (Config.SchedSlice), so that
// these two hand-overs do not preempt frontdesk or the instance in the
// middle of their work.
package host

import (
	"context"
	"errors"
	"time"
)

// Defaults applied to zero Config fields.
const (
	DefaultConcurrency = 4
	DefaultQueueSize   = 100
	DefaultTimeout     = 3 * time.Second // AWS Lambda's default
	DefaultInitTimeout = 10 * time.Second
	DefaultMemorySize  = 128
	// DefaultSchedSlice is the instances' scheduler time slice (Linux
	// 6.12 and later; see Config.SchedSlice).
	DefaultSchedSlice = 30 * time.Millisecond
	DefaultRegion     = "us-east-1"
	// AccountID is the account in the invoked function ARN given to
	// instances (LocalStack uses the same placeholder).
	AccountID = "000000000000"
)

// ErrQueueFull reports that Concurrency instances are busy and QueueSize
// invocations are already waiting.
var ErrQueueFull = errors.New("host: function busy: invocation queue full")

// ErrClosed reports an invocation on, or cut short by, a closed Function.
var ErrClosed = errors.New("host: function closed")

// Config describes one locally hosted function.
type Config struct {
	// Name is the function name (AWS_LAMBDA_FUNCTION_NAME, ARN, logs).
	Name string
	// Command is the executable and its arguments. A first element
	// containing a slash is resolved against the current directory, else
	// looked up in PATH.
	Command []string
	// Env is added to the instances' environment. Lambda's reserved
	// variables (see docs/functions.md) cannot be overridden.
	Env map[string]string
	// Concurrency is the maximum number of instances (default
	// DefaultConcurrency).
	Concurrency int
	// QueueSize bounds the invocations waiting for a free instance
	// (default DefaultQueueSize); beyond it Invoke fails with ErrQueueFull.
	QueueSize int
	// Timeout is the function timeout (default DefaultTimeout).
	Timeout time.Duration
	// InitTimeout bounds an instance's start, from exec to its first GET
	// /next (default DefaultInitTimeout).
	InitTimeout time.Duration
	// MemorySize is reported in AWS_LAMBDA_FUNCTION_MEMORY_SIZE (default
	// DefaultMemorySize, MB); it is not enforced.
	MemorySize int
	// Handler is _HANDLER (default: the executable's base name).
	Handler string
	// Region is AWS_REGION and the ARN's region (default DefaultRegion).
	Region string
	// Dir is the instances' working directory and LAMBDA_TASK_ROOT
	// (default: the current directory).
	Dir string
	// Watch retires warm instances when the executable (or WatchPaths)
	// changes, so the next invocation runs the new build.
	Watch bool
	// WatchPaths replaces the executable as the watched files, e.g. the
	// script of an interpreted runtime; CodePaths derives them from
	// Command.
	WatchPaths []string
	// EnvDefaults are added beneath Env: Env overrides them, and they
	// override the inherited environment (a runtime's settings, the local
	// CA bundle, local credentials).
	EnvDefaults map[string]string
	// ExecutionEnv is AWS_EXECUTION_ENV (default
	// AWS_Lambda_provided.al2023); Resolve sets it from the runtime.
	ExecutionEnv string
	// RuntimeDir is LAMBDA_RUNTIME_DIR, where the runtime loop lives (empty:
	// not set).
	RuntimeDir string
	// SchedSlice is the time slice the kernel's scheduler gives the
	// instances' threads (sched_setattr's sched_runtime, Linux 6.12 and
	// later, clamped there to 0.1–100 ms; elsewhere ignored). Default
	// DefaultSchedSlice; negative: the kernel's own (0.7–3 ms).
	//
	// An instance and frontdesk hand each invocation back and forth twice
	// (GET /next, POST /response) and share CPUs. With equal short
	// slices, each wake-up preempts the other mid-request: an instance is
	// switched out inside the write that woke frontdesk, and its Go
	// runtime then hands its processor to another thread. A longer slice
	// makes a woken instance wait until frontdesk blocks instead of
	// preempting it, and lets the instance finish its own exchange; its
	// share of CPU time is unchanged (that is the nice value).
	SchedSlice time.Duration
	// Build, when set, makes the executable: NewFunction runs it (and
	// fails when it fails), and a code change (see Watch) runs it again at
	// once in the background; an instance starting after the change waits
	// for that build, and is not started when it failed (the build is then
	// tried again for the next instance).
	Build func(context.Context) error
}

// buildTimeout bounds one Config.Build.
const buildTimeout = 5 * time.Minute
