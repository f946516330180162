// Package pipeline holds the steps a request passes between route match and
// integration: API keys, authorizers, throttles and quotas, the response
// cache. Each route compiles into one Chain of the steps its config asks
// for, ending in its integration. State is the registry of what the steps
// keep across reloads: throttle bucket sets and key counters, resolved in
// a reload's pending generation.
//
// Hot path: Chain.Serve walks the steps through exchange.Next, a value, so
// running a chain allocates nothing.
package pipeline

import "github.com/frontdeskgw/frontdesk/exchange"

// Chain is a route's compiled pipeline.
type Chain struct {
	steps []exchange.Step
	last  exchange.Integration
}

// NewChain returns a chain running steps in order, then last.
func NewChain(last exchange.Integration, steps ...exchange.Step) *Chain {
	return &Chain{steps: steps, last: last}
}

// Serve runs the chain; it implements exchange.Integration.
func (c *Chain) Serve(ex *exchange.Exchange) { exchange.Then(c.steps, c.last).Serve(ex) }

// Len is the number of steps before the integration.
func (c *Chain) Len() int { return len(c.steps) }
