package wsbridge

import (
	"bytes"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/frontdeskgw/frontdesk/lambda"
	"github.com/valyala/fasthttp"
)

// Defaults, taken from Amazon API Gateway's WebSocket limits where it has
// one.
const (
	DefaultRouteSelection   = "$request.body.action"
	DefaultIdleTimeout      = 10 * time.Minute
	DefaultMaxConnectionAge = 2 * time.Hour
	DefaultMaxMessageBytes  = 128 << 10
	DefaultSendQueueLength  = 64
	DefaultWriteTimeout     = 10 * time.Second
	DefaultDisconnectQueue  = 10000
)

// Options configure one WebSocket API. The gateway fills them from its
// configuration; zero values take the defaults above.
type Options struct {
	// APIID is requestContext.apiId in events.
	APIID string
	// Stages the API is deployed to; empty means the single "$default".
	Stages []string
	// StageVariables are each stage's variables, by stage name; every
	// event of a connection carries its stage's as stageVariables, as
	// API Gateway sends them on $connect, messages and $disconnect.
	StageVariables map[string]map[string]string
	// RouteSelection is the route selection expression:
	// "$request.body.action" or a template such as
	// "${request.body.service}/${request.body.action}".
	RouteSelection string
	// Routes maps route keys ($connect, $disconnect, $default or custom
	// keys, which must not start with "$") to their integration.
	Routes map[string]RouteTarget

	IdleTimeout      time.Duration // no frame from the client for this long: close 1001
	MaxConnectionAge time.Duration // hard cap on a connection's life: close 1001
	MaxMessageBytes  int           // larger inbound message: close 1009; larger POST: 413
	// SendQueueLength bounds the messages waiting for one client; an
	// @connections POST finding it full gets 429 LimitExceededException.
	SendQueueLength int
	// WriteTimeout bounds one write to a client; a client that does not
	// read for this long is disconnected.
	WriteTimeout time.Duration
	// BackendTimeout bounds each backend call (default: none beyond the
	// backend's own, e.g. HTTPBackend's timeout).
	BackendTimeout time.Duration
	// DisconnectQueue bounds the $disconnect events waiting for the
	// backend (or for a retry); one more is dropped and counted in
	// Stats().DisconnectsDropped.
	DisconnectQueue int

	// Credentials verify SigV4-signed @connections calls. Empty: only
	// loopback callers may use @connections, unsigned, and only when
	// ClientIP names a loopback client too (behind a reverse proxy on the
	// same host, the socket is loopback for everyone).
	Credentials []Credential
	// Region, when set, must be the region in the signature's credential
	// scope; empty accepts any region, as clients are often configured
	// with whatever region their AWS profile has.
	Region string

	// ClientIP returns requestContext.identity.sourceIp and the client
	// address @connections judges without credentials; nil uses the peer
	// address. The gateway plugs its trusted-proxy logic in here.
	ClientIP func(ctx *fasthttp.RequestCtx) string
	// DomainName returns requestContext.domainName for a new connection
	// (the result is kept); nil uses the Host of its upgrade request.
	DomainName func(ctx *fasthttp.RequestCtx) []byte

	Logger *slog.Logger
}

// Gate admits a connection before $connect runs: the authorizers and API
// keys of the $connect route, which the gateway compiles.
type Gate interface {
	// Admit returns the requestContext.authorizer object attached to
	// every event of the connection (nil for none), or ok false when it
	// refused the upgrade and has written the answer into ctx.Response.
	Admit(ctx *fasthttp.RequestCtx, stage string) (authorizer []byte, ok bool)
}

// RouteTarget is one route's integration: its backend and whether the
// caller gets the reply.
type RouteTarget struct {
	Backend Backend
	// Reply sends the backend's response body back to the caller as a
	// message (a route response with key $default in API Gateway terms).
	Reply bool
}

// Credential is an access key pair allowed to call @connections.
type Credential struct {
	AccessKeyID     string
	SecretAccessKey string
}

// routeEntry keeps the route key beside the route so that events can
// name it without allocating.
type routeEntry struct {
	key string
	RouteTarget
}

// settings are Options validated, defaulted and indexed.
type settings struct {
	apiID  string
	stages []string
	// stageVars holds, by stage, the variables events carry, built
	// once so that every event shares them.
	stageVars      map[string][]lambda.Param
	selector       *selector
	routes         map[string]*routeEntry
	connect        *routeEntry
	disconnect     *routeEntry
	fallback       *routeEntry
	idle           time.Duration
	maxAge         time.Duration
	maxMessage     int
	queueLen       int
	writeTimeout   time.Duration
	backendTimeout time.Duration
	disconnectQ    int
	// The $disconnect delivery constants, as fields so tests can shrink
	// them.
	disconnectWorkers int
	disconnectBackoff time.Duration
	disconnectDrain   time.Duration
	secrets           map[string]string
	region            string
	clientIP          func(*fasthttp.RequestCtx) string
	ownClientIP       bool // clientIP came from Options, not the peer address
	domainName        func(*fasthttp.RequestCtx) []byte
	log               *slog.Logger
}

func (o *Options) settings() (*settings, error) {
	s := &settings{
		apiID:             o.APIID,
		stages:            o.Stages,
		routes:            make(map[string]*routeEntry, len(o.Routes)),
		idle:              orDefault(o.IdleTimeout, DefaultIdleTimeout),
		maxAge:            orDefault(o.MaxConnectionAge, DefaultMaxConnectionAge),
		maxMessage:        orDefault(o.MaxMessageBytes, DefaultMaxMessageBytes),
		queueLen:          orDefault(o.SendQueueLength, DefaultSendQueueLength),
		writeTimeout:      orDefault(o.WriteTimeout, DefaultWriteTimeout),
		backendTimeout:    o.BackendTimeout,
		disconnectQ:       orDefault(o.DisconnectQueue, DefaultDisconnectQueue),
		disconnectWorkers: disconnectWorkers,
		disconnectBackoff: disconnectBackoff,
		disconnectDrain:   disconnectDrain,
		secrets:           make(map[string]string, len(o.Credentials)),
		region:            o.Region,
		clientIP:          o.ClientIP,
		domainName:        o.DomainName,
		log:               o.Logger,
	}
	if len(s.stages) == 0 {
		s.stages = []string{"$default"}
	}
	s.stageVars = make(map[string][]lambda.Param, len(o.StageVariables))
	for stage, vars := range o.StageVariables {
		if _, ok := s.stage(stage); !ok {
			return nil, fmt.Errorf("stage variables for %q, which is not one of the stages %v", stage, s.stages)
		}
		ps := make([]lambda.Param, 0, len(vars))
		for name, v := range vars {
			ps = append(ps, lambda.Param{Name: name, Value: []byte(v)})
		}
		// Sorted so that events are byte-for-byte the same each time.
		slices.SortFunc(ps, func(a, b lambda.Param) int { return strings.Compare(a.Name, b.Name) })
		s.stageVars[stage] = ps
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.domainName == nil {
		s.domainName = func(ctx *fasthttp.RequestCtx) []byte { return bytes.Clone(ctx.Host()) }
	}
	s.ownClientIP = s.clientIP != nil
	if s.clientIP == nil {
		s.clientIP = func(ctx *fasthttp.RequestCtx) string { return ctx.RemoteIP().String() }
	}
	sel, err := parseSelector(o.RouteSelection)
	if err != nil {
		return nil, err
	}
	s.selector = sel
	for key, r := range o.Routes {
		if r.Backend == nil {
			return nil, fmt.Errorf("route %q has no backend", key)
		}
		if strings.HasPrefix(key, "$") && key != RouteConnect && key != RouteDisconnect && key != RouteDefault {
			return nil, fmt.Errorf("route %q: keys starting with $ are reserved for $connect, $disconnect and $default", key)
		}
		e := &routeEntry{key: key, RouteTarget: r}
		switch key {
		case RouteConnect:
			s.connect = e
		case RouteDisconnect:
			s.disconnect = e
		case RouteDefault:
			s.fallback = e
		default:
			s.routes[key] = e
		}
	}
	for _, c := range o.Credentials {
		if c.AccessKeyID == "" || c.SecretAccessKey == "" {
			// ${VAR:-} placeholders expand to empty strings: a half-filled
			// pair is a configuration mistake, not an open door.
			if c.AccessKeyID == "" && c.SecretAccessKey == "" {
				continue
			}
			return nil, fmt.Errorf("management credential %q: access key id and secret are both required", c.AccessKeyID)
		}
		s.secrets[c.AccessKeyID] = c.SecretAccessKey
	}
	return s, nil
}

func orDefault[T int | time.Duration](v, d T) T {
	if v <= 0 {
		return d
	}
	return v
}

// stage returns the configured spelling of name, so connections keep a
// shared string rather than a copy of request bytes.
func (s *settings) stage(name string) (string, bool) {
	for _, st := range s.stages {
		if st == name {
			return st, true
		}
	}
	return "", false
}
