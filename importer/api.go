package importer

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// apiOut is one API of the output config, filled by the OpenAPI reader,
// SAM events and resources, then assembled in a fixed key order.
type apiOut struct {
	name     string
	typ      string // http, rest or websocket
	at       pos
	basePath string
	hosts    []string

	stages       *yaml.Node
	cors         *yaml.Node
	authorizers  *yaml.Node
	integrations *yaml.Node
	routes       *yaml.Node
	extra        *yaml.Node // websocket keys (route_selection, ...)

	// REST request validation, gateway responses and binary media types
	// (transform.go); nil when the source has none.
	requestValidators *yaml.Node
	requestValidator  *yaml.Node
	models            *yaml.Node
	gatewayResponses  *yaml.Node
	binaryMediaTypes  *yaml.Node
	// modelNames maps a schema's source name to its model's name.
	modelNames map[string]string
	modelTaken map[string]bool
	// cfnModels maps an AWS::ApiGateway::Model's logical id to its model.
	cfnModels map[string]string

	// apiKeyRequired makes every route need a key (SAM Auth.ApiKeyRequired).
	apiKeyRequired bool
	// defaultAuthorizer applies to routes that name none (SAM
	// Auth.DefaultAuthorizer).
	defaultAuthorizer string
	used              map[string]bool
}

func (b *builder) newAPI(name, typ string, at pos) *apiOut {
	for _, a := range b.apis {
		if a.name == name {
			return a
		}
	}
	a := &apiOut{name: name, typ: typ, at: at, used: map[string]bool{},
		stages: b.t.mapping(pos{}), cors: nil, authorizers: b.t.mapping(pos{}),
		integrations: b.t.mapping(pos{}), routes: b.t.mapping(pos{}), extra: b.t.mapping(pos{})}
	b.apis = append(b.apis, a)
	return a
}

func (b *builder) findAPI(name string) *apiOut {
	for _, a := range b.apis {
		if a.name == name {
			return a
		}
	}
	return nil
}

// uniqueName returns base, or base-2, base-3... not yet used in the API.
func (a *apiOut) uniqueName(base string) string {
	if base == "" {
		base = "integration"
	}
	n := base
	for i := 2; a.used[n]; i++ {
		n = fmt.Sprintf("%s-%d", base, i)
	}
	a.used[n] = true
	return n
}

// stage adds a named stage (or $default) with its variables.
func (a *apiOut) stage(t *tree, name string, vars map[string]string, at pos) {
	if name == "" {
		return
	}
	s := t.mapping(at)
	if len(vars) > 0 {
		t.set(s, "variables", strMap(vars), at)
	}
	t.set(a.stages, name, s, at)
}

func (a *apiOut) assemble(t *tree) *yaml.Node {
	m := t.mapping(pos{})
	t.set(m, "type", strNode(a.typ), a.at)
	bp := a.basePath
	if bp == "" {
		bp = "/"
	}
	t.set(m, "base_path", strNode(bp), a.at)
	if len(a.hosts) > 0 {
		t.set(m, "hosts", strList(a.hosts), a.at)
	}
	pairs(a.extra, func(k, v *yaml.Node) { t.set(m, k.Value, v, t.at[k]) })
	if len(a.stages.Content) > 0 {
		sortMap(a.stages)
		t.set(m, "stages", a.stages, pos{})
	}
	if a.cors != nil {
		t.set(m, "cors", a.cors, t.at[a.cors])
	}
	if len(a.authorizers.Content) > 0 {
		sortMap(a.authorizers)
		t.set(m, "authorizers", a.authorizers, pos{})
	}
	for _, kv := range []struct {
		key string
		n   *yaml.Node
	}{{"binary_media_types", a.binaryMediaTypes}, {"request_validators", a.requestValidators}, {"request_validator", a.requestValidator},
		{"models", a.models}, {"gateway_responses", a.gatewayResponses}} {
		if kv.n != nil && (kv.n.Kind == yaml.ScalarNode || len(kv.n.Content) > 0) {
			sortMap(kv.n)
			t.set(m, kv.key, kv.n, t.at[kv.n])
		}
	}
	sortMap(a.integrations)
	t.set(m, "integrations", a.integrations, pos{})
	for i := 0; i+1 < len(a.routes.Content); i += 2 {
		r := a.routes.Content[i+1]
		if a.apiKeyRequired && a.typ != "websocket" && get(r, "api_key") == nil {
			t.set(r, "api_key", boolNode(true), pos{})
		}
		if a.defaultAuthorizer != "" && get(r, "authorizer") == nil && get(r, "no_auth") == nil {
			t.set(r, "authorizer", strNode(a.defaultAuthorizer), pos{})
		}
		dropKey(r, "no_auth")
		r.Style = yaml.FlowStyle
	}
	sortMap(a.routes)
	t.set(m, "routes", a.routes, pos{})
	return m
}

func dropKey(m *yaml.Node, key string) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			m.Content = append(m.Content[:i], m.Content[i+2:]...)
			return
		}
	}
}

// route adds "METHOD /path" → integration, with its auth.
type routeSpec struct {
	key         string
	integration string
	apiKey      bool
	authorizer  string
	noAuth      bool // NONE: no default authorizer either
	scopes      []string

	// REST request validation: the validator, the model by content type
	// and the method request parameters (true: required).
	validator string
	models    map[string]string
	params    map[string]bool
}

func (b *builder) addRoute(a *apiOut, rs routeSpec, file string, n *yaml.Node) {
	at := pos{file, lineOf(n)}
	if existing := get(a.routes, rs.key); existing != nil {
		b.r.note(file, n, rs.key, "route defined twice: the later definition wins")
	}
	r := b.t.mapping(at)
	b.t.set(r, "integration", strNode(rs.integration), at)
	if rs.apiKey {
		b.t.set(r, "api_key", boolNode(true), at)
	}
	if rs.authorizer != "" {
		b.t.set(r, "authorizer", strNode(rs.authorizer), at)
	} else if rs.noAuth {
		b.t.set(r, "no_auth", boolNode(true), at)
	}
	if len(rs.scopes) > 0 {
		b.t.set(r, "scopes", strList(rs.scopes), at)
	}
	if rs.validator != "" {
		b.t.set(r, "request_validator", strNode(rs.validator), at)
	}
	if len(rs.models) > 0 {
		b.t.set(r, "request_models", strMap(rs.models), at)
	}
	if len(rs.params) > 0 {
		pm := &yaml.Node{Kind: yaml.MappingNode}
		for _, k := range sortedKeys(rs.params) {
			pm.Content = append(pm.Content, strNode(k), boolNode(rs.params[k]))
		}
		b.t.set(r, "request_parameters", pm, at)
	}
	b.t.set(a.routes, rs.key, r, at)
}

func lineOf(n *yaml.Node) int {
	if n == nil {
		return 0
	}
	return n.Line
}

// lambdaFunction extracts the function name from a Lambda ARN or an API
// Gateway invocation URI wrapping one:
// arn:aws:apigateway:REGION:lambda:path/2015-03-31/functions/arn:aws:lambda:REGION:ACCT:function:NAME/invocations.
func lambdaFunction(uri string) (string, bool) {
	i := strings.Index(uri, ":function:")
	if i < 0 {
		return "", false
	}
	fn := uri[i+len(":function:"):]
	if j := strings.IndexAny(fn, "/:"); j >= 0 {
		fn = fn[:j] // alias or version, then /invocations
	}
	return fn, fn != ""
}

// isLambdaURI says uri invokes a Lambda function.
func isLambdaURI(uri string) bool {
	return strings.Contains(uri, ":lambda:path/") || strings.HasPrefix(uri, "arn:aws:lambda:") || strings.Contains(uri, ":lambda:") && strings.Contains(uri, ":function:")
}

// millis writes a timeoutInMillis as a duration ("29s", "1.5s").
func millis(ms int) string { return (time.Duration(ms) * time.Millisecond).String() }

func millisStr(ms string) string {
	v, err := strconv.Atoi(ms)
	if err != nil {
		return ms
	}
	return millis(v)
}
