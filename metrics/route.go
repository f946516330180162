package metrics

import (
	"sync/atomic"
	"time"

	vm "github.com/VictoriaMetrics/metrics"
)

// Method is an HTTP method as the request counters know it: the seven
// common methods and one bucket for all others, so a client inventing
// methods cannot create series.
type Method uint8

// The methods with their own counters.
const (
	MethodGET Method = iota
	MethodPOST
	MethodPUT
	MethodPATCH
	MethodDELETE
	MethodHEAD
	MethodOPTIONS
	MethodOther
	numMethods
)

// MethodOf maps a request method to its Method. Methods are case-sensitive
// (RFC 9110), so "get" is MethodOther.
func MethodOf(method []byte) Method {
	// A switch on string(b) compares without converting, so this does not
	// allocate.
	switch string(method) {
	case "GET":
		return MethodGET
	case "POST":
		return MethodPOST
	case "PUT":
		return MethodPUT
	case "PATCH":
		return MethodPATCH
	case "DELETE":
		return MethodDELETE
	case "HEAD":
		return MethodHEAD
	case "OPTIONS":
		return MethodOPTIONS
	}
	return MethodOther
}

// String returns the method label value: the method, or "OTHER".
func (m Method) String() string {
	switch m {
	case MethodGET:
		return "GET"
	case MethodPOST:
		return "POST"
	case MethodPUT:
		return "PUT"
	case MethodPATCH:
		return "PATCH"
	case MethodDELETE:
		return "DELETE"
	case MethodHEAD:
		return "HEAD"
	case MethodOPTIONS:
		return "OPTIONS"
	}
	return "OTHER"
}

// Status classes, as label values "1xx" to "5xx".
const (
	numClasses = 5
	classNames = "1xx2xx3xx4xx5xx"
)

// statusClass maps a status to its class index. Anything outside 100-599
// is not an HTTP status the client could have received, which means the
// gateway failed to produce a response: it counts as 5xx.
func statusClass(status int) int {
	if status < 100 || status > 599 {
		return numClasses - 1
	}
	return status/100 - 1
}

func className(c int) string { return classNames[3*c : 3*c+3] }

// classCounters are one method's request counters, by status class.
type classCounters [numClasses]*vm.Counter

// RouteMetrics counts and times the requests of one route on one stage of
// one API. Get
// it from APIMetrics.Route when the route is compiled and keep it with the
// route. A nil *RouteMetrics is valid and records nothing.
type RouteMetrics struct {
	api    *APIMetrics
	stage  string
	route  string
	labels string // api="…",stage="…",route="…", escaped

	byMethod [numMethods]atomic.Pointer[classCounters]

	total       *vm.PrometheusHistogram
	integration *vm.PrometheusHistogram

	// Guarded by the Registry's mutex.
	names   []string // series registered for this route, to unregister
	removed bool     // unregistered: later series stay out of the set
}

// Observe records one finished request: its method, the status sent, the
// time from arrival to the end of the response, and the time the
// integration took. A negative integration time means no integration was
// called (the gateway answered on its own) and is not observed.
func (m *RouteMetrics) Observe(method Method, status int, total, integration time.Duration) {
	if m == nil {
		return
	}
	m.count(method, status)
	m.total.Update(total.Seconds())
	if integration >= 0 {
		m.integration.Update(integration.Seconds())
	}
}

// Count records one request without timing it.
func (m *RouteMetrics) Count(method Method, status int) {
	if m == nil {
		return
	}
	m.count(method, status)
}

func (m *RouteMetrics) count(method Method, status int) {
	if method >= numMethods {
		method = MethodOther
	}
	cs := m.byMethod[method].Load()
	if cs == nil {
		cs = m.createCounters(method)
	}
	cs[statusClass(status)].Inc()
}

// createCounters registers a method's counters, once per route and method.
// Every class is created at once so a route that serves GETs also shows
// zero GET 5xx, which keeps error-ratio queries defined.
func (m *RouteMetrics) createCounters(method Method) *classCounters {
	r := m.api.r
	r.mu.Lock()
	defer r.mu.Unlock()
	if cs := m.byMethod[method].Load(); cs != nil {
		return cs
	}
	cs := new(classCounters)
	for c := range cs {
		if m.removed {
			// Keep counting for whoever still holds the handle, but
			// export nothing for a route that is gone.
			cs[c] = new(vm.Counter)
			continue
		}
		name := seriesName(nameRequests, m.labels, "method", method.String(), "status", className(c))
		cs[c] = r.set.GetOrCreateCounter(name)
		m.names = append(m.names, name)
	}
	m.byMethod[method].Store(cs)
	return cs
}

// API returns the API the route belongs to.
func (m *RouteMetrics) API() *APIMetrics {
	if m == nil {
		return nil
	}
	return m.api
}

// Stage returns the stage's name as registered.
func (m *RouteMetrics) Stage() string {
	if m == nil {
		return ""
	}
	return m.stage
}

// Route returns the route's name as registered.
func (m *RouteMetrics) Route() string {
	if m == nil {
		return ""
	}
	return m.route
}
