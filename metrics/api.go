package metrics

import (
	"sync/atomic"

	vm "github.com/VictoriaMetrics/metrics"
)

// ErrorKind classifies a failed call to an integration's upstream.
type ErrorKind uint8

// Upstream error kinds.
const (
	ErrorTimeout ErrorKind = iota // no answer within the integration timeout
	ErrorConnect                  // no connection: refused, unreachable, DNS, TLS
	ErrorOther                    // anything else: reset, malformed response
	numErrorKinds
)

// String returns the kind label value.
func (k ErrorKind) String() string {
	switch k {
	case ErrorTimeout:
		return "timeout"
	case ErrorConnect:
		return "connect"
	}
	return "other"
}

// ThrottleLevel says which limit refused a request.
type ThrottleLevel uint8

// Throttle levels, from the widest to the narrowest.
const (
	ThrottleStage    ThrottleLevel = iota // the stage's default limit
	ThrottleRoute                         // a route's own limit
	ThrottlePlan                          // the API key's usage plan limit
	ThrottleKeyRoute                      // the usage plan's limit for this key on this route
	numThrottleLevels
)

// String returns the level label value.
func (l ThrottleLevel) String() string {
	switch l {
	case ThrottleStage:
		return "stage"
	case ThrottleRoute:
		return "route"
	case ThrottlePlan:
		return "plan"
	}
	return "key_route"
}

// WebSocketStats are what a WebSocket API's bridge reports at scrape time.
type WebSocketStats struct {
	OpenConnections int64
	MessagesIn      uint64 // messages received from clients
	MessagesOut     uint64 // messages sent to clients
	QueueFull       uint64 // messages refused because a client's send queue was full
	// DisconnectsDropped counts $disconnect events that never reached the
	// backend (queue full, or every attempt failed).
	DisconnectsDropped uint64
}

// APIMetrics holds one API's counters that are not per route. Get it from
// Registry.API; a nil *APIMetrics is valid and records nothing.
type APIMetrics struct {
	r     *Registry
	name  string
	label string // api="…", escaped

	upstream  [numErrorKinds]*vm.Counter
	throttled [numThrottleLevels]*vm.Counter
	quota     *vm.Counter

	ws atomic.Pointer[func() WebSocketStats]

	// Guarded by the Registry's mutex.
	routes  map[stageRoute]*RouteMetrics
	names   []string // the API's own series, to unregister
	removed bool
}

// newAPI registers an API's counters; r.mu is held.
func newAPI(r *Registry, name string) *APIMetrics {
	a := &APIMetrics{
		r:      r,
		name:   name,
		label:  label("api", name),
		routes: make(map[stageRoute]*RouteMetrics),
	}
	counter := func(n string) *vm.Counter {
		a.names = append(a.names, n)
		return r.set.GetOrCreateCounter(n)
	}
	for k := range a.upstream {
		a.upstream[k] = counter(seriesName(nameUpstreamErrors, a.label, "kind", ErrorKind(k).String()))
	}
	for l := range a.throttled {
		a.throttled[l] = counter(seriesName(nameThrottled, a.label, "level", ThrottleLevel(l).String()))
	}
	a.quota = counter(seriesName(nameQuotaExceeded, a.label))
	return a
}

// Name returns the API's name as registered.
func (a *APIMetrics) Name() string {
	if a == nil {
		return ""
	}
	return a.name
}

// stageRoute keys an API's route handles: the same route served on two
// stages is counted apart.
type stageRoute struct{ stage, route string }

// Route returns the metrics handle of one of the API's routes on one of its
// stages, creating it on first use. Registering the same stage and route
// again, as a configuration reload does, returns the same handle, so its
// counters carry on. stage and route are label values: the stage name
// ("prod", "$default") and normally the route key ("GET /pets/{id}").
func (a *APIMetrics) Route(stage, route string) *RouteMetrics {
	if a == nil {
		return nil
	}
	r := a.r
	r.mu.Lock()
	defer r.mu.Unlock()
	key := stageRoute{stage, route}
	if m := a.routes[key]; m != nil {
		return m
	}
	m := &RouteMetrics{
		api:     a,
		stage:   stage,
		route:   route,
		labels:  a.label + "," + label("stage", stage) + "," + label("route", route),
		removed: a.removed,
	}
	hist := func(family string) *vm.PrometheusHistogram {
		if a.removed {
			return detachedHistogram(r.buckets)
		}
		n := seriesName(family, m.labels)
		m.names = append(m.names, n)
		return r.set.GetOrCreatePrometheusHistogramExt(n, r.buckets)
	}
	m.total = hist(nameRequestDuration)
	m.integration = hist(nameIntegrationDuration)
	if !a.removed {
		a.routes[key] = m
	}
	return m
}

// detachedHistogram returns a working histogram that no set exports, for
// handles of APIs and routes that were unregistered.
func detachedHistogram(buckets []float64) *vm.PrometheusHistogram {
	return vm.NewSet().NewPrometheusHistogramExt("detached", buckets)
}

// UpstreamError counts a failed call to the API's upstream.
func (a *APIMetrics) UpstreamError(kind ErrorKind) {
	if a == nil {
		return
	}
	if kind >= numErrorKinds {
		kind = ErrorOther
	}
	a.upstream[kind].Inc()
}

// Throttled counts a request refused with 429 by a rate limit.
func (a *APIMetrics) Throttled(level ThrottleLevel) {
	if a == nil {
		return
	}
	if level >= numThrottleLevels {
		level = ThrottleKeyRoute
	}
	a.throttled[level].Inc()
}

// QuotaExceeded counts a request refused because its API key's usage
// plan quota for the period is used up.
func (a *APIMetrics) QuotaExceeded() {
	if a == nil {
		return
	}
	a.quota.Inc()
}

// SetWebSocketSource makes scrapes report f's figures for the API; nil
// stops reporting. f is called once per scrape and must be safe for
// concurrent use.
func (a *APIMetrics) SetWebSocketSource(f func() WebSocketStats) {
	if a == nil {
		return
	}
	storeSource(&a.ws, f)
}

// storeSource makes p hold f, or nothing for a nil f, so a scrape needs a
// single nil check to skip an absent source.
func storeSource[T any](p *atomic.Pointer[func() T], f func() T) {
	if f == nil {
		p.Store(nil)
		return
	}
	p.Store(&f)
}
