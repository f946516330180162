package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"time"

	"github.com/frontdeskgw/frontdesk/config"
	"github.com/frontdeskgw/frontdesk/lambda"
	"github.com/frontdeskgw/frontdesk/lambda/host"
	"github.com/frontdeskgw/frontdesk/lambda/invoke"
	"github.com/frontdeskgw/frontdesk/metrics"
)

// FunctionEnv is what a function takes from the process rather than from
// its config.
type FunctionEnv struct {
	// Watch restarts local instances when their code changes (the files
	// host.CodePaths finds in the command).
	Watch bool
	Log   *slog.Logger
	// Metrics counts the function's invocations (nil: not counted).
	Metrics *metrics.Registry
	// CacheDir receives the bundled runtime loops and Go functions built
	// from source (empty: host.DefaultCacheDir()).
	CacheDir string
	// Env is given to every local function beneath its own environment:
	// the local CA bundle and credentials (server/localenv.go).
	Env map[string]string
}

// invokeSetupTimeout bounds building an Invoke API client (reading the
// AWS credential chain).
const invokeSetupTimeout = 10 * time.Second

// OpenFunction starts function name of a config: a local one under the
// function host, a remote one as an Invoke API client. It is what the
// Functions registry opens an entry with.
func OpenFunction(name string, fc config.Function, env FunctionEnv) (*Function, error) {
	fn, err := openFunction(name, fc, env)
	if err != nil {
		return nil, fmt.Errorf("function %s: %w", name, err)
	}
	return fn, nil
}

func openFunction(name string, fc config.Function, env FunctionEnv) (*Function, error) {
	if len(fc.Command) > 0 || fc.Runtime != "" {
		hc, err := localFunction(name, fc, env)
		if err != nil {
			return nil, err
		}
		hf, err := host.NewFunction(hc, env.Log) // the host names the function on its lines itself
		if err != nil {
			return nil, err
		}
		fm := env.Metrics.Function(name)
		release := fm.SetSource(func() metrics.FunctionStats {
			st := hf.Stats()
			return metrics.FunctionStats{ColdStarts: st.ColdStarts, Instances: int64(st.Instances), Queued: int64(st.Queued)}
		})
		return &Function{Invoker: countInvocations(hf, fm), Close: func() { release(); _ = hf.Close() }}, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), invokeSetupTimeout)
	defer cancel()
	c, err := invoke.New(ctx, invoke.Config{
		InvokeURL:    fc.InvokeURL,
		FunctionName: fc.FunctionName,
		Timeout:      fc.Timeout.D(),
		Region:       fc.Region,
		Logger:       env.Log.With("function", name),
	})
	if err != nil {
		return nil, err
	}
	return &Function{Invoker: countInvocations(c, env.Metrics.Function(name)), Close: c.Close}, nil
}

// countInvocations wraps inv so that each invocation is counted and timed
// in m; without m it returns inv itself.
func countInvocations(inv lambda.Invoker, m *metrics.FunctionMetrics) lambda.Invoker {
	if m == nil {
		return inv
	}
	return &countingInvoker{inv: inv, m: m}
}

// countingInvoker records every invocation of the function it wraps.
type countingInvoker struct {
	inv lambda.Invoker
	m   *metrics.FunctionMetrics
}

func (c *countingInvoker) Invoke(ctx context.Context, payload []byte) (lambda.Result, error) {
	start := time.Now()
	res, err := c.inv.Invoke(ctx, payload)
	failed, kind := invocationError(res, err)
	c.m.Observe(time.Since(start), failed, kind)
	return res, err
}

// invocationError classifies an invocation's outcome: a Result carrying a
// FunctionError (or an error wrapping lambda.ErrFunction) is the function's
// failure; lambda.ErrTimeout a timeout; any other error (queue full,
// Invoke API failure, canceled wait) other.
func invocationError(res lambda.Result, err error) (bool, metrics.FunctionErrorKind) {
	switch {
	case err == nil && res.FunctionError == "":
		return false, 0
	case err == nil, errors.Is(err, lambda.ErrFunction):
		return true, metrics.FunctionErrorFunction
	case errors.Is(err, lambda.ErrTimeout):
		return true, metrics.FunctionErrorTimeout
	}
	return true, metrics.FunctionErrorOther
}

// localFunction is the host configuration of a local function: its
// command, or what its runtime, handler and code_uri resolve to.
func localFunction(name string, fc config.Function, env FunctionEnv) (host.Config, error) {
	vars := make(map[string]string, len(fc.Env)+len(fc.Environment))
	for k, v := range fc.Env {
		vars[k] = v
	}
	for k, v := range fc.Environment {
		vars[k] = v
	}
	hc := host.Config{
		Name:        name,
		Command:     fc.Command,
		Env:         vars,
		EnvDefaults: env.Env,
		Concurrency: fc.Concurrency,
		Timeout:     fc.Timeout.D(),
		MemorySize:  fc.MemorySize,
		Region:      fc.Region,
		Handler:     fc.Handler,
		Dir:         fc.CodeURI,
		Watch:       env.Watch,
	}
	if fc.Runtime == "" {
		if fc.CodeURI != "" && len(hc.Command) > 0 && strings.ContainsRune(hc.Command[0], '/') && !filepath.IsAbs(hc.Command[0]) {
			// With code_uri, ./bootstrap means the one in code_uri.
			hc.Command = append([]string{filepath.Join(fc.CodeURI, hc.Command[0])}, hc.Command[1:]...)
		}
		if env.Watch {
			// An interpreted function's code is its script, not the
			// interpreter that is its executable.
			hc.WatchPaths = host.CodePaths(fc.Command, fc.CodeURI)
		}
		return hc, nil
	}
	cache := env.CacheDir
	if cache == "" {
		cache = host.DefaultCacheDir()
	}
	log := env.Log
	if log != nil {
		log = log.With("function", name)
	}
	l, err := host.Resolve(host.Runtime{
		Name: string(fc.Runtime), Handler: fc.Handler, CodeDir: fc.CodeURI, Client: string(fc.RuntimeClient),
		CacheDir: cache, Function: name, Log: log,
	})
	if err != nil {
		return host.Config{}, err
	}
	hc.Command, hc.Handler, hc.Dir = l.Command, l.Handler, l.Dir
	hc.ExecutionEnv, hc.RuntimeDir, hc.Build = l.ExecutionEnv, l.RuntimeDir, l.Build
	if len(l.Env) > 0 {
		defaults := make(map[string]string, len(l.Env)+len(env.Env))
		for k, v := range l.Env {
			defaults[k] = v
		}
		for k, v := range env.Env {
			defaults[k] = v
		}
		hc.EnvDefaults = defaults
	}
	if env.Watch {
		hc.WatchPaths = l.WatchPaths
	}
	return hc, nil
}
