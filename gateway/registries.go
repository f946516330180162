package gateway

import (
	"maps"
	"slices"
	"sync"

	"github.com/frontdeskgw/frontdesk/config"
	"github.com/frontdeskgw/frontdesk/lambda"
	"github.com/frontdeskgw/frontdesk/pipeline"
	"github.com/frontdeskgw/frontdesk/proxy"
	"github.com/frontdeskgw/frontdesk/registry"
	"github.com/frontdeskgw/frontdesk/wsbridge"
)

// Registries are the long-lived registries a gateway's snapshots resolve
// what they need from: one set per server, outliving every snapshot, so
// that a reload keeps connections, warm functions, fetched keys and
// counters of what it leaves unchanged. The zero value is usable: Begin
// gives Pools, State and Authorizers an empty registry when they have
// none; without Functions or Bridges no function or bridge is resolved.
type Registries struct {
	// Pools are the upstream pools per origin and their health checks.
	Pools *proxy.Pools
	// State holds throttle bucket sets and the key counters.
	State *pipeline.State
	// Authorizers hold authorizers with their key and decision caches.
	Authorizers *Authorizers
	// Functions run the config's functions, by name.
	Functions *registry.Set[string, config.Function, *Function]
	// Bridges serve the WebSocket APIs, by name.
	Bridges *registry.Set[string, BridgeSpec, *wsbridge.Bridge]

	once sync.Once
}

// Function is a running function as the Functions registry holds it.
type Function struct {
	Invoker lambda.Invoker
	// Close stops it (nil: nothing to stop).
	Close func()
}

// BridgeSpec is what a WebSocket API's bridge is built from: the API's
// config and the functions it calls.
type BridgeSpec struct {
	API       config.API
	Functions map[string]config.Function
}

// bridgeSpec is the spec of the bridge of WebSocket API a of c.
func bridgeSpec(a *config.API, c *config.Config) BridgeSpec {
	fns := map[string]config.Function{}
	for _, in := range a.Integrations {
		if in == nil || in.Type != config.IntegrationLambda {
			continue
		}
		if fc, ok := c.Functions[in.Function]; ok {
			fns[in.Function] = fc
		}
	}
	return BridgeSpec{API: *a, Functions: fns}
}

// Begin opens a pending generation of every registry: Compile resolves a
// config's needs in it without changing what serves now; Commit then makes
// it live and releases what the config no longer names, or Abort drops
// what it started.
func (r *Registries) Begin() *Pending {
	r.once.Do(func() {
		if r.Pools == nil {
			r.Pools = &proxy.Pools{}
		}
		if r.State == nil {
			r.State = &pipeline.State{}
		}
		if r.Authorizers == nil {
			r.Authorizers = &Authorizers{}
		}
	})
	g := registry.NewGen()
	// The order of release on commit: bridges first, so their
	// $disconnect calls still reach the functions, which go last.
	r.Bridges.Join(g)
	r.Authorizers.Join(g)
	r.State.Join(g)
	r.Pools.Join(g)
	r.Functions.Join(g)
	return &Pending{reg: r, gen: g}
}

// Pending is one pending generation of a gateway's registries.
type Pending struct {
	reg *Registries
	gen *registry.Gen
}

// Commit makes the generation live in every registry.
func (p *Pending) Commit() { p.gen.Commit() }

// Abort stops what the generation started; every registry stays as it was.
func (p *Pending) Abort() { p.gen.Abort() }

// resolver is what Compile resolves through: a pending generation of the
// registries, or a dry one (no registries) that opens nothing.
type resolver struct {
	reg *Registries
	gen *registry.Gen
}

func (p *Pending) resolver() resolver {
	if p == nil {
		return resolver{gen: registry.DryGen()}
	}
	return resolver{reg: p.reg, gen: p.gen}
}

func (r resolver) pools() *proxy.Pools {
	if r.reg == nil {
		return nil
	}
	return r.reg.Pools
}

func (r resolver) state() *pipeline.State {
	if r.reg == nil {
		return nil
	}
	return r.reg.State
}

func (r resolver) authorizers() *Authorizers {
	if r.reg == nil {
		return nil
	}
	return r.reg.Authorizers
}

// functions resolves every function of c, as a server runs them all
// whether a route calls them or not. The invokers are nil when the
// generation resolves no functions.
func (r resolver) functions(c *config.Config) (map[string]lambda.Invoker, error) {
	var set *registry.Set[string, config.Function, *Function]
	if r.reg != nil {
		set = r.reg.Functions
	}
	var out map[string]lambda.Invoker
	if set.Resolves(r.gen) {
		out = map[string]lambda.Invoker{}
	}
	for _, name := range slices.Sorted(maps.Keys(c.Functions)) {
		fn, err := set.Get(r.gen, name, c.Functions[name])
		if err != nil {
			return nil, err
		}
		if fn != nil && fn.Invoker != nil {
			out[name] = fn.Invoker
		}
	}
	return out, nil
}

// bridge resolves the bridge of the WebSocket API name of c (nil when the
// generation resolves no bridges).
func (r resolver) bridge(name string, c *config.Config) (*wsbridge.Bridge, error) {
	var set *registry.Set[string, BridgeSpec, *wsbridge.Bridge]
	if r.reg != nil {
		set = r.reg.Bridges
	}
	return set.Get(r.gen, name, bridgeSpec(c.APIs[name], c))
}
