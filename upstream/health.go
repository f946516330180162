package upstream

import (
	"context"
	"io"
	"time"

	"github.com/valyala/fasthttp"
)

// checker runs an origin's active health check.
type checker struct {
	path     string
	interval time.Duration
	cancel   context.CancelFunc
}

// StartHealthCheck probes GET path every interval; a 2xx or 3xx answer
// within the interval (at most 5 s) marks the origin healthy, anything else
// unhealthy. A running check with other settings is replaced; the same
// settings keep the running one.
func (p *Pool) StartHealthCheck(path string, interval time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if c := p.check; c != nil {
		if c.path == path && c.interval == interval {
			return
		}
		c.cancel()
	}
	ctx, cancel := context.WithCancel(context.Background())
	p.check = &checker{path: path, interval: interval, cancel: cancel}
	go p.runCheck(ctx, path, interval)
}

// StopHealthCheck ends the active check; the origin counts as healthy.
func (p *Pool) StopHealthCheck() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.check != nil {
		p.check.cancel()
		p.check = nil
	}
	p.unhealthy.Store(false)
}

func (p *Pool) runCheck(ctx context.Context, path string, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	timeout := min(interval, 5*time.Second)
	for {
		req.Reset()
		req.SetRequestURI(path)
		req.Header.SetHost(p.o.Addr)
		req.Header.Set("User-Agent", "frontdesk-health-check")
		resp.Reset()
		now := time.Now()
		err := p.Do(req, resp, now, now.Add(timeout))
		if err == nil {
			_ = resp.BodyWriteTo(io.Discard)
			resp.CloseBodyStream() //nolint:errcheck // releases the connection
		}
		ok := err == nil && resp.StatusCode() >= 200 && resp.StatusCode() < 400
		p.unhealthy.Store(!ok)
		if ok {
			p.downUntil.Store(0)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
