package exchange

import "github.com/frontdeskgw/frontdesk/apierror"

// Integration answers a routed request by filling ex.Ctx.Response. Errors
// are answered too, in ex.Dialect; Serve never panics on bad input.
type Integration interface {
	Serve(ex *Exchange)
}

// Step is one stage of a route's pipeline. It either answers the request
// itself (and does not call next) or calls next.Serve to go on, and may act
// on the response once next returns.
type Step interface {
	Handle(ex *Exchange, next Next)
}

// Next is the rest of a route's pipeline after the current step. It is a
// value, so passing control down a chain allocates nothing.
type Next struct {
	steps []Step
	last  Integration
}

// Then returns the pipeline that runs steps in order, then last.
func Then(steps []Step, last Integration) Next { return Next{steps: steps, last: last} }

// Serve runs the rest of the pipeline.
func (n Next) Serve(ex *Exchange) {
	if len(n.steps) == 0 {
		n.last.Serve(ex)
		return
	}
	n.steps[0].Handle(ex, Next{steps: n.steps[1:], last: n.last})
}

// StreamLimit caps the streamed upstream responses one client holds open
// at once (proxy.ClientStreams).
type StreamLimit interface {
	// Acquire counts one more stream for client and returns the slot to
	// Release when it closes (0: nothing counted), or false when client
	// holds as many as it may.
	Acquire(client []byte) (slot uint64, ok bool)
	Release(slot uint64)
}

// Responder writes a customised gateway response (a REST API's gateway
// responses) for c; it reports false when it has none for c, and the
// default answer is written.
type Responder interface {
	Respond(ex *Exchange, c apierror.Code) bool
}
