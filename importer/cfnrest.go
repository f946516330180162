package importer

import (
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// restPart maps the AWS::ApiGateway::* resources that build a REST API
// without an OpenAPI body: methods on resources (their path from the
// ParentId chain), authorizers, API keys, usage plans and their keys.
func (s *sam) restPart(id string, res *yaml.Node) {
	b, t, file := s.b, s.b.t, s.file
	p := s.props(id, "")
	if p == nil {
		return
	}
	typ := s.c.types[id]
	switch typ {
	case "AWS::ApiGateway::ApiKey":
		s.cfnKey(id, p)
		return
	case "AWS::ApiGateway::UsagePlan":
		s.cfnPlan(id, p)
		return
	case "AWS::ApiGateway::UsagePlanKey":
		key, plan := getStr(p, "KeyId"), getStr(p, "UsagePlanId")
		k := s.keyNodes()[key]
		if k == nil || get(b.plans, plan) == nil {
			b.r.fail(file, keyNode(p, "KeyId"), id, "KeyId %q and UsagePlanId %q must name an AWS::ApiGateway::ApiKey and ::UsagePlan of this template", key, plan)
			return
		}
		t.set(k, "plan", strNode(plan), pos{file, lineOf(keyNode(p, "UsagePlanId"))})
		return
	}
	a := b.findAPI(getStr(p, "RestApiId"))
	if a == nil || a.typ != "rest" {
		b.r.fail(file, keyNode(p, "RestApiId"), id+".RestApiId", "no AWS::ApiGateway::RestApi named %q in this template", getStr(p, "RestApiId"))
		return
	}
	o := &oas{b: b, file: file, a: a, schemes: map[string]string{}}
	switch typ {
	case "AWS::ApiGateway::RequestValidator":
		v := &yaml.Node{Kind: yaml.MappingNode, Line: res.Line}
		for _, f := range [][2]string{{"ValidateRequestBody", "validateRequestBody"}, {"ValidateRequestParameters", "validateRequestParameters"}} {
			if n := get(p, f[0]); n != nil {
				v.Content = append(v.Content, keyAt(f[1], n), n)
			}
		}
		// A method names it by !Ref, which is the logical id.
		k := &yaml.Node{Kind: yaml.ScalarNode, Value: id, Line: res.Line}
		o.requestValidators(k, &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{k, v}})
		s.unhandled(id, p, map[string]string{"RestApiId": "", "Name": "", "ValidateRequestBody": "", "ValidateRequestParameters": ""})
	case "AWS::ApiGateway::Model":
		s.cfnModel(o, id, res, p)
	case "AWS::ApiGateway::GatewayResponse":
		g := &yaml.Node{Kind: yaml.MappingNode, Line: res.Line}
		for _, f := range [][2]string{{"StatusCode", "statusCode"}, {"ResponseParameters", "responseParameters"}, {"ResponseTemplates", "responseTemplates"}} {
			if n := get(p, f[0]); n != nil {
				g.Content = append(g.Content, keyAt(f[1], n), n)
			}
		}
		rt := get(p, "ResponseType")
		if rt == nil {
			b.r.fail(file, res, id+".ResponseType", "required")
			return
		}
		o.gatewayResponses(&yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{keyAt(scalar(rt), rt), g}})
		s.unhandled(id, p, map[string]string{"RestApiId": "", "ResponseType": "", "StatusCode": "", "ResponseParameters": "", "ResponseTemplates": ""})
	case "AWS::ApiGateway::Authorizer":
		header := "Authorization"
		src := getStr(p, "IdentitySource")
		if h, ok := strings.CutPrefix(strings.TrimSpace(strings.Split(src, ",")[0]), "method.request.header."); ok {
			header = h
		}
		scheme := &yaml.Node{Kind: yaml.MappingNode, Line: res.Line}
		scheme.Content = append(scheme.Content, strNode("name"), strNode(header))
		au := &yaml.Node{Kind: yaml.MappingNode, Line: res.Line}
		add := func(k string, v *yaml.Node) {
			if v != nil {
				au.Content = append(au.Content, keyAt(k, v), v)
			}
		}
		add("type", get(p, "Type"))
		add("authorizerUri", get(p, "AuthorizerUri"))
		add("identitySource", get(p, "IdentitySource"))
		add("providerARNs", get(p, "ProviderARNs"))
		add("authorizerResultTtlInSeconds", get(p, "AuthorizerResultTtlInSeconds"))
		add("identityValidationExpression", get(p, "IdentityValidationExpression"))
		add("authorizerCredentials", get(p, "AuthorizerCredentials"))
		if strings.EqualFold(getStr(p, "Type"), "COGNITO_USER_POOLS") {
			scheme.Content = append(scheme.Content, strNode("x-amazon-apigateway-authtype"), strNode("cognito_user_pools"))
		}
		o.authorizer(name(id), &yaml.Node{Kind: yaml.ScalarNode, Value: id, Line: res.Line}, scheme, au)
	case "AWS::ApiGateway::Method":
		path, ok := s.resourcePath(getStr(p, "ResourceId"), a.name, 0)
		if !ok {
			b.r.fail(file, keyNode(p, "ResourceId"), id+".ResourceId", "%q is not an AWS::ApiGateway::Resource of this API (or the API's RootResourceId)", getStr(p, "ResourceId"))
			return
		}
		method := strings.ToUpper(getStr(p, "HttpMethod"))
		key := method + " " + path
		in := get(p, "Integration")
		if in == nil {
			b.r.note(file, res, id, "a method without Integration: route not served")
			return
		}
		nm := a.uniqueName(name(id))
		if !o.integration(nm, key, cfnIntegration(in)) {
			return
		}
		rs := routeSpec{key: key, integration: nm}
		if v, _ := getBool(p, "ApiKeyRequired"); v {
			rs.apiKey = true
		}
		switch strings.ToUpper(getStr(p, "AuthorizationType")) {
		case "", "NONE":
		case "CUSTOM", "COGNITO_USER_POOLS":
			rs.authorizer = name(getStr(p, "AuthorizerId"))
			rs.scopes = strs(get(p, "AuthorizationScopes"))
		case "AWS_IAM":
			b.r.note(file, keyNode(p, "AuthorizationType"), id+".AuthorizationType", "AWS_IAM authorization is not yet supported: the route is served WITHOUT it")
		}
		rs.validator = getStr(p, "RequestValidatorId")
		if rs.validator != "" && get(a.requestValidators, rs.validator) == nil {
			b.r.fail(file, keyNode(p, "RequestValidatorId"), id+".RequestValidatorId", "no AWS::ApiGateway::RequestValidator %q of this API", rs.validator)
		}
		pairs(get(p, "RequestParameters"), func(k, v *yaml.Node) {
			if strings.HasPrefix(k.Value, "method.request.path.") {
				return // always there when the route matches
			}
			if rs.params == nil {
				rs.params = map[string]bool{}
			}
			rs.params[k.Value] = strings.EqualFold(scalar(v), "true")
		})
		pairs(get(p, "RequestModels"), func(k, v *yaml.Node) {
			mn := scalar(v)
			if n, ok := a.cfnModels[mn]; ok {
				mn = n // !Ref of the model resource
			}
			if get(a.models, mn) == nil {
				b.r.note(file, k, id+".RequestModels."+k.Value, "no model %q of this API is served: the body is not validated", scalar(v))
				return
			}
			if rs.models == nil {
				rs.models = map[string]string{}
			}
			rs.models[k.Value] = mn
		})
		s.unhandled(id, p, map[string]string{"RestApiId": "", "ResourceId": "", "HttpMethod": "", "Integration": "", "ApiKeyRequired": "",
			"AuthorizationType": "", "AuthorizerId": "", "AuthorizationScopes": "", "OperationName": "", "MethodResponses": "",
			"RequestParameters": "", "RequestModels": "", "RequestValidatorId": ""})
		b.addRoute(a, rs, file, keyNode(p, "HttpMethod"))
	}
}

// keyAt is a key node on v's line, so notes about it name that line.
func keyAt(k string, v *yaml.Node) *yaml.Node {
	n := strNode(k)
	n.Line = v.Line
	return n
}

// cfnIntegration turns an AWS::ApiGateway::Method Integration into the
// x-amazon-apigateway-integration it stands for, keeping lines.
func cfnIntegration(in *yaml.Node) *yaml.Node {
	out := &yaml.Node{Kind: yaml.MappingNode, Line: in.Line}
	names := map[string]string{"Type": "type", "Uri": "uri", "IntegrationHttpMethod": "httpMethod", "TimeoutInMillis": "timeoutInMillis",
		"RequestTemplates": "requestTemplates", "RequestParameters": "requestParameters", "PassthroughBehavior": "passthroughBehavior",
		"ContentHandling": "contentHandling", "Credentials": "credentials", "ConnectionType": "connectionType", "ConnectionId": "connectionId",
		"CacheKeyParameters": "cacheKeyParameters", "CacheNamespace": "cacheNamespace"}
	pairs(in, func(k, v *yaml.Node) {
		if k.Value == "IntegrationResponses" {
			resp := &yaml.Node{Kind: yaml.MappingNode, Line: v.Line}
			for _, r := range v.Content {
				sel := getStr(r, "SelectionPattern")
				if sel == "" {
					sel = "default"
				}
				m := &yaml.Node{Kind: yaml.MappingNode, Line: r.Line}
				if st := get(r, "StatusCode"); st != nil {
					m.Content = append(m.Content, keyAt("statusCode", st), st)
				}
				if rp := get(r, "ResponseParameters"); rp != nil {
					m.Content = append(m.Content, keyAt("responseParameters", rp), rp)
				}
				if rt := get(r, "ResponseTemplates"); rt != nil {
					m.Content = append(m.Content, keyAt("responseTemplates", rt), rt)
				}
				if ch := get(r, "ContentHandling"); ch != nil {
					m.Content = append(m.Content, keyAt("contentHandling", ch), ch)
				}
				resp.Content = append(resp.Content, keyAt(sel, r), m)
			}
			out.Content = append(out.Content, keyAt("responses", k), resp)
			return
		}
		n, ok := names[k.Value]
		if !ok {
			n = k.Value // reported as unknown by the integration reader
		}
		nk := strNode(n)
		nk.Line = k.Line
		out.Content = append(out.Content, nk, v)
	})
	return out
}

// resourcePath is the path of an AWS::ApiGateway::Resource: its parents'
// PathParts up to the API's root.
func (s *sam) resourcePath(id, api string, depth int) (string, bool) {
	if id == api {
		return "/", true
	}
	if depth > 64 || s.c.types[id] != "AWS::ApiGateway::Resource" {
		return "", false
	}
	p := s.c.eval(get(s.c.resources[id], "Properties"))
	parent, ok := s.resourcePath(getStr(p, "ParentId"), api, depth+1)
	if !ok || getStr(p, "RestApiId") != api {
		return "", false
	}
	return strings.TrimSuffix(parent, "/") + "/" + getStr(p, "PathPart"), true
}

// keyNodes are the api_keys entries by their logical id.
func (s *sam) keyNodes() map[string]*yaml.Node {
	out := map[string]*yaml.Node{}
	if s.b.keys == nil {
		return out
	}
	for _, k := range s.b.keys.Content {
		out[getStr(k, "name")] = k
	}
	return out
}

func (s *sam) cfnKey(id string, p *yaml.Node) {
	b, t, file := s.b, s.b.t, s.file
	at := pos{file, lineOf(p)}
	if b.keys == nil {
		b.keys = &yaml.Node{Kind: yaml.SequenceNode}
	}
	k := t.mapping(at)
	t.set(k, "name", strNode(id), at)
	if v := getStr(p, "Value"); v != "" {
		t.set(k, "value", strNode(v), pos{file, lineOf(keyNode(p, "Value"))})
	} else {
		env := strings.ToUpper(strings.ReplaceAll(name(id), "-", "_")) + "_VALUE"
		t.set(k, "value", strNode("${"+env+":-}"), at)
		b.r.note(file, p, id+".Value", "AWS generates the key; here its value is read from the environment variable %s (20 to 128 characters)", env)
	}
	if en, ok := getBool(p, "Enabled"); ok {
		t.set(k, "enabled", boolNode(en), at)
	}
	b.keys.Content = append(b.keys.Content, k)
}

func (s *sam) cfnPlan(id string, p *yaml.Node) {
	b, t, file := s.b, s.b.t, s.file
	at := pos{file, lineOf(p)}
	if b.plans == nil {
		b.plans = t.mapping(at)
	}
	plan := t.mapping(at)
	if th := get(p, "Throttle"); th != nil {
		m := t.mapping(pos{file, th.Line})
		rate, _ := strconv.ParseFloat(getStr(th, "RateLimit"), 64)
		burst, _ := strconv.Atoi(getStr(th, "BurstLimit"))
		t.set(m, "rate", floatNode(rate), pos{file, th.Line})
		t.set(m, "burst", intNode(burst), pos{file, th.Line})
		t.set(plan, "throttle", m, pos{file, th.Line})
	}
	if q := get(p, "Quota"); q != nil {
		m := t.mapping(pos{file, q.Line})
		limit, _ := strconv.Atoi(getStr(q, "Limit"))
		t.set(m, "limit", intNode(limit), pos{file, q.Line})
		t.set(m, "period", strNode(strings.ToLower(getStr(q, "Period"))), pos{file, q.Line})
		t.set(plan, "quota", m, pos{file, q.Line})
	}
	apis := &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
	var stages []*yaml.Node
	if n := get(p, "ApiStages"); n != nil {
		stages = n.Content
	}
	for _, st := range stages {
		if api := getStr(st, "ApiId"); b.findAPI(api) != nil {
			apis.Content = append(apis.Content, strNode(api))
		} else {
			b.r.fail(file, keyNode(st, "ApiId"), id+".ApiStages", "no API named %q in this template", api)
		}
		if get(st, "Throttle") != nil {
			b.r.note(file, keyNode(st, "Throttle"), id+".ApiStages.Throttle", "not yet mapped: set route throttles in usage_plans.%s.routes", id)
		}
	}
	t.set(plan, "apis", apis, at)
	t.set(b.plans, id, plan, at)
}

// cfnModel maps AWS::ApiGateway::Model: its Schema (a JSON string or a
// YAML object) as a model named by Name, else by its logical id.
func (s *sam) cfnModel(o *oas, id string, res, p *yaml.Node) {
	b, a, file := s.b, o.a, s.file
	nm := getStr(p, "Name")
	if nm == "" {
		nm = id
	}
	mn := alnum(nm)
	if a.modelNames == nil {
		a.modelNames, a.modelTaken = map[string]string{}, map[string]bool{}
	}
	if a.cfnModels == nil {
		a.cfnModels = map[string]string{}
	}
	mn = uniqueIn(a.modelTaken, mn)
	a.cfnModels[id] = mn
	s.unhandled(id, p, map[string]string{"RestApiId": "", "Name": "", "Schema": "", "ContentType": "", "Description": ""})
	sch := get(p, "Schema")
	if sch != nil && sch.Kind == yaml.ScalarNode {
		var doc yaml.Node
		if err := yaml.Unmarshal([]byte(sch.Value), &doc); err != nil || len(doc.Content) == 0 {
			b.r.note(file, sch, id+".Schema", "not JSON: not served as a model")
			return
		}
		line := sch.Line
		sch = doc.Content[0]
		walkAll(sch, func(n *yaml.Node) { n.Line = line })
	}
	if sch == nil || sch.Kind != yaml.MappingNode {
		b.r.note(file, res, id+".Schema", "a model needs a JSON Schema object: not served as a model")
		return
	}
	if err := compiles(mn, sch); err != nil {
		// API Gateway models refer to each other by URL
		// (https://apigateway.amazonaws.com/restapis/.../models/X), which
		// a model here cannot follow.
		b.r.note(file, keyNode(p, "Schema"), id+".Schema", "not served as a model: %v; requests are not validated against it", err)
		return
	}
	o.addModel(mn, sch, pos{file, lineOf(keyNode(p, "Schema"))})
}

func walkAll(n *yaml.Node, fn func(*yaml.Node)) {
	fn(n)
	for _, c := range n.Content {
		walkAll(c, fn)
	}
}

// restTransform maps what AWS::Serverless::Api and AWS::ApiGateway::RestApi
// carry of the REST transformations: BinaryMediaTypes (SAM writes "/" as
// "~1"), and SAM's GatewayResponses and Models.
func (s *sam) restTransform(a *apiOut, p *yaml.Node) {
	b, file := s.b, s.file
	o := &oas{b: b, file: file, a: a, schemes: map[string]string{}}
	if bt := get(p, "BinaryMediaTypes"); bt != nil {
		var types []string
		for _, t := range strs(bt) {
			types = append(types, strings.ReplaceAll(t, "~1", "/"))
		}
		list := &yaml.Node{Kind: yaml.SequenceNode, Line: bt.Line}
		for _, t := range types {
			list.Content = append(list.Content, strNode(t))
		}
		o.binaryMediaTypes(keyNode(p, "BinaryMediaTypes"), list)
	}
	// SAM: {TYPE: {StatusCode, ResponseParameters: {Headers: {H: "'v'"},
	// Paths, QueryStrings}, ResponseTemplates}}.
	gr := &yaml.Node{Kind: yaml.MappingNode}
	pairs(get(p, "GatewayResponses"), func(tk, tv *yaml.Node) {
		g := &yaml.Node{Kind: yaml.MappingNode, Line: tv.Line}
		if n := get(tv, "StatusCode"); n != nil {
			g.Content = append(g.Content, keyAt("statusCode", n), n)
		}
		if rp := get(tv, "ResponseParameters"); rp != nil {
			params := &yaml.Node{Kind: yaml.MappingNode, Line: rp.Line}
			for _, f := range [][2]string{{"Headers", "header"}, {"Paths", "path"}, {"QueryStrings", "querystring"}} {
				pairs(get(rp, f[0]), func(k, v *yaml.Node) {
					params.Content = append(params.Content, keyAt("gatewayresponse."+f[1]+"."+k.Value, k), v)
				})
			}
			g.Content = append(g.Content, keyAt("responseParameters", rp), params)
		}
		if n := get(tv, "ResponseTemplates"); n != nil {
			g.Content = append(g.Content, keyAt("responseTemplates", n), n)
		}
		gr.Content = append(gr.Content, tk, g)
	})
	o.gatewayResponses(gr)
	if models := get(p, "Models"); models != nil {
		if a.modelNames == nil {
			a.modelNames, a.modelTaken = map[string]string{}, map[string]bool{}
		}
		pairs(models, func(k, v *yaml.Node) {
			mn := uniqueIn(a.modelTaken, alnum(k.Value))
			a.modelNames[k.Value] = mn
			if err := compiles(mn, v); err != nil || v.Kind != yaml.MappingNode {
				b.r.note(file, k, "Models."+k.Value, "not served as a model: %v", err)
				delete(a.modelNames, k.Value)
				return
			}
			o.addModel(mn, v, pos{file, k.Line})
		})
	}
}

// eventValidation maps an Api event's RequestModel and RequestParameters
// as SAM translates them: the model for application/json, and a
// validator named as SAM names it when ValidateBody or
// ValidateParameters is given (the other then defaults to false).
func (s *sam) eventValidation(a *apiOut, rs *routeSpec, ep *yaml.Node, where string) {
	b, t, file := s.b, s.b.t, s.file
	if rm := get(ep, "RequestModel"); rm != nil {
		model := getStr(rm, "Model")
		if mn, ok := a.modelNames[model]; ok {
			rs.models = map[string]string{"application/json": mn}
		} else {
			b.r.note(file, keyNode(rm, "Model"), where+".RequestModel", "no model %q in the API's Models is served: the body is not validated", model)
		}
		body, okBody := getBool(rm, "ValidateBody")
		params, okParams := getBool(rm, "ValidateParameters")
		if okBody || okParams {
			nm := map[[2]bool]string{{true, true}: "body-and-params", {true, false}: "body-only", {false, true}: "params-only", {false, false}: "no-validation"}[[2]bool{body, params}]
			at := pos{file, rm.Line}
			if a.requestValidators == nil {
				a.requestValidators = t.mapping(at)
			}
			if get(a.requestValidators, nm) == nil {
				v := t.mapping(at)
				t.set(v, "validate_request_body", boolNode(body), at)
				t.set(v, "validate_request_parameters", boolNode(params), at)
				t.set(a.requestValidators, nm, v, at)
			}
			rs.validator = nm
		}
	}
	if ps := get(ep, "RequestParameters"); ps != nil {
		add := func(k string, required bool) {
			if strings.HasPrefix(k, "method.request.path.") {
				return
			}
			if rs.params == nil {
				rs.params = map[string]bool{}
			}
			rs.params[k] = required
		}
		for _, p := range ps.Content {
			if p.Kind == yaml.ScalarNode {
				add(p.Value, false)
				continue
			}
			pairs(p, func(k, v *yaml.Node) {
				req, _ := getBool(v, "Required")
				add(k.Value, req)
				if get(v, "Caching") != nil {
					b.r.note(file, keyNode(v, "Caching"), where+".RequestParameters."+k.Value+".Caching", "not mapped: set the route's cache key in frontdesk.yaml")
				}
			})
		}
	}
}
