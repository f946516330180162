package server

import (
	"context"
	"fmt"
	"log/slog"
	"reflect"
	"sync"

	"github.com/frontdeskgw/frontdesk/config"
	"github.com/frontdeskgw/frontdesk/lambda"
	"github.com/frontdeskgw/frontdesk/metrics"
	"github.com/frontdeskgw/frontdesk/wsbridge"
	"github.com/valyala/fasthttp"
)

// bridges runs one WebSocket bridge per WebSocket API. A bridge holds live
// client connections, so it outlives snapshots: a reload that leaves an
// API's config unchanged keeps its bridge and connections; one that changes
// it starts a new bridge and closes the old one's connections with 1001
// (clients reconnect), each getting its $disconnect.
type bridges struct {
	mu   sync.Mutex
	log  *slog.Logger
	live map[string]*bridge
}

type bridge struct {
	cfg   config.API
	fnCfg map[string]config.Function
	b     *wsbridge.Bridge
}

// sync brings the bridges in line with cfg and returns them by API name.
// Replaced bridges are returned in old, to close once the new snapshot is
// in use.
func (bs *bridges) sync(cfg *config.Config, invokers map[string]lambda.Invoker, clientIP func(*fasthttp.RequestCtx) string,
	authorize func(api string) func(*fasthttp.RequestCtx, string) ([]byte, bool)) (map[string]*wsbridge.Bridge, []*wsbridge.Bridge, error) {
	bs.mu.Lock()
	defer bs.mu.Unlock()
	next := map[string]*bridge{}
	var created []*bridge
	fail := func(err error) (map[string]*wsbridge.Bridge, []*wsbridge.Bridge, error) {
		for _, c := range created {
			c.b.Close() //nolint:errcheck // never served
		}
		return nil, nil, err
	}
	for name, a := range cfg.APIs {
		if a == nil || a.Type != "websocket" {
			continue
		}
		used := usedFunctions(a, cfg.Functions)
		if cur := bs.live[name]; cur != nil && reflect.DeepEqual(cur.cfg, *a) && reflect.DeepEqual(cur.fnCfg, used) {
			next[name] = cur
			continue
		}
		b, err := newBridge(name, a, invokers, clientIP, authorize(name), bs.log)
		if err != nil {
			return fail(fmt.Errorf("websocket api %s: %w", name, err))
		}
		nb := &bridge{cfg: *a, fnCfg: used, b: b}
		created = append(created, nb)
		next[name] = nb
	}
	var old []*wsbridge.Bridge
	for name, cur := range bs.live {
		if next[name] != cur {
			old = append(old, cur.b)
		}
	}
	bs.live = next
	out := make(map[string]*wsbridge.Bridge, len(next))
	for name, b := range next {
		out[name] = b.b
	}
	return out, old, nil
}

func usedFunctions(a *config.API, fns map[string]config.Function) map[string]config.Function {
	out := map[string]config.Function{}
	for _, in := range a.Integrations {
		if in != nil && in.Type == "lambda" {
			out[in.Function] = fns[in.Function]
		}
	}
	return out
}

func newBridge(name string, a *config.API, invokers map[string]lambda.Invoker, clientIP func(*fasthttp.RequestCtx) string,
	authorize func(*fasthttp.RequestCtx, string) ([]byte, bool), log *slog.Logger) (*wsbridge.Bridge, error) {
	stages, def := config.StageNames(a)
	if def {
		stages = append(stages, config.DefaultStage)
	}
	o := wsbridge.Options{
		APIID:           name,
		Stages:          stages,
		RouteSelection:  a.RouteSelection,
		Routes:          map[string]wsbridge.Route{},
		IdleTimeout:     a.IdleTimeout.D(),
		MaxMessageBytes: int(a.MaxMessageBytes),
		ClientIP:        clientIP,
		Authorize:       authorize,
		Logger:          log.With("api", name),
	}
	if a.Management != nil {
		for _, c := range a.Management.Credentials {
			if c.AccessKeyID == "" && c.SecretAccessKey == "" {
				continue
			}
			o.Credentials = append(o.Credentials, wsbridge.Credential{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey})
		}
	}
	for key, r := range a.Routes {
		in := a.Integrations[r.Integration]
		var be wsbridge.Backend
		switch in.Type {
		case "http":
			be = wsbridge.NewHTTPBackend(in.URL, in.Timeout.D())
		case "lambda":
			inv := invokers[in.Function]
			if inv == nil {
				return nil, fmt.Errorf("route %s: function %q is not running", key, in.Function)
			}
			be = lambdaBackend{inv: inv}
		default:
			return nil, fmt.Errorf("route %s: integration type %q cannot serve WebSocket routes", key, in.Type)
		}
		o.Routes[key] = wsbridge.Route{Backend: be, Reply: r.Reply}
	}
	return wsbridge.New(o)
}

// lambdaBackend hands WebSocket events to a Lambda function; the bridge
// reads its {"statusCode","body"} result as API Gateway does.
type lambdaBackend struct{ inv lambda.Invoker }

func (l lambdaBackend) Call(ctx context.Context, event []byte, _ string) (wsbridge.Reply, error) {
	res, err := l.inv.Invoke(ctx, event)
	if err == nil {
		err = res.Err()
	}
	if err != nil {
		return wsbridge.Reply{}, err
	}
	return wsbridge.Reply{Status: 200, Body: res.Payload}, nil
}

// webSocketStats adapts a bridge's counters for /metrics.
func webSocketStats(b *wsbridge.Bridge) func() metrics.WebSocketStats {
	return func() metrics.WebSocketStats {
		st := b.Stats()
		return metrics.WebSocketStats{OpenConnections: st.OpenConnections, MessagesIn: st.MessagesIn, MessagesOut: st.MessagesOut, QueueFull: st.QueueFull}
	}
}

// close closes every bridge (shutdown): clients get 1001 and their
// $disconnect runs.
func (bs *bridges) close() {
	bs.mu.Lock()
	defer bs.mu.Unlock()
	for _, b := range bs.live {
		b.b.Close() //nolint:errcheck // best effort at shutdown
	}
	bs.live = nil
}

// all returns the live bridges by API name.
func (bs *bridges) all() map[string]*wsbridge.Bridge {
	bs.mu.Lock()
	defer bs.mu.Unlock()
	out := make(map[string]*wsbridge.Bridge, len(bs.live))
	for name, b := range bs.live {
		out[name] = b.b
	}
	return out
}

// wsAuthorize is the $connect gate of a WebSocket API: the checks of the
// snapshot in use when the upgrade arrives.
func (s *Server) wsAuthorize(api string) func(*fasthttp.RequestCtx, string) ([]byte, bool) {
	return func(ctx *fasthttp.RequestCtx, stage string) ([]byte, bool) {
		return s.gw.AuthorizeWebSocket(ctx, api, stage)
	}
}
