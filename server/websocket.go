package server

import (
	"log/slog"

	"github.com/frontdeskgw/frontdesk/gateway"
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
// clientIP is the server's, read per connection.
// accepted are credentials @connections takes besides the configured ones
// (those local functions run with).
// domainName is events' requestContext.domainName.
// attach, when it returns a Remote, plugs each new bridge into the
// cluster.
func newBridges(log *slog.Logger, fns *functions, clientIP func(*fasthttp.RequestCtx) string, accepted []wsbridge.Credential,
	domainName func(*fasthttp.RequestCtx) []byte, attach func(api string) wsbridge.Remote) *bridges {
	env := gateway.BridgeEnv{ClientIP: clientIP, Log: log, Credentials: accepted, DomainName: domainName}
	open := func(g *registry.Gen, name string, spec gateway.BridgeSpec) (*wsbridge.Bridge, error) {
		b, err := gateway.OpenBridge(g, name, spec, fns.set, env)
		if err == nil && b != nil {
			if r := attach(name); r != nil {
				b.SetRemote(r)
			}
		}
		return b, err
	}
	return &bridges{set: registry.NewSet("websocket bridge", registry.Hooks[string, gateway.BridgeSpec, *wsbridge.Bridge]{
		Open:    open,
		Release: func(b *wsbridge.Bridge) { go b.Close() }, //nolint:errcheck // its clients reconnect to the new bridge
		Discard: closeBridge,
	})}
}

func closeBridge(b *wsbridge.Bridge) { _ = b.Close() } // never served, or shutting down

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
