package metrics

import (
	"bytes"
	"cmp"
	"fmt"
	"io"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	vm "github.com/VictoriaMetrics/metrics"
)

// DefaultBuckets returns the latency histograms' default upper bounds, in
// seconds: from 1 ms, where a cached or mock answer lands, to 30 s, just
// past API Gateway's 29 s integration timeout.
func DefaultBuckets() []float64 {
	return []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}
}

// Options configure a Registry.
type Options struct {
	// Buckets are the latency histograms' upper bounds in seconds,
	// strictly increasing; nil means DefaultBuckets. Each request scans
	// them, so a dozen or so is the sensible size.
	Buckets []float64
	// OmitProcessMetrics leaves the Go runtime and process figures
	// (go_*, process_*) out of WritePrometheus.
	OmitProcessMetrics bool
}

// CacheStats are what the response cache reports at scrape time.
type CacheStats struct {
	Hits, Misses, Evictions uint64
	Bytes                   int64 // memory held for entries
	Entries                 int64
}

// TracingStats are what the tracer reports at scrape time.
type TracingStats struct {
	Exported, Dropped uint64
}

// AccessLogStats are what the access logger reports at scrape time.
type AccessLogStats struct {
	Lines, Dropped, WriteErrors uint64
}

// RouteName identifies a registered route on one stage of an API.
type RouteName struct{ API, Stage, Route string }

// Registry is the gateway's set of metrics. Its methods are safe for
// concurrent use. A nil *Registry is valid: it hands out nil handles, which
// record nothing, so a gateway without metrics needs no branches.
type Registry struct {
	set     *vm.Set
	buckets []float64
	process bool

	mu        sync.Mutex
	apis      map[string]*APIMetrics
	functions map[string]*FunctionMetrics

	inFlight     Gauge
	openConns    Gauge
	badRequests  *vm.Counter
	reloadOK     *vm.Counter
	reloadFailed *vm.Counter
	lastReloadOK atomic.Bool
	lastReloadAt atomic.Int64 // Unix nanoseconds

	cache     atomic.Pointer[func() CacheStats]
	accessLog atomic.Pointer[func() AccessLogStats]
	tracing   atomic.Pointer[func() TracingStats]

	scrapeMu  sync.Mutex
	scrapeRaw bytes.Buffer // the set's and sources' samples
	scrapeOut bytes.Buffer // with HELP and TYPE added
}

// New returns an empty Registry. Until the first RecordReload, the last
// reload is reported successful at the Registry's creation time: the
// configuration the gateway started with was valid, or it would not run.
func New(o Options) (*Registry, error) {
	buckets := DefaultBuckets()
	if o.Buckets != nil {
		if err := vm.ValidateBuckets(o.Buckets); err != nil {
			return nil, fmt.Errorf("metrics: buckets: %w", err)
		}
		buckets = slices.Clone(o.Buckets)
	}
	r := &Registry{
		set:       vm.NewSet(),
		buckets:   buckets,
		process:   !o.OmitProcessMetrics,
		apis:      make(map[string]*APIMetrics),
		functions: make(map[string]*FunctionMetrics),
	}
	r.set.NewGauge(nameInFlight, func() float64 { return float64(r.inFlight.Value()) })
	r.set.NewGauge(nameOpenConnections, func() float64 { return float64(r.openConns.Value()) })
	r.badRequests = r.set.NewCounter(nameBadRequests)
	r.reloadOK = r.set.NewCounter(nameReloads + `{result="success"}`)
	r.reloadFailed = r.set.NewCounter(nameReloads + `{result="failure"}`)
	r.set.NewGauge(nameLastReloadOK, func() float64 {
		if r.lastReloadOK.Load() {
			return 1
		}
		return 0
	})
	r.set.NewGauge(nameLastReloadTime, func() float64 {
		return float64(r.lastReloadAt.Load()) / 1e9
	})
	r.lastReloadOK.Store(true)
	r.lastReloadAt.Store(time.Now().UnixNano())
	return r, nil
}

// API returns the metrics handle of an API, creating it on first use.
// Registering the same name again returns the same handle.
func (r *Registry) API(name string) *APIMetrics {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if a := r.apis[name]; a != nil {
		return a
	}
	a := newAPI(r, name)
	r.apis[name] = a
	return a
}

// Route is API(api).Route(stage, route).
func (r *Registry) Route(api, stage, route string) *RouteMetrics {
	return r.API(api).Route(stage, route)
}

// UnregisterRoute removes the series of a route on a stage, for one a
// reload took away. It reports whether it was registered. Handles still
// held (by requests on the old configuration) keep working but export
// nothing; registering the route again starts a new handle from zero.
func (r *Registry) UnregisterRoute(api, stage, route string) bool {
	if r == nil {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	a := r.apis[api]
	if a == nil {
		return false
	}
	key := stageRoute{stage, route}
	m := a.routes[key]
	if m == nil {
		return false
	}
	r.removeRouteLocked(m)
	delete(a.routes, key)
	return true
}

// UnregisterAPI removes an API's series and those of all its routes. It
// reports whether the API was registered. As with UnregisterRoute, old
// handles keep working but export nothing.
func (r *Registry) UnregisterAPI(api string) bool {
	if r == nil {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	a := r.apis[api]
	if a == nil {
		return false
	}
	for _, m := range a.routes {
		r.removeRouteLocked(m)
	}
	for _, n := range a.names {
		r.set.UnregisterMetric(n)
	}
	a.routes, a.names, a.removed = nil, nil, true
	a.ws.Store(nil)
	delete(r.apis, api)
	return true
}

func (r *Registry) removeRouteLocked(m *RouteMetrics) {
	for _, n := range m.names {
		r.set.UnregisterMetric(n)
	}
	m.names, m.removed = nil, true
}

// Routes lists the registered routes, sorted, so a reload can find the ones
// its new configuration no longer has.
func (r *Registry) Routes() []RouteName {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	var out []RouteName
	for _, a := range r.apis {
		for k := range a.routes {
			out = append(out, RouteName{API: a.name, Stage: k.stage, Route: k.route})
		}
	}
	r.mu.Unlock()
	slices.SortFunc(out, func(x, y RouteName) int {
		return cmp.Or(cmp.Compare(x.API, y.API), cmp.Compare(x.Stage, y.Stage), cmp.Compare(x.Route, y.Route))
	})
	return out
}

// InFlight is the gauge of requests being served: Inc when one starts,
// Dec when it ends.
func (r *Registry) InFlight() *Gauge {
	if r == nil {
		return nil
	}
	return &r.inFlight
}

// OpenConnections is the gauge of open client connections.
func (r *Registry) OpenConnections() *Gauge {
	if r == nil {
		return nil
	}
	return &r.openConns
}

// BadRequest counts a request refused because it could not be read.
func (r *Registry) BadRequest() {
	if r == nil {
		return
	}
	r.badRequests.Inc()
}

// RecordReload records a configuration reload attempt that ended at at.
func (r *Registry) RecordReload(ok bool, at time.Time) {
	if r == nil {
		return
	}
	if ok {
		r.reloadOK.Inc()
	} else {
		r.reloadFailed.Inc()
	}
	r.lastReloadOK.Store(ok)
	r.lastReloadAt.Store(at.UnixNano())
}

// SetCacheSource makes scrapes report f's figures for the response cache;
// nil stops reporting. f is called once per scrape and must be safe for
// concurrent use.
func (r *Registry) SetCacheSource(f func() CacheStats) {
	if r == nil {
		return
	}
	storeSource(&r.cache, f)
}

// SetAccessLogSource makes scrapes report f's figures for the access log;
// nil stops reporting.
func (r *Registry) SetAccessLogSource(f func() AccessLogStats) {
	if r == nil {
		return
	}
	storeSource(&r.accessLog, f)
}

// SetTracingSource makes scrapes report f's figures for tracing; nil
// (tracing off) stops reporting.
func (r *Registry) SetTracingSource(f func() TracingStats) {
	if r == nil {
		return
	}
	storeSource(&r.tracing, f)
}

// WritePrometheus writes every metric in the Prometheus text exposition
// format (version 0.0.4), with HELP and TYPE lines for frontdesk's
// families, followed by the Go runtime and process metrics unless they
// were omitted. It is meant for the admin listener's /metrics; it
// allocates and takes locks, and is not for the request path.
func (r *Registry) WritePrometheus(w io.Writer) {
	if r == nil {
		return
	}
	// Scrapes are rare and serialised here, so their buffers are kept and
	// reused rather than grown from nothing each time.
	r.scrapeMu.Lock()
	defer r.scrapeMu.Unlock()
	raw, out := &r.scrapeRaw, &r.scrapeOut
	raw.Reset()
	out.Reset()
	r.set.WritePrometheus(raw)
	r.writeSources(raw)
	annotate(out, raw.Bytes())
	if r.process {
		vm.WriteProcessMetrics(out)
		// Not part of the above because listing /proc/self/fd grows with
		// the descriptors open; for a gateway, running out of them is the
		// failure to see coming, and a scrape's readdir is affordable.
		vm.WriteFDMetrics(out)
	}
	_, _ = w.Write(out.Bytes()) // a failed scrape is the scraper's to notice
}

// annotate copies sample lines from raw to out, adding HELP and TYPE
// before the first sample of each of frontdesk's families. The set writes
// each family's samples together, which the format requires. Comment lines
// in raw are dropped: they could only come from the metrics library's
// global metadata switch, and would repeat ours.
func annotate(out *bytes.Buffer, raw []byte) {
	prev := ""
	var prevName []byte // the previous sample's name: most lines repeat it
	for len(raw) > 0 {
		line := raw
		if i := bytes.IndexByte(raw, '\n'); i >= 0 {
			line, raw = raw[:i+1], raw[i+1:]
		} else {
			raw = nil
		}
		if line[0] == '#' {
			continue
		}
		name := line
		if i := bytes.IndexAny(line, "{ "); i >= 0 {
			name = line[:i]
		}
		if !bytes.Equal(name, prevName) {
			prevName = name
			if fam, ok := familyOf(string(name)); ok && fam != prev {
				typ, help, _ := describe(fam)
				out.WriteString("# HELP " + fam + " " + help + "\n")
				out.WriteString("# TYPE " + fam + " " + typ + "\n")
				prev = fam
			}
		}
		out.Write(line)
		if line[len(line)-1] != '\n' {
			out.WriteByte('\n')
		}
	}
}

// writeSources writes the figures local functions, the cache, the WebSocket
// bridges and the access log report, one family at a time.
func (r *Registry) writeSources(b *bytes.Buffer) {
	r.writeFunctionSources(b)
	if f := r.cache.Load(); f != nil {
		s := (*f)()
		writeSample(b, nameCacheBytes, "", s.Bytes)
		writeSample(b, nameCacheEntries, "", s.Entries)
		writeSample(b, nameCacheEvictions, "", s.Evictions)
		writeSample(b, nameCacheHits, "", s.Hits)
		writeSample(b, nameCacheMisses, "", s.Misses)
	}
	if f := r.accessLog.Load(); f != nil {
		s := (*f)()
		writeSample(b, nameLogDropped, "", s.Dropped)
		writeSample(b, nameLogLines, "", s.Lines)
		writeSample(b, nameLogWriteErrors, "", s.WriteErrors)
	}
	if f := r.tracing.Load(); f != nil {
		s := (*f)()
		writeSample(b, nameTraceDropped, "", s.Dropped)
		writeSample(b, nameTraceExported, "", s.Exported)
	}

	// Sources are called outside the lock: a bridge's Stats may take its
	// own locks, and registration must not wait for a scrape.
	type wsSource struct {
		label string
		f     func() WebSocketStats
	}
	var srcs []wsSource
	r.mu.Lock()
	for _, a := range r.apis {
		if f := a.ws.Load(); f != nil {
			srcs = append(srcs, wsSource{label: a.label, f: *f})
		}
	}
	r.mu.Unlock()
	if len(srcs) == 0 {
		return
	}
	slices.SortFunc(srcs, func(x, y wsSource) int { return cmp.Compare(x.label, y.label) })
	stats := make([]WebSocketStats, len(srcs))
	for i, src := range srcs {
		stats[i] = src.f()
	}
	for i, src := range srcs {
		writeSample(b, nameWSConnections, src.label, stats[i].OpenConnections)
	}
	for i, src := range srcs {
		writeSample(b, nameWSMessages, src.label+`,direction="in"`, stats[i].MessagesIn)
		writeSample(b, nameWSMessages, src.label+`,direction="out"`, stats[i].MessagesOut)
	}
	for i, src := range srcs {
		writeSample(b, nameWSQueueFull, src.label, stats[i].QueueFull)
	}
	for i, src := range srcs {
		writeSample(b, nameWSDisconnectsDrop, src.label, stats[i].DisconnectsDropped)
	}
}

// writeSample writes one sample line; counters are uint64 and gauges
// int64, both exact in decimal.
func writeSample[T int64 | uint64](b *bytes.Buffer, family, labels string, v T) {
	b.WriteString(family)
	if labels != "" {
		b.WriteByte('{')
		b.WriteString(labels)
		b.WriteByte('}')
	}
	b.WriteByte(' ')
	switch x := any(v).(type) {
	case int64:
		b.Write(strconv.AppendInt(b.AvailableBuffer(), x, 10))
	case uint64:
		b.Write(strconv.AppendUint(b.AvailableBuffer(), x, 10))
	}
	b.WriteByte('\n')
}

// Gauge is a value that goes up and down, read at scrape time. A nil
// *Gauge is valid and records nothing.
type Gauge struct{ v atomic.Int64 }

// Inc adds one.
func (g *Gauge) Inc() { g.Add(1) }

// Dec subtracts one.
func (g *Gauge) Dec() { g.Add(-1) }

// Add adds n, which may be negative.
func (g *Gauge) Add(n int64) {
	if g != nil {
		g.v.Add(n)
	}
}

// Set replaces the value.
func (g *Gauge) Set(n int64) {
	if g != nil {
		g.v.Store(n)
	}
}

// Value returns the current value.
func (g *Gauge) Value() int64 {
	if g == nil {
		return 0
	}
	return g.v.Load()
}
