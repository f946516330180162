package gateway

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/frontdeskgw/frontdesk/config"
	"github.com/frontdeskgw/frontdesk/exchange"
	"github.com/frontdeskgw/frontdesk/lambda"
	"github.com/frontdeskgw/frontdesk/proxy"
	"github.com/frontdeskgw/frontdesk/upstream"
	"github.com/frontdeskgw/frontdesk/vtl"
	"github.com/frontdeskgw/frontdesk/wsbridge"
)

// compileNonProxy compiles a REST non-proxy integration (type http, mock
// with templates, lambda with proxy: false) with its mapping templates.
func compileNonProxy(ca *config.API, in *config.Integration, vars map[string]string, deps Deps) (exchange.Integration, error) {
	t, err := compileTransform(in, vars)
	if err != nil {
		return nil, err
	}
	if t.Binary, err = lambda.NewBinaryTypes(ca.BinaryMediaTypes); err != nil {
		return nil, err
	}
	switch in.Type {
	case config.IntegrationHTTP:
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
		p, err := proxy.NewHTTPProxy(deps.reg.pools().In(deps.reg.gen), up)
		if err != nil {
			return nil, err
		}
		return proxy.NewHTTPIntegration(p, strings.ToUpper(in.Method), t), nil
	case config.IntegrationMock:
		return proxy.NewMockIntegration(t), nil
	case config.IntegrationLambda:
		var inv lambda.Invoker
		if deps.functions != nil {
			inv = deps.functions[in.Function]
			if inv == nil {
				return nil, fmt.Errorf("function %q is not running", in.Function)
			}
		}
		return proxy.NewLambdaIntegration(inv, in.Timeout.D(), t), nil
	}
	return nil, fmt.Errorf("integration type %q has no non-proxy form", in.Type)
}

func compileTransform(in *config.Integration, vars map[string]string) (*proxy.Transform, error) {
	t := &proxy.Transform{StageVariables: vars, ContentHandling: contentHandling(in.ContentHandling)}
	switch in.PassthroughBehavior {
	case config.PassthroughWhenNoTemplates:
		t.Passthrough = proxy.PassWhenNoTemplates
	case config.PassthroughNever:
		t.Passthrough = proxy.PassNever
	}
	var err error
	if t.RequestTemplates, err = compileTemplates("request_templates", in.RequestTemplates); err != nil {
		return nil, err
	}
	for i, r := range in.Responses {
		ir := proxy.IntegrationResponse{Status: r.Status, ContentHandling: contentHandling(r.ContentHandling)}
		if r.SelectionPattern != "" {
			// A selection pattern matches the whole selector, as Java's
			// String.matches does.
			if ir.Pattern, err = regexp.Compile(`^(?:` + r.SelectionPattern + `)$`); err != nil {
				return nil, fmt.Errorf("responses[%d].selection_pattern: %w", i, err)
			}
		}
		for _, name := range slices.Sorted(maps.Keys(r.ResponseParameters)) {
			h := proxy.ResponseHeader{Name: strings.TrimPrefix(name, "method.response.header.")}
			v := r.ResponseParameters[name]
			switch {
			case len(v) >= 2 && v[0] == '\'' && v[len(v)-1] == '\'':
				h.Static = v[1 : len(v)-1]
			case v == "integration.response.body":
				h.FromBody = true
			default:
				h.FromHeader = strings.TrimPrefix(v, "integration.response.header.")
			}
			ir.Headers = append(ir.Headers, h)
		}
		if ir.Templates, err = compileTemplates(fmt.Sprintf("responses[%d].response_templates", i), r.ResponseTemplates); err != nil {
			return nil, err
		}
		t.Responses = append(t.Responses, ir)
	}
	if len(t.Responses) == 0 {
		// As API Gateway's console sets up: one default 200 response
		// that passes the backend's body through.
		t.Responses = []proxy.IntegrationResponse{{Status: config.DefaultIntegrationResponseStatus}}
	}
	return t, nil
}

func contentHandling(c config.ContentHandling) proxy.ContentHandling {
	switch c {
	case config.ConvertToText:
		return proxy.ConvertToText
	case config.ConvertToBinary:
		return proxy.ConvertToBinary
	}
	return proxy.ConvertNone
}

// compileTemplates parses templates by content type (keys lower-cased).
func compileTemplates(key string, m map[string]string) (map[string]*vtl.Template, error) {
	if len(m) == 0 {
		return nil, nil
	}
	out := make(map[string]*vtl.Template, len(m))
	for ct, src := range m {
		t, err := vtl.Parse(src)
		if err != nil {
			return nil, fmt.Errorf("%s.%s: template %w", key, ct, err)
		}
		out[strings.ToLower(ct)] = t
	}
	return out, nil
}

// compileWSTemplates compiles a WebSocket integration with mapping
// templates (keyed by selection key, not content type) over next (nil: a
// mock).
func compileWSTemplates(in *config.Integration, next wsbridge.Backend) (*wsbridge.TemplateBackend, error) {
	req, err := compileWSTemplateMap("request_templates", in.RequestTemplates)
	if err != nil {
		return nil, err
	}
	pass := wsbridge.PassWhenNoMatch
	switch in.PassthroughBehavior {
	case config.PassthroughWhenNoTemplates:
		pass = wsbridge.PassWhenNoTemplates
	case config.PassthroughNever:
		pass = wsbridge.PassNever
	}
	var responses []wsbridge.TemplateResponse
	for i, r := range in.Responses {
		var tr wsbridge.TemplateResponse
		if r.SelectionPattern != "" {
			if tr.Pattern, err = regexp.Compile(`^(?:` + r.SelectionPattern + `)$`); err != nil {
				return nil, fmt.Errorf("responses[%d].selection_pattern: %w", i, err)
			}
		}
		if tr.Templates, err = compileWSTemplateMap(fmt.Sprintf("responses[%d].response_templates", i), r.ResponseTemplates); err != nil {
			return nil, err
		}
		responses = append(responses, tr)
	}
	return wsbridge.NewTemplateBackend(req, in.TemplateSelectionExpression, pass, next, responses)
}

// compileWSTemplateMap parses templates by selection key (kept as they
// are: keys are not media types).
func compileWSTemplateMap(key string, m map[string]string) (map[string]*vtl.Template, error) {
	out := make(map[string]*vtl.Template, len(m))
	for k, src := range m {
		t, err := vtl.Parse(src)
		if err != nil {
			return nil, fmt.Errorf("%s.%s: template %w", key, k, err)
		}
		out[k] = t
	}
	return out, nil
}
