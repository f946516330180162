// Package pipeline runs the steps a request passes between route match and
// integration: CORS, API keys, authorizers, throttles and quotas, the
// response cache. Each route compiles into one Chain of the steps its
// config asks for, ending in its integration.
//
// Hot path: Chain.Serve walks a slice of Steps by index; passing control to
// the next step is a value (Next), so running a chain allocates nothing.
package pipeline

import (
	"github.com/frontdeskgw/frontdesk/proxy"
)

// Step is one stage of the pipeline. It either answers the request itself
// (and does not call next) or calls next.Serve to go on, and may act on the
// response once next returns.
type Step interface {
	Handle(ex *proxy.Exchange, next Next)
}

// Chain is a route's compiled pipeline.
type Chain struct {
	steps []Step
	last  proxy.Integration
}

// NewChain returns a chain running steps in order, then last.
func NewChain(last proxy.Integration, steps ...Step) *Chain {
	return &Chain{steps: steps, last: last}
}

// Serve runs the chain; it implements proxy.Integration.
func (c *Chain) Serve(ex *proxy.Exchange) { c.run(ex, 0) }

// Len is the number of steps before the integration.
func (c *Chain) Len() int { return len(c.steps) }

func (c *Chain) run(ex *proxy.Exchange, i int) {
	if i < len(c.steps) {
		c.steps[i].Handle(ex, Next{c: c, i: i + 1})
		return
	}
	c.last.Serve(ex)
}

// Next continues a chain after the current step.
type Next struct {
	c *Chain
	i int
}

// Serve runs the rest of the chain.
func (n Next) Serve(ex *proxy.Exchange) { n.c.run(ex, n.i) }
