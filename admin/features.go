package admin

import (
	"net/url"
	"time"

	"github.com/frontdeskgw/frontdesk/cache"
	"github.com/frontdeskgw/frontdesk/pipeline"
	"github.com/frontdeskgw/frontdesk/wsbridge"
	"github.com/valyala/fasthttp"
)

// Sources is what the feature endpoints read: the response cache, API key
// usage and the WebSocket bridges of the config in use. A Backend that
// implements it gets /usage, /cache and /connections.
type Sources interface {
	// Cache is the response cache; nil while no route caches.
	Cache() *cache.Store
	// KeyUsage is each API key's usage at now; Throttled counts the
	// requests refused at each throttle level.
	KeyUsage(now time.Time) []pipeline.KeyUsage
	Throttled() map[string]uint64
	// Bridges are the WebSocket APIs' bridges, by API name.
	Bridges() map[string]*wsbridge.Bridge
}

// features serves the endpoints of Sources.
type features struct{ src Sources }

func (s *Server) addFeatures(src Sources) {
	f := features{src}
	s.Handle("GET", "/usage", f.usage)
	s.Handle("GET", "/usage/{name}", f.usage)
	s.Handle("GET", "/cache/stats", f.cacheStats)
	s.Handle("DELETE", "/cache", f.cacheFlush)
	s.Handle("DELETE", "/cache/{api}/{stage}", f.cacheFlush)
	s.Handle("DELETE", "/cache/{api}/{stage}/{route:*}", f.cacheFlush)
	s.Handle("GET", "/connections", f.connections)
	for _, m := range []string{"GET", "POST", "DELETE"} {
		s.Handle(m, "/connections/{id}", f.connection)
	}
}

// usage answers GET /usage and /usage/{name}: per API key, requests
// admitted and throttled, and quota used in the current period.
func (f features) usage(ctx *fasthttp.RequestCtx) {
	list := f.src.KeyUsage(time.Now())
	name, _ := ctx.UserValue("name").(string)
	if name == "" {
		writeJSON(ctx, 200, map[string]any{"keys": list, "throttled": f.src.Throttled()})
		return
	}
	for _, u := range list {
		if u.Name == name {
			writeJSON(ctx, 200, u)
			return
		}
	}
	writeJSON(ctx, 404, map[string]string{"message": "no API key named " + name})
}

func (f features) cacheStats(ctx *fasthttp.RequestCtx) {
	c := f.src.Cache()
	if c == nil {
		writeJSON(ctx, 200, map[string]any{"enabled": false})
		return
	}
	writeJSON(ctx, 200, c.Stats())
}

// cacheFlush answers DELETE /cache[/{api}/{stage}[/{route}]].
func (f features) cacheFlush(ctx *fasthttp.RequestCtx) {
	c := f.src.Cache()
	if c == nil {
		writeJSON(ctx, 200, map[string]string{"status": "no cache"})
		return
	}
	api, _ := ctx.UserValue("api").(string)
	stage, _ := ctx.UserValue("stage").(string)
	route, _ := ctx.UserValue("route").(string)
	var found bool
	switch {
	case api == "":
		found = c.Flush() == nil
	case route == "":
		found = c.FlushNamespace(api, stage)
	default:
		if r, err := url.PathUnescape(route); err == nil {
			route = r
		}
		found = c.FlushRoute(api, stage, route)
	}
	if !found {
		writeJSON(ctx, 404, map[string]string{"message": "nothing cached there"})
		return
	}
	writeJSON(ctx, 200, map[string]string{"status": "flushed"})
}

// connections answers GET /connections: every WebSocket connection, by API.
func (f features) connections(ctx *fasthttp.RequestCtx) {
	out := map[string]any{}
	total := 0
	for name, b := range f.src.Bridges() {
		list := b.ListConnections()
		total += len(list)
		out[name] = map[string]any{"count": len(list), "connections": list, "stats": b.Stats()}
	}
	writeJSON(ctx, 200, map[string]any{"count": total, "apis": out})
}

// connection serves GET/POST/DELETE /connections/{id}: the @connections
// operations without SigV4, for any API's connection.
func (f features) connection(ctx *fasthttp.RequestCtx) {
	id, _ := ctx.UserValue("id").(string)
	for _, b := range f.src.Bridges() {
		for _, c := range b.ListConnections() {
			if c.ID == id {
				b.ServeAdminManagement(ctx, id)
				return
			}
		}
	}
	writeJSON(ctx, 410, map[string]string{"message": "Gone"})
}
