package importer

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/frontdeskgw/frontdesk/config"
	"gopkg.in/yaml.v3"
)

// The export side of transform.go: request validation, models, mapping
// templates, integration responses, gateway responses, binary media
// types and HTTP API parameter mapping written back as API Gateway's
// extensions, so that import-rest-api (and frontdesk import) read them.

const schemaRef = "#/components/schemas/"

// requestParams adds a route's method request parameters (REST) to an
// operation's parameters.
func (e *exporter) requestParams(rk string, r *config.Route, params *yaml.Node) {
	if len(r.RequestParameters) == 0 {
		return
	}
	if !e.rest {
		e.note("route %q: request_parameters not exported: HTTP APIs do not validate requests", rk)
		return
	}
	for _, k := range sortedKeys(r.RequestParameters) {
		loc, nm, err := config.ParseRequiredParam(k)
		if err != nil || loc == config.ParamPath {
			continue // path variables are written from the route's path
		}
		in := "query"
		if loc == config.ParamHeader {
			in = "header"
		}
		params.Content = append(params.Content, m("name", nm, "in", in, "required", r.RequestParameters[k], "schema", m("type", "string")))
	}
}

// requestBody writes a route's request models as its requestBody.
func (e *exporter) requestBody(rk string, r *config.Route, op *yaml.Node) {
	if len(r.RequestModels) == 0 {
		return
	}
	if !e.rest {
		e.note("route %q: request_models not exported: HTTP APIs do not validate requests", rk)
		return
	}
	content := &yaml.Node{Kind: yaml.MappingNode}
	for _, ct := range sortedKeys(r.RequestModels) {
		put(content, ct, m("schema", m("$ref", schemaRef+r.RequestModels[ct])))
	}
	put(op, "requestBody", m("content", content, "required", true))
}

// schemas writes the API's models as components/schemas. A model's
// references within itself ("#/definitions/X") become references into
// its place in the document, which import turns back.
func (e *exporter) schemas() *yaml.Node {
	if len(e.a.Models) == 0 {
		return nil
	}
	if !e.rest {
		e.note("models not exported: HTTP APIs do not validate requests")
		return nil
	}
	out := &yaml.Node{Kind: yaml.MappingNode}
	for _, nm := range sortedKeys(e.a.Models) {
		md := e.a.Models[nm]
		if md == nil {
			continue
		}
		v := md.Schema
		if s, ok := v.(string); ok {
			if err := json.Unmarshal([]byte(s), &v); err != nil {
				e.note("model %s not exported: its schema is not JSON: %v", nm, err)
				continue
			}
		}
		var n yaml.Node
		if err := n.Encode(v); err != nil {
			e.note("model %s not exported: %v", nm, err)
			continue
		}
		rebaseRefs(&n, schemaRef+nm)
		put(out, nm, &n)
	}
	return out
}

// rebaseRefs rewrites every local $ref ("#...") under n to start at base.
func rebaseRefs(n *yaml.Node, base string) {
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if v := n.Content[i+1]; n.Content[i].Value == "$ref" && v.Kind == yaml.ScalarNode && strings.HasPrefix(v.Value, "#") {
				v.Value = base + strings.TrimPrefix(v.Value, "#")
			}
		}
	}
	for _, c := range n.Content {
		rebaseRefs(c, base)
	}
}

// restExtensions writes the API-level REST extensions: request
// validators, the default validator, gateway responses, binary media
// types.
func (e *exporter) restExtensions(doc *yaml.Node) {
	a := e.a
	if !e.rest {
		if len(a.RequestValidators) > 0 || a.RequestValidator != "" || len(a.GatewayResponses) > 0 || len(a.BinaryMediaTypes) > 0 {
			e.note("request_validators, gateway_responses and binary_media_types not exported: they are REST API features (use --dialect rest)")
		}
		return
	}
	if len(a.BinaryMediaTypes) > 0 {
		put(doc, ext+"binary-media-types", strList(a.BinaryMediaTypes))
	}
	if len(a.RequestValidators) > 0 {
		vs := &yaml.Node{Kind: yaml.MappingNode}
		for _, nm := range sortedKeys(a.RequestValidators) {
			v := a.RequestValidators[nm]
			put(vs, nm, m("validateRequestBody", v.ValidateRequestBody, "validateRequestParameters", v.ValidateRequestParameters))
		}
		put(doc, ext+"request-validators", vs)
	}
	if a.RequestValidator != "" {
		put(doc, ext+"request-validator", strNode(a.RequestValidator))
	}
	if len(a.GatewayResponses) > 0 {
		gr := &yaml.Node{Kind: yaml.MappingNode}
		for _, typ := range sortedKeys(a.GatewayResponses) {
			g := a.GatewayResponses[typ]
			if g == nil {
				continue
			}
			n := &yaml.Node{Kind: yaml.MappingNode}
			if g.Status != 0 {
				put(n, "statusCode", strNode(strconv.Itoa(g.Status)))
			}
			if len(g.ResponseParameters) > 0 {
				put(n, "responseParameters", strMap(g.ResponseParameters))
			}
			if len(g.ResponseTemplates) > 0 {
				put(n, "responseTemplates", strMap(g.ResponseTemplates))
			}
			put(gr, typ, n)
		}
		put(doc, ext+"gateway-responses", gr)
	}
}

// nonProxy writes a non-proxy integration's templates, passthrough
// behaviour and integration responses.
func (e *exporter) nonProxy(rk string, in *config.Integration, n *yaml.Node) {
	if !e.rest {
		e.note("route %q: mapping templates and integration responses exported, but HTTP APIs on AWS have none (use --dialect rest)", rk)
	}
	if len(in.RequestTemplates) > 0 {
		put(n, "requestTemplates", strMap(in.RequestTemplates))
	}
	if in.PassthroughBehavior != "" {
		put(n, "passthroughBehavior", strNode(strings.ToUpper(string(in.PassthroughBehavior))))
	}
	if in.ContentHandling != "" {
		put(n, "contentHandling", strNode(strings.ToUpper(string(in.ContentHandling))))
	}
	if len(in.Responses) == 0 {
		return
	}
	rs := &yaml.Node{Kind: yaml.MappingNode}
	seen := map[string]bool{}
	for _, r := range in.Responses {
		key := r.SelectionPattern
		if key == "" {
			key = "default"
		}
		if seen[key] {
			e.note("route %q: a second integration response with selection pattern %q not exported: OpenAPI keys responses by pattern", rk, key)
			continue
		}
		seen[key] = true
		st := r.Status
		if st == 0 {
			st = config.DefaultIntegrationResponseStatus
		}
		x := m("statusCode", strconv.Itoa(st))
		if len(r.ResponseParameters) > 0 {
			put(x, "responseParameters", strMap(r.ResponseParameters))
		}
		if len(r.ResponseTemplates) > 0 {
			put(x, "responseTemplates", strMap(r.ResponseTemplates))
		}
		if r.ContentHandling != "" {
			put(x, "contentHandling", strNode(strings.ToUpper(string(r.ContentHandling))))
		}
		put(rs, key, x)
	}
	put(n, "responses", rs)
}

// paramMapping writes an HTTP API integration's parameter mapping.
func (e *exporter) paramMapping(in *config.Integration, n *yaml.Node) {
	if len(in.RequestParameters) > 0 {
		put(n, "requestParameters", strMap(in.RequestParameters))
	}
	if len(in.ResponseParameters) > 0 {
		rp := &yaml.Node{Kind: yaml.MappingNode}
		for _, st := range sortedKeys(in.ResponseParameters) {
			put(rp, st, strMap(in.ResponseParameters[st]))
		}
		put(n, "responseParameters", rp)
	}
}
