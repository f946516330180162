package gateway

import (
	"fmt"
	"github.com/frontdeskgw/frontdesk/exchange"
	"hash/fnv"
	"maps"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/frontdeskgw/frontdesk/apierror"
	"github.com/frontdeskgw/frontdesk/auth/cors"
	"github.com/frontdeskgw/frontdesk/cache"
	"github.com/frontdeskgw/frontdesk/config"
	"github.com/frontdeskgw/frontdesk/lambda"
	"github.com/frontdeskgw/frontdesk/limiter"
	"github.com/frontdeskgw/frontdesk/metrics"
	"github.com/frontdeskgw/frontdesk/pipeline"
	"github.com/frontdeskgw/frontdesk/proxy"
	"github.com/frontdeskgw/frontdesk/registry"
	"github.com/frontdeskgw/frontdesk/router"
	"github.com/frontdeskgw/frontdesk/upstream"
	"github.com/frontdeskgw/frontdesk/wsbridge"
)

// Snapshot is one compiled config: everything the request path reads,
// immutable once built and swapped in whole.
type Snapshot struct {
	table   router.Table
	apis    []*api
	keys    *pipeline.Keys
	trusted []netip.Prefix
	// WebSocket APIs take upgrades and @connections calls; they have a
	// table of their own so they can share a host and base path with an
	// HTTP API.
	wsTable router.Table
	ws      []*wsAPI
	// noAPI counts requests that matched no API.
	noAPI *metrics.RouteMetrics
	// needs are what the snapshot asked of the long-lived registries.
	needs []registry.Need
}

// Needs lists what the snapshot needs from the long-lived registries, each
// once, in the order compiled: the registry is the spec's type
// (config.Function, BridgeSpec, pipeline.ThrottleSpec and CountersSpec,
// AuthorizerSpec, proxy.Origin and HealthCheck).
func (s *Snapshot) Needs() []registry.Need { return s.needs }

type wsAPI struct {
	name   string
	bridge *wsbridge.Bridge
	stages []string // named; the $default stage is config.DefaultStage
	// gate runs the $connect route's authorizer and API key check (nil:
	// none); infos describe $connect per stage for it. The API is the
	// bridge's wsbridge.Gate when it has one (Admit).
	gate    *pipeline.Chain
	infos   map[string]*exchange.RouteInfo
	trusted []netip.Prefix
	// exchanges are the gate's, apart from the requests' pool: an
	// upgrade is not counted or logged as a request.
	exchanges sync.Pool
}

// TrustedProxies are the peers whose X-Forwarded-For is believed.
func (s *Snapshot) TrustedProxies() []netip.Prefix { return s.trusted }

// Keys is the snapshot's API key table (nil without api_keys).
func (s *Snapshot) Keys() *pipeline.Keys { return s.keys }

type api struct {
	cors *cors.Policy
	// noRoute counts the API's requests that matched no route.
	noRoute  *metrics.RouteMetrics
	metrics  *metrics.APIMetrics
	name     string
	hosts    string
	basePath string
	typ      config.APIType
	dialect  apierror.Dialect
	tree     *router.Tree
	routes   []*routeDef
	// stages[i] is Mount.Stages[i]; def is the $default stage or nil.
	stages []*stage
	def    *stage
	// unrouted names the API in the access log of a request that found
	// no stage of it.
	unrouted *exchange.RouteInfo
	// responses are a REST API's gateway responses (nil: none).
	responses exchange.Responder
}

// routeDef is a route of an API, numbered as its tree returns it: the
// route key and the names of its path variables.
type routeDef struct {
	key    string
	params []string
	// steps describes the route's checks for the route table.
	steps routeSteps
}

// routeSteps is what the route table shows of a route's checks.
type routeSteps struct {
	Authorizer string `json:"authorizer,omitempty"`
	APIKey     bool   `json:"apiKey,omitempty"`
	// Throttle is the route's own limit, "rate/s burst N".
	Throttle string `json:"throttle,omitempty"`
	// Cache is the route's cache TTL ("300s"); "" when it does not cache.
	Cache string `json:"cache,omitempty"`
}

func describeSteps(r config.Route) routeSteps {
	s := routeSteps{Authorizer: r.Authorizer, APIKey: r.APIKey}
	if t := r.Throttle; t != nil {
		s.Throttle = fmt.Sprintf("%g/s burst %d", t.Rate, t.Burst)
	}
	if c := r.Cache; c != nil && c.TTL != nil && c.TTL.D() > 0 {
		s.Cache = c.TTL.D().String()
	}
	return s
}

type stage struct {
	name string
	// unrouted names the API and stage in the access log of a request
	// that matched no route.
	unrouted *exchange.RouteInfo
	// integrations[i] serves routes[i] on this stage, described by
	// infos[i].
	integrations []exchange.Integration
	infos        []*exchange.RouteInfo
	integNames   []string
}

// Deps are what a snapshot is compiled with besides its config.
type Deps struct {
	// Pending is the pending generation of the registries the snapshot
	// resolves its long-lived resources in (origins, throttle sets and
	// key counters, authorizers, functions, bridges). Nil compiles dry:
	// the snapshot lists what it needs but nothing is resolved or
	// started, and it must not serve (validate, routes).
	Pending *Pending
	// Cache is the shared response cache; nil when no route caches.
	Cache *cache.Store
	// XCache adds X-Cache to cached routes' answers.
	XCache bool
	// Metrics hands out the counters of each route; nil counts nothing.
	Metrics *metrics.Registry

	reg resolver
	// functions are the config's functions by name; nil when the
	// generation resolves none.
	functions        map[string]lambda.Invoker
	keys             *pipeline.Keys
	rateLimitHeaders bool
}

// Compile turns a checked config into a Snapshot. What the snapshot needs
// from the long-lived registries it resolves in deps.Pending, which only
// becomes live when the caller commits it: nothing that serves now
// changes, whether the compile succeeds or not. (deps.Metrics hands out
// the route counters the snapshot will count into.)
func Compile(c *config.Config, deps Deps) (*Snapshot, error) {
	deps.reg = deps.Pending.resolver()
	fns, err := deps.reg.functions(c)
	if err != nil {
		return nil, err
	}
	deps.functions = fns
	s := &Snapshot{}
	trusted, err := parseTrustedProxies(c.Server.TrustedProxies)
	if err != nil {
		return nil, err
	}
	s.trusted = trusted
	keys, err := compileKeys(c, deps.reg.state(), deps.reg.gen)
	if err != nil {
		return nil, err
	}
	s.keys = keys
	deps.keys = keys
	deps.rateLimitHeaders = *c.Server.RateLimitHeaders
	names := make([]string, 0, len(c.APIs))
	var wsNames []string
	for n, a := range c.APIs {
		if a.Type == config.APIWebSocket {
			wsNames = append(wsNames, n)
			continue
		}
		names = append(names, n)
	}
	sort.Strings(wsNames)
	for _, n := range wsNames {
		a := c.APIs[n]
		m := mountOf(a)
		if err := s.wsTable.Add(m, len(s.ws)); err != nil {
			return nil, fmt.Errorf("api %s: %w", n, err)
		}
		if err := addExecuteAPIMount(&s.wsTable, n, a, len(s.ws)); err != nil {
			return nil, fmt.Errorf("api %s: %w", n, err)
		}
		b, err := deps.reg.bridge(n, c)
		if err != nil {
			return nil, err
		}
		w := &wsAPI{name: n, bridge: b, stages: m.Stages, infos: map[string]*exchange.RouteInfo{}, trusted: s.trusted}
		if err := compileGate(w, a, deps); err != nil {
			return nil, fmt.Errorf("api %s: %w", n, err)
		}
		s.ws = append(s.ws, w)
	}
	sort.Strings(names)
	for _, name := range names {
		a, err := compileAPI(name, c.APIs[name], deps)
		if err != nil {
			return nil, fmt.Errorf("api %s: %w", name, err)
		}
		if err := s.table.Add(mountOf(c.APIs[name]), len(s.apis)); err != nil {
			return nil, fmt.Errorf("api %s: %w", name, err)
		}
		if err := addExecuteAPIMount(&s.table, name, c.APIs[name], len(s.apis)); err != nil {
			return nil, fmt.Errorf("api %s: %w", name, err)
		}
		s.apis = append(s.apis, a)
	}
	s.noAPI = deps.Metrics.Route(NoRouteLabel, NoRouteLabel, NoRouteLabel)
	s.needs = deps.reg.gen.Needs()
	return s, nil
}

// mountOf says where the API a is served.
func mountOf(a *config.API) router.Mount {
	stages, def := config.StageNames(a)
	return router.Mount{Hosts: a.Hosts, BasePath: a.BasePath, Stages: stages, DefaultStage: def}
}

// NoRouteLabel is the route label of requests that matched no route, and
// their stage label (the stage is not yet known when the route is missed),
// and the API label too when they matched no API.
const NoRouteLabel = "-"

// MetricRoutes lists the api/stage/route triples the snapshot counts, so
// that a reload can drop the series of routes (and stages) that are gone.
func (s *Snapshot) MetricRoutes() map[metrics.RouteName]bool {
	out := map[metrics.RouteName]bool{{API: NoRouteLabel, Stage: NoRouteLabel, Route: NoRouteLabel}: true}
	for _, a := range s.apis {
		out[metrics.RouteName{API: a.name, Stage: NoRouteLabel, Route: NoRouteLabel}] = true
		for _, st := range a.allStages() {
			for _, r := range a.routes {
				out[metrics.RouteName{API: a.name, Stage: st.name, Route: r.key}] = true
			}
		}
	}
	return out
}

// allStages lists the API's stages, $default last if it has one.
func (a *api) allStages() []*stage {
	if a.def == nil {
		return a.stages
	}
	return append(slices.Clip(a.stages), a.def)
}

// parseTrustedProxies reads server.trusted_proxies: CIDRs or single IPs.
func parseTrustedProxies(list []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, p := range list {
		pfx, err := netip.ParsePrefix(p)
		if err != nil {
			a, aerr := netip.ParseAddr(p)
			if aerr != nil {
				return nil, fmt.Errorf("server.trusted_proxies: %q: %w", p, err)
			}
			pfx = netip.PrefixFrom(a, a.BitLen())
		}
		out = append(out, pfx.Masked())
	}
	return out, nil
}

func compileKeys(c *config.Config, st *pipeline.State, g *registry.Gen) (*pipeline.Keys, error) {
	var keys []pipeline.KeySpec
	for _, k := range c.APIKeys {
		keys = append(keys, pipeline.KeySpec{Name: k.Name, Value: k.Value, Plan: k.Plan, Enabled: *k.Enabled})
	}
	var plans []pipeline.PlanSpec
	for name, p := range c.UsagePlans {
		ps := pipeline.PlanSpec{Name: name, APIs: p.APIs, Routes: map[string]limiter.Limit{}}
		if p.Throttle != nil {
			ps.Throttle = &limiter.Limit{Rate: p.Throttle.Rate, Burst: p.Throttle.Burst}
		}
		if p.Quota != nil {
			period, err := limiter.ParsePeriod(string(p.Quota.Period))
			if err != nil {
				return nil, fmt.Errorf("usage plan %s: %w", name, err)
			}
			ps.Quota = &limiter.Quota{Limit: p.Quota.Limit, Period: period}
		}
		for r, t := range p.Routes {
			ps.Routes[r] = limiter.Limit{Rate: t.Rate, Burst: t.Burst}
		}
		plans = append(plans, ps)
	}
	sort.Slice(plans, func(i, j int) bool { return plans[i].Name < plans[j].Name })
	return pipeline.CompileKeys(st, g, keys, plans)
}

func compileAPI(name string, ca *config.API, deps Deps) (*api, error) {
	a := &api{name: name, typ: ca.Type, tree: router.NewTree(), hosts: "*", basePath: ca.BasePath,
		metrics: deps.Metrics.API(name), noRoute: deps.Metrics.Route(name, NoRouteLabel, NoRouteLabel),
		unrouted: &exchange.RouteInfo{APIID: config.APIID(name), APIIDBytes: []byte(config.APIID(name))}}
	if len(ca.Hosts) > 0 {
		a.hosts = strings.Join(ca.Hosts, ",")
	}
	if ca.Type == config.APIREST {
		a.dialect = apierror.REST
	}
	if c := ca.CORS; c != nil {
		p, err := cors.Compile(cors.Options{AllowOrigins: c.AllowOrigins, AllowMethods: c.AllowMethods,
			AllowHeaders: c.AllowHeaders, ExposeHeaders: c.ExposeHeaders, MaxAge: c.MaxAge, AllowCredentials: c.AllowCredentials})
		if err != nil {
			return nil, fmt.Errorf("cors: %w", err)
		}
		a.cors = p
	}
	if r, err := compileGatewayResponses(ca); err != nil {
		return nil, err
	} else if r != nil {
		a.responses = r
	}
	keys := slices.Sorted(maps.Keys(ca.Routes))
	for i, k := range keys {
		parsed, err := router.ParseKey(k)
		if err != nil {
			return nil, err
		}
		if err := a.tree.Add(parsed, i, k); err != nil {
			return nil, fmt.Errorf("route %q: %w", k, err)
		}
		a.routes = append(a.routes, &routeDef{key: k, params: parsed.ParamNames(), steps: describeSteps(*ca.Routes[k])})
	}
	stageNames, hasDef := config.StageNames(ca)
	build := func(sn string) (*stage, error) {
		st := &stage{name: sn, unrouted: &exchange.RouteInfo{APIID: a.unrouted.APIID, APIIDBytes: a.unrouted.APIIDBytes, Stage: sn, StageBytes: []byte(sn)}}
		vars := ca.Stages[sn].Variables
		varList := stageVarList(vars)
		for _, k := range keys {
			r := ca.Routes[k]
			in, err := compileIntegration(ca, ca.Integrations[r.Integration], vars, deps)
			if err == nil {
				in, err = withMapping(ca, ca.Integrations[r.Integration], vars, in)
			}
			if err != nil {
				return nil, fmt.Errorf("stage %s, route %q: %w", sn, k, err)
			}
			steps, err := compileSteps(name, sn, k, ca, r, deps)
			if err != nil {
				return nil, fmt.Errorf("stage %s, route %q: %w", sn, k, err)
			}
			if len(steps) > 0 {
				in = pipeline.NewChain(in, steps...)
			}
			st.integrations = append(st.integrations, in)
			st.integNames = append(st.integNames, r.Integration)
			info := routeInfo(name, sn, k, ca.Type == config.APIREST, varList)
			info.Metrics = deps.Metrics.Route(name, sn, k)
			st.infos = append(st.infos, info)
		}
		return st, nil
	}
	for _, sn := range stageNames {
		st, err := build(sn)
		if err != nil {
			return nil, err
		}
		a.stages = append(a.stages, st)
	}
	if hasDef {
		st, err := build(config.DefaultStage)
		if err != nil {
			return nil, err
		}
		a.def = st
	}
	return a, nil
}

// compileSteps lists the pipeline steps a route asks for, in the order
// a request meets them: API key and usage plan (per key and route, per key,
// quota), then the route throttle (the route's own, else the stage
// default, as API Gateway's route settings), the request validator and
// the cache.
func compileSteps(apiName, stageName, routeKey string, ca *config.API, r *config.Route, deps Deps) ([]exchange.Step, error) {
	var steps []exchange.Step
	if r.Authorizer != "" {
		// The context is rendered for the payload format the route's
		// integration receives.
		v1 := false
		if in := ca.Integrations[r.Integration]; in != nil && (in.Type == config.IntegrationLambda || ca.Type == config.APIREST) {
			v1 = in.PayloadFormat == config.PayloadV1
		}
		step, err := compileAuthorizer(apiName, ca.Authorizers[r.Authorizer], r, v1, deps)
		if err != nil {
			return nil, err
		}
		if step != nil {
			steps = append(steps, step)
		}
	}
	if r.APIKey {
		steps = append(steps, pipeline.NewAPIKey(deps.keys, pipeline.APIKeyOptions{API: apiName, RouteKey: routeKey, RateLimitHeaders: deps.rateLimitHeaders}))
	}
	t := r.Throttle
	stageDefault := false
	if t == nil {
		t, stageDefault = ca.Stages[stageName].Throttle, true
	}
	if t != nil {
		o := pipeline.ThrottleOptions{
			StageDefault:     stageDefault,
			ID:               apiName + "/" + stageName + "/" + routeKey,
			Limit:            limiter.Limit{Rate: t.Rate, Burst: t.Burst},
			RateLimitHeaders: deps.rateLimitHeaders,
		}
		if t.Per == config.PerClientIP {
			o.Per = pipeline.PerClientIP
		} else if h, ok := t.Per.Header(); ok {
			o.Per, o.Header = pipeline.PerHeader, h
		}
		th, err := pipeline.NewThrottle(deps.reg.state(), deps.reg.gen, o)
		if err != nil {
			return nil, err
		}
		steps = append(steps, th)
	}
	// Request validation runs where API Gateway runs it: after the
	// authorizer, the API key and the throttles, before the cache and the
	// integration.
	if v, err := compileValidator(ca, r); err != nil {
		return nil, err
	} else if v != nil {
		steps = append(steps, v)
	}
	if rc := r.Cache; rc != nil && deps.Cache != nil {
		if ttl := rc.TTL.D(); ttl > 0 {
			o := pipeline.CacheOptions{
				Route:                deps.Cache.Namespace(apiName, stageName).Route(routeKey),
				TTL:                  ttl,
				Statuses:             rc.Statuses,
				XCache:               deps.XCache,
				StaleWhileRevalidate: rc.StaleWhileRevalidate.D(),
			}
			switch rc.Invalidate {
			case config.InvalidateAnyone:
				o.Invalidate = pipeline.InvalidateAnyone
			case config.InvalidateIgnore:
				o.Invalidate = pipeline.InvalidateIgnore
			}
			for _, k := range rc.Key {
				src, name, _ := strings.Cut(k, ".")
				o.Key = append(o.Key, pipeline.KeyPart{Source: src, Name: name})
			}
			steps = append(steps, pipeline.NewCache(deps.Cache, o))
		}
	}
	return steps, nil
}

// compileGate builds the checks of a WebSocket API's $connect route: they
// gate the whole connection, and the authorizer's context (in the REST
// form WebSocket events use) goes with every event of it.
func compileGate(w *wsAPI, a *config.API, deps Deps) error {
	r := a.Routes["$connect"]
	stages, def := config.StageNames(a)
	if def {
		stages = append(stages, config.DefaultStage)
	}
	for _, sn := range stages {
		w.infos[sn] = routeInfo(w.name, sn, "$connect", true, stageVarList(a.Stages[sn].Variables))
	}
	if r == nil || (r.Authorizer == "" && !r.APIKey) {
		return nil
	}
	var steps []exchange.Step
	if r.Authorizer != "" {
		// WebSocket events carry the 1.0 (REST) authorizer form.
		step, err := compileAuthorizer(w.name, a.Authorizers[r.Authorizer], r, true, deps)
		if err != nil {
			return err
		}
		if step != nil {
			steps = append(steps, step)
		}
	}
	if r.APIKey {
		steps = append(steps, pipeline.NewAPIKey(deps.keys, pipeline.APIKeyOptions{API: w.name, RouteKey: "$connect"}))
	}
	w.gate = pipeline.NewChain(gatePassed{}, steps...)
	return nil
}

// gatePassed ends a $connect gate: reaching it means every check passed.
type gatePassed struct{}

func (gatePassed) Serve(ex *exchange.Exchange) { ex.GatePassed = true }

// compileAuthorizer builds the route's authorizer step; v1 renders the
// context it hands on in payload format 1.0.
func compileAuthorizer(apiName string, ac config.Authorizer, r *config.Route, v1 bool, deps Deps) (exchange.Step, error) {
	format := ac.PayloadFormat
	spec := AuthorizerSpec{API: apiName, Name: r.Authorizer, Config: ac, Format: format, NoFunctions: deps.functions == nil}
	if ac.Type == config.AuthorizerLambda {
		spec.Invoker = deps.functions[ac.Function]
	}
	a, err := deps.reg.authorizers().get(deps.reg.gen, spec)
	if err != nil || a == nil {
		return nil, err
	}
	switch {
	case a.jwt != nil:
		return pipeline.NewJWT(a.jwt, r.Scopes, v1, ac.ClaimsToHeaders)
	case a.lam != nil:
		return pipeline.NewLambdaAuthorizer(a.lam, format == config.PayloadV1), nil
	}
	return nil, nil
}

// routeInfo describes a route on a stage of the API named api for the
// pipeline, the integrations and the access log. Its APIID is the API's
// id (config.APIID), not its name.
func routeInfo(api, stage, routeKey string, rest bool, vars []lambda.Param) *exchange.RouteInfo {
	id := config.APIID(api)
	info := &exchange.RouteInfo{APIID: id, REST: rest, Stage: stage, NamedStage: stage != config.DefaultStage,
		RouteKey: routeKey, StageVariables: vars,
		RouteKeyBytes: []byte(routeKey), APIIDBytes: []byte(id), StageBytes: []byte(stage)}
	if _, path, ok := strings.Cut(routeKey, " "); ok {
		info.Resource = path
	}
	if rest {
		info.ResourceID = stableID("resource", api, info.Resource)
		info.DeploymentID = stableID("deployment", api, stage)
	}
	return info
}

// stableID is a REST resource or deployment id in API Gateway's form: six
// lower-case letters and digits. It is a hash of what it names, so it is
// the same on every reload and every instance, and differs between APIs.
func stableID(kind, api, name string) string {
	h := fnv.New64a()
	for _, s := range [...]string{kind, api, name} {
		h.Write([]byte(s))
		h.Write([]byte{0}) // keeps ("ab","c") and ("a","bc") apart
	}
	const space = 36 * 36 * 36 * 36 * 36 * 36
	id := strconv.FormatUint(h.Sum64()%space, 36)
	return strings.Repeat("0", 6-len(id)) + id
}

// NeedsCache reports whether any route of c caches responses.
func NeedsCache(c *config.Config) bool {
	for _, a := range c.APIs {
		for _, r := range a.Routes {
			if r != nil && r.Cache != nil && r.Cache.TTL.D() > 0 {
				return true
			}
		}
	}
	return false
}

func stageVarList(vars map[string]string) []lambda.Param {
	out := make([]lambda.Param, 0, len(vars))
	for _, k := range slices.Sorted(maps.Keys(vars)) {
		out = append(out, lambda.Param{Name: k, Value: []byte(vars[k])})
	}
	return out
}

func compileIntegration(ca *config.API, in *config.Integration, vars map[string]string, deps Deps) (exchange.Integration, error) {
	if ca.Type == config.APIREST && in.NonProxy() {
		return compileNonProxy(ca, in, vars, deps)
	}
	switch in.Type {
	case config.IntegrationHTTPProxy:
		u, missing := config.SubstituteStageVars(in.URL, vars)
		if missing != "" {
			return nil, fmt.Errorf("url: no stage variable %q", missing)
		}
		up := proxy.Upstream{URL: u, Targets: in.Targets, Retries: in.Retries, Timeout: in.Timeout.D()}
		if in.Balance == config.BalanceLeastConn {
			up.Policy = upstream.LeastConn
		}
		if hc := in.HealthCheck; hc != nil {
			up.HealthPath, up.HealthInterval = hc.Path, hc.Interval.D()
		}
		return proxy.NewHTTPProxy(deps.reg.pools().In(deps.reg.gen), up)
	case config.IntegrationMock:
		return proxy.NewMock(in.Status, in.Headers, in.Body), nil
	case config.IntegrationLambda:
		var inv lambda.Invoker
		if deps.functions != nil {
			inv = deps.functions[in.Function]
			if inv == nil {
				return nil, fmt.Errorf("function %q is not running", in.Function)
			}
		}
		bin, err := lambda.NewBinaryTypes(ca.BinaryMediaTypes)
		if err != nil {
			return nil, err
		}
		l := proxy.NewLambda(inv, string(in.PayloadFormat), ca.Type == config.APIREST, in.Timeout.D()).WithBinaryTypes(bin)
		l.Function = in.Function
		return l, nil
	}
	// config.Load refuses every other type for HTTP and REST APIs.
	return nil, fmt.Errorf("integration type %q cannot serve HTTP routes", in.Type)
}

// RouteRow is one row of the compiled route table.
type RouteRow struct {
	API         string `json:"api"`
	APIID       string `json:"apiId"`
	Type        string `json:"type"`
	Hosts       string `json:"hosts"`
	BasePath    string `json:"basePath"`
	Stage       string `json:"stage"`
	RouteKey    string `json:"routeKey"`
	Integration string `json:"integration"`
	routeSteps
}

// Routes lists the compiled table, for `frontdesk routes` and the admin API.
func (s *Snapshot) Routes() []RouteRow {
	var out []RouteRow
	for _, a := range s.apis {
		stages := append([]*stage(nil), a.stages...)
		if a.def != nil {
			stages = append(stages, a.def)
		}
		for _, st := range stages {
			for i, r := range a.routes {
				out = append(out, RouteRow{API: a.name, APIID: a.unrouted.APIID, Type: string(a.typ), Hosts: a.hosts, BasePath: a.basePath, Stage: st.name, RouteKey: r.key, Integration: st.integNames[i], routeSteps: r.steps})
			}
		}
	}
	return out
}
