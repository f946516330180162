package metrics

import (
	"testing"
	"time"
)

func TestFunctionInvocationsErrorsAndDurationAreCountedPerFunction(t *testing.T) {
	r := newTestRegistry(t, Options{OmitProcessMetrics: true})
	hello := r.Function("hello")
	if r.Function("hello") != hello {
		t.Fatal("second registration returned a new handle")
	}
	hello.Observe(time.Millisecond, false, 0)
	hello.Observe(time.Millisecond, true, FunctionErrorFunction)
	hello.Observe(time.Millisecond, true, FunctionErrorTimeout)
	hello.Observe(time.Millisecond, true, FunctionErrorTimeout)
	hello.Observe(time.Millisecond, true, FunctionErrorKind(200)) // out of range: other
	r.Function("remote").Observe(2*time.Second, false, 0)

	fams := scrape(t, r)
	for _, tt := range []struct {
		fam    string
		labels map[string]string
		want   float64
	}{
		{nameFnInvocations, L("function", "hello"), 5},
		{nameFnInvocations, L("function", "remote"), 1},
		{nameFnErrors, L("function", "hello", "kind", "function"), 1},
		{nameFnErrors, L("function", "hello", "kind", "timeout"), 2},
		{nameFnErrors, L("function", "hello", "kind", "other"), 1},
		{nameFnErrors, L("function", "remote", "kind", "timeout"), 0},
	} {
		if got := value(t, fams, tt.fam, tt.labels); got != tt.want {
			t.Errorf("%s%v = %v, want %v", tt.fam, tt.labels, got, tt.want)
		}
	}
	if got := find(t, fams, nameFnDuration, L("function", "hello")).count; got != 5 {
		t.Errorf("hello duration count = %d, want 5", got)
	}
	if typ := fams[nameFnDuration].typ; typ != "histogram" {
		t.Errorf("duration type = %q", typ)
	}
	// Only local functions report instance figures.
	if fams[nameFnColdStarts] != nil || fams[nameFnInstances] != nil || fams[nameFnQueued] != nil {
		t.Error("instance figures without a source")
	}
}

func TestFunctionSourceIsReportedUntilReleased(t *testing.T) {
	r := newTestRegistry(t, Options{OmitProcessMetrics: true})
	f := r.Function("local")
	releaseOld := f.SetSource(func() FunctionStats { return FunctionStats{ColdStarts: 1, Instances: 1} })
	f.SetSource(func() FunctionStats { return FunctionStats{ColdStarts: 3, Instances: 2, Queued: 4} })
	// The replaced source's release must not stop the new one.
	releaseOld()

	fams := scrape(t, r)
	for _, tt := range []struct {
		fam  string
		want float64
	}{{nameFnColdStarts, 3}, {nameFnInstances, 2}, {nameFnQueued, 4}} {
		if got := value(t, fams, tt.fam, L("function", "local")); got != tt.want {
			t.Errorf("%s = %v, want %v", tt.fam, got, tt.want)
		}
		if fams[tt.fam].help == "" {
			t.Errorf("%s has no HELP", tt.fam)
		}
	}

	if !r.UnregisterFunction("local") || r.UnregisterFunction("local") {
		t.Error("UnregisterFunction did not report the function once")
	}
	fams = scrape(t, r)
	for _, fam := range []string{nameFnInvocations, nameFnErrors, nameFnDuration, nameFnColdStarts} {
		if has(fams, fam, L("function", "local")) {
			t.Errorf("%s survived UnregisterFunction", fam)
		}
	}
	if got := r.Functions(); len(got) != 0 {
		t.Errorf("Functions() = %v after unregistering", got)
	}
}

func TestNilFunctionMetricsRecordNothing(t *testing.T) {
	var r *Registry
	f := r.Function("x")
	f.Observe(time.Second, true, FunctionErrorOther)
	f.SetSource(func() FunctionStats { return FunctionStats{} })()
	if f != nil || f.Name() != "" || r.UnregisterFunction("x") || r.Functions() != nil {
		t.Error("nil registry handed out a working handle")
	}
}
