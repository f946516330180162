package console

import (
	"cmp"
	"fmt"
	"io"
	"math"
	"slices"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// The families RouteStats reads; docs/observability.md describes them.
const (
	familyRequests = "frontdesk_requests_total"
	familyDuration = "frontdesk_request_duration_seconds"
)

// Stats is what /stats/routes answers: per route and stage, cumulative
// counts since the route was registered. The console takes the
// difference of two polls to draw rates and percentiles over the
// interval, so the server keeps no history.
type Stats struct {
	// Time is when the figures were read, in Unix milliseconds.
	Time int64 `json:"time"`
	// Bounds are the latency histogram's upper bounds in seconds, +Inf
	// left out (JSON has no infinity): Buckets has one more entry.
	Bounds []float64    `json:"bounds"`
	Routes []RouteStats `json:"routes"`
}

// RouteStats is one route on one stage.
type RouteStats struct {
	API   string `json:"api"`
	Stage string `json:"stage"`
	Route string `json:"route"`
	// Requests counts requests by status class ("2xx", "4xx", ...), all
	// methods together.
	Requests map[string]uint64 `json:"requests"`
	// Count and Sum are the latency histogram's count and sum (seconds).
	Count uint64  `json:"count"`
	Sum   float64 `json:"sum"`
	// Buckets are cumulative counts at each of Stats.Bounds, then +Inf.
	Buckets []uint64 `json:"buckets"`
}

type routeID struct{ api, stage, route string }

// ReadStats reads Prometheus text (as the admin /metrics endpoint writes
// it) into per-route figures, sorted by API, stage and route. Series
// without a route (label "-": requests that matched no route) are left
// out.
func ReadStats(text io.Reader, now time.Time) (*Stats, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(text)
	if err != nil {
		return nil, fmt.Errorf("read metrics: %w", err)
	}
	out := &Stats{Time: now.UnixMilli(), Bounds: []float64{}, Routes: []RouteStats{}}
	byID := map[routeID]*RouteStats{}
	get := func(labels map[string]string) *RouteStats {
		id := routeID{labels["api"], labels["stage"], labels["route"]}
		if id.route == "" || id.route == "-" {
			return nil
		}
		r := byID[id]
		if r == nil {
			r = &RouteStats{API: id.api, Stage: id.stage, Route: id.route, Requests: map[string]uint64{}, Buckets: []uint64{}}
			byID[id] = r
		}
		return r
	}
	if mf := mfs[familyRequests]; mf != nil {
		for _, m := range mf.GetMetric() {
			labels := labelMap(m.GetLabel())
			if r := get(labels); r != nil {
				r.Requests[labels["status"]] += uint64(m.GetCounter().GetValue())
			}
		}
	}
	if mf := mfs[familyDuration]; mf != nil {
		for _, m := range mf.GetMetric() {
			r := get(labelMap(m.GetLabel()))
			h := m.GetHistogram()
			if r == nil || h == nil {
				continue
			}
			r.Count, r.Sum = h.GetSampleCount(), h.GetSampleSum()
			bounds := make([]float64, 0, len(h.GetBucket()))
			r.Buckets = r.Buckets[:0]
			for _, b := range h.GetBucket() {
				if math.IsInf(b.GetUpperBound(), 1) {
					continue
				}
				bounds = append(bounds, b.GetUpperBound())
				r.Buckets = append(r.Buckets, b.GetCumulativeCount())
			}
			r.Buckets = append(r.Buckets, r.Count)
			if len(bounds) > len(out.Bounds) {
				out.Bounds = bounds
			}
		}
	}
	for _, r := range byID {
		// A route that has served nothing yet has no histogram series.
		for len(r.Buckets) < len(out.Bounds)+1 {
			r.Buckets = append(r.Buckets, r.Count)
		}
		out.Routes = append(out.Routes, *r)
	}
	slices.SortFunc(out.Routes, func(a, b RouteStats) int {
		return cmp.Or(cmp.Compare(a.API, b.API), cmp.Compare(a.Stage, b.Stage), cmp.Compare(a.Route, b.Route))
	})
	return out, nil
}

func labelMap[L interface {
	GetName() string
	GetValue() string
}](pairs []L) map[string]string {
	out := make(map[string]string, len(pairs))
	for _, p := range pairs {
		out[p.GetName()] = p.GetValue()
	}
	return out
}
