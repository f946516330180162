package config

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/frontdeskgw/frontdesk/router"
)

// validator collects problems with their lines.
type validator struct {
	c     *Config
	errs  Errors
	warns []Problem
}

func (x *validator) warn(key, format string, args ...any) {
	x.warns = append(x.warns, Problem{File: x.c.File, Line: x.c.Line(key), Key: key, Msg: fmt.Sprintf(format, args...)})
}

func (x *validator) fail(key, format string, args ...any) {
	x.errs = append(x.errs, Problem{File: x.c.File, Line: x.c.Line(key), Key: key, Msg: fmt.Sprintf(format, args...)})
}

// Line returns the line of a key path, or of its closest parent.
func (c *Config) Line(key string) int {
	for key != "" {
		if l, ok := c.Lines[key]; ok {
			return l
		}
		i := strings.LastIndexAny(key, ".[")
		if i < 0 {
			break
		}
		key = key[:i]
	}
	return 0
}

var (
	stageNameRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,128}$`)
	stageVarRE  = regexp.MustCompile(`\$\{stageVariables\.([A-Za-z0-9_]+)\}`)
	urlParamRE  = regexp.MustCompile(`(?:^|[^$])\{([A-Za-z0-9_.-]+)\}`)
)

func validate(c *Config) (Errors, []Problem) {
	x := &validator{c: c}
	x.server()
	x.upstream()
	x.cache()
	x.cluster()
	x.accessLog()
	x.tracing()
	x.functions()
	x.keysAndPlans()
	mounts, wsMounts := &router.Table{}, &router.Table{}
	names := sortedKeys(c.APIs)
	for i, name := range names {
		a := c.APIs[name]
		key := "apis." + name
		if a == nil {
			x.fail(key, "empty API")
			continue
		}
		if !x.api(key, a) {
			continue
		}
		m := router.Mount{Hosts: a.Hosts, BasePath: a.BasePath}
		m.Stages, m.DefaultStage = StageNames(a)
		// WebSocket APIs take upgrade requests and @connections calls,
		// so they may share a host and base path with an HTTP API.
		table := mounts
		if a.Type == APIWebSocket {
			table = wsMounts
		}
		if err := table.Add(m, i); err != nil {
			x.fail(key+".base_path", "%v", err)
		}
	}
	sort.SliceStable(x.errs, func(i, j int) bool { return x.errs[i].Line < x.errs[j].Line })
	return x.errs, x.warns
}

// StageNames lists an API's named stages (sorted) and whether it has a
// $default stage served at the base path.
func StageNames(a *API) ([]string, bool) {
	if len(a.Stages) == 0 {
		return nil, true
	}
	var named []string
	def := false
	for n := range a.Stages {
		if n == DefaultStage {
			def = true
			continue
		}
		named = append(named, n)
	}
	sort.Strings(named)
	return named, def
}

func sortedKeys[T any](m map[string]T) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func (x *validator) server() {
	s := x.c.Server
	if _, _, err := net.SplitHostPort(s.Listen); err != nil {
		x.fail("server.listen", "want host:port, got %q", s.Listen)
	}
	if s.MaxHeaderBytes < 1024 {
		x.fail("server.max_header_bytes", "must be at least 1024, got %d", s.MaxHeaderBytes)
	}
	if s.MaxConns < 0 {
		x.fail("server.max_conns", "must not be negative")
	}
	if lt := s.LocalTLS; lt != nil {
		if _, _, err := net.SplitHostPort(lt.Listen); err != nil {
			x.fail("server.local_tls.listen", "want host:port, got %q", lt.Listen)
		} else if _, port, _ := net.SplitHostPort(lt.Listen); lt.Listen == s.Listen && port != "0" {
			x.fail("server.local_tls.listen", "must differ from server.listen")
		}
	}
	if err := checkServerHeader(s.ServerHeader); err != nil {
		x.fail("server.server_header", "%v", err)
	}
	if s.SendTimeout < Duration(time.Second) {
		x.fail("server.send_timeout", "at least 1s, got %v", s.SendTimeout.D())
	}
	if s.MaxInflightBodyBytes < s.MaxBodyBytes {
		x.fail("server.max_inflight_body_bytes", "at least max_body_bytes (%d bytes), got %d bytes", s.MaxBodyBytes, s.MaxInflightBodyBytes)
	}
	for i, p := range s.TrustedProxies {
		if _, _, err := net.ParseCIDR(p); err != nil && net.ParseIP(p) == nil {
			x.fail(fmt.Sprintf("server.trusted_proxies[%d]", i), "want a CIDR or IP, got %q", p)
		}
	}
	if t := s.TLS; t != nil {
		if (t.Cert == "") != (t.Key == "") {
			x.fail("server.tls", "set both cert and key")
		}
		if t.Cert == "" && len(t.Certs) == 0 {
			x.fail("server.tls", "set cert and key, or certs: [{cert, key}]")
		}
		for i, c := range t.Certs {
			if c.Cert == "" || c.Key == "" {
				x.fail(fmt.Sprintf("server.tls.certs[%d]", i), "set both cert and key")
			}
		}
	}
	if x.c.Admin.Listen != "" {
		if _, _, err := net.SplitHostPort(x.c.Admin.Listen); err != nil {
			x.fail("admin.listen", "want host:port, got %q", x.c.Admin.Listen)
		}
	}
	a := x.c.Admin
	for _, d := range []struct {
		key string
		v   Duration
	}{{"admin.read_timeout", a.ReadTimeout}, {"admin.write_timeout", a.WriteTimeout}, {"admin.idle_timeout", a.IdleTimeout}} {
		if d.v.D() < 100*time.Millisecond || d.v.D() > time.Hour {
			x.fail(d.key, "between 100ms and 1h, got %v", d.v.D())
		}
	}
	if a.MaxConns < 1 || a.MaxConns > 65536 {
		x.fail("admin.max_conns", "between 1 and 65536, got %d", a.MaxConns)
	}
	for i, cr := range a.Credentials {
		if cr.AccessKeyID == "" || cr.SecretAccessKey == "" {
			x.fail(fmt.Sprintf("admin.credentials[%d]", i), "set both access_key_id and secret_access_key (unset environment variable?)")
		}
	}
}

func (x *validator) upstream() {
	u := x.c.Upstream
	if u.MaxConnsPerOrigin < 1 || u.MaxConnsPerOrigin > 65536 {
		x.fail("upstream.max_conns_per_origin", "between 1 and 65536, got %d", u.MaxConnsPerOrigin)
	}
	if d := u.IdleTimeout.D(); d < 100*time.Millisecond || d > 10*time.Minute {
		x.fail("upstream.idle_timeout", "between 100ms and 10m, got %v", d)
	}
	if u.BufferResponses < 1024 || u.BufferResponses > 64<<20 {
		x.fail("upstream.buffer_responses", "between 1KiB and 64MiB, got %d bytes", u.BufferResponses)
	}
	if u.MaxBufferedBytes < u.BufferResponses || u.MaxBufferedBytes > 64<<30 {
		x.fail("upstream.max_buffered_bytes", "between buffer_responses (%d bytes) and 64GiB, got %d bytes", u.BufferResponses, u.MaxBufferedBytes)
	}
	if n := u.MaxStreamsPerClient; n != nil && (*n < 0 || *n > MaxStreamsPerClient) {
		x.fail("upstream.max_streams_per_client", "between 0 (no cap) and %d, got %d", MaxStreamsPerClient, *n)
	}
}

func (x *validator) cache() {
	c := x.c.Cache
	if c.MaxSize < 1<<20 {
		x.fail("cache.max_size", "at least 1MiB, got %d bytes", c.MaxSize)
	}
	if c.MaxItemSize != 0 && (c.MaxItemSize < 1024 || (!c.maxSizeDefaulted && c.MaxItemSize > c.MaxSize/8)) {
		x.fail("cache.max_item_size", "between 1KiB and an eighth of max_size, got %d bytes", c.MaxItemSize)
	}
}

func (x *validator) accessLog() {
	switch x.c.AccessLog.Format {
	case "", AccessLogJSON, AccessLogCLF:
	default:
		x.fail("access_log.format", "want json or clf, got %q", x.c.AccessLog.Format)
	}
}

func (x *validator) functions() {
	for _, name := range sortedKeys(x.c.Functions) {
		f := x.c.Functions[name]
		key := "functions." + name
		switch {
		case len(f.Command) > 0 && f.InvokeURL != "":
			x.fail(key, "set either command or invoke_url, not both")
		case f.Runtime != "" && (len(f.Command) > 0 || f.InvokeURL != ""):
			x.fail(key+".runtime", "set runtime (with handler and code_uri), command or invoke_url, only one")
		case len(f.Command) == 0 && f.InvokeURL == "" && f.Runtime == "":
			x.fail(key, "set command or runtime (run locally) or invoke_url (remote Invoke API)")
		}
		x.functionRuntime(key, f)
		if f.InvokeURL != "" {
			if _, ok := httpURL(f.InvokeURL); !ok {
				x.fail(key+".invoke_url", "want an http(s) URL, got %q", f.InvokeURL)
			}
		}
		if f.Concurrency < 0 {
			x.fail(key+".concurrency", "must not be negative")
		}
	}
}

func (x *validator) throttle(key string, t *Throttle, perAllowed bool) {
	if t == nil {
		return
	}
	if t.Rate <= 0 {
		x.fail(key+".rate", "must be greater than 0")
	}
	if t.Burst < 1 {
		x.fail(key+".burst", "must be at least 1")
	}
	if t.Per != "" {
		if !perAllowed {
			x.fail(key+".per", "only route throttles take per")
		} else if h, ok := t.Per.Header(); t.Per != PerRoute && t.Per != PerClientIP && !(ok && h != "") {
			x.fail(key+".per", "want route, client_ip or header.<name>, got %q", t.Per)
		}
	}
}

func (x *validator) keysAndPlans() {
	names := map[string]bool{}
	for i, k := range x.c.APIKeys {
		key := fmt.Sprintf("api_keys[%d]", i)
		if k.Name == "" {
			x.fail(key+".name", "required")
		} else if names[k.Name] {
			x.fail(key+".name", "duplicate key name %q", k.Name)
		}
		names[k.Name] = true
		if n := len(k.Value); n != 0 && (n < 20 || n > 128) {
			x.fail(key+".value", "must be 20 to 128 characters, got %d", n)
		}
		if k.Value == "" {
			x.warn(key+".value", "empty (unset environment variable?): key %q is disabled", k.Name)
		}
		if k.Plan != "" {
			if _, ok := x.c.UsagePlans[k.Plan]; !ok {
				x.fail(key+".plan", "no usage plan named %q", k.Plan)
			}
		}
	}
	for _, name := range sortedKeys(x.c.UsagePlans) {
		p := x.c.UsagePlans[name]
		key := "usage_plans." + name
		x.throttle(key+".throttle", p.Throttle, false)
		if p.Quota != nil {
			if p.Quota.Limit < 1 {
				x.fail(key+".quota.limit", "must be at least 1")
			}
			switch p.Quota.Period {
			case PeriodDay, PeriodWeek, PeriodMonth:
			default:
				x.fail(key+".quota.period", "want day, week or month, got %q", p.Quota.Period)
			}
		}
		for i, a := range p.APIs {
			if _, ok := x.c.APIs[a]; !ok {
				x.fail(fmt.Sprintf("%s.apis[%d]", key, i), "no API named %q", a)
			}
		}
		for _, rk := range sortedKeys(p.Routes) {
			t := p.Routes[rk]
			x.throttle(key+".routes."+rk, &t, false)
			apiName, routeKey, _ := strings.Cut(rk, " ")
			a := x.c.APIs[apiName]
			if a == nil {
				x.fail(key+".routes."+rk, "want \"API ROUTEKEY\" naming an API of this config, got %q", rk)
			} else if _, ok := a.Routes[routeKey]; !ok {
				x.fail(key+".routes."+rk, "API %s has no route %q", apiName, routeKey)
			} else if !slices.Contains(p.APIs, apiName) {
				x.fail(key+".routes."+rk, "API %s is not in this plan's apis", apiName)
			}
		}
	}
}

// api checks one API; false means its type is unknown and nothing else
// about it can be checked.
func (x *validator) api(key string, a *API) bool {
	switch a.Type {
	case APIHTTP, APIREST, APIWebSocket:
	default:
		x.fail(key+".type", "want http, rest or websocket, got %q", a.Type)
		return false
	}
	if !strings.HasPrefix(a.BasePath, "/") {
		x.fail(key+".base_path", "must start with /, got %q", a.BasePath)
	}
	for _, s := range sortedKeys(a.Stages) {
		if s != DefaultStage && !stageNameRE.MatchString(s) {
			x.fail(key+".stages."+s, "stage names use letters, digits, - and _ (at most 128)")
		}
		x.throttle(key+".stages."+s+".throttle", a.Stages[s].Throttle, false)
	}
	if a.CORS != nil && a.CORS.AllowCredentials {
		for _, o := range a.CORS.AllowOrigins {
			if o == "*" {
				x.fail(key+".cors.allow_credentials", "cannot be true when allow_origins has \"*\" (browsers refuse it)")
			}
		}
	}
	for _, n := range sortedKeys(a.Authorizers) {
		au := a.Authorizers[n]
		ak := key + ".authorizers." + n
		switch au.Type {
		case AuthorizerJWT:
			if au.Issuer == "" {
				x.fail(ak+".issuer", "required for jwt authorizers")
			}
		case AuthorizerLambda:
			if _, ok := x.c.Functions[au.Function]; !ok {
				x.fail(ak+".function", "no function named %q", au.Function)
			}
		case AuthorizerHTTP:
			if _, ok := httpURL(au.URL); !ok {
				x.fail(ak+".url", "want an http(s) URL, got %q", au.URL)
			}
		default:
			x.fail(ak+".type", "want jwt, lambda or http, got %q", au.Type)
		}
		switch au.PayloadFormat {
		case "", PayloadV1, PayloadV2:
		default:
			x.fail(ak+".payload_format", "want \"1.0\" or \"2.0\", got %q", au.PayloadFormat)
		}
		if au.TTL.D() > time.Hour {
			x.fail(ak+".ttl", "at most 3600s, got %s", au.TTL.D())
		}
		for i, src := range au.IdentitySource {
			if !strings.HasPrefix(src, "$request.header.") && !strings.HasPrefix(src, "$request.querystring.") &&
				!strings.HasPrefix(src, "$context.") && !strings.HasPrefix(src, "$stageVariables.") {
				x.fail(fmt.Sprintf("%s.identity_source[%d]", ak, i), "want $request.header.X, $request.querystring.X, $context.X or $stageVariables.X, got %q", src)
			}
		}
	}
	for _, n := range sortedKeys(a.Integrations) {
		x.integration(key, a, n)
	}
	x.transform(key, a)
	x.gatewayResponses(key, a)
	if a.Type == APIWebSocket {
		x.wsRoutes(key, a)
		return true
	}
	if a.BackendMaxConns != 0 {
		x.fail(key+".backend_max_conns", "applies to websocket APIs only")
	}
	if a.DisconnectQueue != 0 {
		x.fail(key+".disconnect_queue", "applies to websocket APIs only")
	}
	x.binaryMediaTypes(key, a)
	tree := router.NewTree()
	for i, rk := range sortedKeys(a.Routes) {
		r := a.Routes[rk]
		k := key + ".routes." + rk
		parsed, err := router.ParseKey(rk)
		if err != nil {
			x.fail(k, "%v", err)
		} else if err := tree.Add(parsed, i, rk); err != nil {
			x.fail(k, "%v", err)
		}
		if r == nil {
			x.fail(k, "empty route: set integration")
			continue
		}
		x.routeCommon(k, a, r)
		if in := a.Integrations[r.Integration]; in != nil && in.Type == IntegrationHTTPProxy && err == nil {
			for _, m := range urlParamRE.FindAllStringSubmatch(in.URL, -1) {
				if !slices.Contains(parsed.ParamNames(), m[1]) {
					x.warn(k+".integration", "integration %q uses {%s} but the route has no such path variable: it expands to nothing", r.Integration, m[1])
				}
			}
		}
		if r.Reply {
			x.fail(k+".reply", "only WebSocket routes take reply")
		}
		x.throttle(k+".throttle", r.Throttle, true)
		if r.Authorizer != "" {
			if _, ok := a.Authorizers[r.Authorizer]; !ok {
				x.fail(k+".authorizer", "no authorizer named %q in this API", r.Authorizer)
			}
		}
		if len(r.Scopes) > 0 && r.Authorizer == "" {
			x.fail(k+".scopes", "scopes need an authorizer")
		}
		if c := r.Cache; c != nil {
			if c.TTL != nil && c.TTL.D() > time.Hour {
				x.fail(k+".cache.ttl", "at most 3600s (as Amazon API Gateway), got %s", c.TTL.D())
			}
			if c.StaleWhileRevalidate.D() > time.Hour {
				x.fail(k+".cache.stale_while_revalidate", "at most 3600s, got %s", c.StaleWhileRevalidate.D())
			}
			for i, st := range c.Statuses {
				if st < 200 || st > 599 {
					x.fail(fmt.Sprintf("%s.cache.statuses[%d]", k, i), "want an HTTP status 200-599, got %d", st)
				}
			}
			switch c.Invalidate {
			case "", InvalidateAuthorized, InvalidateAnyone, InvalidateIgnore:
			default:
				x.fail(k+".cache.invalidate", "want authorized, anyone or ignore, got %q", c.Invalidate)
			}
			for i, ck := range c.Key {
				src, name, _ := strings.Cut(ck, ".")
				if (src != "query" && src != "header" && src != "path") || name == "" {
					x.fail(fmt.Sprintf("%s.cache.key[%d]", k, i), "want query.<name>, header.<name> or path.<name>, got %q", ck)
				} else if src == "path" && err == nil && !slices.Contains(parsed.ParamNames(), name) {
					x.fail(fmt.Sprintf("%s.cache.key[%d]", k, i), "route has no path variable {%s}", name)
				}
			}
		}
	}
	return true
}

// httpURL parses s; ok says it is an absolute http or https URL.
func httpURL(s string) (u *url.URL, ok bool) {
	u, err := url.Parse(s)
	return u, err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

func (x *validator) routeCommon(k string, a *API, r *Route) {
	if r.Integration == "" {
		x.fail(k+".integration", "required")
	} else if _, ok := a.Integrations[r.Integration]; !ok {
		x.fail(k+".integration", "no integration named %q in this API", r.Integration)
	}
}

func (x *validator) wsRoutes(key string, a *API) {
	if a.RouteSelection == "" {
		x.fail(key+".route_selection", `required for websocket APIs (AWS has no default); to route on the message's "action" field write route_selection: "$request.body.action"`)
	}
	if a.BackendMaxConns < 1 || a.BackendMaxConns > MaxBackendMaxConns {
		x.fail(key+".backend_max_conns", "want 1 to %d, got %d", MaxBackendMaxConns, a.BackendMaxConns)
	}
	if a.DisconnectQueue < 1 || a.DisconnectQueue > MaxDisconnectQueue {
		x.fail(key+".disconnect_queue", "want 1 to %d, got %d", MaxDisconnectQueue, a.DisconnectQueue)
	}
	for _, rk := range sortedKeys(a.Routes) {
		r := a.Routes[rk]
		k := key + ".routes." + rk
		if strings.HasPrefix(rk, "$") && rk != "$connect" && rk != "$disconnect" && rk != "$default" {
			x.fail(k, "route keys starting with $ are $connect, $disconnect and $default")
		}
		if r == nil {
			x.fail(k, "empty route: set integration")
			continue
		}
		x.routeCommon(k, a, r)
		if r.Cache != nil || r.Throttle != nil {
			x.fail(k, "cache and throttle do not apply to WebSocket routes")
		}
		if (r.Authorizer != "" || r.APIKey) && rk != "$connect" {
			x.fail(k, "authorizer and api_key apply to $connect only: they gate the whole connection")
		}
		if r.Authorizer != "" {
			if _, ok := a.Authorizers[r.Authorizer]; !ok {
				x.fail(k+".authorizer", "no authorizer named %q in this API", r.Authorizer)
			}
		}
	}
}

func (x *validator) integration(apiKey string, a *API, name string) {
	in := a.Integrations[name]
	k := apiKey + ".integrations." + name
	if in == nil {
		x.fail(k, "empty integration: set type")
		return
	}
	switch in.Type {
	case IntegrationHTTPProxy:
		if a.Type == APIWebSocket {
			x.fail(k+".type", "websocket integrations are http or lambda")
			return
		}
		x.proxyURL(k, a, in)
		x.upstreamKeys(k, in)
	case IntegrationHTTP:
		if a.Type == APIHTTP {
			x.fail(k+".type", "use http_proxy for HTTP APIs (type http is the non-proxy integration of REST and WebSocket APIs)")
			return
		}
		if a.Type == APIREST {
			x.proxyURL(k, a, in)
			x.upstreamKeys(k, in)
			break
		}
		if _, ok := httpURL(in.URL); !ok {
			x.fail(k+".url", "want an http(s) URL, got %q", in.URL)
		}
	case IntegrationMock:
		if in.Status < 100 || in.Status > 599 {
			x.fail(k+".status", "want an HTTP status 100-599, got %d", in.Status)
		}
	case IntegrationLambda:
		if _, ok := x.c.Functions[in.Function]; !ok {
			x.fail(k+".function", "no function named %q", in.Function)
		}
		switch in.PayloadFormat {
		case "", PayloadV1, PayloadV2:
		default:
			x.fail(k+".payload_format", "want \"1.0\" or \"2.0\", got %q", in.PayloadFormat)
		}
		if in.PayloadFormat == PayloadV2 && a.Type == APIREST {
			x.fail(k+".payload_format", "REST APIs send payload format 1.0")
		}
	case "":
		x.fail(k+".type", "required (http_proxy, lambda or mock)")
	default:
		x.fail(k+".type", "want http_proxy, lambda or mock, got %q", in.Type)
	}
	if in.Timeout.D() < 50*time.Millisecond {
		x.fail(k+".timeout", "at least 50ms, got %s", in.Timeout.D())
	}
	x.templated(k, a, in)
}

// upstreamKeys checks the keys an integration calling an HTTP upstream
// shares with http_proxy.
func (x *validator) upstreamKeys(k string, in *Integration) {
	switch in.Balance {
	case "", BalanceRoundRobin, BalanceLeastConn:
	default:
		x.fail(k+".balance", "want round_robin or least_conn, got %q", in.Balance)
	}
	if in.Retries < 0 {
		x.fail(k+".retries", "must not be negative")
	}
	if hc := in.HealthCheck; hc != nil {
		if !strings.HasPrefix(hc.Path, "/") {
			x.fail(k+".health_check.path", "want a path starting with /, got %q", hc.Path)
		}
		if hc.Interval != 0 && hc.Interval.D() < 100*time.Millisecond {
			x.fail(k+".health_check.interval", "at least 100ms, got %s", hc.Interval.D())
		}
	}
	for i, t := range in.Targets {
		if _, ok := httpURL(t); !ok {
			x.fail(fmt.Sprintf("%s.targets[%d]", k, i), "want an origin like http://host:port, got %q", t)
		}
	}
}

// proxyURL checks the URL template once per stage, with that stage's
// variables substituted.
func (x *validator) proxyURL(k string, a *API, in *Integration) {
	if in.URL == "" {
		x.fail(k+".url", "required")
		return
	}
	stages := sortedKeys(a.Stages)
	if len(stages) == 0 {
		stages = []string{DefaultStage}
	}
	for _, s := range stages {
		raw, missing := SubstituteStageVars(in.URL, a.Stages[s].Variables)
		if missing != "" {
			x.fail(k+".url", "stage %q has no variable %q", s, missing)
			continue
		}
		u, ok := httpURL(raw)
		if !ok {
			x.fail(k+".url", "stage %q: want an http(s) URL, got %q", s, raw)
			continue
		}
		if err := checkTemplate(u.Path); err != "" {
			x.fail(k+".url", "path %q: %s", u.Path, err)
		}
	}
}

// checkTemplate checks the {name} variables of an upstream URL path (a
// percent-encoded brace counts as a brace): each opens, names a variable,
// and closes, one at a time. It returns what is wrong, or "".
func checkTemplate(path string) string {
	open := -1
	for i := 0; i < len(path); i++ {
		switch path[i] {
		case '{':
			if open >= 0 {
				return "a { inside a {variable}"
			}
			open = i
		case '}':
			switch {
			case open < 0:
				return "a } without its {"
			case i == open+1:
				return "an empty {}"
			}
			open = -1
		}
	}
	if open >= 0 {
		return "a { without its }"
	}
	return ""
}

// SubstituteStageVars replaces ${stageVariables.x}; missing names the first
// variable that is not defined.
func SubstituteStageVars(s string, vars map[string]string) (out, missing string) {
	out = stageVarRE.ReplaceAllStringFunc(s, func(m string) string {
		name := stageVarRE.FindStringSubmatch(m)[1]
		val, ok := vars[name]
		if !ok && missing == "" {
			missing = name
		}
		return val
	})
	return out, missing
}

// MaxServerHeader bounds server.server_header, a product name and version.
const MaxServerHeader = 256

// checkServerHeader accepts a header value of visible ASCII and inner
// spaces: anything else could split or corrupt the response head.
func checkServerHeader(v string) error {
	if len(v) > MaxServerHeader {
		return fmt.Errorf("at most %d bytes, got %d", MaxServerHeader, len(v))
	}
	if strings.TrimSpace(v) != v {
		return fmt.Errorf("no leading or trailing white space, got %q", v)
	}
	for i := 0; i < len(v); i++ {
		if v[i] < 0x20 || v[i] > 0x7e {
			return fmt.Errorf("visible ASCII characters and spaces only, got %q", v)
		}
	}
	return nil
}

func (x *validator) tracing() {
	t := x.c.Tracing
	if t.OTLPEndpoint != "" {
		u, err := url.Parse(t.OTLPEndpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			x.fail("tracing.otlp_endpoint", "want an http:// or https:// URL, got %q", t.OTLPEndpoint)
		}
	}
	if r := t.SampleRatio; r != nil && (*r < 0 || *r > 1 || *r != *r) {
		x.fail("tracing.sample_ratio", "want a number from 0 to 1, got %v", *r)
	}
	for name := range t.Headers {
		if name == "" || strings.ContainsAny(name, " \t\r\n:") {
			x.fail("tracing.headers", "header name %q is not a token", name)
		}
	}
}

// MaxBinaryMediaTypes bounds apis.NAME.binary_media_types.
const MaxBinaryMediaTypes = 100

// binaryMediaTypes checks a REST API's binary_media_types: each entry is
// "type/subtype", either part a token or "*".
func (x *validator) binaryMediaTypes(key string, a *API) {
	if len(a.BinaryMediaTypes) == 0 {
		return
	}
	k := key + ".binary_media_types"
	if a.Type != APIREST {
		x.fail(k, "applies to rest APIs only (HTTP APIs decide by Content-Type)")
		return
	}
	if len(a.BinaryMediaTypes) > MaxBinaryMediaTypes {
		x.fail(k, "at most %d media types, got %d", MaxBinaryMediaTypes, len(a.BinaryMediaTypes))
	}
	for i, mt := range a.BinaryMediaTypes {
		t, sub, ok := strings.Cut(mt, "/")
		if !ok || !isToken(t) || !isToken(sub) {
			x.fail(fmt.Sprintf("%s[%d]", k, i), "want type/subtype (either part may be *), got %q", mt)
		}
	}
}

// isToken reports an RFC 9110 token; "*" is one.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}

// functionRuntime checks the SAM-style keys of a local function.
func (x *validator) functionRuntime(key string, f Function) {
	if f.Runtime != "" {
		fam := f.Runtime.Family()
		switch {
		case fam == "":
			x.fail(key+".runtime", "want python3.x, nodejsN.x, provided.al2, provided.al2023 or go1.x, got %q", f.Runtime)
		case fam != RuntimeFamilyProvided && f.Handler == "":
			x.fail(key+".handler", "required for runtime %s (module.function, e.g. app.handler)", f.Runtime)
		case fam != RuntimeFamilyProvided && !strings.Contains(f.Handler, "."):
			x.fail(key+".handler", "want module.function (e.g. app.handler), got %q", f.Handler)
		}
		if f.CodeURI == "" {
			x.fail(key+".code_uri", "required with runtime: the directory of the function's code")
		}
	} else if f.Handler != "" && len(f.Command) == 0 {
		x.fail(key+".handler", "only with runtime or command")
	}
	if f.InvokeURL != "" && f.CodeURI != "" {
		x.fail(key+".code_uri", "only for local functions (runtime or command)")
	}
	if f.MemorySize < 128 || f.MemorySize > 10240 {
		x.fail(key+".memory_size", "want 128 to 10240 (MB), got %d", f.MemorySize)
	}
	switch f.RuntimeClient {
	case RuntimeClientBundled, RuntimeClientOfficial:
	default:
		x.fail(key+".runtime_client", "want bundled or official, got %q", f.RuntimeClient)
	}
	for _, k := range sortedKeys(f.Environment) {
		if _, dup := f.Env[k]; dup {
			x.fail(key+".environment."+k, "also set in env: set each variable once")
		}
	}
}

// cluster checks the cluster block. Any key of it without redis is an
// error rather than a silent single-instance run.
func (x *validator) cluster() {
	c := &x.c.Cluster
	if !c.Enabled() {
		if c.Password != "" || c.Username != "" || c.InstanceID != "" || c.SyncInterval != 0 || c.OnRedisDown != (ClusterOnDown{}) {
			x.fail("cluster.redis", "required when the cluster block sets anything")
		}
		return
	}
	if len(c.Redis) == 1 {
		if err := checkRedisAddr(c.Redis[0], true); err != nil {
			x.fail("cluster.redis", "%v", err)
		}
	} else {
		for i, a := range c.Redis {
			if err := checkRedisAddr(a, false); err != nil {
				x.fail(fmt.Sprintf("cluster.redis[%d]", i), "%v", err)
			}
		}
	}
	if len(c.InstanceID) > 128 || strings.ContainsAny(c.InstanceID, " \t\r\n{}") {
		x.fail("cluster.instance_id", "at most 128 characters without spaces or braces, got %q", c.InstanceID)
	}
	if d := c.SyncInterval.D(); d < MinSyncInterval || d > MaxSyncInterval {
		x.fail("cluster.sync_interval", "between %v and %v, got %v", MinSyncInterval, MaxSyncInterval, d)
	}
	for key, v := range map[string]string{"cluster.on_redis_down.throttles": c.OnRedisDown.Throttles, "cluster.on_redis_down.quotas": c.OnRedisDown.Quotas} {
		if v != FailOpen && v != FailClosed {
			x.fail(key, "want fail_open or fail_closed, got %q", v)
		}
	}
}

// checkRedisAddr checks one cluster.redis entry: a URL, or (in a list of
// Redis Cluster seeds) a plain host:port.
func checkRedisAddr(s string, single bool) error {
	if s == "" {
		return fmt.Errorf("empty address")
	}
	if !strings.Contains(s, "://") {
		if single {
			return fmt.Errorf("want a redis://, rediss:// or redis-sentinel:// URL, got %q", s)
		}
		if _, _, err := net.SplitHostPort(s); err != nil {
			return fmt.Errorf("want host:port, got %q", s)
		}
		return nil
	}
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("bad URL: %v", err)
	}
	switch u.Scheme {
	case "redis", "rediss":
	case "redis-sentinel":
		if !single {
			return fmt.Errorf("a Sentinel URL cannot be one of several seeds")
		}
		if strings.Trim(u.Path, "/") == "" {
			return fmt.Errorf("redis-sentinel URL needs the master name as its path: redis-sentinel://host:26379/mymaster")
		}
	default:
		return fmt.Errorf("want scheme redis, rediss or redis-sentinel, got %q", u.Scheme)
	}
	if u.Host == "" {
		return fmt.Errorf("URL %q has no host", s)
	}
	return nil
}
