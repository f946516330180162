package metrics

import (
	"bytes"
	"cmp"
	"slices"
	"sync/atomic"
	"time"

	vm "github.com/VictoriaMetrics/metrics"
)

// FunctionErrorKind classifies a failed function invocation.
type FunctionErrorKind uint8

// Function error kinds.
const (
	FunctionErrorFunction FunctionErrorKind = iota // the function failed: threw, crashed, returned an error
	FunctionErrorTimeout                           // no answer within the function's timeout
	FunctionErrorOther                             // anything else: queue full, Invoke API failure, canceled
	numFunctionErrorKinds
)

// String returns the kind label value.
func (k FunctionErrorKind) String() string {
	switch k {
	case FunctionErrorFunction:
		return "function"
	case FunctionErrorTimeout:
		return "timeout"
	}
	return "other"
}

// FunctionStats are what a local function's host reports at scrape time.
type FunctionStats struct {
	ColdStarts uint64 // instances started
	Instances  int64  // live instances (starting, idle or busy)
	Queued     int64  // invocations waiting for an instance
}

// FunctionMetrics counts and times the invocations of one function. Get it
// from Registry.Function when the function is opened. A nil
// *FunctionMetrics is valid and records nothing.
type FunctionMetrics struct {
	name  string
	label string // function="…", escaped

	invocations *vm.Counter
	errors      [numFunctionErrorKinds]*vm.Counter
	duration    *vm.PrometheusHistogram

	stats atomic.Pointer[func() FunctionStats]

	// Guarded by the Registry's mutex.
	names []string
}

// Function returns the metrics handle of a function, creating it on first
// use. Opening the same function again, as a reload that changes its
// configuration does, returns the same handle, so its counters carry on.
func (r *Registry) Function(name string) *FunctionMetrics {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if f := r.functions[name]; f != nil {
		return f
	}
	f := &FunctionMetrics{name: name, label: label("function", name)}
	reg := func(n string) string {
		f.names = append(f.names, n)
		return n
	}
	f.invocations = r.set.GetOrCreateCounter(reg(seriesName(nameFnInvocations, f.label)))
	for k := range f.errors {
		f.errors[k] = r.set.GetOrCreateCounter(reg(seriesName(nameFnErrors, f.label, "kind", FunctionErrorKind(k).String())))
	}
	f.duration = r.set.GetOrCreatePrometheusHistogramExt(reg(seriesName(nameFnDuration, f.label)), r.buckets)
	r.functions[name] = f
	return f
}

// UnregisterFunction removes a function's series, for a function a reload
// took away. It reports whether the function was registered. Handles still
// held keep counting but export nothing.
func (r *Registry) UnregisterFunction(name string) bool {
	if r == nil {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	f := r.functions[name]
	if f == nil {
		return false
	}
	for _, n := range f.names {
		r.set.UnregisterMetric(n)
	}
	f.names = nil
	f.stats.Store(nil)
	delete(r.functions, name)
	return true
}

// Functions lists the registered functions, sorted.
func (r *Registry) Functions() []string {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	out := make([]string, 0, len(r.functions))
	for n := range r.functions {
		out = append(out, n)
	}
	r.mu.Unlock()
	slices.Sort(out)
	return out
}

// Name returns the function's name as registered.
func (f *FunctionMetrics) Name() string {
	if f == nil {
		return ""
	}
	return f.name
}

// Observe records one finished invocation and how long it took; failed
// says whether it failed, and kind how.
func (f *FunctionMetrics) Observe(d time.Duration, failed bool, kind FunctionErrorKind) {
	if f == nil {
		return
	}
	f.invocations.Inc()
	if failed {
		if kind >= numFunctionErrorKinds {
			kind = FunctionErrorOther
		}
		f.errors[kind].Inc()
	}
	f.duration.Update(d.Seconds())
}

// SetSource makes scrapes report s's figures for the function (a local
// one: cold starts, instances, queued invocations). s is called once per
// scrape and must be safe for concurrent use. The returned release stops
// reporting s, unless another source replaced it since: a reload opens the
// new function before it closes the old one.
func (f *FunctionMetrics) SetSource(s func() FunctionStats) (release func()) {
	if f == nil || s == nil {
		return func() {}
	}
	p := &s
	f.stats.Store(p)
	return func() { f.stats.CompareAndSwap(p, nil) }
}

// writeFunctionSources writes the figures local functions report, one
// family at a time. Sources are called outside the lock, as for bridges.
func (r *Registry) writeFunctionSources(b *bytes.Buffer) {
	type fnSource struct {
		label string
		f     func() FunctionStats
	}
	var srcs []fnSource
	r.mu.Lock()
	for _, fm := range r.functions {
		if s := fm.stats.Load(); s != nil {
			srcs = append(srcs, fnSource{label: fm.label, f: *s})
		}
	}
	r.mu.Unlock()
	if len(srcs) == 0 {
		return
	}
	slices.SortFunc(srcs, func(x, y fnSource) int { return cmp.Compare(x.label, y.label) })
	stats := make([]FunctionStats, len(srcs))
	for i, src := range srcs {
		stats[i] = src.f()
	}
	for i, src := range srcs {
		writeSample(b, nameFnColdStarts, src.label, stats[i].ColdStarts)
	}
	for i, src := range srcs {
		writeSample(b, nameFnInstances, src.label, stats[i].Instances)
	}
	for i, src := range srcs {
		writeSample(b, nameFnQueued, src.label, stats[i].Queued)
	}
}
