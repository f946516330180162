package controlplane

import (
	"sort"
	"strings"
	"time"

	"github.com/frontdeskgw/frontdesk/config"
)

// HostSuffix follows a created API's id in the Host its data plane is
// selected by, as {api-id}.execute-api.{region}.amazonaws.com is on AWS.
const HostSuffix = ".execute-api.localhost"

// extend adds st to c as the file's own keys would: each created API under
// its id, served on the host {id}.execute-api.localhost with its stages in
// the path, its latest deployment's routes on every stage; API keys under
// their names; usage plans under their ids. An API without a stage or a
// deployment is served nowhere, as on AWS. With all set every API is
// added with its current routes: the check of a change.
func extend(c *config.Config, st *State, all bool, imports *importCache) {
	if c.APIs == nil {
		c.APIs = map[string]*config.API{}
	}
	for id, rec := range st.APIs {
		if all {
			c.APIs[id] = apiConfig(rec, rec.Routes, rec.Integrations, rec.Authorizers)
			continue
		}
		if len(rec.Stages) == 0 || rec.Deployed == nil {
			continue
		}
		d := rec.Deployed
		c.APIs[id] = apiConfig(rec, d.Routes, d.Integrations, d.Authorizers)
	}
	extendRest(c, st, all, imports)
	if len(st.Plans) > 0 && c.UsagePlans == nil {
		c.UsagePlans = map[string]config.UsagePlan{}
	}
	planOf := map[string]string{}
	for _, id := range sortedIDs(st.Plans) {
		p := st.Plans[id]
		cp := config.UsagePlan{}
		if p.Throttle != nil {
			cp.Throttle = &config.Throttle{Rate: p.Throttle.RateLimit, Burst: p.Throttle.BurstLimit}
		}
		if p.Quota != nil {
			cp.Quota = &config.Quota{Limit: p.Quota.Limit, Period: config.QuotaPeriod(strings.ToLower(p.Quota.Period))}
		}
		seen := map[string]bool{}
		for _, as := range p.APIStages {
			name := apiName(c, as.APIID)
			if name == "" || seen[name] {
				continue
			}
			if _, ok := c.APIs[name]; !ok {
				continue // a created API without a stage: nothing to cover yet
			}
			seen[name] = true
			cp.APIs = append(cp.APIs, name)
		}
		c.UsagePlans[id] = cp
		for _, k := range p.Keys {
			planOf[k] = id
		}
	}
	for _, id := range sortedIDs(st.Keys) {
		k := st.Keys[id]
		enabled := k.Enabled
		c.APIKeys = append(c.APIKeys, config.APIKey{Name: k.Name, Value: k.Value, Plan: planOf[id], Enabled: &enabled})
	}
}

// apiName is the config name of the API with id: a created API's name is
// its id, a file API's id is config.APIID of its name.
func apiName(c *config.Config, id string) string {
	if _, ok := c.APIs[id]; ok {
		return id
	}
	for name := range c.APIs {
		if config.APIID(name) == id {
			return name
		}
	}
	return ""
}

func apiConfig(rec *apiRecord, routes map[string]*Route, integrations map[string]*Integration, authorizers map[string]*Authorizer) *config.API {
	a := &config.API{Hosts: []string{rec.API.APIID + HostSuffix}, BasePath: "/",
		Stages: map[string]config.Stage{}, Integrations: map[string]*config.Integration{},
		Routes: map[string]*config.Route{}, Authorizers: map[string]config.Authorizer{}}
	ws := rec.API.ProtocolType == "WEBSOCKET"
	if ws {
		a.Type = config.APIWebSocket
		a.RouteSelection = rec.API.RouteSelectionExpression
	} else {
		a.Type = config.APIHTTP
	}
	if cors := rec.API.CorsConfiguration; cors != nil {
		a.CORS = &config.CORS{AllowOrigins: cors.AllowOrigins, AllowMethods: cors.AllowMethods, AllowHeaders: cors.AllowHeaders,
			ExposeHeaders: cors.ExposeHeaders, MaxAge: cors.MaxAge, AllowCredentials: cors.AllowCredentials}
	}
	for name, s := range rec.Stages {
		cs := config.Stage{Variables: s.StageVariables}
		if rs := s.DefaultRouteSettings; rs != nil && rs.ThrottlingRateLimit > 0 && rs.ThrottlingBurstLimit > 0 && !ws {
			cs.Throttle = &config.Throttle{Rate: rs.ThrottlingRateLimit, Burst: rs.ThrottlingBurstLimit}
		}
		a.Stages[name] = cs
	}
	for id, in := range integrations {
		a.Integrations[id] = integrationConfig(in, ws)
	}
	for id, au := range authorizers {
		ca := config.Authorizer{IdentitySource: config.StrList(au.IdentitySource)}
		switch au.AuthorizerType {
		case "JWT":
			ca.Type = config.AuthorizerJWT
			if j := au.JWTConfiguration; j != nil {
				ca.Issuer, ca.Audience = j.Issuer, j.Audience
			}
		default:
			ca.Type = config.AuthorizerLambda
			ca.Function = functionName(au.AuthorizerURI)
			ca.PayloadFormat = config.PayloadFormat(au.AuthorizerPayloadFormatVersion)
			ca.TTL = config.Duration(time.Duration(au.AuthorizerResultTTLInSeconds) * time.Second)
			simple := au.EnableSimpleResponses
			ca.SimpleResponses = &simple
		}
		a.Authorizers[id] = ca
	}
	for _, r := range routes {
		target, ok := strings.CutPrefix(r.Target, "integrations/")
		if !ok {
			continue // no integration: the route is not served, as on AWS
		}
		cr := &config.Route{Integration: target, APIKey: r.APIKeyRequired}
		for _, rr := range r.RouteResponses {
			cr.Reply = cr.Reply || rr.RouteResponseKey == "$default"
		}
		if r.AuthorizationType == "JWT" || r.AuthorizationType == "CUSTOM" {
			cr.Authorizer = r.AuthorizerID
			cr.Scopes = r.AuthorizationScopes
		}
		a.Routes[r.RouteKey] = cr
	}
	return a
}

func integrationConfig(in *Integration, ws bool) *config.Integration {
	ci := &config.Integration{PayloadFormat: config.PayloadFormat(in.PayloadFormatVersion),
		Timeout:           config.Duration(time.Duration(in.TimeoutInMillis) * time.Millisecond),
		RequestParameters: in.RequestParameters, ResponseParameters: in.ResponseParameters}
	switch in.IntegrationType {
	case "HTTP_PROXY", "HTTP":
		ci.Type, ci.URL = config.IntegrationHTTPProxy, in.IntegrationURI
		if ws {
			ci.Type = config.IntegrationHTTP
		}
	case "AWS_PROXY", "AWS":
		ci.Type, ci.Function = config.IntegrationLambda, functionName(in.IntegrationURI)
	case "MOCK":
		ci.Type = config.IntegrationMock
	}
	if ws {
		ci.PayloadFormat = ""
		if in.IntegrationType == "HTTP" || in.IntegrationType == "MOCK" {
			templated(ci, in)
		}
	}
	return ci
}

// templated gives a WebSocket HTTP or MOCK integration its mapping
// templates and its integration responses, $default last (the config
// tries responses in order and takes the one without selection_pattern
// when none matches).
func templated(ci *config.Integration, in *Integration) {
	ci.RequestTemplates = in.RequestTemplates
	ci.TemplateSelectionExpression = in.TemplateSelectionExpression
	ci.PassthroughBehavior = config.PassthroughBehavior(strings.ToLower(in.PassthroughBehavior))
	var def *config.IntegrationResponse
	for _, id := range sortedIDs(in.IntegrationResponses) {
		ir := in.IntegrationResponses[id]
		pattern, err := selectionPattern(ir.IntegrationResponseKey)
		if err != nil {
			continue // checked when made: cannot happen
		}
		cr := config.IntegrationResponse{SelectionPattern: pattern, ResponseTemplates: responseTemplates(ir)}
		if pattern == "" {
			def = &cr
			continue
		}
		ci.Responses = append(ci.Responses, cr)
	}
	if def != nil {
		ci.Responses = append(ci.Responses, *def)
	}
}

// responseTemplates are ir's templates as the config takes them: the
// config uses the $default one, so the template the response's (fixed)
// TemplateSelectionExpression names becomes $default, as AWS would pick
// it.
func responseTemplates(ir *IntegrationResponse) map[string]string {
	key := strings.ReplaceAll(ir.TemplateSelectionExpression, `\$`, "$")
	if t, ok := ir.ResponseTemplates[key]; ok && key != "" && key != "$default" {
		return map[string]string{"$default": t}
	}
	return ir.ResponseTemplates
}

// functionName is the functions: entry a Lambda ARN, an invocation URI
// (arn:aws:apigateway:…/functions/ARN/invocations) or a plain name names.
func functionName(uri string) string {
	if i := strings.Index(uri, "/functions/"); i >= 0 {
		uri = strings.TrimSuffix(uri[i+len("/functions/"):], "/invocations")
	}
	if i := strings.Index(uri, ":function:"); i >= 0 {
		uri = uri[i+len(":function:"):]
		if j := strings.IndexByte(uri, ':'); j >= 0 {
			uri = uri[:j] // a version or alias qualifier
		}
	}
	return uri
}

func sortedIDs[T any](m map[string]T) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
