package config

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/frontdeskgw/frontdesk/vtl"
)

// The keys of REST mapping templates, non-proxy integrations and gateway
// responses (docs/transform.md): their defaults and checks.

// DefaultIntegrationResponseStatus is an integration response's status
// when it names none.
const DefaultIntegrationResponseStatus = 200

// GatewayResponseTypes are the REST gateway response types API Gateway
// lets a user customise.
var GatewayResponseTypes = []string{
	"ACCESS_DENIED", "API_CONFIGURATION_ERROR", "AUTHORIZER_CONFIGURATION_ERROR", "AUTHORIZER_FAILURE",
	"BAD_REQUEST_PARAMETERS", "BAD_REQUEST_BODY", "DEFAULT_4XX", "DEFAULT_5XX", "EXPIRED_TOKEN",
	"INTEGRATION_FAILURE", "INTEGRATION_TIMEOUT", "INVALID_API_KEY", "INVALID_SIGNATURE",
	"MISSING_AUTHENTICATION_TOKEN", "QUOTA_EXCEEDED", "REQUEST_TOO_LARGE", "RESOURCE_NOT_FOUND",
	"THROTTLED", "UNAUTHORIZED", "UNSUPPORTED_MEDIA_TYPE", "WAF_FILTERED",
}

// NonProxy reports whether in is a REST non-proxy integration, the kind
// mapping templates apply to: type http, lambda with proxy: false, and a
// mock that has templates or responses.
func (in *Integration) NonProxy() bool {
	switch in.Type {
	case IntegrationHTTP:
		return true
	case IntegrationLambda:
		return in.Proxy != nil && !*in.Proxy
	case IntegrationMock:
		return len(in.RequestTemplates) > 0 || len(in.Responses) > 0
	}
	return false
}

// ContentHandling is content_handling (API Gateway's contentHandling):
// how a non-proxy integration converts a payload between binary and
// base64 text. The binary_media_types of the API decide which payloads
// are binary (docs/transform.md).
type ContentHandling string

// Content handling strategies; "" passes payloads through as they are.
const (
	ConvertToText   ContentHandling = "convert_to_text"
	ConvertToBinary ContentHandling = "convert_to_binary"
)

func defaultTransform(in *Integration) {
	// API Gateway spells them CONVERT_TO_TEXT; both are accepted.
	in.ContentHandling = ContentHandling(strings.ToLower(string(in.ContentHandling)))
	for i := range in.Responses {
		in.Responses[i].ContentHandling = ContentHandling(strings.ToLower(string(in.Responses[i].ContentHandling)))
	}
	if in.Type == IntegrationLambda && in.Proxy == nil {
		in.Proxy = new(true)
	}
	if in.PassthroughBehavior == "" {
		in.PassthroughBehavior = PassthroughWhenNoMatch
	} else {
		// API Gateway spells them WHEN_NO_MATCH; both are accepted.
		in.PassthroughBehavior = PassthroughBehavior(strings.ToLower(string(in.PassthroughBehavior)))
	}
	for i := range in.Responses {
		if in.Responses[i].Status == 0 {
			in.Responses[i].Status = DefaultIntegrationResponseStatus
		}
	}
}

// DefaultTemplateSelectionExpression is a WebSocket integration's
// template_selection_expression when it sets none: the "$default" template.
const DefaultTemplateSelectionExpression = `\$default`

// selectionExprRE is a template_selection_expression: $request.body
// with a path of names, or text (where \$ is a literal $).
var selectionExprRE = regexp.MustCompile(`^(\$request\.body(\.[A-Za-z0-9_-]+)*|([^$\\]|\\\$)+)$`)

var (
	contentTypeRE = regexp.MustCompile(`^[A-Za-z0-9!#$&^_.+-]+/[A-Za-z0-9!#$&^_.+*-]+$`)
	headerNameRE  = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
)

// templated checks the template keys of integration in (at key k).
func (x *validator) templated(k string, a *API, in *Integration) {
	has := len(in.RequestTemplates) > 0 || len(in.Responses) > 0 || in.Method != "" ||
		x.c.Lines[k+".passthrough_behavior"] != 0 || in.ContentHandling != ""
	if in.Proxy != nil && in.Type != IntegrationLambda {
		x.fail(k+".proxy", "only lambda integrations take proxy")
	}
	if a.Type == APIWebSocket {
		x.wsTemplated(k, in, has)
		return
	}
	if in.TemplateSelectionExpression != "" {
		x.fail(k+".template_selection_expression", "applies to WebSocket integrations only")
	}
	if a.Type != APIREST {
		if has || in.Proxy != nil && !*in.Proxy {
			x.fail(k, "mapping templates, responses, method, passthrough_behavior and content_handling apply to REST APIs only")
		}
		return
	}
	if has && !in.NonProxy() {
		x.fail(k, "mapping templates and responses apply to non-proxy integrations: type http, mock, or lambda with proxy: false")
		return
	}
	if in.Method != "" && in.Type != IntegrationHTTP {
		x.fail(k+".method", "only type http integrations take method")
	}
	if in.Method != "" && !headerNameRE.MatchString(in.Method) {
		x.fail(k+".method", "want an HTTP method, got %q", in.Method)
	}
	switch in.PassthroughBehavior {
	case PassthroughWhenNoMatch, PassthroughWhenNoTemplates, PassthroughNever:
	default:
		x.fail(k+".passthrough_behavior", "want when_no_match, when_no_templates or never, got %q", in.PassthroughBehavior)
	}
	x.templates(k+".request_templates", in.RequestTemplates)
	x.contentHandling(k+".content_handling", in.ContentHandling)
	defaults := 0
	for i, r := range in.Responses {
		rk := fmt.Sprintf("%s.responses[%d]", k, i)
		if r.SelectionPattern == "" {
			defaults++
			if defaults == 2 {
				x.fail(rk+".selection_pattern", "a second default response (no selection_pattern): only one may be the default")
			}
		} else if _, err := regexp.Compile(r.SelectionPattern); err != nil {
			x.fail(rk+".selection_pattern", "not a regular expression: %v", err)
		}
		if r.Status < 100 || r.Status > 599 {
			x.fail(rk+".status", "want an HTTP status 100-599, got %d", r.Status)
		}
		for _, name := range sortedKeys(r.ResponseParameters) {
			pk := rk + ".response_parameters." + name
			h, ok := strings.CutPrefix(name, "method.response.header.")
			if !ok || !headerNameRE.MatchString(h) {
				x.fail(pk, "want method.response.header.NAME, got %q", name)
				continue
			}
			v := r.ResponseParameters[name]
			if _, ok := staticValue(v); ok || v == "integration.response.body" {
				continue
			}
			if h, ok := strings.CutPrefix(v, "integration.response.header."); ok && headerNameRE.MatchString(h) {
				continue
			}
			x.fail(pk, "want 'static text', integration.response.header.NAME or integration.response.body, got %q", v)
		}
		x.templates(rk+".response_templates", r.ResponseTemplates)
		x.contentHandling(rk+".content_handling", r.ContentHandling)
	}
}

// wsTemplated checks the template keys of a WebSocket integration: http
// and mock take request_templates chosen by template_selection_expression,
// passthrough_behavior and responses with response_templates.
func (x *validator) wsTemplated(k string, in *Integration, has bool) {
	if !has && in.TemplateSelectionExpression == "" {
		return
	}
	if in.Type != IntegrationHTTP && in.Type != IntegrationMock {
		x.fail(k, "mapping templates on WebSocket APIs apply to type http and mock integrations")
		return
	}
	if in.Method != "" {
		x.fail(k+".method", "applies to REST integrations only")
	}
	if in.ContentHandling != "" {
		x.fail(k+".content_handling", "applies to REST integrations only")
	}
	if e := in.TemplateSelectionExpression; e != "" && !selectionExprRE.MatchString(e) {
		x.fail(k+".template_selection_expression", `want $request.body.NAME[.NAME...] or text such as "\$default", got %q`, e)
	}
	switch in.PassthroughBehavior {
	case PassthroughWhenNoMatch, PassthroughWhenNoTemplates, PassthroughNever:
	default:
		x.fail(k+".passthrough_behavior", "want when_no_match, when_no_templates or never, got %q", in.PassthroughBehavior)
	}
	x.wsTemplates(k+".request_templates", in.RequestTemplates)
	defaults := 0
	for i, r := range in.Responses {
		rk := fmt.Sprintf("%s.responses[%d]", k, i)
		if r.SelectionPattern == "" {
			defaults++
			if defaults == 2 {
				x.fail(rk+".selection_pattern", "a second default response (no selection_pattern): only one may be the default")
			}
		} else if _, err := regexp.Compile(r.SelectionPattern); err != nil {
			x.fail(rk+".selection_pattern", "not a regular expression: %v", err)
		}
		if len(r.ResponseParameters) > 0 {
			x.fail(rk+".response_parameters", "a WebSocket message has no headers: response_parameters apply to REST integrations only")
		}
		if r.ContentHandling != "" {
			x.fail(rk+".content_handling", "applies to REST integrations only")
		}
		x.wsTemplates(rk+".response_templates", r.ResponseTemplates)
	}
}

// wsTemplates parses templates keyed by selection key ("$default",
// "join"), not by content type.
func (x *validator) wsTemplates(k string, m map[string]string) {
	for _, key := range sortedKeys(m) {
		if key == "" || len(key) > 128 {
			x.fail(k, "want template keys of 1 to 128 characters, got %q", key)
		}
	}
	x.parseTemplates(k, m)
}

func (x *validator) contentHandling(k string, c ContentHandling) {
	switch c {
	case "", ConvertToText, ConvertToBinary:
	default:
		x.fail(k, "want convert_to_text or convert_to_binary, got %q", c)
	}
}

// staticValue is the text of a quoted parameter value ('text').
func staticValue(v string) (string, bool) {
	if len(v) >= 2 && v[0] == '\'' && v[len(v)-1] == '\'' {
		return v[1 : len(v)-1], true
	}
	return "", false
}

// templates parses every template of a content-type map; a template that
// does not parse is reported at its own line in the file.
func (x *validator) templates(k string, m map[string]string) {
	for _, ct := range sortedKeys(m) {
		if !contentTypeRE.MatchString(ct) {
			x.fail(k+"."+ct, "want a content type like application/json, got %q", ct)
		}
	}
	x.parseTemplates(k, m)
}

// parseTemplates parses every template of m; a template that does not
// parse is reported at its own line in the file.
func (x *validator) parseTemplates(k string, m map[string]string) {
	for _, ct := range sortedKeys(m) {
		tk := k + "." + ct
		_, err := vtl.Parse(m[ct])
		if err == nil {
			continue
		}
		var e *vtl.Error
		if !errors.As(err, &e) {
			x.fail(tk, "template: %v", err)
			continue
		}
		line := x.c.Line(tk)
		if strings.Contains(m[ct], "\n") && line > 0 {
			// A block scalar: the template starts on the next line.
			line += e.Line
		}
		x.errs = append(x.errs, Problem{File: x.c.File, Line: line, Key: tk,
			Msg: fmt.Sprintf("template line %d, column %d: %s", e.Line, e.Col, e.Msg)})
	}
}

func (x *validator) gatewayResponses(key string, a *API) {
	if len(a.GatewayResponses) == 0 {
		return
	}
	if a.Type != APIREST {
		x.fail(key+".gateway_responses", "gateway responses apply to REST APIs only")
		return
	}
	for _, t := range sortedKeys(a.GatewayResponses) {
		gk := key + ".gateway_responses." + t
		found := false
		for _, known := range GatewayResponseTypes {
			found = found || known == t
		}
		if !found {
			x.fail(gk, "unknown gateway response type %q (want one of %s)", t, strings.Join(GatewayResponseTypes, ", "))
			continue
		}
		if t == "REQUEST_TOO_LARGE" {
			x.fail(gk, "REQUEST_TOO_LARGE cannot be customised (as in API Gateway)")
			continue
		}
		g := a.GatewayResponses[t]
		if g == nil {
			x.fail(gk, "empty gateway response: set status, response_parameters or response_templates")
			continue
		}
		if g.Status != 0 && (g.Status < 100 || g.Status > 599) {
			x.fail(gk+".status", "want an HTTP status 100-599, got %d", g.Status)
		}
		for _, name := range sortedKeys(g.ResponseParameters) {
			pk := gk + ".response_parameters." + name
			h, ok := strings.CutPrefix(name, "gatewayresponse.header.")
			if !ok || !headerNameRE.MatchString(h) {
				x.fail(pk, "want gatewayresponse.header.NAME, got %q", name)
				continue
			}
			if !validGatewayParamSource(g.ResponseParameters[name]) {
				x.fail(pk, "want 'static text', method.request.header.X, method.request.querystring.X, method.request.path.X, stageVariables.X or context.X, got %q", g.ResponseParameters[name])
			}
		}
		x.templates(gk+".response_templates", g.ResponseTemplates)
	}
}

func validGatewayParamSource(v string) bool {
	if _, ok := staticValue(v); ok {
		return true
	}
	for _, p := range []string{"method.request.header.", "method.request.querystring.", "method.request.path.", "stageVariables.", "context."} {
		if rest, ok := strings.CutPrefix(v, p); ok && rest != "" {
			return true
		}
	}
	return false
}
