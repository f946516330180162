package server

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/frontdeskgw/frontdesk/config"
	"github.com/frontdeskgw/frontdesk/gateway"
	"github.com/frontdeskgw/frontdesk/lambda/host"
	"github.com/frontdeskgw/frontdesk/lambda/invoke"
	"github.com/frontdeskgw/frontdesk/registry"
)

// functions runs the config's Lambda functions: local ones under the
// function host, remote ones through Invoke API clients, one registry
// entry per function. A function whose config did not change survives a
// reload with its warm instances and connections; a changed or removed one
// is closed after a grace period, so requests still running on the old
// snapshot can finish; one started for a refused reload is closed at once.
type functions struct {
	log   *slog.Logger
	watch bool
	// retireAfter is how long a replaced or removed function keeps
	// serving requests that started before the reload.
	retireAfter time.Duration
	set         *registry.Set[string, config.Function, *gateway.Function]
}

const defaultRetireAfter = 60 * time.Second

func newFunctions(log *slog.Logger, watch bool) *functions {
	f := &functions{log: log, watch: watch, retireAfter: defaultRetireAfter}
	f.set = registry.NewSet("function", registry.Hooks[string, config.Function, *gateway.Function]{
		Open: func(_ *registry.Gen, name string, fc config.Function) (*gateway.Function, error) {
			return f.start(name, fc)
		},
		Release: func(fn *gateway.Function) { time.AfterFunc(f.retireAfter, fn.Close) },
		Discard: func(fn *gateway.Function) { fn.Close() },
	})
	return f
}

func (f *functions) start(name string, fc config.Function) (*gateway.Function, error) {
	fn, err := f.startFunction(name, fc)
	if err != nil {
		return nil, fmt.Errorf("function %s: %w", name, err)
	}
	return fn, nil
}

func (f *functions) startFunction(name string, fc config.Function) (*gateway.Function, error) {
	if len(fc.Command) > 0 {
		hf, err := host.NewFunction(host.Config{
			Name:        name,
			Command:     fc.Command,
			Env:         fc.Env,
			Concurrency: fc.Concurrency,
			Timeout:     fc.Timeout.D(),
			Region:      fc.Region,
			Watch:       f.watch,
		}, f.log.With("function", name))
		if err != nil {
			return nil, err
		}
		return &gateway.Function{Invoker: hf, Close: func() { _ = hf.Close() }}, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := invoke.New(ctx, invoke.Config{
		InvokeURL:    fc.InvokeURL,
		FunctionName: fc.FunctionName,
		Timeout:      fc.Timeout.D(),
		Region:       fc.Region,
		Logger:       f.log.With("function", name),
	})
	if err != nil {
		return nil, err
	}
	return &gateway.Function{Invoker: c, Close: c.Close}, nil
}

// close stops every function at once (shutdown).
func (f *functions) close() { f.set.Close() }
