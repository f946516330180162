package server

import (
	"time"

	"github.com/frontdeskgw/frontdesk/config"
	"github.com/frontdeskgw/frontdesk/gateway"
	"github.com/frontdeskgw/frontdesk/registry"
)

// functions runs the config's Lambda functions (gateway.OpenFunction), one
// registry entry per function. A function whose config did not change
// survives a reload with its warm instances and connections; a changed or
// removed one is closed after a grace period, so requests still running
// on the old snapshot can finish; one started for a refused reload is
// closed at once.
type functions struct {
	// retireAfter is how long a replaced or removed function keeps
	// serving requests that started before the reload.
	retireAfter time.Duration
	set         *registry.Set[string, config.Function, *gateway.Function]
}

const defaultRetireAfter = 60 * time.Second

func newFunctions(env gateway.FunctionEnv) *functions {
	f := &functions{retireAfter: defaultRetireAfter}
	f.set = registry.NewSet("function", registry.Hooks[string, config.Function, *gateway.Function]{
		Open: func(_ *registry.Gen, name string, fc config.Function) (*gateway.Function, error) {
			return gateway.OpenFunction(name, fc, env)
		},
		Release: func(fn *gateway.Function) { time.AfterFunc(f.retireAfter, fn.Close) },
		Discard: func(fn *gateway.Function) { fn.Close() },
	})
	return f
}

// close stops every function at once (shutdown).
func (f *functions) close() { f.set.Close() }
