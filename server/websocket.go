package server

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/frontdeskgw/frontdesk/config"
	"github.com/frontdeskgw/frontdesk/gateway"
	"github.com/frontdeskgw/frontdesk/lambda"
	"github.com/frontdeskgw/frontdesk/metrics"
	"github.com/frontdeskgw/frontdesk/registry"
	"github.com/frontdeskgw/frontdesk/wsbridge"
	"github.com/valyala/fasthttp"
)

// bridges runs one WebSocket bridge per WebSocket API, one registry entry
// each. A bridge holds live client connections, so it outlives snapshots:
// a reload that leaves an API's config (and the functions it calls)
// unchanged keeps its bridge and connections; one that changes or removes
// it closes the old bridge's connections with 1001 (clients reconnect),
// each getting its $disconnect.
type bridges struct {
	set *registry.Set[string, gateway.BridgeSpec, *wsbridge.Bridge]
}

// newBridges keeps bridges whose Lambda backends are functions of fns;
// clientIP and authorize are the server's, read per connection.
func newBridges(log *slog.Logger, fns *functions, clientIP func(*fasthttp.RequestCtx) string,
	authorize func(api string) func(*fasthttp.RequestCtx, string) ([]byte, bool)) *bridges {
	open := func(g *registry.Gen, name string, spec gateway.BridgeSpec) (*wsbridge.Bridge, error) {
		// The functions come from the same generation: a bridge never
		// calls a function its config does not run.
		invokers := map[string]lambda.Invoker{}
		for fn, fc := range spec.Functions {
			f, err := fns.set.Get(g, fn, fc)
			if err != nil {
				return nil, err
			}
			if f != nil {
				invokers[fn] = f.Invoker
			}
		}
		b, err := newBridge(name, &spec.API, invokers, clientIP, authorize(name), log)
		if err != nil {
			return nil, fmt.Errorf("websocket api %s: %w", name, err)
		}
		return b, nil
	}
	return &bridges{set: registry.NewSet("websocket bridge", registry.Hooks[string, gateway.BridgeSpec, *wsbridge.Bridge]{
		Open:    open,
		Release: func(b *wsbridge.Bridge) { go b.Close() }, //nolint:errcheck // its clients reconnect to the new bridge
		Discard: closeBridge,
	})}
}

func closeBridge(b *wsbridge.Bridge) { _ = b.Close() } // never served, or shutting down

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
		case config.IntegrationHTTP:
			be = pool.Backend(in.URL, in.Timeout.D())
		case config.IntegrationLambda:
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
func (bs *bridges) close() { bs.set.Close() }

// all returns the live bridges by API name.
func (bs *bridges) all() map[string]*wsbridge.Bridge { return bs.set.Live() }

// wsAuthorize is the $connect gate of a WebSocket API: the checks of the
// snapshot in use when the upgrade arrives.
func (s *Server) wsAuthorize(api string) func(*fasthttp.RequestCtx, string) ([]byte, bool) {
	return func(ctx *fasthttp.RequestCtx, stage string) ([]byte, bool) {
		return s.gw.AuthorizeWebSocket(ctx, api, stage)
	}
}
