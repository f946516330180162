package server

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/frontdeskgw/frontdesk/config"
	"github.com/frontdeskgw/frontdesk/lambda"
	"github.com/frontdeskgw/frontdesk/lambda/host"
	"github.com/frontdeskgw/frontdesk/lambda/invoke"
)

// functions runs the config's Lambda functions: local ones under the
// function host, remote ones through Invoke API clients. A function whose
// config did not change survives a reload with its warm instances and
// connections; a changed or removed one is closed after a grace period, so
// requests still running on the old snapshot can finish.
type functions struct {
	log   *slog.Logger
	watch bool
	set   liveSet[config.Function, *function]
}

type function struct {
	inv    lambda.Invoker
	closer func()
}

// retireAfter is how long a replaced function keeps serving requests that
// started before the reload.
const retireAfter = 60 * time.Second

// prepare starts the functions of want that are new or changed.
func (f *functions) prepare(want map[string]config.Function) (*livePlan[config.Function, *function], error) {
	return f.set.prepare(want, f.start, stopFunction)
}

// invokers are a plan's functions by name, for the snapshot.
func invokers(p *livePlan[config.Function, *function]) map[string]lambda.Invoker {
	out := map[string]lambda.Invoker{}
	for name, fn := range p.resources() {
		out[name] = fn.inv
	}
	return out
}

// commit makes p the running functions; the ones it replaced close after
// retireAfter.
func (f *functions) commit(p *livePlan[config.Function, *function]) {
	for _, fn := range p.commit() {
		time.AfterFunc(retireAfter, fn.closer)
	}
}

func stopFunction(fn *function) { fn.closer() }

func (f *functions) start(name string, fc config.Function) (*function, error) {
	fn, err := f.startFunction(name, fc)
	if err != nil {
		return nil, fmt.Errorf("function %s: %w", name, err)
	}
	return fn, nil
}

func (f *functions) startFunction(name string, fc config.Function) (*function, error) {
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
		return &function{inv: hf, closer: func() { _ = hf.Close() }}, nil
	}
	fnName := fc.FunctionName
	if fnName == "" {
		fnName = name
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := invoke.New(ctx, invoke.Config{
		InvokeURL:    fc.InvokeURL,
		FunctionName: fnName,
		Timeout:      fc.Timeout.D(),
		Region:       fc.Region,
		Logger:       f.log.With("function", name),
	})
	if err != nil {
		return nil, err
	}
	return &function{inv: c, closer: c.Close}, nil
}

// close stops every function at once (shutdown).
func (f *functions) close() {
	for _, fn := range f.set.clear() {
		fn.closer()
	}
}
