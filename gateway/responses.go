package gateway

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/frontdeskgw/frontdesk/apierror"
	"github.com/frontdeskgw/frontdesk/config"
	"github.com/frontdeskgw/frontdesk/exchange"
	"github.com/frontdeskgw/frontdesk/proxy"
	"github.com/frontdeskgw/frontdesk/vtl"
)

// gatewayResponses are a REST API's customised gateway responses: for a
// response type (MISSING_AUTHENTICATION_TOKEN, THROTTLED, ...), else for
// DEFAULT_4XX or DEFAULT_5XX, a status, headers and a body template
// replace frontdesk's own answer (docs/transform.md). Only the error path
// reaches them.
type gatewayResponses struct {
	byType map[string]*gatewayResponse
}

type gatewayResponse struct {
	status    int
	params    []gatewayParam
	templates map[string]*vtl.Template
}

// gatewayParam is one gatewayresponse.header.NAME: static text or a
// value of the request, the stage or the context.
type gatewayParam struct {
	name   string
	static string
	// from is "header", "querystring", "path", "stageVariables" or
	// "context", key the name there; "" for static text.
	from, key string
}

// compileGatewayResponses compiles an API's gateway_responses; nil when
// it has none.
func compileGatewayResponses(ca *config.API) (*gatewayResponses, error) {
	if ca.Type != config.APIREST || len(ca.GatewayResponses) == 0 {
		return nil, nil
	}
	g := &gatewayResponses{byType: map[string]*gatewayResponse{}}
	for typ, cr := range ca.GatewayResponses {
		if cr == nil {
			continue
		}
		r := &gatewayResponse{status: cr.Status}
		for _, name := range slices.Sorted(maps.Keys(cr.ResponseParameters)) {
			p := gatewayParam{name: strings.TrimPrefix(name, "gatewayresponse.header.")}
			v := cr.ResponseParameters[name]
			if len(v) >= 2 && v[0] == '\'' && v[len(v)-1] == '\'' {
				p.static = v[1 : len(v)-1]
			} else {
				for _, pre := range []string{"method.request.header.", "method.request.querystring.", "method.request.path.", "stageVariables.", "context."} {
					if k, ok := strings.CutPrefix(v, pre); ok {
						p.from, p.key = strings.TrimSuffix(strings.TrimPrefix(pre, "method.request."), "."), k
						break
					}
				}
			}
			r.params = append(r.params, p)
		}
		var err error
		if r.templates, err = compileTemplates("gateway_responses."+typ+".response_templates", cr.ResponseTemplates); err != nil {
			return nil, err
		}
		g.byType[typ] = r
	}
	return g, nil
}

// Respond writes the customised response for c, when there is one.
func (g *gatewayResponses) Respond(ex *exchange.Exchange, c apierror.Code) bool {
	if ex.Dialect != apierror.REST {
		return false
	}
	typ := apierror.ResponseType(c)
	if typ == "REQUEST_TOO_LARGE" {
		return false // not customisable, as in API Gateway
	}
	status := apierror.Status(apierror.REST, c)
	r := g.byType[typ]
	if r == nil {
		fallback := "DEFAULT_4XX"
		if status >= 500 {
			fallback = "DEFAULT_5XX"
		}
		if r = g.byType[fallback]; r == nil {
			return false
		}
	}
	if r.status != 0 {
		status = r.status
	}
	in := vtl.Input{}
	ctx, identity := map[string]any{}, map[string]any{}
	path, query, header := map[string]string{}, map[string]string{}, map[string]string{}
	proxy.FillInput(ex, &in, ctx, identity, path, query, header)
	quoted, _ := json.Marshal(ex.ErrorMessage)
	ctx["error"] = map[string]any{
		"message":               ex.ErrorMessage,
		"messageString":         string(quoted),
		"responseType":          typ,
		"validationErrorString": string(ex.ValidationError),
	}
	ctx["status"] = int64(status)
	stageVars := map[string]string{}
	if ex.RouteInfo != nil {
		for _, p := range ex.RouteInfo.StageVariables {
			stageVars[p.Name] = string(p.Value)
		}
	}
	in.StageVariables = stageVars

	resp := &ex.Ctx.Response
	// The default body is {"message": $context.error.messageString}, as
	// API Gateway's default templates are: a message that names what was
	// wrong (the missing parameters) stays in it.
	apierror.WriteMessage(resp, apierror.REST, c, []byte(ex.ErrorMessage), nil)
	resp.SetStatusCode(status)
	for _, p := range r.params {
		v := p.static
		switch p.from {
		case "header":
			v = header[p.key]
			if v == "" {
				v = string(ex.Ctx.Request.Header.Peek(p.key))
			}
		case "querystring":
			v = query[p.key]
		case "path":
			v = path[p.key]
		case "stageVariables":
			v = stageVars[p.key]
		case "context":
			v = contextValue(ctx, p.key)
		}
		resp.Header.Set(p.name, v)
	}
	tmpl, ct := pickTemplate(r.templates)
	if tmpl == nil {
		return true
	}
	var ov vtl.Overrides
	out, err := tmpl.Execute(nil, &in, &ov)
	if err != nil {
		// A broken template must not hide the error it describes: the
		// default body stays.
		ex.IntegrationError = fmt.Errorf("gateway response %s: %w", typ, err)
		return true
	}
	resp.Header.SetContentType(ct)
	resp.SetBody(out)
	if ov.ResponseStatus >= 100 && ov.ResponseStatus <= 599 {
		resp.SetStatusCode(ov.ResponseStatus)
	}
	for k, v := range ov.ResponseHeader {
		resp.Header.Set(k, v)
	}
	return true
}

// pickTemplate is the application/json template, else the first by
// content type.
func pickTemplate(m map[string]*vtl.Template) (*vtl.Template, string) {
	if t := m[proxy.DefaultContentType]; t != nil {
		return t, proxy.DefaultContentType
	}
	keys := slices.Sorted(maps.Keys(m))
	if len(keys) == 0 {
		return nil, ""
	}
	return m[keys[0]], keys[0]
}

// contextValue reads a dotted path ("identity.sourceIp") of the context
// tree as text.
func contextValue(ctx map[string]any, key string) string {
	var v any = ctx
	for part := range strings.SplitSeq(key, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return ""
		}
		v = m[part]
	}
	switch x := v.(type) {
	case string:
		return x
	case nil:
		return ""
	}
	return fmt.Sprint(v)
}
