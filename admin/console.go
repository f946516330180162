package admin

import (
	"bytes"
	"encoding/base64"
	"errors"
	"time"

	"github.com/frontdeskgw/frontdesk/config"
	"github.com/frontdeskgw/frontdesk/console"
	"github.com/valyala/fasthttp"
)

// ReloadResult is the outcome of the last config load or reload, for
// GET /reload/last and the console.
type ReloadResult struct {
	At time.Time `json:"at"`
	OK bool      `json:"ok"`
	// Errors lists the problems of a refused reload, one a line as
	// POST /reload answers them.
	Errors []string `json:"errors,omitempty"`
}

// ReloadReporter is a Backend that remembers its last reload, whatever
// started it (POST /reload, SIGHUP, the file watcher).
type ReloadReporter interface {
	LastReload() ReloadResult
}

// Problems lists err's problems as POST /reload answers them: one per
// config.Error when err is a config.Errors, else err's message.
func Problems(err error) []string {
	var list config.Errors
	if errors.As(err, &list) {
		out := make([]string, len(list))
		for i, p := range list {
			out[i] = p.String()
		}
		return out
	}
	return []string{err.Error()}
}

// addConsole serves the web console's page and assets under /console/ and
// the JSON it reads that no other endpoint gives: per-route figures and
// the last reload.
func (s *Server) addConsole() {
	assets := console.NewAssets()
	s.router.GET("/console/{path:*}", func(ctx *fasthttp.RequestCtx) {
		name, _ := ctx.UserValue("path").(string)
		assets.Serve(ctx, name)
	})
	s.router.GET("/stats/routes", s.routeStats)
	s.router.GET("/reload/last", s.lastReload)
}

// routeStats answers GET /stats/routes from the same text /metrics
// serves, so the console and a Prometheus scrape never disagree.
func (s *Server) routeStats(ctx *fasthttp.RequestCtx) {
	var buf bytes.Buffer
	s.b.WriteMetrics(&buf)
	st, err := console.ReadStats(&buf, time.Now())
	if err != nil {
		writeJSON(ctx, 500, map[string]string{"message": err.Error()})
		return
	}
	writeJSON(ctx, 200, st)
}

func (s *Server) lastReload(ctx *fasthttp.RequestCtx) {
	r, ok := s.b.(ReloadReporter)
	if !ok {
		writeJSON(ctx, 404, map[string]string{"message": "Not Found"})
		return
	}
	writeJSON(ctx, 200, r.LastReload())
}

// basicToken reports whether h is HTTP Basic credentials whose password
// is the admin token (any user name): what a browser sends for the
// console after its login prompt, since a page cannot be opened with a
// bearer token.
func basicToken(h, token []byte) bool {
	const prefix = "Basic "
	if len(h) <= len(prefix) || !bytes.EqualFold(h[:len(prefix)], []byte(prefix)) {
		return false
	}
	raw := make([]byte, base64.StdEncoding.DecodedLen(len(h)-len(prefix)))
	n, err := base64.StdEncoding.Decode(raw, h[len(prefix):])
	if err != nil {
		return false
	}
	_, pass, ok := bytes.Cut(raw[:n], []byte(":"))
	return ok && constantTimeEqual(pass, token)
}
