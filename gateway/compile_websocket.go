package gateway

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/frontdeskgw/frontdesk/config"
	"github.com/frontdeskgw/frontdesk/lambda"
	"github.com/frontdeskgw/frontdesk/registry"
	"github.com/frontdeskgw/frontdesk/wsbridge"
	"github.com/valyala/fasthttp"
)

// BridgeEnv is what a bridge takes from the process rather than from its
// config.
type BridgeEnv struct {
	// ClientIP is a client's address as the config in use sees it
	// (trusted proxies), read per connection.
	ClientIP func(*fasthttp.RequestCtx) string
	Log      *slog.Logger
	// Credentials are accepted at @connections besides an API's
	// management.credentials, when it has some: those local functions
	// run with. An API without any keeps taking unsigned loopback calls.
	Credentials []wsbridge.Credential
	// DomainName is requestContext.domainName of a new connection (nil:
	// the upgrade request's Host).
	DomainName func(*fasthttp.RequestCtx) []byte
}

// OpenBridge builds the bridge of WebSocket API name from its spec in
// generation g, which is what the Bridges registry opens an entry with.
// The functions it calls come from fns in the same generation: a bridge
// never calls a function its config does not run.
func OpenBridge(g *registry.Gen, name string, spec BridgeSpec, fns *registry.Set[string, config.Function, *Function], env BridgeEnv) (*wsbridge.Bridge, error) {
	invokers := map[string]lambda.Invoker{}
	for fn, fc := range spec.Functions {
		f, err := fns.Get(g, fn, fc)
		if err != nil {
			return nil, err
		}
		if f != nil {
			invokers[fn] = f.Invoker
		}
	}
	b, err := compileBridge(name, &spec.API, invokers, env)
	if err != nil {
		return nil, fmt.Errorf("websocket api %s: %w", name, err)
	}
	return b, nil
}

func compileBridge(name string, a *config.API, invokers map[string]lambda.Invoker, env BridgeEnv) (*wsbridge.Bridge, error) {
	o, err := bridgeOptions(name, a, invokers, env)
	if err != nil {
		return nil, err
	}
	return wsbridge.New(o)
}

// bridgeOptions turns a WebSocket API's config into the bridge's options.
func bridgeOptions(name string, a *config.API, invokers map[string]lambda.Invoker, env BridgeEnv) (wsbridge.Options, error) {
	stages, def := config.StageNames(a)
	if def {
		stages = append(stages, config.DefaultStage)
	}
	o := wsbridge.Options{
		APIID:           config.APIID(name),
		Stages:          stages,
		StageVariables:  map[string]map[string]string{},
		RouteSelection:  a.RouteSelection,
		Routes:          map[string]wsbridge.RouteTarget{},
		IdleTimeout:     a.IdleTimeout.D(),
		MaxMessageBytes: int(a.MaxMessageBytes),
		DisconnectQueue: a.DisconnectQueue,
		ClientIP:        env.ClientIP,
		DomainName:      env.DomainName,
		Logger:          env.Log.With("api", name),
	}
	for st, sc := range a.Stages {
		if len(sc.Variables) > 0 {
			o.StageVariables[st] = sc.Variables
		}
	}
	if a.Management != nil {
		for _, c := range a.Management.Credentials {
			if c.AccessKeyID == "" && c.SecretAccessKey == "" {
				continue
			}
			o.Credentials = append(o.Credentials, wsbridge.Credential{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey})
		}
		if len(o.Credentials) > 0 {
			o.Credentials = append(o.Credentials, env.Credentials...)
		}
	}
	pool := wsbridge.NewHTTPClient(a.BackendMaxConns) // shared by the API's HTTP backends
	for key, r := range a.Routes {
		in := a.Integrations[r.Integration]
		var be wsbridge.Backend
		switch in.Type {
		case config.IntegrationHTTP, config.IntegrationMock:
			var next wsbridge.Backend
			if in.Type == config.IntegrationHTTP {
				next = pool.Backend(in.URL, in.Timeout.D())
			}
			if len(in.RequestTemplates) == 0 && len(in.Responses) == 0 {
				if next == nil {
					// A mock without templates answers its status and
					// body, as it does on HTTP routes.
					next = mockBackend{Reply: wsbridge.Reply{Status: in.Status, Body: []byte(in.Body)}}
				}
				be = next
				break
			}
			tb, err := compileWSTemplates(in, next)
			if err != nil {
				return o, fmt.Errorf("route %s: integration %s: %w", key, r.Integration, err)
			}
			be = tb
		case config.IntegrationLambda:
			inv := invokers[in.Function]
			if inv == nil {
				return o, fmt.Errorf("route %s: function %q is not running", key, in.Function)
			}
			be = lambdaBackend{inv: inv}
		default:
			return o, fmt.Errorf("route %s: integration type %q cannot serve WebSocket routes", key, in.Type)
		}
		o.Routes[key] = wsbridge.RouteTarget{Backend: be, Reply: r.Reply}
	}
	return o, nil
}

// mockBackend is a WebSocket mock integration without templates: every
// message gets the same reply. Reply.Body is never changed, so it may be
// queued for many clients.
type mockBackend struct{ wsbridge.Reply }

func (m mockBackend) Call(context.Context, []byte, string) (wsbridge.Reply, error) {
	return m.Reply, nil
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
