package server

import (
	"context"
	"maps"
	"reflect"
	"time"

	"github.com/frontdeskgw/frontdesk/config"
	"github.com/frontdeskgw/frontdesk/metrics"
	"github.com/frontdeskgw/frontdesk/tracing"
)

// applyTracing starts the tracer cfg asks for and hands it to the gateway
// and the metrics; a changed section replaces the tracer (the old one
// sends what it holds and stops), an empty otlp_endpoint turns tracing
// off. Unchanged, it does nothing.
func (s *Server) applyTracing(cfg config.Tracing) error {
	if s.tracer != nil && reflect.DeepEqual(s.tracingCfg, cfg) {
		return nil
	}
	var t *tracing.Tracer
	if cfg.OTLPEndpoint != "" {
		var err error
		t, err = tracing.New(tracing.Config{Endpoint: cfg.OTLPEndpoint, SampleRatio: *cfg.SampleRatio,
			ServiceName: cfg.ServiceName, Headers: maps.Clone(cfg.Headers)}, s.log)
		if err != nil {
			return err
		}
	}
	old := s.tracer
	s.tracer, s.tracingCfg = t, cfg
	s.gw.SetTracer(t)
	if t != nil {
		s.metrics.SetTracingSource(func() metrics.TracingStats {
			st := t.Stats()
			return metrics.TracingStats{Exported: st.Exported, Dropped: st.Dropped}
		})
	} else {
		s.metrics.SetTracingSource(nil)
	}
	if old != nil {
		go stopTracer(old)
	}
	return nil
}

// stopTracer gives a tracer five seconds to send what it holds.
func stopTracer(t *tracing.Tracer) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	t.Shutdown(ctx) //nolint:errcheck // what is not sent is counted as dropped
}
