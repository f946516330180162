package metrics

import (
	"bytes"
	"fmt"
	"math"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestScrapeCountsWhatWasCounted(t *testing.T) {
	r := newTestRegistry(t, Options{OmitProcessMetrics: true})
	m := r.Route("petstore", "prod", "ANY /pets")
	for range 7 {
		m.Observe(MethodGET, 200, 3*time.Millisecond, 2*time.Millisecond)
	}
	for range 3 {
		m.Observe(MethodPOST, 503, 40*time.Millisecond, -1) // no integration called
	}
	fams := scrape(t, r)

	route := L("api", "petstore", "route", "ANY /pets")
	for _, tt := range []struct {
		method, status string
		want           float64
	}{
		{"GET", "2xx", 7}, {"POST", "5xx", 3},
		{"GET", "1xx", 0}, {"GET", "3xx", 0}, {"GET", "4xx", 0}, {"GET", "5xx", 0},
		{"POST", "1xx", 0}, {"POST", "2xx", 0}, {"POST", "3xx", 0}, {"POST", "4xx", 0},
	} {
		want := L("api", "petstore", "route", "ANY /pets", "method", tt.method, "status", tt.status)
		if got := value(t, fams, nameRequests, want); got != tt.want {
			t.Errorf("%s %s = %v, want %v", tt.method, tt.status, got, tt.want)
		}
	}
	if n := len(fams[nameRequests].series); n != 10 {
		t.Errorf("%d request series, want 10 (methods seen × 5 classes)", n)
	}

	total := find(t, fams, nameRequestDuration, route)
	if total.count != 10 || math.Abs(total.sum-(7*0.003+3*0.040)) > 1e-9 {
		t.Errorf("request duration count %d sum %v, want 10 and 0.141", total.count, total.sum)
	}
	if total.buckets[0.0025] != 0 || total.buckets[0.005] != 7 || total.buckets[0.05] != 10 {
		t.Errorf("request duration buckets = %v", total.buckets)
	}
	integ := find(t, fams, nameIntegrationDuration, route)
	if integ.count != 7 || integ.buckets[0.0025] != 7 {
		t.Errorf("integration duration count %d buckets %v, want 7 observations ≤ 2.5 ms", integ.count, integ.buckets)
	}
}

func TestStatusCountsUnderItsClass(t *testing.T) {
	tests := []struct {
		status int
		want   string
	}{
		{101, "1xx"}, {200, "2xx"}, {204, "2xx"}, {304, "3xx"}, {404, "4xx"}, {429, "4xx"},
		{500, "5xx"}, {599, "5xx"},
		{0, "5xx"}, {99, "5xx"}, {600, "5xx"}, {-1, "5xx"}, // no valid status: the gateway failed
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.status), func(t *testing.T) {
			r := newTestRegistry(t, Options{OmitProcessMetrics: true})
			r.Route("a", "prod", "$default").Count(MethodGET, tt.status)
			got := value(t, scrape(t, r), nameRequests, L("status", tt.want))
			if got != 1 {
				t.Errorf("status %d: %s counter = %v, want 1", tt.status, tt.want, got)
			}
		})
	}
}

func TestMethodOfMapsMethodsAndFoldsTheRest(t *testing.T) {
	tests := []struct {
		in   string
		want Method
	}{
		{"GET", MethodGET}, {"POST", MethodPOST}, {"PUT", MethodPUT}, {"PATCH", MethodPATCH},
		{"DELETE", MethodDELETE}, {"HEAD", MethodHEAD}, {"OPTIONS", MethodOPTIONS},
		{"get", MethodOther}, {"PROPFIND", MethodOther}, {"", MethodOther}, {"GETX", MethodOther},
	}
	for _, tt := range tests {
		got := MethodOf([]byte(tt.in))
		if got != tt.want {
			t.Errorf("MethodOf(%q) = %v, want %v", tt.in, got, tt.want)
		}
		if tt.want != MethodOther && got.String() != tt.in {
			t.Errorf("%v.String() = %q", got, got.String())
		}
	}

	r := newTestRegistry(t, Options{OmitProcessMetrics: true})
	m := r.Route("a", "prod", "$default")
	m.Count(MethodOf([]byte("PROPFIND")), 207)
	m.Count(Method(200), 200) // out of range: folded too
	if got := value(t, scrape(t, r), nameRequests, L("method", "OTHER", "status", "2xx")); got != 2 {
		t.Errorf("OTHER 2xx = %v, want 2", got)
	}
}

func TestRegisteringARouteAgainReturnsTheSameHandle(t *testing.T) {
	r := newTestRegistry(t, Options{OmitProcessMetrics: true})
	before := r.Route("petstore", "prod", "GET /pets")
	before.Observe(MethodGET, 200, time.Millisecond, time.Millisecond)

	// A reload compiles the configuration again and registers every route.
	after := r.Route("petstore", "prod", "GET /pets")
	if after != before {
		t.Fatal("second registration returned a new handle")
	}
	if r.API("petstore") != before.API() {
		t.Fatal("second API registration returned a new handle")
	}
	after.Observe(MethodGET, 200, time.Millisecond, time.Millisecond)
	fams := scrape(t, r)
	if got := value(t, fams, nameRequests, L("method", "GET", "status", "2xx")); got != 2 {
		t.Errorf("GET 2xx = %v after a reload, want 2", got)
	}
	if got := find(t, fams, nameRequestDuration, L("route", "GET /pets")).count; got != 2 {
		t.Errorf("duration count = %d, want 2", got)
	}
	if before.Route() != "GET /pets" || before.API().Name() != "petstore" {
		t.Errorf("names = %q %q", before.API().Name(), before.Route())
	}
}

func TestUnregisterRouteRemovesOnlyItsSeries(t *testing.T) {
	r := newTestRegistry(t, Options{OmitProcessMetrics: true})
	gone := r.Route("petstore", "prod", "GET /old")
	kept := r.Route("petstore", "prod", "GET /pets")
	gone.Observe(MethodGET, 200, time.Millisecond, time.Millisecond)
	kept.Observe(MethodGET, 200, time.Millisecond, time.Millisecond)

	if !r.UnregisterRoute("petstore", "prod", "GET /old") {
		t.Fatal("UnregisterRoute reported the route missing")
	}
	if r.UnregisterRoute("petstore", "prod", "GET /old") || r.UnregisterRoute("nope", "prod", "GET /old") {
		t.Error("UnregisterRoute reported an unknown route removed")
	}
	// Requests still running on the old configuration keep their handle,
	// even for a method the route never saw, and nothing reappears.
	gone.Observe(MethodDELETE, 500, time.Millisecond, time.Millisecond)

	fams := scrape(t, r)
	for _, fam := range []string{nameRequests, nameRequestDuration, nameIntegrationDuration} {
		if has(fams, fam, L("route", "GET /old")) {
			t.Errorf("%s still has the removed route", fam)
		}
		if !has(fams, fam, L("route", "GET /pets")) {
			t.Errorf("%s lost the kept route", fam)
		}
	}
	if !has(fams, nameUpstreamErrors, L("api", "petstore")) {
		t.Error("API series went with the route")
	}

	again := r.Route("petstore", "prod", "GET /old")
	if again == gone {
		t.Fatal("a removed route's handle came back")
	}
	again.Count(MethodGET, 200)
	if got := value(t, scrape(t, r), nameRequests, L("route", "GET /old", "method", "GET", "status", "2xx")); got != 1 {
		t.Errorf("re-registered route counts %v, want to start from zero and count 1", got)
	}
}

func TestUnregisterAPIRemovesItsSeriesAndRoutes(t *testing.T) {
	r := newTestRegistry(t, Options{OmitProcessMetrics: true})
	old := r.API("old")
	oldRoute := old.Route("prod", "GET /x")
	oldRoute.Count(MethodGET, 200)
	old.SetWebSocketSource(func() WebSocketStats { return WebSocketStats{OpenConnections: 1} })
	r.Route("kept", "prod", "GET /y").Count(MethodGET, 200)

	if !r.UnregisterAPI("old") || r.UnregisterAPI("old") {
		t.Fatal("UnregisterAPI results wrong")
	}
	// Stale handles work and stay out of the scrape.
	old.UpstreamError(ErrorTimeout)
	old.Throttled(ThrottleStage)
	old.QuotaExceeded()
	oldRoute.Count(MethodPOST, 200)
	detached := old.Route("prod", "GET /new")
	detached.Observe(MethodGET, 200, time.Millisecond, time.Millisecond)

	fams := scrape(t, r)
	for _, fam := range frontdeskFamilies(fams) {
		if has(fams, fam, L("api", "old")) {
			t.Errorf("%s still has the removed API", fam)
		}
	}
	if !has(fams, nameRequests, L("api", "kept")) {
		t.Error("the other API lost its series")
	}
	if got := r.Routes(); len(got) != 1 || got[0] != (RouteName{"kept", "prod", "GET /y"}) {
		t.Errorf("Routes() = %v", got)
	}
}

func TestTwoStagesOfOneRouteCountApart(t *testing.T) {
	r := newTestRegistry(t, Options{OmitProcessMetrics: true})
	prod := r.Route("petstore", "prod", "GET /pets")
	dev := r.Route("petstore", "dev", "GET /pets")
	if prod == dev {
		t.Fatal("two stages share one handle")
	}
	if prod.Stage() != "prod" || dev.Stage() != "dev" {
		t.Errorf("stages = %q %q", prod.Stage(), dev.Stage())
	}
	prod.Observe(MethodGET, 200, time.Millisecond, time.Millisecond)
	prod.Observe(MethodGET, 200, time.Millisecond, time.Millisecond)
	dev.Observe(MethodGET, 200, time.Millisecond, -1)

	fams := scrape(t, r)
	for _, tt := range []struct {
		stage        string
		count, integ float64
	}{{"prod", 2, 2}, {"dev", 1, 0}} {
		want := L("api", "petstore", "stage", tt.stage, "route", "GET /pets")
		if got := value(t, fams, nameRequests, L("api", "petstore", "stage", tt.stage, "route", "GET /pets", "method", "GET", "status", "2xx")); got != tt.count {
			t.Errorf("%s requests = %v, want %v", tt.stage, got, tt.count)
		}
		if got := find(t, fams, nameRequestDuration, want).count; float64(got) != tt.count {
			t.Errorf("%s duration count = %d, want %v", tt.stage, got, tt.count)
		}
		if got := find(t, fams, nameIntegrationDuration, want).count; float64(got) != tt.integ {
			t.Errorf("%s integration count = %d, want %v", tt.stage, got, tt.integ)
		}
	}

	// Dropping one stage's route leaves the other's series.
	if !r.UnregisterRoute("petstore", "dev", "GET /pets") {
		t.Fatal("UnregisterRoute reported the dev route missing")
	}
	fams = scrape(t, r)
	if has(fams, nameRequests, L("stage", "dev")) {
		t.Error("dev series survived UnregisterRoute")
	}
	if got := value(t, fams, nameRequests, L("stage", "prod", "method", "GET", "status", "2xx")); got != 2 {
		t.Errorf("prod requests = %v after dropping dev, want 2", got)
	}
}

func TestRoutesListsRegisteredRoutesSorted(t *testing.T) {
	r := newTestRegistry(t, Options{OmitProcessMetrics: true})
	r.Route("b", "prod", "GET /2")
	r.Route("a", "prod", "GET /2")
	r.Route("a", "prod", "$default")
	r.Route("a", "prod", "GET /2") // again
	r.Route("a", "dev", "GET /2")
	want := []RouteName{{"a", "dev", "GET /2"}, {"a", "prod", "$default"}, {"a", "prod", "GET /2"}, {"b", "prod", "GET /2"}}
	if got := r.Routes(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Routes() = %v, want %v", got, want)
	}
}

func TestAPICountersCarryKindAndLevelLabels(t *testing.T) {
	r := newTestRegistry(t, Options{OmitProcessMetrics: true})
	a := r.API("petstore")
	a.UpstreamError(ErrorTimeout)
	a.UpstreamError(ErrorTimeout)
	a.UpstreamError(ErrorConnect)
	a.UpstreamError(ErrorKind(99)) // unknown: other
	a.Throttled(ThrottleStage)
	a.Throttled(ThrottleRoute)
	a.Throttled(ThrottleRoute)
	a.Throttled(ThrottlePlan)
	a.Throttled(ThrottleKeyRoute)
	a.Throttled(ThrottleLevel(99)) // unknown: the narrowest
	a.QuotaExceeded()
	fams := scrape(t, r)

	tests := []struct {
		fam    string
		labels map[string]string
		want   float64
	}{
		{nameUpstreamErrors, L("kind", "timeout"), 2},
		{nameUpstreamErrors, L("kind", "connect"), 1},
		{nameUpstreamErrors, L("kind", "other"), 1},
		{nameThrottled, L("level", "stage"), 1},
		{nameThrottled, L("level", "route"), 2},
		{nameThrottled, L("level", "plan"), 1},
		{nameThrottled, L("level", "key_route"), 2},
		{nameQuotaExceeded, L("api", "petstore"), 1},
	}
	for _, tt := range tests {
		if got := value(t, fams, tt.fam, tt.labels); got != tt.want {
			t.Errorf("%s%v = %v, want %v", tt.fam, tt.labels, got, tt.want)
		}
	}
}

func TestGaugesReportCurrentValues(t *testing.T) {
	r := newTestRegistry(t, Options{OmitProcessMetrics: true})
	r.InFlight().Inc()
	r.InFlight().Inc()
	r.InFlight().Dec()
	r.OpenConnections().Set(40)
	r.OpenConnections().Add(2)
	fams := scrape(t, r)
	if got := value(t, fams, nameInFlight, nil); got != 1 {
		t.Errorf("in flight = %v, want 1", got)
	}
	if got := value(t, fams, nameOpenConnections, nil); got != 42 {
		t.Errorf("open connections = %v, want 42", got)
	}
}

func TestBadRequestsAreCounted(t *testing.T) {
	r := newTestRegistry(t, Options{OmitProcessMetrics: true})
	if got := value(t, scrape(t, r), nameBadRequests, nil); got != 0 {
		t.Errorf("bad requests before any = %v, want 0", got)
	}
	r.BadRequest()
	r.BadRequest()
	if got := value(t, scrape(t, r), nameBadRequests, nil); got != 2 {
		t.Errorf("bad requests = %v, want 2", got)
	}
}

func TestReloadResultAndTimeAreReported(t *testing.T) {
	start := time.Now()
	r := newTestRegistry(t, Options{OmitProcessMetrics: true})
	fams := scrape(t, r)
	if got := value(t, fams, nameLastReloadOK, nil); got != 1 {
		t.Errorf("before any reload: successful = %v, want 1 (the start-up load)", got)
	}
	if got := value(t, fams, nameLastReloadTime, nil); got < float64(start.Unix()) || got > float64(time.Now().Unix()+1) {
		t.Errorf("before any reload: timestamp = %v, want the creation time", got)
	}

	at := time.Unix(1_700_000_000, 500e6)
	steps := []struct {
		ok                bool
		wantOK            float64
		wantSucc, wantErr float64
	}{
		{false, 0, 0, 1},
		{true, 1, 1, 1},
		{true, 1, 2, 1},
		{false, 0, 2, 2},
	}
	for i, s := range steps {
		at = at.Add(time.Minute)
		r.RecordReload(s.ok, at)
		fams := scrape(t, r)
		if got := value(t, fams, nameLastReloadOK, nil); got != s.wantOK {
			t.Errorf("step %d: successful = %v, want %v", i, got, s.wantOK)
		}
		if got := value(t, fams, nameLastReloadTime, nil); got != float64(at.UnixNano())/1e9 {
			t.Errorf("step %d: timestamp = %v, want %v", i, got, float64(at.UnixNano())/1e9)
		}
		if got := value(t, fams, nameReloads, L("result", "success")); got != s.wantSucc {
			t.Errorf("step %d: successes = %v, want %v", i, got, s.wantSucc)
		}
		if got := value(t, fams, nameReloads, L("result", "failure")); got != s.wantErr {
			t.Errorf("step %d: failures = %v, want %v", i, got, s.wantErr)
		}
	}
}

func TestSourcesAreReadAtScrapeTime(t *testing.T) {
	r := newTestRegistry(t, Options{OmitProcessMetrics: true})
	fams := scrape(t, r)
	for _, fam := range []string{nameCacheHits, nameWSConnections, nameLogLines} {
		if fams[fam] != nil {
			t.Errorf("%s reported without a source", fam)
		}
	}

	hits := uint64(0)
	r.SetCacheSource(func() CacheStats {
		hits += 10
		return CacheStats{Hits: hits, Misses: 3, Evictions: 2, Bytes: 1 << 30, Entries: 77}
	})
	r.SetAccessLogSource(func() AccessLogStats { return AccessLogStats{Lines: 100, Dropped: 4, WriteErrors: 1} })
	r.API("chat").SetWebSocketSource(func() WebSocketStats {
		return WebSocketStats{OpenConnections: 5, MessagesIn: 50, MessagesOut: 60, QueueFull: 2, DisconnectsDropped: 3}
	})
	r.API("feed").SetWebSocketSource(func() WebSocketStats { return WebSocketStats{OpenConnections: 1} })

	for _, wantHits := range []float64{10, 20} { // each scrape calls the source again
		fams = scrape(t, r)
		if got := value(t, fams, nameCacheHits, nil); got != wantHits {
			t.Errorf("cache hits = %v, want %v", got, wantHits)
		}
	}
	tests := []struct {
		fam    string
		labels map[string]string
		want   float64
	}{
		{nameCacheMisses, nil, 3},
		{nameCacheEvictions, nil, 2},
		{nameCacheBytes, nil, 1 << 30},
		{nameCacheEntries, nil, 77},
		{nameLogLines, nil, 100},
		{nameLogDropped, nil, 4},
		{nameLogWriteErrors, nil, 1},
		{nameWSConnections, L("api", "chat"), 5},
		{nameWSConnections, L("api", "feed"), 1},
		{nameWSMessages, L("api", "chat", "direction", "in"), 50},
		{nameWSMessages, L("api", "chat", "direction", "out"), 60},
		{nameWSQueueFull, L("api", "chat"), 2},
		{nameWSDisconnectsDrop, L("api", "chat"), 3},
	}
	for _, tt := range tests {
		if got := value(t, fams, tt.fam, tt.labels); got != tt.want {
			t.Errorf("%s%v = %v, want %v", tt.fam, tt.labels, got, tt.want)
		}
	}

	r.SetCacheSource(nil)
	r.SetAccessLogSource(nil)
	r.API("chat").SetWebSocketSource(nil)
	fams = scrape(t, r)
	if fams[nameCacheHits] != nil || fams[nameLogLines] != nil || has(fams, nameWSConnections, L("api", "chat")) {
		t.Error("a cleared source is still reported")
	}
	if !has(fams, nameWSConnections, L("api", "feed")) {
		t.Error("clearing one API's source cleared another's")
	}
}

func TestLabelValuesAreEscaped(t *testing.T) {
	tests := []struct{ name, api, route, wantAPI, wantRoute string }{
		{"plain", "petstore", "GET /pets/{id}", "petstore", "GET /pets/{id}"},
		{"quote", `pet"store`, `GET /a"b`, `pet"store`, `GET /a"b`},
		{"backslash", `pet\store`, `GET /a\b`, `pet\store`, `GET /a\b`},
		{"newline", "pet\nstore", "GET /a\nb", "pet\nstore", "GET /a\nb"},
		{"comma and equals", "a,b=c", "GET /x,y", "a,b=c", "GET /x,y"},
		{"unicode", "пэт", "GET /日本", "пэт", "GET /日本"},
		{"invalid UTF-8 replaced", "a\xffb", "GET /\xfe", "a\uFFFDb", "GET /\uFFFD"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newTestRegistry(t, Options{OmitProcessMetrics: true})
			r.Route(tt.api, "prod", tt.route).Observe(MethodGET, 200, time.Millisecond, time.Millisecond)
			fams := scrape(t, r)
			want := L("api", tt.wantAPI, "route", tt.wantRoute)
			if got := value(t, fams, nameRequests, L("api", tt.wantAPI, "route", tt.wantRoute, "status", "2xx")); got != 1 {
				t.Errorf("count = %v", got)
			}
			find(t, fams, nameRequestDuration, want)
			find(t, fams, nameUpstreamErrors, L("api", tt.wantAPI, "kind", "timeout"))
		})
	}
}

func TestEveryFamilyHasHelpAndType(t *testing.T) {
	r := newTestRegistry(t, Options{OmitProcessMetrics: true})
	r.Route("a", "prod", "GET /").Observe(MethodGET, 200, time.Millisecond, time.Millisecond)
	r.SetCacheSource(func() CacheStats { return CacheStats{} })
	r.SetAccessLogSource(func() AccessLogStats { return AccessLogStats{} })
	r.API("a").SetWebSocketSource(func() WebSocketStats { return WebSocketStats{} })
	fams := scrape(t, r)

	got := frontdeskFamilies(fams)
	if len(got) != 24 {
		t.Errorf("%d families, want all 24: %v", len(got), got)
	}
	for _, name := range got {
		typ, help, ok := describe(name)
		if !ok {
			t.Errorf("%s is not described", name)
			continue
		}
		if fams[name].typ != typ || fams[name].help != help {
			t.Errorf("%s: type %q help %q, want %q %q", name, fams[name].typ, fams[name].help, typ, help)
		}
		if typ == "counter" && !strings.HasSuffix(name, "_total") {
			t.Errorf("counter %s lacks the _total suffix", name)
		}
	}
}

func TestProcessMetricsAreIncludedUnlessOmitted(t *testing.T) {
	for _, omit := range []bool{false, true} {
		r := newTestRegistry(t, Options{OmitProcessMetrics: omit})
		fams := scrape(t, r)
		_, hasGo := fams["go_goroutines"]
		_, hasProc := fams["process_start_time_seconds"]
		_, hasFDs := fams["process_open_fds"]
		if hasGo == omit || hasProc == omit || (runtime.GOOS == "linux" && hasFDs == omit) {
			t.Errorf("OmitProcessMetrics=%v: go_goroutines %v, process_start_time_seconds %v, process_open_fds %v", omit, hasGo, hasProc, hasFDs)
		}
	}
}

func TestAnnotateReplacesForeignMetadata(t *testing.T) {
	// What the metrics library writes when its global metadata switch is on.
	raw := "# HELP frontdesk_requests_in_flight\n# TYPE frontdesk_requests_in_flight gauge\nfrontdesk_requests_in_flight 3\nother_metric 1"
	var out bytes.Buffer
	annotate(&out, []byte(raw))
	fams := parseExposition(t, out.Bytes())
	if f := fams[nameInFlight]; f == nil || f.typ != "gauge" || f.series[0].value != 3 || !strings.HasPrefix(f.help, "Requests") {
		t.Errorf("in flight family = %+v", f)
	}
	if got := value(t, fams, "other_metric", nil); got != 1 {
		t.Errorf("other_metric = %v", got)
	}
}

func TestCustomBucketsAreUsedAndInvalidOnesRefused(t *testing.T) {
	r := newTestRegistry(t, Options{OmitProcessMetrics: true, Buckets: []float64{0.1, 1}})
	r.Route("a", "prod", "GET /").Observe(MethodGET, 200, 500*time.Millisecond, 2*time.Second)
	fams := scrape(t, r)
	total := find(t, fams, nameRequestDuration, L("api", "a"))
	if len(total.buckets) != 3 || total.buckets[0.1] != 0 || total.buckets[1] != 1 {
		t.Errorf("request buckets = %v, want le 0.1, 1, +Inf", total.buckets)
	}
	if integ := find(t, fams, nameIntegrationDuration, L("api", "a")); integ.buckets[1] != 0 || integ.count != 1 {
		t.Errorf("integration buckets = %v count %d", integ.buckets, integ.count)
	}

	for _, b := range [][]float64{{}, {1, 1}, {2, 1}, {math.NaN()}} {
		if _, err := New(Options{Buckets: b}); err == nil || !strings.HasPrefix(err.Error(), "metrics: ") {
			t.Errorf("New(Buckets: %v) = %v, want a metrics: error", b, err)
		}
	}
}

func TestNilRegistryAndHandlesRecordNothing(t *testing.T) {
	var r *Registry
	m := r.Route("a", "prod", "b")
	a := r.API("a")
	if m != nil || a != nil || r.InFlight() != nil || r.OpenConnections() != nil || r.Routes() != nil {
		t.Fatal("nil Registry handed out non-nil handles")
	}
	m.Observe(MethodGET, 200, time.Second, time.Second)
	m.Count(MethodGET, 200)
	a.UpstreamError(ErrorTimeout)
	a.Throttled(ThrottleStage)
	a.QuotaExceeded()
	a.SetWebSocketSource(func() WebSocketStats { return WebSocketStats{} })
	if a.Route("prod", "x") != nil || m.API() != nil || m.Route() != "" || a.Name() != "" {
		t.Error("nil handles returned values")
	}
	r.InFlight().Inc()
	r.OpenConnections().Set(3)
	if r.InFlight().Value() != 0 {
		t.Error("nil gauge has a value")
	}
	r.RecordReload(true, time.Now())
	r.BadRequest()
	r.SetCacheSource(nil)
	r.SetAccessLogSource(nil)
	if r.UnregisterRoute("a", "prod", "b") || r.UnregisterAPI("a") {
		t.Error("nil Registry unregistered something")
	}
	var b bytes.Buffer
	r.WritePrometheus(&b)
	if b.Len() != 0 {
		t.Errorf("nil Registry wrote %q", b.String())
	}
}

func TestConcurrentCountingRegistrationAndScrapesAreConsistent(t *testing.T) {
	r := newTestRegistry(t, Options{OmitProcessMetrics: true})
	const workers, each = 4, 2000
	methods := []Method{MethodGET, MethodPOST, MethodPUT, MethodDELETE}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				// Every worker registers the same routes: one handle each.
				m := r.Route("petstore", "prod", fmt.Sprintf("route-%d", i%3))
				m.Observe(methods[(w+i)%len(methods)], 200+100*(i%4), time.Duration(i)*time.Microsecond, time.Microsecond)
				m.API().Throttled(ThrottleRoute)
			}
		})
	}
	wg.Go(func() { // reloads: a route comes and goes
		for range 200 {
			r.Route("petstore", "prod", "flapping").Count(MethodGET, 200)
			r.UnregisterRoute("petstore", "prod", "flapping")
		}
	})
	wg.Go(func() { // scrapes meanwhile
		for range 20 {
			var b bytes.Buffer
			r.WritePrometheus(&b)
			parseExposition(t, b.Bytes())
		}
	})
	wg.Go(func() {
		for range 1000 {
			r.InFlight().Inc()
			r.InFlight().Dec()
		}
	})
	wg.Wait()

	fams := scrape(t, r)
	total := 0.0
	for _, s := range fams[nameRequests].series {
		if s.labels["route"] != "flapping" {
			total += s.value
		}
	}
	if total != workers*each {
		t.Errorf("requests counted %v, want %d", total, workers*each)
	}
	hist := uint64(0)
	for _, s := range fams[nameRequestDuration].series {
		if s.labels["route"] != "flapping" {
			hist += s.count
		}
	}
	if hist != workers*each {
		t.Errorf("durations observed %d, want %d", hist, workers*each)
	}
	if got := value(t, fams, nameThrottled, L("level", "route")); got != workers*each {
		t.Errorf("throttled = %v, want %d", got, workers*each)
	}
	if got := value(t, fams, nameInFlight, nil); got != 0 {
		t.Errorf("in flight = %v, want 0", got)
	}
	if n := len(r.Routes()); n != 3 {
		t.Errorf("%d routes registered, want 3", n)
	}
}

func TestObserveDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	r := newTestRegistry(t, Options{OmitProcessMetrics: true})
	m := r.Route("petstore", "prod", "GET /pets/{id}")
	m.Observe(MethodGET, 200, time.Millisecond, time.Millisecond) // creates GET's counters
	method := []byte("GET")
	if n := testing.AllocsPerRun(1000, func() {
		m.Observe(MethodOf(method), 200, 3*time.Millisecond, 2*time.Millisecond)
		m.API().UpstreamError(ErrorTimeout)
		r.InFlight().Inc()
		r.InFlight().Dec()
	}); n != 0 {
		t.Errorf("counting a request allocates %.1f times", n)
	}
}
