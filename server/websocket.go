package server

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/frontdeskgw/frontdesk/config"
	"github.com/frontdeskgw/frontdesk/lambda"
	"github.com/frontdeskgw/frontdesk/metrics"
	"github.com/frontdeskgw/frontdesk/wsbridge"
	"github.com/valyala/fasthttp"
)

// bridges runs one WebSocket bridge per WebSocket API. A bridge holds live
// client connections, so it outlives snapshots: a reload that leaves an
// API's config (and the functions it calls) unchanged keeps its bridge and
// connections; one that changes it starts a new bridge and closes the old
// one's connections with 1001 (clients reconnect), each getting its
// $disconnect.
type bridges struct {
	log *slog.Logger
	set liveSet[bridgeConfig, *wsbridge.Bridge]
}

// bridgeConfig is what a bridge is built from.
type bridgeConfig struct {
	api config.API
	fns map[string]config.Function
}

// prepare builds the bridges of cfg's WebSocket APIs that are new or
// changed.
func (bs *bridges) prepare(cfg *config.Config, invokers map[string]lambda.Invoker, clientIP func(*fasthttp.RequestCtx) string,
	authorize func(api string) func(*fasthttp.RequestCtx, string) ([]byte, bool)) (*livePlan[bridgeConfig, *wsbridge.Bridge], error) {
	want := map[string]bridgeConfig{}
	for name, a := range cfg.APIs {
		if a != nil && a.Type == "websocket" {
			want[name] = bridgeConfig{api: *a, fns: usedFunctions(a, cfg.Functions)}
		}
	}
	start := func(name string, bc bridgeConfig) (*wsbridge.Bridge, error) {
		b, err := newBridge(name, &bc.api, invokers, clientIP, authorize(name), bs.log)
		if err != nil {
			return nil, fmt.Errorf("websocket api %s: %w", name, err)
		}
		return b, nil
	}
	return bs.set.prepare(want, start, closeBridge)
}

// commit makes p the live bridges and closes the ones it replaced.
func (bs *bridges) commit(p *livePlan[bridgeConfig, *wsbridge.Bridge]) {
	for _, b := range p.commit() {
		go b.Close() //nolint:errcheck // its clients reconnect to the new bridge
	}
}

func closeBridge(b *wsbridge.Bridge) { _ = b.Close() } // never served, or shutting down

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
		DisconnectQueue: a.DisconnectQueue,
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
	pool := wsbridge.NewHTTPClient(a.BackendMaxConns) // shared by the API's HTTP backends
	for key, r := range a.Routes {
		in := a.Integrations[r.Integration]
		var be wsbridge.Backend
		switch in.Type {
		case "http":
			be = pool.Backend(in.URL, in.Timeout.D())
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
		return metrics.WebSocketStats{OpenConnections: st.OpenConnections, MessagesIn: st.MessagesIn, MessagesOut: st.MessagesOut, QueueFull: st.QueueFull,
			DisconnectsDropped: st.DisconnectsDropped}
	}
}

// close closes every bridge (shutdown): clients get 1001 and their
// $disconnect runs.
func (bs *bridges) close() {
	for _, b := range bs.set.clear() {
		closeBridge(b)
	}
}

// all returns the live bridges by API name.
func (bs *bridges) all() map[string]*wsbridge.Bridge { return bs.set.all() }

// wsAuthorize is the $connect gate of a WebSocket API: the checks of the
// snapshot in use when the upgrade arrives.
func (s *Server) wsAuthorize(api string) func(*fasthttp.RequestCtx, string) ([]byte, bool) {
	return func(ctx *fasthttp.RequestCtx, stage string) ([]byte, bool) {
		return s.gw.AuthorizeWebSocket(ctx, api, stage)
	}
}
