package controlplane

import (
	"encoding/json"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/frontdeskgw/frontdesk/config"
	"github.com/frontdeskgw/frontdesk/router"
	"github.com/valyala/fasthttp"
)

// items is the list answer of apigatewayv2.
type items[T any] struct {
	Items     []T    `json:"items"`
	NextToken string `json:"nextToken,omitempty"`
}

// itemsByID lists m's values in the order of their ids, as one page.
func itemsByID[T any](m map[string]*T) items[*T] {
	out := items[*T]{Items: make([]*T, 0, len(m))}
	for _, id := range sortedIDs(m) {
		out.Items = append(out.Items, m[id])
	}
	return out
}

func (s *Service) routesV2() {
	r := s.router
	r.GET("/v2/apis", s.getAPIs)
	r.POST("/v2/apis", s.createAPI)
	r.GET("/v2/apis/{apiId}", s.getAPI)
	r.PATCH("/v2/apis/{apiId}", s.updateAPI)
	r.DELETE("/v2/apis/{apiId}", s.deleteAPI)
	r.PUT("/v2/apis", s.importAPI)
	r.PUT("/v2/apis/{apiId}", s.reimportAPI)
	registerChild(s, routeKind)
	registerChild(s, integrationKind)
	registerChild(s, authorizerKind)
	registerChild(s, deploymentKind)
	registerChild(s, stageKind)
	r.GET("/v2/apis/{apiId}/exports/{specification}", s.exportAPI)
	r.GET("/v2/apis/{apiId}/routes/{routeId}/routeresponses", s.getRouteResponses)
	r.POST("/v2/apis/{apiId}/routes/{routeId}/routeresponses", s.createRouteResponse)
	r.GET("/v2/apis/{apiId}/routes/{routeId}/routeresponses/{routeResponseId}", s.getRouteResponse)
	r.PATCH("/v2/apis/{apiId}/routes/{routeId}/routeresponses/{routeResponseId}", s.updateRouteResponse)
	r.DELETE("/v2/apis/{apiId}/routes/{routeId}/routeresponses/{routeResponseId}", s.deleteRouteResponse)
	s.routesIntegrationResponses()
}

// route finds a route of a created API (for a change) or of any API.
func (s *Service) route(st *State, file *config.Config, ctx *fasthttp.RequestCtx, change bool) (*Route, error) {
	var rec *apiRecord
	var err error
	if change {
		rec, err = s.created(st, file, param(ctx, "apiId"))
	} else {
		rec, err = s.readable(st, file, param(ctx, "apiId"))
	}
	if err != nil {
		return nil, err
	}
	if rec != nil {
		if r := rec.Routes[param(ctx, "routeId")]; r != nil {
			return r, nil
		}
	}
	return nil, notFound("Invalid Route identifier specified %s", param(ctx, "routeId"))
}

func (s *Service) getRouteResponses(ctx *fasthttp.RequestCtx) {
	s.read(ctx, func(st *State, file *config.Config) (any, error) {
		r, err := s.route(st, file, ctx, false)
		if err != nil {
			return nil, err
		}
		return itemsByID(r.RouteResponses), nil
	})
}

func (s *Service) getRouteResponse(ctx *fasthttp.RequestCtx) {
	s.read(ctx, func(st *State, file *config.Config) (any, error) {
		r, err := s.route(st, file, ctx, false)
		if err != nil {
			return nil, err
		}
		if rr := r.RouteResponses[param(ctx, "routeResponseId")]; rr != nil {
			return rr, nil
		}
		return nil, notFound("Invalid RouteResponse identifier specified %s", param(ctx, "routeResponseId"))
	})
}

func (s *Service) createRouteResponse(ctx *fasthttp.RequestCtx) {
	s.change(ctx, 201, func(st *State, file *config.Config) (any, error) {
		rec, err := s.created(st, file, param(ctx, "apiId"))
		if err != nil {
			return nil, err
		}
		if rec.API.ProtocolType != "WEBSOCKET" {
			return nil, badRequest("Route responses are supported for WebSocket APIs only")
		}
		r, err := s.route(st, file, ctx, true)
		if err != nil {
			return nil, err
		}
		var rr RouteResponse
		if err := decode(ctx, &rr); err != nil {
			return nil, err
		}
		if rr.RouteResponseKey != "$default" {
			return nil, badRequest("Invalid route response key %q: frontdesk supports $default", rr.RouteResponseKey)
		}
		for _, o := range r.RouteResponses {
			if o.RouteResponseKey == rr.RouteResponseKey {
				return nil, conflict("Route response with key %s already exists for this route", rr.RouteResponseKey)
			}
		}
		rr.RouteResponseID = newID(6)
		if r.RouteResponses == nil {
			r.RouteResponses = map[string]*RouteResponse{}
		}
		r.RouteResponses[rr.RouteResponseID] = &rr
		autoDeploy(rec)
		return &rr, nil
	})
}

func (s *Service) updateRouteResponse(ctx *fasthttp.RequestCtx) {
	s.change(ctx, 200, func(st *State, file *config.Config) (any, error) {
		rec, err := s.created(st, file, param(ctx, "apiId"))
		if err != nil {
			return nil, err
		}
		r, err := s.route(st, file, ctx, true)
		if err != nil {
			return nil, err
		}
		id := param(ctx, "routeResponseId")
		rr, err := patchedItem(r.RouteResponses, id, "RouteResponse", ctx, true)
		if err != nil {
			return nil, err
		}
		rr.RouteResponseID = id
		if rr.RouteResponseKey != "$default" {
			return nil, badRequest("Invalid route response key %q: frontdesk supports $default", rr.RouteResponseKey)
		}
		r.RouteResponses[id] = rr
		autoDeploy(rec)
		return rr, nil
	})
}

func (s *Service) deleteRouteResponse(ctx *fasthttp.RequestCtx) {
	s.change(ctx, 204, func(st *State, file *config.Config) (any, error) {
		rec, err := s.created(st, file, param(ctx, "apiId"))
		if err != nil {
			return nil, err
		}
		r, err := s.route(st, file, ctx, true)
		if err != nil {
			return nil, err
		}
		id := param(ctx, "routeResponseId")
		if r.RouteResponses[id] == nil {
			return nil, notFound("Invalid RouteResponse identifier specified %s", id)
		}
		delete(r.RouteResponses, id)
		autoDeploy(rec)
		return nil, nil
	})
}

func now() time.Time { return time.Now().UTC().Truncate(time.Second) }

// view is rec's API as answered, with its endpoint.
func (s *Service) view(rec *apiRecord) API {
	a := rec.API
	a.APIEndpoint = s.opts.Endpoint(a.APIID+HostSuffix, a.ProtocolType == "WEBSOCKET")
	return a
}

// fileAPIs are the HTTP and WebSocket APIs of the config file, as listed:
// ids from config.APIID, read-only (apiGatewayManaged, tagged).
func (s *Service) fileAPIs(file *config.Config) []API {
	var out []API
	for name, a := range file.APIs {
		if _, created := s.state.Load().APIs[name]; created {
			continue
		}
		var proto string
		switch a.Type {
		case config.APIHTTP:
			proto = "HTTP"
		case config.APIWebSocket:
			proto = "WEBSOCKET"
		default:
			continue // REST APIs are not apigatewayv2 APIs
		}
		host := ""
		if len(a.Hosts) > 0 {
			host = a.Hosts[0]
		}
		v := API{APIID: config.APIID(name), Name: name, ProtocolType: proto, CreatedDate: s.started, APIGatewayManaged: true,
			Tags: fileTag, RouteSelectionExpression: a.RouteSelection,
			APIEndpoint: s.opts.Endpoint(host, proto == "WEBSOCKET") + strings.TrimSuffix(a.BasePath, "/")}
		if proto == "HTTP" {
			v.RouteSelectionExpression = "$request.method $request.path"
		}
		out = append(out, v)
	}
	return out
}

func (s *Service) fileAPI(file *config.Config, id string) (API, bool) {
	for _, a := range s.fileAPIs(file) {
		if a.APIID == id {
			return a, true
		}
	}
	return API{}, false
}

// created finds a created API for a change; a file API is read-only.
func (s *Service) created(st *State, file *config.Config, id string) (*apiRecord, error) {
	if rec := st.APIs[id]; rec != nil {
		return rec, nil
	}
	if _, ok := s.fileAPI(file, id); ok {
		return nil, readOnly("API", id, file.File)
	}
	return nil, notFound("Invalid API identifier specified %s", id)
}

func (s *Service) getAPIs(ctx *fasthttp.RequestCtx) {
	s.read(ctx, func(st *State, file *config.Config) (any, error) {
		all := s.fileAPIs(file)
		for _, rec := range st.APIs {
			all = append(all, s.view(rec))
		}
		q := ctx.QueryArgs()
		list, next, err := page(all, func(a API) string { return a.APIID }, string(q.Peek("nextToken")), string(q.Peek("maxResults")), 100)
		return items[API]{Items: list, NextToken: next}, err
	})
}

func (s *Service) getAPI(ctx *fasthttp.RequestCtx) {
	s.read(ctx, func(st *State, file *config.Config) (any, error) {
		id := param(ctx, "apiId")
		if rec := st.APIs[id]; rec != nil {
			return s.view(rec), nil
		}
		if a, ok := s.fileAPI(file, id); ok {
			return a, nil
		}
		return nil, notFound("Invalid API identifier specified %s", id)
	})
}

// createAPIInput is CreateApi's body: an API, and the quick-create
// fields frontdesk does not take.
type createAPIInput struct {
	API
	Target         string `json:"target"`
	RouteKey       string `json:"routeKey"`
	CredentialsArn string `json:"credentialsArn"`
}

func (s *Service) createAPI(ctx *fasthttp.RequestCtx) {
	s.change(ctx, 201, func(st *State, file *config.Config) (any, error) {
		var in createAPIInput
		if err := decode(ctx, &in); err != nil {
			return nil, err
		}
		if (in.RouteKey != "" || in.CredentialsArn != "") && in.Target == "" {
			return nil, badRequest("RouteKey and CredentialsArn are for quick create: set Target too")
		}
		if err := limit(len(st.APIs), MaxAPIs, "APIs"); err != nil {
			return nil, err
		}
		a := in.API
		a.APIID, a.CreatedDate, a.APIEndpoint, a.APIGatewayManaged, a.Warnings = s.freeID(st, file), now(), "", false, nil
		if err := checkAPI(&a); err != nil {
			return nil, err
		}
		rec := &apiRecord{API: a}
		st.APIs[a.APIID] = rec
		st.fill()
		if in.Target != "" {
			if err := quickCreate(rec, in.Target, in.RouteKey); err != nil {
				return nil, err
			}
		}
		return s.view(rec), nil
	})
}

// quickCreate adds what CreateApi's Target asks for, as AWS does: an
// integration to the target (a Lambda ARN: AWS_PROXY; a URL:
// HTTP_PROXY), a route (routeKey, default $default) to it and an
// auto-deploying $default stage, all marked apiGatewayManaged.
func quickCreate(rec *apiRecord, target, routeKey string) error {
	if rec.API.ProtocolType != "HTTP" {
		return badRequest("Quick create (Target) is supported for HTTP APIs only")
	}
	in := &Integration{IntegrationID: newID(7), IntegrationURI: target, IntegrationType: "HTTP_PROXY", APIGatewayManaged: true}
	if strings.HasPrefix(target, "arn:") {
		in.IntegrationType = "AWS_PROXY"
	}
	if err := integrationKind.prepare(rec, in, nil, nil); err != nil {
		return err
	}
	in.APIGatewayManaged = true
	if routeKey == "" {
		routeKey = "$default"
	}
	r := &Route{RouteID: newID(7), RouteKey: routeKey, Target: "integrations/" + in.IntegrationID}
	rec.Integrations[in.IntegrationID] = in
	if err := routeKind.prepare(rec, r, nil, nil); err != nil {
		return err
	}
	r.APIGatewayManaged = true
	rec.Routes[r.RouteID] = r
	ts := now()
	rec.Stages[config.DefaultStage] = &Stage{StageName: config.DefaultStage, AutoDeploy: true, APIGatewayManaged: true, CreatedDate: ts, LastUpdatedDate: ts}
	autoDeploy(rec)
	return nil
}

func checkAPI(a *API) error {
	if a.Name == "" || len(a.Name) > 128 {
		return badRequest("Invalid name: 1 to 128 characters are required")
	}
	switch a.ProtocolType {
	case "HTTP":
		if a.RouteSelectionExpression == "" {
			a.RouteSelectionExpression = "$request.method $request.path"
		}
		if a.RouteSelectionExpression != "$request.method $request.path" {
			return badRequest("Unsupported route selection expression for HTTP APIs: %s", a.RouteSelectionExpression)
		}
	case "WEBSOCKET":
		if a.RouteSelectionExpression == "" {
			return badRequest("RouteSelectionExpression is required for WEBSOCKET APIs")
		}
		if a.CorsConfiguration != nil {
			return badRequest("CORS configuration is supported only for HTTP APIs")
		}
	default:
		return badRequest("Invalid protocol type %q: want HTTP or WEBSOCKET", a.ProtocolType)
	}
	if a.APIKeySelectionExpression == "" {
		a.APIKeySelectionExpression = "$request.header.x-api-key"
	}
	return nil
}

func (s *Service) updateAPI(ctx *fasthttp.RequestCtx) {
	s.change(ctx, 200, func(st *State, file *config.Config) (any, error) {
		rec, err := s.created(st, file, param(ctx, "apiId"))
		if err != nil {
			return nil, err
		}
		a := rec.API
		if err := decode(ctx, &a); err != nil {
			return nil, err
		}
		a.APIID, a.CreatedDate, a.ProtocolType, a.APIEndpoint, a.APIGatewayManaged = rec.API.APIID, rec.API.CreatedDate, rec.API.ProtocolType, "", false
		if err := checkAPI(&a); err != nil {
			return nil, err
		}
		rec.API = a
		return s.view(rec), nil
	})
}

func (s *Service) deleteAPI(ctx *fasthttp.RequestCtx) {
	s.change(ctx, 204, func(st *State, file *config.Config) (any, error) {
		id := param(ctx, "apiId")
		if _, err := s.created(st, file, id); err != nil {
			return nil, err
		}
		delete(st.APIs, id)
		for _, p := range st.Plans {
			p.APIStages = slices.DeleteFunc(p.APIStages, func(as APIStage) bool { return as.APIID == id })
		}
		return nil, nil
	})
}

// kind describes one collection under an API (routes, integrations, …)
// so that its create, get, list, update and delete are written once.
type kind[T any] struct {
	label, path, param string
	idLen, max         int
	coll               func(*apiRecord) map[string]*T
	id                 func(*T) *string
	// prepare fills in and checks a new or changed item (old is nil on
	// create), on st where it will live.
	prepare func(rec *apiRecord, t, old *T, st *State) error
	// inUse says why the item cannot be deleted, or "".
	inUse func(rec *apiRecord, id string) string
	// named: the id comes from the body (stages), not generated.
	named bool
	// onDelete tidies what referred to the deleted item.
	onDelete func(rec *apiRecord, id string)
	// noAutoDeploy: a change here is not a change of the API's routes.
	noAutoDeploy bool
	// replaceMembers: an update replaces each member its body sets whole.
	replaceMembers bool
}

func registerChild[T any](s *Service, k *kind[T]) {
	base := "/v2/apis/{apiId}/" + k.path
	one := base + "/{" + k.param + "}"
	s.router.GET(base, func(ctx *fasthttp.RequestCtx) {
		s.read(ctx, func(st *State, file *config.Config) (any, error) {
			rec, err := s.readable(st, file, param(ctx, "apiId"))
			if err != nil || rec == nil {
				return items[*T]{Items: []*T{}}, err
			}
			all := make([]*T, 0, len(k.coll(rec)))
			for _, t := range k.coll(rec) {
				all = append(all, t)
			}
			q := ctx.QueryArgs()
			list, next, err := page(all, func(t *T) string { return *k.id(t) }, string(q.Peek("nextToken")), string(q.Peek("maxResults")), 100)
			return items[*T]{Items: list, NextToken: next}, err
		})
	})
	s.router.GET(one, func(ctx *fasthttp.RequestCtx) {
		s.read(ctx, func(st *State, file *config.Config) (any, error) {
			rec, err := s.readable(st, file, param(ctx, "apiId"))
			if err != nil {
				return nil, err
			}
			if rec != nil {
				if t := k.coll(rec)[param(ctx, k.param)]; t != nil {
					return t, nil
				}
			}
			return nil, notFound("Invalid %s identifier specified %s", k.label, param(ctx, k.param))
		})
	})
	s.router.POST(base, func(ctx *fasthttp.RequestCtx) {
		s.change(ctx, 201, func(st *State, file *config.Config) (any, error) {
			rec, err := s.created(st, file, param(ctx, "apiId"))
			if err != nil {
				return nil, err
			}
			m := k.coll(rec)
			if err := limit(len(m), k.max, k.path+" in an API"); err != nil {
				return nil, err
			}
			t := new(T)
			if err := decode(ctx, t); err != nil {
				return nil, err
			}
			if !k.named {
				*k.id(t) = newID(k.idLen)
				for m[*k.id(t)] != nil {
					*k.id(t) = newID(k.idLen)
				}
			}
			if err := k.prepare(rec, t, nil, st); err != nil {
				return nil, err
			}
			if m[*k.id(t)] != nil {
				return nil, conflict("%s %s already exists", k.label, *k.id(t))
			}
			m[*k.id(t)] = t
			if !k.noAutoDeploy {
				autoDeploy(rec)
			}
			return t, nil
		})
	})
	s.router.PATCH(one, func(ctx *fasthttp.RequestCtx) {
		s.change(ctx, 200, func(st *State, file *config.Config) (any, error) {
			rec, err := s.created(st, file, param(ctx, "apiId"))
			if err != nil {
				return nil, err
			}
			id := param(ctx, k.param)
			m := k.coll(rec)
			old := m[id]
			t, err := patchedItem(m, id, k.label, ctx, k.replaceMembers)
			if err != nil {
				return nil, err
			}
			*k.id(t) = id
			if err := k.prepare(rec, t, old, st); err != nil {
				return nil, err
			}
			k.coll(rec)[id] = t
			if !k.noAutoDeploy {
				autoDeploy(rec)
			}
			return t, nil
		})
	})
	s.router.DELETE(one, func(ctx *fasthttp.RequestCtx) {
		s.change(ctx, 204, func(st *State, file *config.Config) (any, error) {
			rec, err := s.created(st, file, param(ctx, "apiId"))
			if err != nil {
				return nil, err
			}
			id := param(ctx, k.param)
			if k.coll(rec)[id] == nil {
				return nil, notFound("Invalid %s identifier specified %s", k.label, id)
			}
			if k.inUse != nil {
				if why := k.inUse(rec, id); why != "" {
					return nil, conflict("Cannot delete %s %s: %s", k.label, id, why)
				}
			}
			delete(k.coll(rec), id)
			if k.onDelete != nil {
				k.onDelete(rec, id)
			}
			if !k.noAutoDeploy {
				autoDeploy(rec)
			}
			return nil, nil
		})
	})
}

// patchedItem is items[id] patched by the request's body (see patched), or
// AWS's 404 naming label when there is no such item.
func patchedItem[T any](items map[string]*T, id, label string, ctx *fasthttp.RequestCtx, replace bool) (*T, error) {
	old := items[id]
	if old == nil {
		return nil, notFound("Invalid %s identifier specified %s", label, id)
	}
	return patched(old, ctx, replace)
}

// patched is old updated by the body of ctx: with replace, the members
// the body sets are replaced whole (a requestTemplates map in the body
// replaces the one kept rather than adding to it); otherwise the body is
// decoded over old.
func patched[T any](old *T, ctx *fasthttp.RequestCtx, replace bool) (*T, error) {
	if !replace {
		b, _ := json.Marshal(old)
		t := new(T)
		_ = json.Unmarshal(b, t)
		return t, decode(ctx, t)
	}
	var body map[string]json.RawMessage
	if err := decode(ctx, &body); err != nil {
		return nil, err
	}
	b, _ := json.Marshal(old)
	merged := map[string]json.RawMessage{}
	_ = json.Unmarshal(b, &merged)
	for k, v := range body {
		merged[k] = v
	}
	b, _ = json.Marshal(merged)
	t := new(T)
	if err := json.Unmarshal(b, t); err != nil {
		return nil, badRequest("Could not parse request body into json: %v", err)
	}
	return t, nil
}

// readable finds an API to read from: a created one, or a file API shown
// as a record of its routes, integrations, stages and authorizers.
func (s *Service) readable(st *State, file *config.Config, id string) (*apiRecord, error) {
	if rec := st.APIs[id]; rec != nil {
		return rec, nil
	}
	if a, ok := s.fileAPI(file, id); ok {
		return fileRecord(a, file.APIs[a.Name], s.started), nil
	}
	return nil, notFound("Invalid API identifier specified %s", id)
}

// fileID is the stable id of a part of a file API, derived from the API's
// name and the part's as config.APIID derives an API's.
func fileID(kind, api, name string) string {
	return config.APIID(kind + "\x00" + api + "\x00" + name)[:7]
}

// fileRecord shows a file API's parts as the control plane's records,
// read-only (apiGatewayManaged).
func fileRecord(a API, ca *config.API, created time.Time) *apiRecord {
	rec := &apiRecord{API: a, Routes: map[string]*Route{}, Integrations: map[string]*Integration{},
		Stages: map[string]*Stage{}, Deployments: map[string]*Deployment{}, Authorizers: map[string]*Authorizer{}}
	name := a.Name
	for in, ci := range ca.Integrations {
		if ci == nil {
			continue
		}
		v := &Integration{IntegrationID: fileID("integration", name, in), APIGatewayManaged: true, ConnectionType: "INTERNET",
			PayloadFormatVersion: string(ci.PayloadFormat), TimeoutInMillis: int(ci.Timeout.D() / time.Millisecond), Description: in}
		switch ci.Type {
		case config.IntegrationHTTPProxy, config.IntegrationHTTP:
			v.IntegrationType, v.IntegrationURI = "HTTP_PROXY", ci.URL
			if v.IntegrationURI == "" && len(ci.Targets) > 0 {
				v.IntegrationURI = ci.Targets[0]
			}
		case config.IntegrationLambda:
			v.IntegrationType, v.IntegrationURI = "AWS_PROXY", ci.Function
		case config.IntegrationMock:
			v.IntegrationType = "MOCK"
		}
		if a.ProtocolType == "WEBSOCKET" {
			fileTemplated(v, ci, name, in)
		}
		rec.Integrations[v.IntegrationID] = v
	}
	for an, au := range ca.Authorizers {
		v := &Authorizer{AuthorizerID: fileID("authorizer", name, an), Name: an, IdentitySource: au.IdentitySource,
			AuthorizerPayloadFormatVersion: string(au.PayloadFormat), AuthorizerResultTTLInSeconds: int(au.TTL.D() / time.Second)}
		switch au.Type {
		case config.AuthorizerJWT:
			v.AuthorizerType, v.JWTConfiguration = "JWT", &JWTConfiguration{Issuer: au.Issuer, Audience: au.Audience}
		case config.AuthorizerLambda:
			v.AuthorizerType, v.AuthorizerURI = "REQUEST", au.Function
		default:
			v.AuthorizerType, v.AuthorizerURI = "REQUEST", au.URL
		}
		rec.Authorizers[v.AuthorizerID] = v
	}
	for rk, r := range ca.Routes {
		if r == nil {
			continue
		}
		v := &Route{RouteID: fileID("route", name, rk), RouteKey: rk, APIGatewayManaged: true, APIKeyRequired: r.APIKey,
			Target: "integrations/" + fileID("integration", name, r.Integration), AuthorizationType: "NONE"}
		if r.Authorizer != "" {
			v.AuthorizerID, v.AuthorizationScopes = fileID("authorizer", name, r.Authorizer), r.Scopes
			v.AuthorizationType = "CUSTOM"
			if ca.Authorizers[r.Authorizer].Type == config.AuthorizerJWT {
				v.AuthorizationType = "JWT"
			}
		}
		rec.Routes[v.RouteID] = v
	}
	stages, def := config.StageNames(ca)
	if def {
		stages = append(stages, config.DefaultStage)
	}
	for _, sn := range stages {
		cs := ca.Stages[sn]
		v := &Stage{StageName: sn, AutoDeploy: true, APIGatewayManaged: true, CreatedDate: created, LastUpdatedDate: created, StageVariables: cs.Variables}
		if t := cs.Throttle; t != nil {
			v.DefaultRouteSettings = &RouteSettings{ThrottlingBurstLimit: t.Burst, ThrottlingRateLimit: t.Rate}
		}
		rec.Stages[sn] = v
	}
	return rec
}

// fileTemplated shows a file WebSocket integration's templates and
// responses as apigatewayv2's fields; an http one with templates is the
// non-proxy HTTP type.
func fileTemplated(v *Integration, ci *config.Integration, api, name string) {
	if len(ci.RequestTemplates) == 0 && len(ci.Responses) == 0 {
		return
	}
	if v.IntegrationType == "HTTP_PROXY" {
		v.IntegrationType = "HTTP"
	}
	v.RequestTemplates, v.TemplateSelectionExpression = ci.RequestTemplates, ci.TemplateSelectionExpression
	v.PassthroughBehavior = strings.ToUpper(string(ci.PassthroughBehavior))
	v.IntegrationResponses = map[string]*IntegrationResponse{}
	for i, r := range ci.Responses {
		ir := &IntegrationResponse{IntegrationResponseID: fileID("integrationresponse", api, name+"\x00"+strconv.Itoa(i))[:6],
			IntegrationResponseKey: "$default", ResponseTemplates: r.ResponseTemplates}
		if r.SelectionPattern != "" {
			ir.IntegrationResponseKey = "/" + r.SelectionPattern + "/"
		}
		v.IntegrationResponses[ir.IntegrationResponseID] = ir
	}
}

// autoDeploy deploys the API after a change when a stage auto-deploys,
// recording a deployment on every such stage, as AWS does. Without one,
// changes wait for CreateDeployment.
func autoDeploy(rec *apiRecord) {
	for _, name := range sortedIDs(rec.Stages) {
		st := rec.Stages[name]
		if !st.AutoDeploy {
			continue
		}
		rec.deploy()
		d := &Deployment{DeploymentID: newID(7), AutoDeployed: true, CreatedDate: now(), DeploymentStatus: "DEPLOYED",
			Description: "Automatic deployment triggered by changes to the Api configuration"}
		addDeployment(rec, d)
		st.DeploymentID = d.DeploymentID
		st.LastUpdatedDate = d.CreatedDate
	}
}

// addDeployment records d, dropping the oldest beyond MaxDeployments.
func addDeployment(rec *apiRecord, d *Deployment) {
	trimDeployments(rec, MaxDeployments-1)
	rec.Deployments[d.DeploymentID] = d
}

// trimDeployments drops the oldest deployments no stage points to until
// n are left (or only those stages point to are).
func trimDeployments(rec *apiRecord, n int) {
	used := map[string]bool{}
	for _, st := range rec.Stages {
		used[st.DeploymentID] = true
	}
	for len(rec.Deployments) > n {
		var oldest *Deployment
		for _, x := range rec.Deployments {
			if !used[x.DeploymentID] && (oldest == nil || x.CreatedDate.Before(oldest.CreatedDate)) {
				oldest = x
			}
		}
		if oldest == nil {
			return
		}
		delete(rec.Deployments, oldest.DeploymentID)
	}
}

var routeKind = &kind[Route]{
	label: "Route", path: "routes", param: "routeId", idLen: 7, max: MaxRoutes,
	coll: func(r *apiRecord) map[string]*Route { return r.Routes },
	id:   func(t *Route) *string { return &t.RouteID },
	prepare: func(rec *apiRecord, r, old *Route, _ *State) error {
		r.APIGatewayManaged = false
		r.RouteResponses = nil
		if old != nil {
			r.RouteResponses = old.RouteResponses
		}
		if r.RouteKey == "" {
			return badRequest("RouteKey is required")
		}
		if rec.API.ProtocolType == "HTTP" {
			if _, err := router.ParseKey(r.RouteKey); err != nil {
				return badRequest("Invalid route key %q: %v", r.RouteKey, err)
			}
		} else if strings.HasPrefix(r.RouteKey, "$") && !slices.Contains([]string{"$connect", "$disconnect", "$default"}, r.RouteKey) {
			return badRequest("Invalid route key %q: keys starting with $ are $connect, $disconnect and $default", r.RouteKey)
		}
		for _, o := range rec.Routes {
			if o.RouteKey == r.RouteKey && o.RouteID != r.RouteID {
				return conflict("Unable to create Route. Route with key %s already exists for this API", r.RouteKey)
			}
		}
		if r.Target != "" {
			id, ok := strings.CutPrefix(r.Target, "integrations/")
			if !ok || rec.Integrations[id] == nil {
				return badRequest("Invalid target %q: want integrations/{integrationId} of an integration of this API", r.Target)
			}
		}
		switch r.AuthorizationType {
		case "", "NONE":
			r.AuthorizationType, r.AuthorizerID, r.AuthorizationScopes = "NONE", "", nil
		case "JWT", "CUSTOM":
			au := rec.Authorizers[r.AuthorizerID]
			if au == nil {
				return badRequest("Invalid authorizer id %q", r.AuthorizerID)
			}
			if (au.AuthorizerType == "JWT") != (r.AuthorizationType == "JWT") {
				return badRequest("AuthorizationType %s does not fit authorizer %s of type %s", r.AuthorizationType, au.AuthorizerID, au.AuthorizerType)
			}
		default:
			return badRequest("Unsupported AuthorizationType %q: want NONE, JWT or CUSTOM", r.AuthorizationType)
		}
		return nil
	},
}

var integrationKind = &kind[Integration]{
	label: "Integration", path: "integrations", param: "integrationId", idLen: 7, max: MaxIntegrations, replaceMembers: true,
	coll: func(r *apiRecord) map[string]*Integration { return r.Integrations },
	id:   func(t *Integration) *string { return &t.IntegrationID },
	prepare: func(rec *apiRecord, in, old *Integration, _ *State) error {
		in.APIGatewayManaged = false
		in.IntegrationResponses = nil
		if old != nil {
			in.IntegrationResponses = old.IntegrationResponses
		}
		ws := rec.API.ProtocolType == "WEBSOCKET"
		if err := checkTemplated(in, ws); err != nil {
			return err
		}
		if err := checkAPITemplates(rec, in); err != nil {
			return err
		}
		switch in.IntegrationType {
		case "HTTP_PROXY":
			if in.IntegrationMethod == "" {
				in.IntegrationMethod = "ANY"
			}
		case "AWS_PROXY":
			if in.IntegrationMethod == "" {
				in.IntegrationMethod = "POST"
			}
		case "MOCK", "HTTP":
			if !ws {
				return badRequest("Integration type %s is supported for WebSocket APIs only", in.IntegrationType)
			}
		case "":
			return badRequest("IntegrationType is required")
		default:
			return badRequest("Unsupported integration type %q: want HTTP_PROXY, AWS_PROXY, or for WebSocket APIs HTTP and MOCK", in.IntegrationType)
		}
		if in.IntegrationType != "MOCK" && in.IntegrationURI == "" {
			return badRequest("IntegrationUri is required for %s integrations", in.IntegrationType)
		}
		if in.ConnectionType == "" {
			in.ConnectionType = "INTERNET"
		}
		if in.TimeoutInMillis != 0 && (in.TimeoutInMillis < 50 || in.TimeoutInMillis > 30000) {
			return badRequest("TimeoutInMillis must be between 50 and 30000")
		}
		if !ws && in.PayloadFormatVersion == "" {
			in.PayloadFormatVersion = "1.0"
			if in.IntegrationType == "AWS_PROXY" {
				in.PayloadFormatVersion = "2.0"
			}
		}
		return nil
	},
	inUse: func(rec *apiRecord, id string) string {
		for _, r := range rec.Routes {
			if r.Target == "integrations/"+id {
				return "route " + r.RouteKey + " targets it"
			}
		}
		return ""
	},
}

var authorizerKind = &kind[Authorizer]{
	label: "Authorizer", path: "authorizers", param: "authorizerId", idLen: 7, max: MaxAuthorizers,
	coll: func(r *apiRecord) map[string]*Authorizer { return r.Authorizers },
	id:   func(t *Authorizer) *string { return &t.AuthorizerID },
	prepare: func(rec *apiRecord, au, _ *Authorizer, _ *State) error {
		if au.Name == "" {
			return badRequest("Name is required")
		}
		switch au.AuthorizerType {
		case "JWT":
			if au.JWTConfiguration == nil || au.JWTConfiguration.Issuer == "" {
				return badRequest("JwtConfiguration.Issuer is required for JWT authorizers")
			}
		case "REQUEST":
			if au.AuthorizerURI == "" {
				return badRequest("AuthorizerUri is required for REQUEST authorizers")
			}
			if au.AuthorizerPayloadFormatVersion == "" && rec.API.ProtocolType == "HTTP" {
				au.AuthorizerPayloadFormatVersion = "2.0"
			}
		default:
			return badRequest("Unsupported authorizer type %q: want JWT or REQUEST", au.AuthorizerType)
		}
		if au.AuthorizerResultTTLInSeconds < 0 || au.AuthorizerResultTTLInSeconds > 3600 {
			return badRequest("AuthorizerResultTtlInSeconds must be between 0 and 3600")
		}
		return nil
	},
	inUse: func(rec *apiRecord, id string) string {
		for _, r := range rec.Routes {
			if r.AuthorizerID == id {
				return "route " + r.RouteKey + " uses it"
			}
		}
		return ""
	},
}

var deploymentKind = &kind[Deployment]{
	label: "Deployment", path: "deployments", param: "deploymentId", idLen: 7, max: MaxDeployments + 1, noAutoDeploy: true,
	coll: func(r *apiRecord) map[string]*Deployment { return r.Deployments },
	id:   func(t *Deployment) *string { return &t.DeploymentID },
	prepare: func(rec *apiRecord, d, old *Deployment, _ *State) error {
		if old != nil {
			d.CreatedDate, d.AutoDeployed, d.DeploymentStatus = old.CreatedDate, old.AutoDeployed, old.DeploymentStatus
			return nil
		}
		d.CreatedDate, d.DeploymentStatus, d.AutoDeployed = now(), "DEPLOYED", false
		if len(rec.Routes) == 0 {
			return badRequest("Unable to deploy API because no routes exist in this API")
		}
		trimDeployments(rec, MaxDeployments-1)
		rec.deploy()
		if d.StageName != "" {
			st := rec.Stages[d.StageName]
			if st == nil {
				return badRequest("Invalid stage identifier specified %s", d.StageName)
			}
			st.DeploymentID, st.LastUpdatedDate = d.DeploymentID, d.CreatedDate
			d.StageName = ""
		}
		return nil
	},
	inUse: func(rec *apiRecord, id string) string {
		for _, st := range rec.Stages {
			if st.DeploymentID == id {
				return "stage " + st.StageName + " points to it"
			}
		}
		return ""
	},
}

var stageKind = &kind[Stage]{
	label: "Stage", path: "stages", param: "stageName", max: MaxStages, named: true,
	coll: func(r *apiRecord) map[string]*Stage { return r.Stages },
	id:   func(t *Stage) *string { return &t.StageName },
	prepare: func(rec *apiRecord, st, old *Stage, _ *State) error {
		st.APIGatewayManaged = false
		if old == nil {
			st.CreatedDate = now()
		} else {
			st.CreatedDate = old.CreatedDate
		}
		st.LastUpdatedDate = now()
		if st.StageName == "" {
			return badRequest("StageName is required")
		}
		if st.StageName != config.DefaultStage && !stageNameOK(st.StageName) {
			return badRequest("Invalid stage name %q: letters, digits, - and _ (at most 128), or $default", st.StageName)
		}
		if st.DeploymentID != "" && rec.Deployments[st.DeploymentID] == nil {
			return badRequest("Invalid deployment id %q", st.DeploymentID)
		}
		if rs := st.DefaultRouteSettings; rs != nil && ((rs.ThrottlingRateLimit > 0) != (rs.ThrottlingBurstLimit > 0)) {
			return badRequest("DefaultRouteSettings: set both ThrottlingRateLimit and ThrottlingBurstLimit, or neither")
		}
		return nil
	},
}

func stageNameOK(n string) bool {
	if n == "" || len(n) > 128 {
		return false
	}
	for _, c := range n {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// passthroughBehaviors and contentHandlings are the values apigatewayv2
// takes.
var (
	passthroughBehaviors = []string{"WHEN_NO_MATCH", "WHEN_NO_TEMPLATES", "NEVER"}
	contentHandlings     = []string{"CONVERT_TO_BINARY", "CONVERT_TO_TEXT"}
)

// checkTemplated checks an integration's mapping-template fields: AWS
// takes them on WebSocket APIs only, and defaults a WebSocket
// integration's PassthroughBehavior to WHEN_NO_MATCH.
func checkTemplated(in *Integration, ws bool) error {
	if !ws {
		if len(in.RequestTemplates) > 0 || in.TemplateSelectionExpression != "" || in.PassthroughBehavior != "" || in.ContentHandlingStrategy != "" {
			return badRequest("RequestTemplates, TemplateSelectionExpression, PassthroughBehavior and ContentHandlingStrategy are supported only for WebSocket APIs")
		}
		return nil
	}
	if in.PassthroughBehavior == "" {
		in.PassthroughBehavior = "WHEN_NO_MATCH"
	}
	if !slices.Contains(passthroughBehaviors, in.PassthroughBehavior) {
		return badRequest("Invalid PassthroughBehavior %q: want WHEN_NO_MATCH, WHEN_NO_TEMPLATES or NEVER", in.PassthroughBehavior)
	}
	if in.ContentHandlingStrategy != "" && !slices.Contains(contentHandlings, in.ContentHandlingStrategy) {
		return badRequest("Invalid ContentHandlingStrategy %q: want CONVERT_TO_BINARY or CONVERT_TO_TEXT", in.ContentHandlingStrategy)
	}
	return checkTemplates("RequestTemplates", in.RequestTemplates)
}

// checkTemplates bounds a template map (MaxTemplates, MaxTemplateSize);
// the templates themselves are parsed by the config's checks.
func checkTemplates(field string, m map[string]string) error {
	if len(m) > MaxTemplates {
		return badRequest("%s: at most %d templates, got %d", field, MaxTemplates, len(m))
	}
	for k, v := range m {
		if k == "" || len(k) > 128 {
			return badRequest("%s: want keys of 1 to 128 characters, got %q", field, k)
		}
		if len(v) > MaxTemplateSize {
			return badRequest("%s.%s: a template is at most %d bytes, got %d", field, k, MaxTemplateSize, len(v))
		}
	}
	return nil
}

func (s *Service) routesIntegrationResponses() {
	base := "/v2/apis/{apiId}/integrations/{integrationId}/integrationresponses"
	one := base + "/{integrationResponseId}"
	s.router.GET(base, s.getIntegrationResponses)
	s.router.POST(base, s.createIntegrationResponse)
	s.router.GET(one, s.getIntegrationResponse)
	s.router.PATCH(one, s.updateIntegrationResponse)
	s.router.DELETE(one, s.deleteIntegrationResponse)
}

// integration finds an integration of a created API (for a change, with
// the API's record) or of any API.
func (s *Service) integration(st *State, file *config.Config, ctx *fasthttp.RequestCtx, change bool) (*apiRecord, *Integration, error) {
	var rec *apiRecord
	var err error
	if change {
		rec, err = s.created(st, file, param(ctx, "apiId"))
	} else {
		rec, err = s.readable(st, file, param(ctx, "apiId"))
	}
	if err != nil {
		return nil, nil, err
	}
	if in := rec.Integrations[param(ctx, "integrationId")]; in != nil {
		return rec, in, nil
	}
	return nil, nil, notFound("Invalid Integration identifier specified %s", param(ctx, "integrationId"))
}

func (s *Service) getIntegrationResponses(ctx *fasthttp.RequestCtx) {
	s.read(ctx, func(st *State, file *config.Config) (any, error) {
		_, in, err := s.integration(st, file, ctx, false)
		if err != nil {
			return nil, err
		}
		return itemsByID(in.IntegrationResponses), nil
	})
}

func (s *Service) getIntegrationResponse(ctx *fasthttp.RequestCtx) {
	s.read(ctx, func(st *State, file *config.Config) (any, error) {
		_, in, err := s.integration(st, file, ctx, false)
		if err != nil {
			return nil, err
		}
		if ir := in.IntegrationResponses[param(ctx, "integrationResponseId")]; ir != nil {
			return ir, nil
		}
		return nil, notFound("Invalid IntegrationResponse identifier specified %s", param(ctx, "integrationResponseId"))
	})
}

func (s *Service) createIntegrationResponse(ctx *fasthttp.RequestCtx) {
	s.change(ctx, 201, func(st *State, file *config.Config) (any, error) {
		rec, in, err := s.integration(st, file, ctx, true)
		if err != nil {
			return nil, err
		}
		if rec.API.ProtocolType != "WEBSOCKET" {
			return nil, badRequest("Integration responses are supported only for WebSocket APIs")
		}
		if err := limit(len(in.IntegrationResponses), MaxIntegrationResponses, "integration responses of an integration"); err != nil {
			return nil, err
		}
		var ir IntegrationResponse
		if err := decode(ctx, &ir); err != nil {
			return nil, err
		}
		ir.IntegrationResponseID = newID(6)
		for in.IntegrationResponses[ir.IntegrationResponseID] != nil {
			ir.IntegrationResponseID = newID(6)
		}
		if err := checkIntegrationResponse(rec, in, &ir); err != nil {
			return nil, err
		}
		if in.IntegrationResponses == nil {
			in.IntegrationResponses = map[string]*IntegrationResponse{}
		}
		in.IntegrationResponses[ir.IntegrationResponseID] = &ir
		autoDeploy(rec)
		return &ir, nil
	})
}

func (s *Service) updateIntegrationResponse(ctx *fasthttp.RequestCtx) {
	s.change(ctx, 200, func(st *State, file *config.Config) (any, error) {
		rec, in, err := s.integration(st, file, ctx, true)
		if err != nil {
			return nil, err
		}
		id := param(ctx, "integrationResponseId")
		// A map in the body replaces the one kept, as AWS's update does.
		ir, err := patchedItem(in.IntegrationResponses, id, "IntegrationResponse", ctx, true)
		if err != nil {
			return nil, err
		}
		ir.IntegrationResponseID = id
		if err := checkIntegrationResponse(rec, in, ir); err != nil {
			return nil, err
		}
		in.IntegrationResponses[id] = ir
		autoDeploy(rec)
		return ir, nil
	})
}

func (s *Service) deleteIntegrationResponse(ctx *fasthttp.RequestCtx) {
	s.change(ctx, 204, func(st *State, file *config.Config) (any, error) {
		rec, in, err := s.integration(st, file, ctx, true)
		if err != nil {
			return nil, err
		}
		id := param(ctx, "integrationResponseId")
		if in.IntegrationResponses[id] == nil {
			return nil, notFound("Invalid IntegrationResponse identifier specified %s", id)
		}
		delete(in.IntegrationResponses, id)
		autoDeploy(rec)
		return nil, nil
	})
}

// checkIntegrationResponse checks ir, to be kept in in under its id: a
// key of $default or /regex/, unique in the integration; a response
// template selection expression frontdesk can evaluate (a fixed key).
func checkIntegrationResponse(rec *apiRecord, in *Integration, ir *IntegrationResponse) error {
	if _, err := selectionPattern(ir.IntegrationResponseKey); err != nil {
		return err
	}
	for _, o := range in.IntegrationResponses {
		if o.IntegrationResponseKey == ir.IntegrationResponseKey && o.IntegrationResponseID != ir.IntegrationResponseID {
			return conflict("Integration response with key %s already exists for this integration", ir.IntegrationResponseKey)
		}
	}
	if ir.ContentHandlingStrategy != "" && !slices.Contains(contentHandlings, ir.ContentHandlingStrategy) {
		return badRequest("Invalid ContentHandlingStrategy %q: want CONVERT_TO_BINARY or CONVERT_TO_TEXT", ir.ContentHandlingStrategy)
	}
	if e := ir.TemplateSelectionExpression; strings.Contains(strings.ReplaceAll(e, `\$`, ""), "$") {
		return badRequest("Unsupported TemplateSelectionExpression %q: frontdesk selects response templates by a fixed key such as \\$default", e)
	}
	if err := checkTemplates("ResponseTemplates", ir.ResponseTemplates); err != nil {
		return err
	}
	c := *in
	c.IntegrationResponses = maps.Clone(in.IntegrationResponses)
	if c.IntegrationResponses == nil {
		c.IntegrationResponses = map[string]*IntegrationResponse{}
	}
	c.IntegrationResponses[ir.IntegrationResponseID] = ir
	return checkAPITemplates(rec, &c)
}

// checkAPITemplates bounds the templates of rec's API with in (new or
// changed) in place of the integration of its id (MaxAPITemplateBytes).
func checkAPITemplates(rec *apiRecord, in *Integration) error {
	n := templateBytes(in)
	for id, o := range rec.Integrations {
		if id != in.IntegrationID {
			n += templateBytes(o)
		}
	}
	if n > MaxAPITemplateBytes {
		return badRequest("The templates of an API are at most %d bytes in all, got %d", MaxAPITemplateBytes, n)
	}
	return nil
}

// templateBytes is the size of in's request and response templates.
func templateBytes(in *Integration) int {
	size := func(m map[string]string) int {
		n := 0
		for k, v := range m {
			n += len(k) + len(v)
		}
		return n
	}
	n := size(in.RequestTemplates)
	for _, ir := range in.IntegrationResponses {
		n += size(ir.ResponseTemplates)
	}
	return n
}

// selectionPattern is the config's selection_pattern of an integration
// response key: "" for $default, the regular expression of /regex/.
func selectionPattern(key string) (string, error) {
	if key == "$default" {
		return "", nil
	}
	if len(key) < 3 || key[0] != '/' || key[len(key)-1] != '/' {
		return "", badRequest("Invalid integration response key %q: want $default or a regular expression between slashes, such as /4\\d\\d/", key)
	}
	re := key[1 : len(key)-1]
	if _, err := regexp.Compile(re); err != nil {
		return "", badRequest("Invalid integration response key %q: %v", key, err)
	}
	return re, nil
}
