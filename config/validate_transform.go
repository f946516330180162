package config

import (
	"regexp"
	"slices"
	"strconv"

	"github.com/frontdeskgw/frontdesk/router"
)

var modelNameRE = regexp.MustCompile(`^[A-Za-z0-9]{1,128}$`)

// transform checks an API's request validation and parameter mapping keys:
// validation is a REST feature, parameter mapping an HTTP API one, as in
// API Gateway.
func (x *validator) transform(key string, a *API) {
	rest := a.Type == APIREST
	for _, n := range sortedKeys(a.Models) {
		mk := key + ".models." + n
		if !rest {
			x.fail(mk, "models apply to REST APIs only")
			continue
		}
		if !modelNameRE.MatchString(n) {
			x.fail(mk, "model names are letters and digits (as API Gateway's)")
		}
		m := a.Models[n]
		if m == nil {
			x.fail(mk, "empty model: set schema")
			continue
		}
		if _, err := m.CompiledSchema(n); err != nil {
			x.fail(mk+".schema", "%v", err)
		}
	}
	if len(a.RequestValidators) > 0 && !rest {
		x.fail(key+".request_validators", "request validators apply to REST APIs only")
	}
	if a.RequestValidator != "" {
		if !rest {
			x.fail(key+".request_validator", "request validators apply to REST APIs only")
		} else if _, ok := a.RequestValidators[a.RequestValidator]; !ok {
			x.fail(key+".request_validator", "no request validator named %q in this API", a.RequestValidator)
		}
	}
	for _, rk := range sortedKeys(a.Routes) {
		r := a.Routes[rk]
		if r == nil {
			continue
		}
		x.routeValidation(key+".routes."+rk, rk, a, r)
	}
	for _, n := range sortedKeys(a.Integrations) {
		if in := a.Integrations[n]; in != nil {
			x.mapping(key+".integrations."+n, a, in)
		}
	}
}

func (x *validator) routeValidation(k, rk string, a *API, r *Route) {
	if r.RequestValidator == "" && len(r.RequestModels) == 0 && len(r.RequestParameters) == 0 {
		return
	}
	if a.Type != APIREST {
		x.fail(k, "request_validator, request_models and request_parameters apply to REST API routes only")
		return
	}
	if r.RequestValidator != "" {
		if _, ok := a.RequestValidators[r.RequestValidator]; !ok {
			x.fail(k+".request_validator", "no request validator named %q in this API", r.RequestValidator)
		}
	}
	for _, ct := range sortedKeys(r.RequestModels) {
		name := r.RequestModels[ct]
		if ct == "" {
			x.fail(k+".request_models", "a content type is required")
		}
		if _, ok := a.Models[name]; !ok {
			x.fail(k+".request_models."+ct, "no model named %q in this API's models", name)
		}
	}
	var params []string
	if parsed, err := router.ParseKey(rk); err == nil {
		params = parsed.ParamNames()
	}
	for _, pk := range sortedKeys(r.RequestParameters) {
		loc, name, err := ParseRequiredParam(pk)
		if err != nil {
			x.fail(k+".request_parameters."+pk, "%v", err)
			continue
		}
		if loc == ParamPath && !slices.Contains(params, name) {
			x.fail(k+".request_parameters."+pk, "route has no path variable {%s}", name)
		}
	}
}

func (x *validator) mapping(k string, a *API, in *Integration) {
	if len(in.RequestParameters) == 0 && len(in.ResponseParameters) == 0 {
		return
	}
	if a.Type != APIHTTP {
		x.fail(k, "request_parameters and response_parameters (parameter mapping) apply to HTTP API integrations only")
		return
	}
	if len(in.RequestParameters) > 0 && in.Type == IntegrationMock {
		x.fail(k+".request_parameters", "a mock integration reads no request to map")
	}
	if len(in.RequestParameters) > MaxMappings {
		x.fail(k+".request_parameters", "at most %d mappings, got %d", MaxMappings, len(in.RequestParameters))
	}
	for _, mk := range sortedKeys(in.RequestParameters) {
		m, err := ParseParamMapping(mk, in.RequestParameters[mk], false)
		if err != nil {
			x.fail(k+".request_parameters."+mk, "%v", err)
			continue
		}
		if m.Target == MapPath && in.Type != IntegrationHTTPProxy {
			x.fail(k+".request_parameters."+mk, "overwrite:path applies to http_proxy integrations")
		}
	}
	for _, st := range sortedKeys(in.ResponseParameters) {
		sk := k + ".response_parameters." + st
		if n, err := strconv.Atoi(st); err != nil || n < 200 || n > 599 {
			x.fail(sk, "response_parameters are keyed by a status code 200-599, got %q", st)
			continue
		}
		ms := in.ResponseParameters[st]
		if len(ms) > MaxMappings {
			x.fail(sk, "at most %d mappings, got %d", MaxMappings, len(ms))
		}
		for _, mk := range sortedKeys(ms) {
			if _, err := ParseParamMapping(mk, ms[mk], true); err != nil {
				x.fail(sk+"."+mk, "%v", err)
			}
		}
	}
}
