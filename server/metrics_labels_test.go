package server

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// scrapeCount sums the samples of family in adm's /metrics whose labels
// include want, and reports whether any matched.
func scrapeCount(t *testing.T, adm, family string, want map[string]string) (float64, bool) {
	t.Helper()
	r := do(t, "GET", adm+"/metrics", nil)
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(strings.NewReader(r.body))
	if err != nil {
		t.Fatalf("/metrics does not parse: %v\n%s", err, r.body)
	}
	f := families[family]
	if f == nil {
		return 0, false
	}
	var sum float64
	found := false
	for _, m := range f.GetMetric() {
		have := map[string]string{}
		for _, lp := range m.GetLabel() {
			have[lp.GetName()] = lp.GetValue()
		}
		match := true
		for k, v := range want {
			if have[k] != v {
				match = false
			}
		}
		if !match {
			continue
		}
		found = true
		switch {
		case m.GetCounter() != nil:
			sum += m.GetCounter().GetValue()
		case m.GetGauge() != nil:
			sum += m.GetGauge().GetValue()
		case m.GetHistogram() != nil:
			sum += float64(m.GetHistogram().GetSampleCount())
		}
	}
	return sum, found
}

// One route served on two stages is counted per stage, and a reload that
// removes a stage drops that stage's series only.
func TestTwoStagesOfOneRouteCountApartAndAGoneStageIsDropped(t *testing.T) {
	path := filepath.Join(t.TempDir(), "frontdesk.yaml")
	cfg := func(stages string) string {
		return fmt.Sprintf(`
apis:
  a:
    stages: {%s}
    integrations: {m: {type: mock, body: ok}}
    routes: {"GET /ok": {integration: m}}
`, stages)
	}
	writeFile(t, path, cfg("prod: {}, dev: {}"))
	s, base, adm := startFromFile(t, path)
	for _, p := range []string{"/prod/ok", "/prod/ok", "/dev/ok", "/prod/nowhere"} {
		do(t, "GET", base+p, nil)
	}
	for _, tt := range []struct {
		family string
		labels map[string]string
		want   float64
	}{
		{"frontdesk_requests_total", map[string]string{"api": "a", "stage": "prod", "route": "GET /ok", "status": "2xx"}, 2},
		{"frontdesk_requests_total", map[string]string{"api": "a", "stage": "dev", "route": "GET /ok", "status": "2xx"}, 1},
		{"frontdesk_request_duration_seconds", map[string]string{"api": "a", "stage": "prod", "route": "GET /ok"}, 2},
		{"frontdesk_request_duration_seconds", map[string]string{"api": "a", "stage": "dev", "route": "GET /ok"}, 1},
		{"frontdesk_requests_total", map[string]string{"api": "a", "stage": "-", "route": "-", "status": "4xx"}, 1},
	} {
		if got, _ := scrapeCount(t, adm, tt.family, tt.labels); got != tt.want {
			t.Errorf("%s%v = %v, want %v", tt.family, tt.labels, got, tt.want)
		}
	}

	writeFile(t, path, cfg("prod: {}"))
	if err := s.Reload(); err != nil {
		t.Fatal(err)
	}
	if _, found := scrapeCount(t, adm, "frontdesk_requests_total", map[string]string{"stage": "dev"}); found {
		t.Error("the removed stage's series survived the reload")
	}
	if got, _ := scrapeCount(t, adm, "frontdesk_requests_total", map[string]string{"stage": "prod", "route": "GET /ok", "status": "2xx"}); got != 2 {
		t.Errorf("prod GET /ok 2xx = %v after the reload, want 2", got)
	}
	if _, found := scrapeCount(t, adm, "frontdesk_requests_total", map[string]string{"api": "a", "stage": "-", "route": "-"}); !found {
		t.Error("the API's no-route series is gone after the reload")
	}
}

// A local function's invocations and instance figures show on /metrics,
// and a reload that removes the function drops its series.
func TestLocalFunctionMetricsAreScraped(t *testing.T) {
	path := filepath.Join(t.TempDir(), "frontdesk.yaml")
	writeFile(t, path, lambdaConfig(testFunction(t)))
	s, base, adm := startFromFile(t, path)
	for range 3 {
		if r := do(t, "GET", base+"/web/prod/v2/a", nil); r.status != 201 {
			t.Fatalf("status %d: %s", r.status, r.body)
		}
	}
	fn := map[string]string{"function": "fn"}
	for _, tt := range []struct {
		family string
		want   float64
	}{
		{"frontdesk_function_invocations_total", 3},
		{"frontdesk_function_duration_seconds", 3},
		{"frontdesk_function_cold_starts_total", 1},
		{"frontdesk_function_instances", 1},
		{"frontdesk_function_queued", 0},
	} {
		if got, found := scrapeCount(t, adm, tt.family, fn); !found || got != tt.want {
			t.Errorf("%s = %v (found %v), want %v", tt.family, got, found, tt.want)
		}
	}
	if got, _ := scrapeCount(t, adm, "frontdesk_function_errors_total", fn); got != 0 {
		t.Errorf("errors = %v, want 0", got)
	}

	writeFile(t, path, `
apis:
  a:
    integrations: {m: {type: mock, body: ok}}
    routes: {"GET /ok": {integration: m}}
`)
	if err := s.Reload(); err != nil {
		t.Fatal(err)
	}
	if _, found := scrapeCount(t, adm, "frontdesk_function_invocations_total", fn); found {
		t.Error("the removed function's series survived the reload")
	}
}
