package server

import (
	"context"
	"fmt"
	"log/slog"
	"reflect"
	"sync"
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
	mu    sync.Mutex
	log   *slog.Logger
	watch bool
	live  map[string]*function
}

type function struct {
	cfg    config.Function
	inv    lambda.Invoker
	closer func()
}

// retireAfter is how long a replaced function keeps serving requests that
// started before the reload.
const retireAfter = 60 * time.Second

// sync brings the running functions in line with want and returns the
// invokers by name.
func (f *functions) sync(want map[string]config.Function) (map[string]lambda.Invoker, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.live == nil {
		f.live = map[string]*function{}
	}
	next := map[string]*function{}
	var started []*function
	for name, fc := range want {
		if cur := f.live[name]; cur != nil && reflect.DeepEqual(cur.cfg, fc) {
			next[name] = cur
			continue
		}
		fn, err := f.start(name, fc)
		if err != nil {
			for _, s := range started {
				s.closer()
			}
			return nil, fmt.Errorf("function %s: %w", name, err)
		}
		started = append(started, fn)
		next[name] = fn
	}
	for name, cur := range f.live {
		if next[name] != cur {
			time.AfterFunc(retireAfter, cur.closer)
		}
	}
	f.live = next
	out := make(map[string]lambda.Invoker, len(next))
	for name, fn := range next {
		out[name] = fn.inv
	}
	return out, nil
}

func (f *functions) start(name string, fc config.Function) (*function, error) {
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
		return &function{cfg: fc, inv: hf, closer: func() { _ = hf.Close() }}, nil
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
	return &function{cfg: fc, inv: c, closer: c.Close}, nil
}

// close stops every function at once (shutdown).
func (f *functions) close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, fn := range f.live {
		fn.closer()
	}
	f.live = nil
}
