package importer

import (
	"bytes"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/frontdeskgw/frontdesk/config"
	"gopkg.in/yaml.v3"
)

// ExportOptions choose what Export writes.
type ExportOptions struct {
	// API names the API to export; empty is allowed when the config has
	// one HTTP or REST API.
	API string
	// Dialect is "http" (aws apigatewayv2 import-api) or "rest" (aws
	// apigateway import-rest-api); empty is the API's own type.
	Dialect string
}

// Export writes one HTTP or REST API of cfg as OpenAPI 3.0 with API
// Gateway's extensions. Notes list what OpenAPI cannot carry (usage
// plans, throttles, caches, where functions run), so nothing is dropped
// without a word.
func Export(cfg *config.Config, o ExportOptions) (out []byte, notes []string, err error) {
	var names []string
	for n, a := range cfg.APIs {
		if a != nil && a.Type != config.APIWebSocket {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	apiName := o.API
	switch {
	case apiName != "":
		a := cfg.APIs[apiName]
		if a == nil {
			return nil, nil, fmt.Errorf("export: no API named %q (have %s)", apiName, strings.Join(names, ", "))
		}
		if a.Type == config.APIWebSocket {
			return nil, nil, fmt.Errorf("export: %s is a WebSocket API: API Gateway has no OpenAPI import for WebSocket APIs", apiName)
		}
	case len(names) == 1:
		apiName = names[0]
	case len(names) == 0:
		return nil, nil, fmt.Errorf("export: the config has no HTTP or REST API")
	default:
		return nil, nil, fmt.Errorf("export: the config has %d APIs (%s): choose one with --api", len(names), strings.Join(names, ", "))
	}
	a := cfg.APIs[apiName]
	dialect := string(a.Type)
	if o.Dialect != "" {
		if o.Dialect != "http" && o.Dialect != "rest" {
			return nil, nil, fmt.Errorf("export: --dialect want http or rest, got %q", o.Dialect)
		}
		dialect = o.Dialect
	}
	e := &exporter{cfg: cfg, a: a, name: apiName, rest: dialect == "rest"}
	doc := e.document()
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return nil, nil, fmt.Errorf("export: %w", err)
	}
	enc.Close()
	return buf.Bytes(), e.notes, nil
}

type exporter struct {
	cfg   *config.Config
	a     *config.API
	name  string
	rest  bool
	notes []string
}

func (e *exporter) note(format string, args ...any) {
	e.notes = append(e.notes, fmt.Sprintf(format, args...))
}

// m builds a mapping from alternating keys and values.
func m(kv ...any) *yaml.Node {
	n := &yaml.Node{Kind: yaml.MappingNode}
	for i := 0; i+1 < len(kv); i += 2 {
		var v *yaml.Node
		switch x := kv[i+1].(type) {
		case *yaml.Node:
			if x == nil {
				continue
			}
			v = x
		case string:
			v = strNode(x)
		case int:
			v = intNode(x)
		case bool:
			v = boolNode(x)
		}
		n.Content = append(n.Content, strNode(kv[i].(string)), v)
	}
	return n
}

func put(n *yaml.Node, key string, v *yaml.Node) {
	n.Content = append(n.Content, strNode(key), v)
}

var urlParam = regexp.MustCompile(`\{([A-Za-z0-9_-]+)\+?\}`)

func (e *exporter) document() *yaml.Node {
	a := e.a
	stages, def := config.StageNames(a)
	stage := ""
	if !def && len(stages) > 0 {
		stage = stages[0]
		if len(stages) > 1 {
			e.note("stages %s not exported: an export describes one stage (%s)", strings.Join(stages[1:], ", "), stage)
		}
	} else if def && len(stages) > 0 {
		e.note("named stages %s not exported: the $default stage is", strings.Join(stages, ", "))
	}
	prefix := strings.TrimSuffix(a.BasePath, "/")
	doc := m("openapi", "3.0.1", "info", m("title", e.name, "version", "1.0"))
	server := m("url", "https://{apiId}.execute-api.{region}.amazonaws.com"+prefix+"/{basePath}",
		"variables", m("apiId", m("default", config.APIID(e.name)), "region", m("default", region), "basePath", m("default", stage)))
	put(doc, "servers", &yaml.Node{Kind: yaml.SequenceNode, Content: []*yaml.Node{server}})
	stageName := stage
	if stageName == "" {
		stageName = config.DefaultStage
	}
	if vars := a.Stages[stageName].Variables; len(vars) > 0 {
		put(doc, "x-frontdesk-stage", m("name", stageName, "variables", strMap(vars)))
	}
	if th := a.Stages[stageName].Throttle; th != nil {
		e.note("stage %s throttle not exported: set it on the AWS stage", stageName)
	}
	if len(a.Hosts) > 0 {
		e.note("hosts %v not exported: use a custom domain on AWS", a.Hosts)
	}

	uses := map[string]int{}
	for _, r := range a.Routes {
		if r != nil {
			uses[r.Integration]++
		}
	}
	paths := &yaml.Node{Kind: yaml.MappingNode}
	byPath := map[string]*yaml.Node{}
	var keys []string
	for k := range a.Routes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	usesKey := false
	for _, rk := range keys {
		r := a.Routes[rk]
		if r == nil {
			continue
		}
		method, path := "ANY", "$default"
		if rk != "$default" {
			method, path, _ = strings.Cut(rk, " ")
		}
		item := byPath[path]
		if item == nil {
			item = &yaml.Node{Kind: yaml.MappingNode}
			byPath[path] = item
			put(paths, path, item)
		}
		op := &yaml.Node{Kind: yaml.MappingNode}
		if uses[r.Integration] == 1 {
			put(op, "operationId", strNode(r.Integration))
		}
		params := &yaml.Node{Kind: yaml.SequenceNode}
		for _, p := range urlParam.FindAllStringSubmatch(path, -1) {
			params.Content = append(params.Content, m("name", p[1], "in", "path", "required", true, "schema", m("type", "string")))
		}
		e.requestParams(rk, r, params)
		if len(params.Content) > 0 {
			put(op, "parameters", params)
		}
		e.requestBody(rk, r, op)
		if r.RequestValidator != "" {
			if e.rest {
				put(op, ext+"request-validator", strNode(r.RequestValidator))
			} else {
				e.note("route %q: request_validator not exported: HTTP APIs do not validate requests", rk)
			}
		}
		var sec *yaml.Node
		if r.APIKey || r.Authorizer != "" {
			req := &yaml.Node{Kind: yaml.MappingNode}
			if r.APIKey {
				usesKey = true
				put(req, "api_key", &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle})
			}
			if r.Authorizer != "" {
				put(req, r.Authorizer, strList(r.Scopes))
			}
			sec = &yaml.Node{Kind: yaml.SequenceNode, Content: []*yaml.Node{req}}
			put(op, "security", sec)
		}
		put(op, "responses", m("default", m("description", "Default response")))
		if in := a.Integrations[r.Integration]; in != nil {
			put(op, ext+"integration", e.integration(rk, method, in))
		}
		if rk == "$default" {
			put(op, "isDefaultRoute", boolNode(true))
			if e.rest {
				e.note("route $default has no REST form on AWS: import-rest-api refuses the $default path (use ANY /{proxy+} and ANY /)")
			}
		}
		if r.Cache != nil {
			e.note("route %q: cache not exported (set caching on the AWS stage)", rk)
		}
		if r.Throttle != nil {
			e.note("route %q: throttle not exported (set route throttling on the AWS stage)", rk)
		}
		key := strings.ToLower(method)
		if method == "ANY" {
			key = ext + "any-method"
		}
		put(item, key, op)
	}
	put(doc, "paths", paths)

	schemes := &yaml.Node{Kind: yaml.MappingNode}
	if usesKey {
		put(schemes, "api_key", m("type", "apiKey", "name", "x-api-key", "in", "header"))
	}
	var authNames []string
	for n := range a.Authorizers {
		authNames = append(authNames, n)
	}
	sort.Strings(authNames)
	for _, n := range authNames {
		if s := e.authorizer(n, a.Authorizers[n]); s != nil {
			put(schemes, n, s)
		}
	}
	components := &yaml.Node{Kind: yaml.MappingNode}
	if s := e.schemas(); s != nil {
		put(components, "schemas", s)
	}
	if len(schemes.Content) > 0 {
		put(components, "securitySchemes", schemes)
	}
	if len(components.Content) > 0 {
		put(doc, "components", components)
	}
	e.restExtensions(doc)
	if e.rest {
		put(doc, ext+"api-key-source", strNode("HEADER"))
	} else {
		put(doc, ext+"importexport-version", strNode("1.0"))
	}
	if c := a.CORS; c != nil {
		if e.rest {
			e.note("cors written as %scors, which REST imports on AWS ignore: there a REST API answers preflights with OPTIONS methods", ext)
		}
		{
			cn := &yaml.Node{Kind: yaml.MappingNode}
			for _, f := range []struct {
				k string
				v []string
			}{{"allowOrigins", c.AllowOrigins}, {"allowMethods", c.AllowMethods}, {"allowHeaders", c.AllowHeaders}, {"exposeHeaders", c.ExposeHeaders}} {
				if len(f.v) > 0 {
					put(cn, f.k, strList(f.v))
				}
			}
			if c.MaxAge != 0 {
				put(cn, "maxAge", intNode(c.MaxAge))
			}
			if c.AllowCredentials {
				put(cn, "allowCredentials", boolNode(true))
			}
			put(doc, ext+"cors", cn)
		}
	}
	if len(e.cfg.UsagePlans) > 0 || len(e.cfg.APIKeys) > 0 {
		e.note("usage_plans and api_keys not exported: OpenAPI has no place for them (create them on AWS with aws apigateway create-usage-plan)")
	}
	return &yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{doc}}
}

func lambdaURI(fn string) string {
	return "arn:aws:apigateway:" + region + ":lambda:path/2015-03-31/functions/arn:aws:lambda:" + region + ":" + accountID + ":function:" + fn + "/invocations"
}

func (e *exporter) integration(rk, method string, in *config.Integration) *yaml.Node {
	n := &yaml.Node{Kind: yaml.MappingNode}
	switch in.Type {
	case config.IntegrationLambda:
		typ := "aws_proxy"
		if in.NonProxy() {
			typ = "aws"
		}
		put(n, "type", strNode(typ))
		put(n, "httpMethod", strNode("POST"))
		put(n, "uri", strNode(lambdaURI(in.Function)))
		if !e.rest {
			pf := string(in.PayloadFormat)
			if pf == "" {
				pf = "2.0"
			}
			put(n, "payloadFormatVersion", strNode(pf))
		}
	case config.IntegrationHTTPProxy:
		put(n, "type", strNode("http_proxy"))
		put(n, "httpMethod", strNode(method))
		put(n, "uri", strNode(in.URL))
		if !e.rest {
			put(n, "payloadFormatVersion", strNode("1.0"))
		} else if ps := urlParam.FindAllStringSubmatch(in.URL, -1); len(ps) > 0 {
			rp := &yaml.Node{Kind: yaml.MappingNode}
			for _, p := range ps {
				put(rp, "integration.request.path."+p[1], strNode("method.request.path."+p[1]))
			}
			put(n, "requestParameters", rp)
		}
		if len(in.Targets) > 0 || in.Balance != "" || in.Retries > 0 || in.HealthCheck != nil {
			e.note("route %q: targets, balance, retries and health_check not exported: AWS calls one uri", rk)
		}
	case config.IntegrationHTTP:
		hm := in.Method
		if hm == "" {
			hm = method
		}
		put(n, "type", strNode("http"))
		put(n, "httpMethod", strNode(hm))
		put(n, "uri", strNode(in.URL))
		if ps := urlParam.FindAllStringSubmatch(in.URL, -1); len(ps) > 0 {
			rp := &yaml.Node{Kind: yaml.MappingNode}
			for _, p := range ps {
				put(rp, "integration.request.path."+p[1], strNode("method.request.path."+p[1]))
			}
			put(n, "requestParameters", rp)
		}
	case config.IntegrationMock:
		if in.NonProxy() {
			put(n, "type", strNode("mock"))
			break
		}
		if !e.rest {
			e.note("route %q: mock integration exported, but HTTP APIs on AWS have no mock integration (use --dialect rest)", rk)
		}
		put(n, "type", strNode("mock"))
		put(n, "requestTemplates", m("application/json", fmt.Sprintf(`{"statusCode": %d}`, in.Status)))
		resp := m("statusCode", strconv.Itoa(in.Status))
		ct := ""
		var hs []string
		for h := range in.Headers {
			hs = append(hs, h)
		}
		sort.Strings(hs)
		if len(hs) > 0 {
			rp := &yaml.Node{Kind: yaml.MappingNode}
			for _, h := range hs {
				if strings.EqualFold(h, "content-type") {
					ct = in.Headers[h]
				}
				put(rp, "method.response.header."+h, strNode("'"+in.Headers[h]+"'"))
			}
			put(resp, "responseParameters", rp)
		}
		if in.Body != "" {
			if ct == "" {
				ct = "application/json"
			}
			put(resp, "responseTemplates", m(ct, in.Body))
		}
		put(n, "responses", m("default", resp))
	default:
		e.note("route %q: integration type %s not exported", rk, in.Type)
	}
	if in.NonProxy() {
		e.nonProxy(rk, in, n)
	}
	e.paramMapping(in, n)
	if in.Timeout != 0 {
		put(n, "timeoutInMillis", intNode(int(in.Timeout.D().Milliseconds())))
	}
	return n
}

func (e *exporter) authorizer(nm string, au config.Authorizer) *yaml.Node {
	header := "Authorization"
	if len(au.IdentitySource) > 0 {
		if h, ok := strings.CutPrefix(au.IdentitySource[0], "$request.header."); ok {
			header = h
		}
	}
	var src []string
	for _, s := range au.IdentitySource {
		if e.rest {
			s = strings.Replace(strings.Replace(s, "$request.header.", "method.request.header.", 1), "$request.querystring.", "method.request.querystring.", 1)
		}
		src = append(src, s)
	}
	switch au.Type {
	case config.AuthorizerJWT:
		jc := m("issuer", au.Issuer)
		if len(au.Audience) > 0 {
			put(jc, "audience", strList(au.Audience))
		}
		x := m("type", "jwt", "jwtConfiguration", jc, "identitySource", strings.Join(src, ", "))
		scheme := m("type", "oauth2", "flows", m(), ext+"authorizer", x)
		if au.JWKSURL != "" {
			// AWS discovers keys from the issuer; frontdesk reads this
			// back on import.
			put(scheme, "x-frontdesk-jwks-url", strNode(au.JWKSURL))
		}
		return scheme
	case config.AuthorizerLambda:
		x := m("type", "request", "authorizerUri", lambdaURI(au.Function), "identitySource", strings.Join(src, ", "))
		if au.TTL != 0 {
			put(x, "authorizerResultTtlInSeconds", intNode(int(au.TTL.D().Seconds())))
		}
		if !e.rest {
			pf := string(au.PayloadFormat)
			if pf == "" {
				pf = "2.0"
			}
			put(x, "authorizerPayloadFormatVersion", strNode(pf))
			if au.SimpleResponses != nil {
				put(x, "enableSimpleResponses", boolNode(*au.SimpleResponses))
			}
		}
		return m("type", "apiKey", "name", header, "in", "header", "x-amazon-apigateway-authtype", "custom", ext+"authorizer", x)
	}
	e.note("authorizer %s (type %s) not exported: API Gateway has no such authorizer", nm, au.Type)
	return nil
}
