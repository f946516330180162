package importer

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/frontdeskgw/frontdesk/config"
	"gopkg.in/yaml.v3"
)

// The REST request and response transformations of API Gateway, read
// from the OpenAPI extensions (and the CloudFormation resources that
// carry the same things): request validators and models, method request
// parameters, mapping templates and integration responses of non-proxy
// integrations, gateway responses, binary media types; and the parameter
// mapping of HTTP API integrations. Each maps onto frontdesk's keys of
// the same meaning (docs/transform.md); what those keys cannot say is
// reported.

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// alnum keeps letters and digits: model names are only these, as API
// Gateway's.
func alnum(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r < 128 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// uniqueIn returns base, or base2, base3... not yet in taken, and takes it.
func uniqueIn(taken map[string]bool, base string) string {
	n := base
	for i := 2; taken[n]; i++ {
		n = base + strconv.Itoa(i)
	}
	taken[n] = true
	return n
}

// restOnly notes a REST construct in an HTTP API; true when the API is
// a REST API and the construct is to be read.
func (o *oas) restOnly(k *yaml.Node, construct string) bool {
	if o.a.typ == "rest" {
		return true
	}
	o.b.r.note(o.file, k, construct, "applies to REST APIs only: ignored in the HTTP API %s", o.a.name)
	return false
}

// requestValidators maps x-amazon-apigateway-request-validators.
func (o *oas) requestValidators(k, v *yaml.Node) {
	t, a := o.b.t, o.a
	if a.requestValidators == nil {
		a.requestValidators = t.mapping(pos{o.file, k.Line})
	}
	pairs(v, func(nk, nv *yaml.Node) {
		at := pos{o.file, nk.Line}
		m := t.mapping(at)
		body, _ := getBool(nv, "validateRequestBody")
		params, _ := getBool(nv, "validateRequestParameters")
		t.set(m, "validate_request_body", boolNode(body), at)
		t.set(m, "validate_request_parameters", boolNode(params), at)
		t.set(a.requestValidators, nk.Value, m, at)
	})
}

// binaryMediaTypes maps x-amazon-apigateway-binary-media-types.
func (o *oas) binaryMediaTypes(k, v *yaml.Node) {
	types := strs(v)
	if len(types) == 0 {
		return
	}
	n := strList(types)
	o.b.t.mark(n, pos{o.file, k.Line})
	o.a.binaryMediaTypes = n
}

// gatewayResponses maps x-amazon-apigateway-gateway-responses (and SAM's
// and CloudFormation's gateway responses, brought to its shape).
func (o *oas) gatewayResponses(v *yaml.Node) {
	b, t, a, file := o.b, o.b.t, o.a, o.file
	pairs(v, func(tk, tv *yaml.Node) {
		typ := tk.Value
		switch {
		case !slices.Contains(config.GatewayResponseTypes, typ):
			b.r.note(file, tk, "gateway response "+typ, "not a gateway response type API Gateway knows: ignored")
			return
		case typ == "REQUEST_TOO_LARGE":
			b.r.note(file, tk, "gateway response "+typ, "cannot be customised (as in API Gateway): ignored")
			return
		}
		at := pos{file, tk.Line}
		g := t.mapping(at)
		if sc := get(tv, "statusCode"); sc != nil {
			if st, err := strconv.Atoi(scalar(sc)); err == nil {
				t.set(g, "status", intNode(st), pos{file, sc.Line})
			} else {
				b.r.note(file, sc, typ+".statusCode", "want a status code, got %q: the type's own status is kept", scalar(sc))
			}
		}
		params := t.mapping(at)
		pairs(get(tv, "responseParameters"), func(pk, pv *yaml.Node) {
			h, ok := strings.CutPrefix(pk.Value, "gatewayresponse.header.")
			val := scalar(pv)
			if !ok || h == "" || !gatewaySource(val) {
				b.r.note(file, pk, typ+".responseParameters."+pk.Value, "not yet supported: only gatewayresponse.header.NAME from 'static', method.request.header/querystring/path.X, stageVariables.X or context.X is set; %q is not", val)
				return
			}
			t.set(params, pk.Value, strNode(val), pos{file, pk.Line})
		})
		if len(params.Content) > 0 {
			sortMap(params)
			t.set(g, "response_parameters", params, at)
		}
		if tm := o.templates(get(tv, "responseTemplates")); tm != nil {
			t.set(g, "response_templates", tm, pos{file, lineOf(keyNode(tv, "responseTemplates"))})
		}
		if len(g.Content) == 0 {
			return
		}
		if a.gatewayResponses == nil {
			a.gatewayResponses = t.mapping(at)
		}
		t.set(a.gatewayResponses, typ, g, at)
	})
}

func gatewaySource(v string) bool {
	if len(v) >= 2 && v[0] == '\'' && v[len(v)-1] == '\'' {
		return true
	}
	for _, p := range []string{"method.request.header.", "method.request.querystring.", "method.request.path.", "stageVariables.", "context."} {
		if rest, ok := strings.CutPrefix(v, p); ok && rest != "" {
			return true
		}
	}
	return false
}

// templates copies a map of mapping templates by content type; nil when
// there are none.
func (o *oas) templates(src *yaml.Node) *yaml.Node {
	if src == nil || src.Kind != yaml.MappingNode || len(src.Content) == 0 {
		return nil
	}
	out := o.b.t.mapping(pos{o.file, src.Line})
	pairs(src, func(k, v *yaml.Node) {
		o.b.t.set(out, k.Value, strNode(scalar(v)), pos{o.file, k.Line})
	})
	sortMap(out)
	return out
}

// schemaPrefix is where a document keeps its schemas.
func (o *oas) schemaPrefix() (string, *yaml.Node) {
	if o.v2 {
		return "#/definitions/", get(o.doc, "definitions")
	}
	return "#/components/schemas/", get(get(o.doc, "components"), "schemas")
}

// models names the document's schemas as REST models (import-rest-api
// makes a model of each). A model is built when a request body uses it
// (model): one no route uses changes nothing that is served, and a large
// document's schemas are not all copied and compiled.
func (o *oas) models() {
	a := o.a
	_, schemas := o.schemaPrefix()
	if schemas == nil {
		return
	}
	if a.modelNames == nil {
		a.modelNames = map[string]string{}
		a.modelTaken = map[string]bool{}
	}
	pairs(schemas, func(k, _ *yaml.Node) {
		mn := alnum(k.Value)
		if mn == "" {
			mn = "Model"
		}
		a.modelNames[k.Value] = uniqueIn(a.modelTaken, mn)
	})
}

// model builds the model of the schema named src, once; a schema's local
// $refs to other schemas are copied into its definitions, since a model
// refers only within itself. False when it cannot be a model (noted).
func (o *oas) model(src string) (string, bool) {
	a, b := o.a, o.b
	if mn, ok := o.built[src]; ok {
		return mn, mn != ""
	}
	if o.built == nil {
		o.built = map[string]string{}
	}
	mn, ok := a.modelNames[src]
	if !ok {
		return "", false
	}
	prefix, schemas := o.schemaPrefix()
	k := keyNode(schemas, src)
	schema, err := o.modelSchema(src, get(schemas, src), prefix, schemas)
	if err == nil {
		err = compiles(mn, schema)
	}
	if err != nil {
		b.r.note(o.file, k, "schema "+src, "not served as a model: %v; requests are not validated against it", err)
		o.built[src] = ""
		return "", false
	}
	if mn != src {
		b.r.note(o.file, k, "schema "+src, "model names are letters and digits (as API Gateway's): served as the model %s", mn)
	}
	o.addModel(mn, schema, pos{o.file, k.Line})
	o.built[src] = mn
	return mn, true
}

func (o *oas) addModel(mn string, schema *yaml.Node, at pos) {
	t, a := o.b.t, o.a
	if a.models == nil {
		a.models = t.mapping(at)
	}
	m := t.mapping(at)
	t.set(m, "schema", schema, at)
	t.set(a.models, mn, m, at)
}

// compiles checks a model's schema as the config check will.
func compiles(name string, schema *yaml.Node) error {
	var v any
	if err := schema.Decode(&v); err != nil {
		return fmt.Errorf("schema: %w", err)
	}
	m := &config.Model{Schema: v}
	_, err := m.CompiledSchema(name)
	return err
}

// maxSchemaNodes bounds the nodes copied into the models of one
// document (each model with the schemas it copies in), so aliases or
// wide reference graphs cannot exhaust memory or time.
const maxSchemaNodes = 1 << 17

// modelSchema copies the schema self (nil name: an inline schema) with
// its $refs rewritten to point within the copy: the schema itself is
// "#", every other schema it reaches is copied under definitions.
func (o *oas) modelSchema(self string, root *yaml.Node, prefix string, schemas *yaml.Node) (*yaml.Node, error) {
	loc := map[string]string{}
	if self != "" {
		loc[self] = "#"
	}
	taken := map[string]bool{}
	pairs(get(root, "definitions"), func(k, _ *yaml.Node) { taken[k.Value] = true })
	var queue []string
	if o.schemaBudget == nil {
		o.schemaBudget = new(maxSchemaNodes)
	}
	budget := o.schemaBudget
	rewrite := func(ref string) (string, error) {
		rest, ok := strings.CutPrefix(ref, prefix)
		if !ok {
			return "", fmt.Errorf("$ref %q leads outside the document's schemas", ref)
		}
		nm, tail, _ := strings.Cut(rest, "/")
		nm = strings.ReplaceAll(strings.ReplaceAll(nm, "~1", "/"), "~0", "~")
		if get(schemas, nm) == nil {
			return "", fmt.Errorf("$ref %q goes nowhere", ref)
		}
		l, ok := loc[nm]
		if !ok {
			key := alnum(nm)
			if key == "" {
				key = "schema"
			}
			l = "#/definitions/" + uniqueIn(taken, key)
			loc[nm] = l
			queue = append(queue, nm)
		}
		if tail != "" {
			return l + "/" + tail, nil
		}
		return l, nil
	}
	var cp func(n *yaml.Node, depth int) (*yaml.Node, error)
	cp = func(n *yaml.Node, depth int) (*yaml.Node, error) {
		if n.Kind == yaml.AliasNode && n.Alias != nil {
			n = n.Alias
		}
		*budget--
		if *budget < 0 || depth > 200 {
			return nil, fmt.Errorf("schemas too large or too deep: the models of one document copy at most %d values", maxSchemaNodes)
		}
		c := &yaml.Node{Kind: n.Kind, Tag: n.Tag, Value: n.Value, Style: n.Style &^ (yaml.TaggedStyle), Line: n.Line}
		for i, ch := range n.Content {
			if n.Kind == yaml.MappingNode && i%2 == 1 && n.Content[i-1].Value == "$ref" && scalar(ch) != "" {
				r, err := rewrite(ch.Value)
				if err != nil {
					return nil, err
				}
				c.Content = append(c.Content, strNode(r))
				continue
			}
			cc, err := cp(ch, depth+1)
			if err != nil {
				return nil, err
			}
			c.Content = append(c.Content, cc)
		}
		return c, nil
	}
	out, err := cp(root, 0)
	if err != nil {
		return nil, err
	}
	if out.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("a schema must be an object")
	}
	var defs []*yaml.Node
	for i := 0; i < len(queue); i++ {
		nm := queue[i]
		c, err := cp(get(schemas, nm), 0)
		if err != nil {
			return nil, err
		}
		defs = append(defs, strNode(strings.TrimPrefix(loc[nm], "#/definitions/")), c)
	}
	if get(out, "$ref") != nil && len(defs) > 0 {
		// Draft 4 ignores what stands beside a $ref: wrap it, so that
		// definitions stay reachable.
		out = &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{strNode("allOf"),
			{Kind: yaml.SequenceNode, Content: []*yaml.Node{out}}}}
	}
	if len(defs) > 0 {
		d := get(out, "definitions")
		if d == nil {
			d = &yaml.Node{Kind: yaml.MappingNode}
			out.Content = append(out.Content, strNode("definitions"), d)
		}
		d.Content = append(d.Content, defs...)
	}
	return out, nil
}

// requestModel is the model for a request body schema: the model of the
// schema it refers to, or a model made of an inline schema.
func (o *oas) requestModel(routeKey, opName string, schema *yaml.Node) (string, bool) {
	a := o.a
	prefix, schemas := o.schemaPrefix()
	if ref := getStr(schema, "$ref"); ref != "" && len(schema.Content) == 2 {
		if nm, ok := strings.CutPrefix(ref, prefix); ok && !strings.Contains(nm, "/") {
			mn, ok := o.model(strings.ReplaceAll(strings.ReplaceAll(nm, "~1", "/"), "~0", "~"))
			if !ok {
				o.b.r.note(o.file, schema, routeKey+": request model", "%q is not served as a model: the body is not validated", ref)
			}
			return mn, ok
		}
	}
	if a.modelNames == nil {
		a.modelNames = map[string]string{}
		a.modelTaken = map[string]bool{}
	}
	taken := a.modelTaken
	base := alnum(opName)
	if base == "" {
		base = alnum(strings.ToLower(routeKey))
	}
	mn := uniqueIn(taken, base+"Body")
	out, err := o.modelSchema("", schema, prefix, schemas)
	if err == nil {
		err = compiles(mn, out)
	}
	if err != nil {
		o.b.r.note(o.file, schema, routeKey+": request model", "not served as a model: %v; the body is not validated", err)
		return "", false
	}
	o.addModel(mn, out, pos{o.file, schema.Line})
	return mn, true
}

// requestValidation reads an operation's validator, parameters and
// request body models into rs (REST APIs).
func (o *oas) requestValidation(rs *routeSpec, op, itemParams *yaml.Node) {
	b, file := o.b, o.file
	if v := getStr(op, ext+"request-validator"); v != "" {
		rs.validator = v
	}
	type pk struct{ name, in string }
	params := map[pk]*yaml.Node{}
	var order []pk
	for _, list := range []*yaml.Node{itemParams, get(op, "parameters")} {
		if list == nil {
			continue
		}
		for _, p := range list.Content {
			p = o.deref(p)
			if p == nil {
				continue
			}
			k := pk{getStr(p, "name"), getStr(p, "in")}
			if _, seen := params[k]; !seen {
				order = append(order, k)
			}
			params[k] = p
		}
	}
	for _, k := range order {
		p := params[k]
		required, _ := getBool(p, "required")
		switch k.in {
		case "query", "header":
			loc := map[string]string{"query": "querystring", "header": "header"}[k.in]
			if rs.params == nil {
				rs.params = map[string]bool{}
			}
			rs.params["method.request."+loc+"."+k.name] = required
		case "path":
			// A route's path variables are always there when it matches.
		case "body":
			o.bodyModels(rs, getStr(op, "operationId"), get(p, "schema"), o.consumes(op))
		case "cookie", "formData":
			b.r.note(file, p, rs.key+": parameter "+k.name+" in "+k.in, "not validated: API Gateway has no %s parameters", k.in)
		}
	}
	if rb := o.deref(get(op, "requestBody")); rb != nil {
		pairs(get(rb, "content"), func(ct, media *yaml.Node) {
			if s := get(media, "schema"); s != nil {
				o.bodyModel(rs, getStr(op, "operationId"), ct.Value, s)
			}
		})
	}
}

// consumes is a Swagger 2.0 operation's request content types.
func (o *oas) consumes(op *yaml.Node) []string {
	if c := strs(get(op, "consumes")); len(c) > 0 {
		return c
	}
	if c := strs(get(o.doc, "consumes")); len(c) > 0 {
		return c
	}
	return []string{"application/json"}
}

func (o *oas) bodyModels(rs *routeSpec, opName string, schema *yaml.Node, types []string) {
	for _, ct := range types {
		o.bodyModel(rs, opName, ct, schema)
	}
}

func (o *oas) bodyModel(rs *routeSpec, opName, ct string, schema *yaml.Node) {
	if schema == nil {
		return
	}
	mn, ok := o.requestModel(rs.key, opName, schema)
	if !ok {
		return
	}
	if rs.models == nil {
		rs.models = map[string]string{}
	}
	rs.models[ct] = mn
}

// nonProxy maps what a REST non-proxy integration (http, aws Lambda,
// mock with templates) adds to out: request templates, passthrough
// behaviour and integration responses. handled collects the fields read.
func (o *oas) nonProxy(routeKey string, in, out *yaml.Node, at pos, handled map[string]bool) {
	b, t, file := o.b, o.b.t, o.file
	handled["requestTemplates"], handled["passthroughBehavior"], handled["responses"] = true, true, true
	handled["contentHandling"] = true
	o.contentHandling(routeKey+": contentHandling", in, out, t)
	if tm := o.templates(get(in, "requestTemplates")); tm != nil {
		t.set(out, "request_templates", tm, pos{file, lineOf(keyNode(in, "requestTemplates"))})
	}
	if pb := strings.ToLower(getStr(in, "passthroughBehavior")); pb != "" {
		switch pb {
		case "when_no_match", "when_no_templates", "never":
			t.set(out, "passthrough_behavior", strNode(pb), pos{file, lineOf(keyNode(in, "passthroughBehavior"))})
		default:
			b.r.note(file, keyNode(in, "passthroughBehavior"), routeKey+": passthroughBehavior", "%q: want WHEN_NO_MATCH, WHEN_NO_TEMPLATES or NEVER; WHEN_NO_MATCH is used", getStr(in, "passthroughBehavior"))
		}
	}
	list := &yaml.Node{Kind: yaml.SequenceNode}
	pairs(get(in, "responses"), func(sk, rv *yaml.Node) {
		rat := pos{file, sk.Line}
		r := t.mapping(rat)
		if sk.Value != "default" {
			if _, err := regexp.Compile(sk.Value); err != nil {
				b.r.note(file, sk, routeKey+": responses."+sk.Value, "not a regular expression frontdesk reads (RE2: no look-around, no back-references): %v; this response is not served", err)
				return
			}
			t.set(r, "selection_pattern", strNode(sk.Value), rat)
		}
		if sc := getStr(rv, "statusCode"); sc != "" {
			st, err := strconv.Atoi(sc)
			if err != nil {
				b.r.note(file, keyNode(rv, "statusCode"), routeKey+": responses."+sk.Value+".statusCode", "want a status code, got %q: this response is not served", sc)
				return
			}
			t.set(r, "status", intNode(st), rat)
		}
		params := t.mapping(rat)
		pairs(get(rv, "responseParameters"), func(pk, pv *yaml.Node) {
			val := scalar(pv)
			h, ok := strings.CutPrefix(pk.Value, "method.response.header.")
			_, static := staticText(val)
			src, hdr := strings.CutPrefix(val, "integration.response.header.")
			if !ok || h == "" || !(static || val == "integration.response.body" || hdr && src != "") {
				b.r.note(file, pk, routeKey+": "+pk.Value, "not yet supported: response parameters set method.response.header.NAME from 'static', integration.response.header.X or integration.response.body; %q is not mapped", val)
				return
			}
			t.set(params, pk.Value, strNode(val), pos{file, pk.Line})
		})
		if len(params.Content) > 0 {
			sortMap(params)
			t.set(r, "response_parameters", params, rat)
		}
		if tm := o.templates(get(rv, "responseTemplates")); tm != nil {
			t.set(r, "response_templates", tm, pos{file, lineOf(keyNode(rv, "responseTemplates"))})
		}
		o.contentHandling(routeKey+": responses."+sk.Value+".contentHandling", rv, r, t)
		r.Style = yaml.FlowStyle
		list.Content = append(list.Content, r)
	})
	if len(list.Content) > 0 {
		t.set(out, "responses", list, pos{file, lineOf(keyNode(in, "responses"))})
	}
}

func staticText(v string) (string, bool) {
	if len(v) >= 2 && v[0] == '\'' && v[len(v)-1] == '\'' {
		return v[1 : len(v)-1], true
	}
	return "", false
}

// staticMock says a mock's templates and responses hold no VTL and only
// static headers: it answers every request alike, and is served as the
// plain mock (status, headers, body), which costs no template.
func staticMock(in *yaml.Node) bool {
	pb := strings.ToLower(getStr(in, "passthroughBehavior"))
	if pb == "never" || pb == "when_no_templates" {
		return false
	}
	ok := true
	pairs(get(in, "requestTemplates"), func(_, v *yaml.Node) {
		var sel map[string]any
		s := scalar(v)
		if strings.ContainsAny(s, "$#") || json.Unmarshal([]byte(s), &sel) != nil {
			ok = false
		}
	})
	pairs(get(in, "responses"), func(_, r *yaml.Node) {
		pairs(get(r, "responseTemplates"), func(_, v *yaml.Node) {
			if strings.ContainsAny(scalar(v), "$#") {
				ok = false
			}
		})
		pairs(get(r, "responseParameters"), func(_, v *yaml.Node) {
			if _, static := staticText(scalar(v)); !static {
				ok = false
			}
		})
	})
	return ok
}

// restRequestParameters reads a REST integration's requestParameters:
// integration.request.path.X from method.request.path.Y renames {X} in
// the URL; a header or query string parameter from the method request
// parameter of the same name is what frontdesk does anyway (it forwards
// them); the rest is reported.
func (o *oas) restRequestParameters(routeKey, u string, params *yaml.Node) string {
	pairs(params, func(k, v *yaml.Node) {
		to, from := k.Value, scalar(v)
		if x, ok := strings.CutPrefix(to, "integration.request.path."); ok {
			if y, ok := strings.CutPrefix(from, "method.request.path."); ok {
				u = strings.ReplaceAll(u, "{"+x+"}", "{"+y+"}")
				return
			}
		}
		for _, kind := range []string{"header.", "querystring."} {
			if x, ok := strings.CutPrefix(to, "integration.request."+kind); ok && from == "method.request."+kind+x {
				return
			}
		}
		o.b.r.note(o.file, k, routeKey+": requestParameters."+to, "not yet supported: %s is not mapped (the request's own headers and query string are forwarded)", from)
	})
	return u
}

// paramMapping maps an HTTP API integration's requestParameters and
// responseParameters (append:header.x, overwrite:statuscode, ...) onto
// request_parameters and response_parameters; mappings frontdesk cannot
// apply are reported.
func (o *oas) paramMapping(routeKey, typ string, in, out *yaml.Node, handled map[string]bool) {
	b, t, file := o.b, o.b.t, o.file
	handled["requestParameters"], handled["responseParameters"] = true, true
	req := t.mapping(pos{file, lineOf(keyNode(in, "requestParameters"))})
	pairs(get(in, "requestParameters"), func(k, v *yaml.Node) {
		m, err := config.ParseParamMapping(k.Value, scalar(v), false)
		if err == nil && m.Target == config.MapPath && typ != "http_proxy" {
			err = fmt.Errorf("overwrite:path applies to http_proxy integrations")
		}
		if err != nil {
			b.r.note(file, k, routeKey+": requestParameters."+k.Value, "not mapped: %v", err)
			return
		}
		t.set(req, k.Value, strNode(scalar(v)), pos{file, k.Line})
	})
	if len(req.Content) > 0 {
		sortMap(req)
		t.set(out, "request_parameters", req, t.at[req])
	}
	resp := t.mapping(pos{file, lineOf(keyNode(in, "responseParameters"))})
	pairs(get(in, "responseParameters"), func(sk, sv *yaml.Node) {
		if st, err := strconv.Atoi(sk.Value); err != nil || st < 200 || st > 599 {
			b.r.note(file, sk, routeKey+": responseParameters."+sk.Value, "response mappings are keyed by a status code 200-599: not mapped")
			return
		}
		ms := t.mapping(pos{file, sk.Line})
		pairs(sv, func(k, v *yaml.Node) {
			if _, err := config.ParseParamMapping(k.Value, scalar(v), true); err != nil {
				b.r.note(file, k, routeKey+": responseParameters."+sk.Value+"."+k.Value, "not mapped: %v", err)
				return
			}
			t.set(ms, k.Value, strNode(scalar(v)), pos{file, k.Line})
		})
		if len(ms.Content) > 0 {
			sortMap(ms)
			t.set(resp, sk.Value, ms, pos{file, sk.Line})
		}
	})
	if len(resp.Content) > 0 {
		sortMap(resp)
		t.set(out, "response_parameters", resp, t.at[resp])
	}
}

// contentHandling maps an integration's or integration response's
// contentHandling (CONVERT_TO_TEXT, CONVERT_TO_BINARY) onto content_handling.
func (o *oas) contentHandling(what string, in, out *yaml.Node, t *tree) {
	v := getStr(in, "contentHandling")
	if v == "" {
		return
	}
	at := pos{o.file, lineOf(keyNode(in, "contentHandling"))}
	switch ch := strings.ToLower(v); ch {
	case "convert_to_text", "convert_to_binary":
		t.set(out, "content_handling", strNode(ch), at)
	default:
		o.b.r.note(o.file, keyNode(in, "contentHandling"), what, "%q: want CONVERT_TO_TEXT or CONVERT_TO_BINARY; the body is passed as it is", v)
	}
}
