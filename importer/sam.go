package importer

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// sam reads a SAM or CloudFormation template.
type sam struct {
	b       *builder
	c       *cfn
	file    string
	globals map[string]*yaml.Node // Function, Api, HttpApi: evaluated
	order   []string
}

func (b *builder) template(file string, root *yaml.Node) {
	c := &cfn{b: b, file: file, params: map[string][]string{}, listParam: map[string]bool{},
		conds: map[string]*yaml.Node{}, condVal: map[string]bool{}, inCond: map[string]bool{},
		resources: map[string]*yaml.Node{}, types: map[string]string{}}
	s := &sam{b: b, c: c, file: file, globals: map[string]*yaml.Node{}}
	pairs(root, func(k, v *yaml.Node) {
		switch k.Value {
		case "AWSTemplateFormatVersion", "Description", "Metadata", "Resources", "Parameters", "Conditions", "Mappings", "Globals":
		case "Transform":
			for _, t := range strs(v) {
				if t != "AWS::Serverless-2016-10-31" {
					b.r.note(file, k, "Transform "+t, "macros other than AWS::Serverless are not run")
				}
			}
		case "Outputs":
			b.r.note(file, k, "Outputs", "ignored: stack outputs have no meaning here")
		default:
			b.r.note(file, k, k.Value, "template section not known to frontdesk: ignored")
		}
	})
	c.mappings = get(root, "Mappings")
	pairs(get(root, "Conditions"), func(k, v *yaml.Node) { c.conds[k.Value] = v })
	pairs(get(root, "Resources"), func(k, v *yaml.Node) {
		c.resources[k.Value] = v
		c.types[k.Value] = getStr(v, "Type")
		s.order = append(s.order, k.Value)
	})
	c.parameters(get(root, "Parameters"), b.o.Parameters)
	if len(b.r.errs) > 0 {
		return
	}
	if get(root, "Resources") == nil {
		b.r.fail(file, root, "Resources", "a template needs Resources")
		return
	}
	// The implicit APIs exist for Ref and GetAtt even when no event made
	// them yet.
	c.resources["ServerlessRestApi"] = &yaml.Node{Kind: yaml.MappingNode}
	c.types["ServerlessRestApi"] = "AWS::Serverless::Api"
	c.resources["ServerlessHttpApi"] = &yaml.Node{Kind: yaml.MappingNode}
	c.types["ServerlessHttpApi"] = "AWS::Serverless::HttpApi"
	g := get(root, "Globals")
	pairs(g, func(k, v *yaml.Node) {
		switch k.Value {
		case "Function", "Api", "HttpApi":
			s.globals[k.Value] = c.eval(v)
		default:
			b.r.note(file, k, "Globals."+k.Value, "ignored: frontdesk serves APIs and functions")
		}
	})
	// APIs first, so that function events find the API they name.
	for _, pass := range []int{0, 1, 2} {
		for _, id := range s.order {
			s.resource(pass, id)
		}
	}
}

// props returns a resource's evaluated Properties merged over the
// Globals section for its type; nil when its Condition is false.
func (s *sam) props(id, global string) *yaml.Node {
	res := s.c.resources[id]
	if cond := getStr(res, "Condition"); cond != "" && !s.c.cond(cond, keyNode(res, "Condition")) {
		s.b.r.note(s.file, keyNode(res, "Condition"), id, "condition %s is false: not created", cond)
		return nil
	}
	p := s.c.eval(get(res, "Properties"))
	if p == nil {
		p = &yaml.Node{Kind: yaml.MappingNode, Line: res.Line}
	}
	if g := s.globals[global]; g != nil {
		p = merge(g, p)
	}
	return p
}

// merge lays over on base as SAM's Globals do: maps merge, the rest is
// replaced.
func merge(base, over *yaml.Node) *yaml.Node {
	if base == nil || base.Kind != yaml.MappingNode || over.Kind != yaml.MappingNode {
		return over
	}
	out := &yaml.Node{Kind: yaml.MappingNode, Line: over.Line}
	pairs(base, func(k, v *yaml.Node) {
		if o := get(over, k.Value); o != nil {
			out.Content = append(out.Content, keyNode(over, k.Value), merge(v, o))
		} else {
			out.Content = append(out.Content, k, v)
		}
	})
	pairs(over, func(k, v *yaml.Node) {
		if get(base, k.Value) == nil {
			out.Content = append(out.Content, k, v)
		}
	})
	return out
}

// notServed lists the resource types that are part of an application but
// not something a gateway serves; they are reported as ignored.
func notServedNote(typ string) string {
	switch {
	case strings.HasPrefix(typ, "AWS::IAM::"), typ == "AWS::Lambda::Permission":
		return "ignored: permissions are not checked locally"
	case strings.HasPrefix(typ, "AWS::DynamoDB::"), typ == "AWS::Serverless::SimpleTable", strings.HasPrefix(typ, "AWS::S3::"),
		strings.HasPrefix(typ, "AWS::SQS::"), strings.HasPrefix(typ, "AWS::SNS::"), strings.HasPrefix(typ, "AWS::Events::"):
		return "not served: functions reach it at its AWS (or local stand-in) endpoint; Ref and GetAtt give its name and a placeholder ARN"
	case typ == "AWS::ApiGatewayV2::Deployment", typ == "AWS::ApiGateway::Deployment":
		return "ignored: the template is served as written, without deployments"
	}
	return "not served by frontdesk: ignored"
}

func (s *sam) resource(pass int, id string) {
	b, file := s.b, s.file
	res := s.c.resources[id]
	typ := s.c.types[id]
	switch typ {
	case "AWS::Serverless::Api":
		if pass == 0 && res.Kind == yaml.MappingNode && len(res.Content) > 0 {
			s.restAPI(id, res)
		}
	case "AWS::Serverless::HttpApi":
		if pass == 0 && len(res.Content) > 0 {
			s.httpAPI(id, res)
		}
	case "AWS::ApiGatewayV2::Api":
		if pass == 0 {
			s.v2API(id, res)
		}
	case "AWS::ApiGateway::RestApi":
		if pass == 0 {
			s.cfnRestAPI(id, res)
		}
	case "AWS::Serverless::Function", "AWS::Lambda::Function":
		if pass == 1 {
			s.function(id, res)
		}
	case "AWS::ApiGatewayV2::Integration", "AWS::ApiGatewayV2::Stage", "AWS::ApiGatewayV2::Authorizer":
		if pass == 1 {
			s.v2Part(id, res)
		}
	case "AWS::ApiGateway::Authorizer", "AWS::ApiGateway::ApiKey", "AWS::ApiGateway::UsagePlan",
		"AWS::ApiGateway::RequestValidator", "AWS::ApiGateway::Model", "AWS::ApiGateway::GatewayResponse":
		if pass == 1 {
			s.restPart(id, res)
		}
	case "AWS::ApiGateway::Method", "AWS::ApiGateway::UsagePlanKey":
		if pass == 2 {
			s.restPart(id, res)
		}
	case "AWS::ApiGateway::Resource":
		// Read through the methods that stand on it.
	case "AWS::ApiGatewayV2::Route", "AWS::ApiGateway::Stage":
		if pass == 2 {
			s.v2Part(id, res)
		}
	case "AWS::ApiGatewayV2::RouteResponse", "AWS::ApiGatewayV2::IntegrationResponse":
		// Read with the route: RouteResponseSelectionExpression says the
		// answer goes back to the client.
	default:
		if pass == 0 {
			if cond := getStr(res, "Condition"); cond != "" && !s.c.cond(cond, keyNode(res, "Condition")) {
				b.r.note(file, keyNode(res, "Condition"), id, "condition %s is false: not created", cond)
				return
			}
			if strings.HasPrefix(typ, "AWS::ApiGateway::") && typ != "AWS::ApiGateway::Deployment" && typ != "AWS::ApiGateway::Account" {
				b.r.note(file, res, id+" ("+typ+")", "not yet supported")
				return
			}
			b.r.note(file, res, id+" ("+typ+")", "%s", notServedNote(typ))
		}
	}
}

// resourcePos is where resource id is written.
func (s *sam) pos(id string) pos {
	return pos{s.file, lineOf(s.c.resources[id]) - 1}
}

// known reports the properties not in handled, once each.
func (s *sam) unhandled(id string, p *yaml.Node, handled map[string]string) {
	pairs(p, func(k, _ *yaml.Node) {
		note, ok := handled[k.Value]
		if !ok {
			note = "ignored"
		}
		if note != "" {
			s.b.r.note(s.file, k, id+"."+k.Value, "%s", note)
		}
	})
}

// function maps AWS::Serverless::Function (and AWS::Lambda::Function) to
// a functions: entry in SAM's vocabulary, then its Api and HttpApi events
// to routes.
func (s *sam) function(id string, res *yaml.Node) {
	b, t, file := s.b, s.b.t, s.file
	p := s.props(id, "Function")
	if p == nil {
		return
	}
	at := pos{file, lineOf(keyNode(get(res, "Properties"), "Runtime"))}
	if at.line == 0 {
		at.line = res.Line
	}
	handled := map[string]string{
		"Runtime": "", "Handler": "", "CodeUri": "", "Code": "", "Environment": "", "Timeout": "", "Events": "",
		"Description": "", "Tags": "",
		"MemorySize":                   "ignored: local functions are not memory-limited",
		"Policies":                     "ignored: permissions are not checked locally",
		"Role":                         "ignored: permissions are not checked locally",
		"Architectures":                "ignored: functions run on this machine's architecture",
		"Layers":                       "not yet supported: layers are not unpacked; put their code in CodeUri",
		"FunctionName":                 "the function is known by its logical id " + id + " here",
		"Tracing":                      "ignored: no X-Ray",
		"AutoPublishAlias":             "ignored: one version runs",
		"ReservedConcurrentExecutions": "not mapped: set concurrency in the functions: entry",
		"VpcConfig":                    "ignored: the function runs on this machine's network",
	}
	s.unhandled(id, p, handled)
	if strings.EqualFold(getStr(p, "PackageType"), "Image") {
		b.r.note(file, keyNode(p, "PackageType"), id+".PackageType", "container image functions are not yet supported: give the function with --functions FILE")
		s.events(id, p)
		return
	}
	if get(p, "InlineCode") != nil || get(get(p, "Code"), "ZipFile") != nil {
		b.r.note(file, p, id+" inline code", "inline code is not yet supported: give the function with --functions FILE")
		s.events(id, p)
		return
	}
	f := t.mapping(at)
	if r := getStr(p, "Runtime"); r != "" {
		t.set(f, "runtime", strNode(r), pos{file, lineOf(keyNode(p, "Runtime"))})
	}
	if h := getStr(p, "Handler"); h != "" {
		t.set(f, "handler", strNode(h), pos{file, lineOf(keyNode(p, "Handler"))})
	}
	code := get(p, "CodeUri")
	if code == nil {
		code = get(p, "Code")
	}
	// SAM reads CodeUri relative to the template; code_uri is relative to
	// frontdesk's working directory, which need not be the template's.
	switch {
	case code == nil:
		t.set(f, "code_uri", strNode(b.codeDir(".")), at)
	case code.Kind == yaml.ScalarNode && !strings.HasPrefix(code.Value, "s3://"):
		t.set(f, "code_uri", strNode(b.codeDir(code.Value)), pos{file, code.Line})
	default:
		b.r.note(file, code, id+"."+codeKey(p), "code in S3 is not fetched: point CodeUri at a local directory (or give the function with --functions FILE)")
		t.set(f, "code_uri", strNode(b.codeDir(".")), pos{file, code.Line})
	}
	if vars := get(get(p, "Environment"), "Variables"); vars != nil {
		env := map[string]string{}
		pairs(vars, func(k, v *yaml.Node) {
			if v.Kind == yaml.ScalarNode {
				env[k.Value] = v.Value
				return
			}
			b.r.note(file, k, id+".Environment."+k.Value, "not a string: left out")
		})
		if len(env) > 0 {
			t.set(f, "environment", strMap(env), pos{file, lineOf(keyNode(p, "Environment"))})
		}
	}
	if to := getStr(p, "Timeout"); to != "" {
		if secs, err := strconv.Atoi(to); err == nil {
			t.set(f, "timeout", strNode(fmt.Sprintf("%ds", secs)), pos{file, lineOf(keyNode(p, "Timeout"))})
		}
	}
	b.functions[id] = f
	b.fnAt[id] = pos{file, lineOf(res) - 1}
	if b.fnAt[id].line < 1 {
		b.fnAt[id] = at
	}
	s.events(id, p)
}

// events maps a function's Api and HttpApi events to routes.
func (s *sam) events(fn string, p *yaml.Node) {
	b, t, file := s.b, s.b.t, s.file
	pairs(get(p, "Events"), func(k, ev *yaml.Node) {
		typ := getStr(ev, "Type")
		ep := get(ev, "Properties")
		switch typ {
		case "Api":
			apiID := getStr(ep, "RestApiId")
			if apiID == "" {
				apiID = "ServerlessRestApi"
				s.implicitREST(k)
			}
			a := b.findAPI(apiID)
			if a == nil {
				b.r.fail(file, keyNode(ep, "RestApiId"), fn+".Events."+k.Value+".RestApiId", "no AWS::Serverless::Api named %q", apiID)
				return
			}
			integ := s.lambdaIntegration(a, fn, "", "", k)
			rs := routeSpec{key: strings.ToUpper(methodOf(getStr(ep, "Method"))) + " " + getStr(ep, "Path"), integration: integ}
			auth := get(ep, "Auth")
			if v, ok := getBool(auth, "ApiKeyRequired"); ok {
				rs.apiKey = v
				if !v && a.apiKeyRequired {
					b.r.note(file, keyNode(auth, "ApiKeyRequired"), fn+".Events."+k.Value, "ApiKeyRequired: false under an API that requires keys: the key is still required")
				}
			}
			s.eventAuth(&rs, auth, k, fn)
			s.eventValidation(a, &rs, ep, fn+".Events."+k.Value)
			s.unhandled(fn+".Events."+k.Value, ep, map[string]string{"Path": "", "Method": "", "RestApiId": "", "Auth": "",
				"RequestParameters": "", "RequestModel": ""})
			b.addRoute(a, rs, file, k)
		case "HttpApi":
			apiID := getStr(ep, "ApiId")
			if apiID == "" {
				apiID = "ServerlessHttpApi"
				s.implicitHTTP(k)
			}
			a := b.findAPI(apiID)
			if a == nil {
				b.r.fail(file, keyNode(ep, "ApiId"), fn+".Events."+k.Value+".ApiId", "no AWS::Serverless::HttpApi named %q", apiID)
				return
			}
			pf := getStr(ep, "PayloadFormatVersion")
			if pf == "" {
				pf = "2.0"
			}
			integ := s.lambdaIntegration(a, fn, pf, getStr(ep, "TimeoutInMillis"), k)
			key := "$default"
			if path := getStr(ep, "Path"); path != "" {
				key = strings.ToUpper(methodOf(getStr(ep, "Method"))) + " " + path
			}
			rs := routeSpec{key: key, integration: integ}
			s.eventAuth(&rs, get(ep, "Auth"), k, fn)
			s.unhandled(fn+".Events."+k.Value, ep, map[string]string{"Path": "", "Method": "", "ApiId": "", "Auth": "",
				"PayloadFormatVersion": "", "TimeoutInMillis": "", "RouteSettings": "not yet supported"})
			b.addRoute(a, rs, file, k)
		default:
			b.r.note(file, k, fn+".Events."+k.Value+" ("+typ+")", "not served: only Api and HttpApi events reach functions through frontdesk")
		}
	})
	_ = t
}

func methodOf(m string) string {
	if m == "" || strings.EqualFold(m, "any") || m == "*" {
		return "ANY"
	}
	return m
}

func (s *sam) eventAuth(rs *routeSpec, auth, k *yaml.Node, fn string) {
	if auth == nil {
		return
	}
	switch az := getStr(auth, "Authorizer"); az {
	case "":
	case "NONE":
		rs.noAuth = true
	case "AWS_IAM":
		s.b.r.note(s.file, keyNode(auth, "Authorizer"), fn+".Events."+k.Value+".Auth", "AWS_IAM authorization is not yet supported: the route is served WITHOUT it")
	default:
		rs.authorizer = name(az)
	}
	if sc := strs(get(auth, "AuthorizationScopes")); len(sc) > 0 {
		rs.scopes = sc
	}
}

// lambdaIntegration returns (making it once) the integration calling fn.
func (s *sam) lambdaIntegration(a *apiOut, fn, pf, timeoutMs string, at *yaml.Node) string {
	t := s.b.t
	nm := name(fn)
	if pf == "1.0" && a.typ == "http" {
		nm += "-v1"
	}
	if timeoutMs != "" {
		nm += "-" + timeoutMs + "ms"
	}
	if in := get(a.integrations, nm); in != nil {
		if getStr(in, "type") == "lambda" && getStr(in, "function") == fn && getStr(in, "payload_format") == pfOut(a, pf) {
			return nm
		}
		// A DefinitionBody integration took the name for something else.
		nm = a.uniqueName(nm)
	}
	a.used[nm] = true
	p := pos{s.file, at.Line}
	in := t.mapping(p)
	t.set(in, "type", strNode("lambda"), p)
	t.set(in, "function", strNode(fn), p)
	if pf := pfOut(a, pf); pf != "" {
		t.set(in, "payload_format", strNode(pf), p)
	}
	if timeoutMs != "" {
		if ms, err := strconv.Atoi(timeoutMs); err == nil {
			t.set(in, "timeout", strNode(millis(ms)), p)
		}
	}
	t.set(a.integrations, nm, in, p)
	s.b.want(fn, s.file, at)
	return nm
}

// implicitREST makes ServerlessRestApi, SAM's implicit REST API: stage
// Prod, Globals.Api applied.
func (s *sam) implicitREST(at *yaml.Node) {
	if s.b.findAPI("ServerlessRestApi") != nil {
		return
	}
	g := s.globals["Api"]
	if g == nil {
		g = &yaml.Node{Kind: yaml.MappingNode}
	}
	s.restProps("ServerlessRestApi", g, pos{s.file, at.Line})
}

func (s *sam) implicitHTTP(at *yaml.Node) {
	if s.b.findAPI("ServerlessHttpApi") != nil {
		return
	}
	g := s.globals["HttpApi"]
	if g == nil {
		g = &yaml.Node{Kind: yaml.MappingNode}
	}
	s.httpProps("ServerlessHttpApi", g, pos{s.file, at.Line})
}

func (s *sam) restAPI(id string, res *yaml.Node) {
	p := s.props(id, "Api")
	if p == nil {
		return
	}
	s.restProps(id, p, s.pos(id))
}

// restProps maps AWS::Serverless::Api properties.
func (s *sam) restProps(id string, p *yaml.Node, at pos) {
	b, t, file := s.b, s.b.t, s.file
	a := b.newAPI(id, "rest", at)
	stage := getStr(p, "StageName")
	if stage == "" {
		stage = "Prod" // SAM's implicit API stage
	}
	vars := map[string]string{}
	pairs(get(p, "Variables"), func(k, v *yaml.Node) { vars[k.Value] = scalar(v) })
	a.stage(t, stage, vars, pos{file, lineOf(keyNode(p, "StageName"))})
	if c := get(p, "Cors"); c != nil {
		a.cors = s.samCORS(c)
	}
	s.definition(a, p)
	s.restTransform(a, p)
	auth := get(p, "Auth")
	if v, _ := getBool(auth, "ApiKeyRequired"); v {
		a.apiKeyRequired = true
	}
	s.authorizers(a, auth)
	if up := get(auth, "UsagePlan"); up != nil {
		s.usagePlan(a, up)
	}
	s.unhandled(id+".Auth", auth, map[string]string{"ApiKeyRequired": "", "Authorizers": "", "DefaultAuthorizer": "", "UsagePlan": "",
		"AddDefaultAuthorizerToCorsPreflight": "", "AddApiKeyRequiredToCorsPreflight": "",
		"ResourcePolicy": "not yet supported: the resource policy is NOT enforced", "InvokeRole": "ignored: no IAM role is assumed"})
	s.unhandled(id, p, map[string]string{"StageName": "", "Variables": "", "Cors": "", "Auth": "", "DefinitionBody": "", "DefinitionUri": "",
		"Name": "", "Description": "", "Tags": "", "OpenApiVersion": "",
		"BinaryMediaTypes": "", "GatewayResponses": "", "Models": "",
		"EndpointConfiguration": "ignored: endpoint types have no meaning for a self-hosted gateway",
		"MethodSettings":        "not mapped: set throttle and cache per route in frontdesk.yaml",
		"AccessLogSetting":      "ignored: use access_log in frontdesk.yaml",
		"TracingEnabled":        "ignored: no X-Ray", "CacheClusterEnabled": "not mapped: set cache per route in frontdesk.yaml",
		"CacheClusterSize": "ignored", "MinimumCompressionSize": "ignored: responses are not compressed by the gateway",
		"Domain": "ignored: serve hosts with apis.NAME.hosts", "DisableExecuteApiEndpoint": "ignored"})
}

// usagePlan maps Auth.UsagePlan: a plan for this API and a key bound to
// it whose value comes from the environment (SAM generates one on AWS).
func (s *sam) usagePlan(a *apiOut, up *yaml.Node) {
	b, t, file := s.b, s.b.t, s.file
	mode := strings.ToUpper(getStr(up, "CreateUsagePlan"))
	if mode == "" || mode == "NONE" {
		return
	}
	at := pos{file, up.Line}
	planName := a.name + "-plan"
	if mode == "SHARED" {
		planName = "shared-plan"
	}
	if b.plans == nil {
		b.plans = t.mapping(at)
	}
	plan := get(b.plans, planName)
	if plan == nil {
		plan = t.mapping(at)
		if th := get(up, "Throttle"); th != nil {
			m := t.mapping(pos{file, th.Line})
			rate, _ := strconv.ParseFloat(getStr(th, "RateLimit"), 64)
			burst, _ := strconv.Atoi(getStr(th, "BurstLimit"))
			t.set(m, "rate", floatNode(rate), pos{file, th.Line})
			t.set(m, "burst", intNode(burst), pos{file, th.Line})
			t.set(plan, "throttle", m, pos{file, th.Line})
		}
		if q := get(up, "Quota"); q != nil {
			m := t.mapping(pos{file, q.Line})
			limit, _ := strconv.Atoi(getStr(q, "Limit"))
			t.set(m, "limit", intNode(limit), pos{file, q.Line})
			t.set(m, "period", strNode(strings.ToLower(getStr(q, "Period"))), pos{file, q.Line})
			if get(q, "Offset") != nil {
				b.r.note(file, keyNode(q, "Offset"), a.name+".UsagePlan.Quota.Offset", "ignored: periods start at UTC midnight")
			}
			t.set(plan, "quota", m, pos{file, q.Line})
		}
		t.set(plan, "apis", &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}, at)
		t.set(b.plans, planName, plan, at)
		if b.keys == nil {
			b.keys = &yaml.Node{Kind: yaml.SequenceNode}
		}
		env := strings.ToUpper(strings.ReplaceAll(name(planName), "-", "_")) + "_API_KEY"
		k := t.mapping(at)
		t.set(k, "name", strNode(planName+"-key"), at)
		t.set(k, "value", strNode("${"+env+":-}"), at)
		t.set(k, "plan", strNode(planName), at)
		b.keys.Content = append(b.keys.Content, k)
		b.r.note(file, up, a.name+".Auth.UsagePlan", "AWS generates the API key; here its value is read from the environment variable %s (20 to 128 characters)", env)
	}
	apis := get(plan, "apis")
	apis.Content = append(apis.Content, strNode(a.name))
}

// samCORS maps SAM's Cors (REST: quoted header values) and
// CorsConfiguration (HTTP: lists).
func (s *sam) samCORS(c *yaml.Node) *yaml.Node {
	t := s.b.t
	at := pos{s.file, c.Line}
	out := t.mapping(at)
	if c.Kind == yaml.ScalarNode {
		switch v := unquote(c.Value); v {
		case "true":
			t.set(out, "allow_origins", strList([]string{"*"}), at)
		case "false":
			return nil
		default:
			t.set(out, "allow_origins", strList(splitList(v)), at)
		}
		return out
	}
	for _, f := range []struct{ from, alt, to string }{
		{"AllowOrigin", "AllowOrigins", "allow_origins"}, {"AllowMethods", "", "allow_methods"},
		{"AllowHeaders", "", "allow_headers"}, {"ExposeHeaders", "", "expose_headers"},
	} {
		n := get(c, f.from)
		if n == nil && f.alt != "" {
			n = get(c, f.alt)
		}
		if n == nil {
			continue
		}
		var vals []string
		for _, v := range strs(n) {
			vals = append(vals, splitList(unquote(v))...)
		}
		t.set(out, f.to, strList(vals), pos{s.file, n.Line})
	}
	if n := get(c, "MaxAge"); n != nil {
		if i, err := strconv.Atoi(unquote(scalar(n))); err == nil {
			t.set(out, "max_age", intNode(i), pos{s.file, n.Line})
		}
	}
	if v, ok := getBool(c, "AllowCredentials"); ok {
		t.set(out, "allow_credentials", boolNode(v), at)
	}
	return out
}

func unquote(s string) string {
	if len(s) >= 2 && s[0] == '\'' && s[len(s)-1] == '\'' {
		return s[1 : len(s)-1]
	}
	return s
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// authorizers maps Auth.Authorizers of AWS::Serverless::Api and HttpApi.
func (s *sam) authorizers(a *apiOut, auth *yaml.Node) {
	b, t, file := s.b, s.b.t, s.file
	if d := getStr(auth, "DefaultAuthorizer"); d != "" && d != "NONE" && d != "AWS_IAM" {
		a.defaultAuthorizer = name(d)
	} else if d == "AWS_IAM" {
		b.r.note(file, keyNode(auth, "DefaultAuthorizer"), a.name+".Auth.DefaultAuthorizer", "AWS_IAM authorization is not yet supported: routes are served WITHOUT it")
	}
	pairs(get(auth, "Authorizers"), func(k, v *yaml.Node) {
		at := pos{file, k.Line}
		out := t.mapping(at)
		id := get(v, "Identity")
		switch {
		case get(v, "UserPoolArn") != nil:
			arn := strs(get(v, "UserPoolArn"))
			iss, ok := "", false
			if len(arn) > 0 {
				iss, ok = cognitoIssuer(arn[0])
			}
			if !ok {
				// A Ref/GetAtt to a pool in the template: its id is the
				// logical id.
				iss = "https://cognito-idp." + region + ".amazonaws.com/" + lastSegment(strings.Join(arn, ""))
				b.r.note(file, keyNode(v, "UserPoolArn"), a.name+".Authorizers."+k.Value, "the user pool is a placeholder (%s): set issuer and jwks_url to your pool's", iss)
			}
			header := getStr(id, "Header")
			if header == "" {
				header = "Authorization"
			}
			t.set(out, "type", strNode("jwt"), at)
			t.set(out, "issuer", strNode(iss), at)
			t.set(out, "jwks_url", strNode(iss+"/.well-known/jwks.json"), at)
			t.set(out, "audience", strList([]string{cognitoAudience(b, file, k, name(k.Value))}), at)
			t.set(out, "identity_source", strList([]string{"$request.header." + header}), at)
		case get(v, "JwtConfiguration") != nil:
			jc := get(v, "JwtConfiguration")
			iss := getStr(jc, "issuer")
			if iss == "" {
				iss = getStr(jc, "Issuer")
			}
			aud := strs(get(jc, "audience"))
			if aud == nil {
				aud = strs(get(jc, "Audience"))
			}
			t.set(out, "type", strNode("jwt"), at)
			t.set(out, "issuer", strNode(iss), pos{file, jc.Line})
			if len(aud) > 0 {
				t.set(out, "audience", strList(aud), pos{file, jc.Line})
			}
			if src := getStr(v, "IdentitySource"); src != "" {
				t.set(out, "identity_source", strList(identitySources(src)), at)
			}
		case get(v, "FunctionArn") != nil:
			fn, ok := lambdaFunction(getStr(v, "FunctionArn"))
			if !ok {
				b.r.fail(file, keyNode(v, "FunctionArn"), a.name+".Authorizers."+k.Value+".FunctionArn", "want a Lambda function ARN (!GetAtt Fn.Arn), got %q", getStr(v, "FunctionArn"))
				return
			}
			b.want(fn, file, keyNode(v, "FunctionArn"))
			t.set(out, "type", strNode("lambda"), at)
			t.set(out, "function", strNode(fn), at)
			var src []string
			for _, h := range strs(get(id, "Headers")) {
				src = append(src, "$request.header."+h)
			}
			if h := getStr(id, "Header"); h != "" {
				src = append(src, "$request.header."+h)
			}
			for _, q := range strs(get(id, "QueryStrings")) {
				src = append(src, "$request.querystring."+q)
			}
			if a.typ == "rest" {
				if len(src) == 0 {
					src = []string{"$request.header.Authorization"}
				}
				t.set(out, "payload_format", strNode("1.0"), at)
				t.set(out, "simple_responses", boolNode(false), at)
				if !strings.EqualFold(getStr(v, "FunctionPayloadType"), "REQUEST") {
					b.r.note(file, k, a.name+".Authorizers."+k.Value, "TOKEN authorizer served as a REQUEST authorizer: the function gets a REQUEST event (headers carry the token), not authorizationToken")
				}
			} else {
				if pf := getStr(v, "AuthorizerPayloadFormatVersion"); pf != "" {
					t.set(out, "payload_format", strNode(pf), at)
				}
				if sr, ok := getBool(v, "EnableSimpleResponses"); ok {
					t.set(out, "simple_responses", boolNode(sr), at)
				}
			}
			if len(src) > 0 {
				t.set(out, "identity_source", strList(src), at)
			}
			if re := getStr(id, "ReauthorizeEvery"); re != "" {
				t.set(out, "ttl", strNode(re+"s"), at)
			}
		default:
			b.r.note(file, k, a.name+".Authorizers."+k.Value, "authorizer kind not known to frontdesk: ignored (routes naming it fail validation)")
			return
		}
		t.set(a.authorizers, name(k.Value), out, at)
	})
}

func lastSegment(s string) string {
	if i := strings.LastIndexAny(s, "/:"); i >= 0 {
		return s[i+1:]
	}
	return s
}

func (s *sam) httpAPI(id string, res *yaml.Node) {
	p := s.props(id, "HttpApi")
	if p == nil {
		return
	}
	s.httpProps(id, p, s.pos(id))
}

// httpProps maps AWS::Serverless::HttpApi properties.
func (s *sam) httpProps(id string, p *yaml.Node, at pos) {
	b, t, file := s.b, s.b.t, s.file
	a := b.newAPI(id, "http", at)
	vars := map[string]string{}
	pairs(get(p, "StageVariables"), func(k, v *yaml.Node) { vars[k.Value] = scalar(v) })
	if stage := getStr(p, "StageName"); stage != "" && stage != "$default" {
		a.stage(t, stage, vars, pos{file, lineOf(keyNode(p, "StageName"))})
	} else if len(vars) > 0 {
		a.stage(t, "$default", vars, at)
	}
	if c := get(p, "CorsConfiguration"); c != nil {
		a.cors = s.samCORS(c)
	}
	s.definition(a, p)
	s.authorizers(a, get(p, "Auth"))
	s.unhandled(id, p, map[string]string{"StageName": "", "StageVariables": "", "CorsConfiguration": "", "Auth": "", "DefinitionBody": "", "DefinitionUri": "",
		"Name": "", "Description": "", "Tags": "",
		"AccessLogSettings":         "ignored: use access_log in frontdesk.yaml",
		"DefaultRouteSettings":      "not mapped: set throttles per route in frontdesk.yaml",
		"RouteSettings":             "not mapped: set throttles per route in frontdesk.yaml",
		"Domain":                    "ignored: serve hosts with apis.NAME.hosts",
		"DisableExecuteApiEndpoint": "ignored", "FailOnWarnings": ""})
}

// definition reads DefinitionBody (already evaluated) or a local
// DefinitionUri into the API.
func (s *sam) definition(a *apiOut, p *yaml.Node) {
	b := s.b
	if body := get(p, "DefinitionBody"); body != nil {
		b.checkRefs(s.file, body)
		b.openAPI(s.file, body, a)
		return
	}
	uri := get(p, "DefinitionUri")
	if uri == nil {
		return
	}
	if uri.Kind != yaml.ScalarNode || strings.HasPrefix(uri.Value, "s3://") {
		b.r.note(s.file, uri, a.name+".DefinitionUri", "a definition in S3 is not fetched: use a local file path")
		return
	}
	path := uri.Value
	if !filepath.IsAbs(path) {
		path = filepath.Join(filepath.Dir(s.file), path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		b.r.fail(s.file, uri, a.name+".DefinitionUri", "%v", err)
		return
	}
	format, root, err := Detect(path, data)
	if err != nil {
		if list, ok := err.(interface{ Error() string }); ok {
			b.r.fail(path, nil, "", "%s", list.Error())
		}
		return
	}
	if format != FormatOpenAPI3 && format != FormatSwagger2 {
		b.r.fail(s.file, uri, a.name+".DefinitionUri", "%s is not an OpenAPI or Swagger document", path)
		return
	}
	b.checkRefs(path, root)
	b.openAPI(path, root, a)
}

// v2API maps AWS::ApiGatewayV2::Api: WEBSOCKET APIs, and HTTP APIs with
// a Body.
func (s *sam) v2API(id string, res *yaml.Node) {
	b, t, file := s.b, s.b.t, s.file
	p := s.props(id, "")
	if p == nil {
		return
	}
	switch strings.ToUpper(getStr(p, "ProtocolType")) {
	case "WEBSOCKET":
		a := b.newAPI(id, "websocket", s.pos(id))
		sel := getStr(p, "RouteSelectionExpression")
		t.set(a.extra, "route_selection", strNode(sel), pos{file, lineOf(keyNode(p, "RouteSelectionExpression"))})
		s.unhandled(id, p, map[string]string{"Name": "", "ProtocolType": "", "RouteSelectionExpression": "", "Description": "", "Tags": "",
			"ApiKeySelectionExpression": "ignored: the key is read from the x-api-key header"})
	case "HTTP":
		a := b.newAPI(id, "http", s.pos(id))
		if body := get(p, "Body"); body != nil {
			b.checkRefs(file, body)
			b.openAPI(file, body, a)
		}
		if get(p, "Target") != nil {
			b.r.note(file, keyNode(p, "Target"), id+".Target", "quick create is not yet supported: add a $default route")
		}
		if c := get(p, "CorsConfiguration"); c != nil {
			a.cors = s.samCORS(c)
		}
		s.unhandled(id, p, map[string]string{"Name": "", "ProtocolType": "", "Body": "", "Target": "", "CorsConfiguration": "", "Description": "", "Tags": ""})
	default:
		b.r.fail(file, keyNode(p, "ProtocolType"), id+".ProtocolType", "want WEBSOCKET or HTTP, got %q", getStr(p, "ProtocolType"))
	}
}

// cfnRestAPI maps AWS::ApiGateway::RestApi with an OpenAPI Body.
func (s *sam) cfnRestAPI(id string, res *yaml.Node) {
	b, file := s.b, s.file
	p := s.props(id, "")
	if p == nil {
		return
	}
	a := b.newAPI(id, "rest", s.pos(id))
	if body := get(p, "Body"); body != nil {
		b.checkRefs(file, body)
		b.openAPI(file, body, a)
	}
	s.unhandled(id, p, map[string]string{"Name": "", "Body": "", "Description": "", "Tags": "",
		"EndpointConfiguration": "ignored: endpoint types have no meaning for a self-hosted gateway",
		"BinaryMediaTypes":      "",
		"ApiKeySourceType":      "", "Policy": "not yet supported: the resource policy is NOT enforced"})
	s.restTransform(a, p)
}

// v2Part maps the pieces of a V2 API (and AWS::ApiGateway::Stage): they
// name their API by ApiId / RestApiId.
func (s *sam) v2Part(id string, res *yaml.Node) {
	b, t, file := s.b, s.b.t, s.file
	p := s.props(id, "")
	if p == nil {
		return
	}
	apiID := getStr(p, "ApiId")
	if apiID == "" {
		apiID = getStr(p, "RestApiId")
	}
	a := b.findAPI(apiID)
	if a == nil {
		b.r.fail(file, keyNode(p, "ApiId"), id+".ApiId", "no API named %q in this template", apiID)
		return
	}
	at := s.pos(id)
	switch s.c.types[id] {
	case "AWS::ApiGatewayV2::Integration":
		typ := strings.ToUpper(getStr(p, "IntegrationType"))
		uri := getStr(p, "IntegrationUri")
		out := t.mapping(at)
		switch {
		case typ == "AWS_PROXY" && isLambdaURI(uri):
			fn, _ := lambdaFunction(uri)
			b.want(fn, file, keyNode(p, "IntegrationUri"))
			t.set(out, "type", strNode("lambda"), at)
			t.set(out, "function", strNode(fn), pos{file, lineOf(keyNode(p, "IntegrationUri"))})
			if pf := getStr(p, "PayloadFormatVersion"); pf != "" && a.typ == "http" {
				t.set(out, "payload_format", strNode(pf), at)
			}
		case typ == "HTTP_PROXY" || typ == "HTTP":
			kind := "http_proxy"
			if a.typ == "websocket" {
				kind = "http"
			}
			t.set(out, "type", strNode(kind), at)
			t.set(out, "url", strNode(uri), pos{file, lineOf(keyNode(p, "IntegrationUri"))})
		default:
			b.r.note(file, res, id, "integration type %s (%s) is not yet supported: routes using it are not served", typ, uri)
			return
		}
		if ms := getStr(p, "TimeoutInMillis"); ms != "" {
			t.set(out, "timeout", strNode(millisStr(ms)), at)
		}
		s.unhandled(id, p, map[string]string{"ApiId": "", "IntegrationType": "", "IntegrationUri": "", "PayloadFormatVersion": "", "TimeoutInMillis": "",
			"Description": "", "IntegrationMethod": "", "CredentialsArn": "ignored: no IAM role is assumed",
			"RequestTemplates": "not yet supported: the request is passed through unchanged", "TemplateSelectionExpression": "not yet supported",
			"ContentHandlingStrategy": "ignored", "PassthroughBehavior": "ignored"})
		a.used[id] = true
		t.set(a.integrations, id, out, at)
	case "AWS::ApiGatewayV2::Route":
		key := getStr(p, "RouteKey")
		target := getStr(p, "Target")
		integ, ok := strings.CutPrefix(target, "integrations/")
		if !ok || get(a.integrations, integ) == nil {
			b.r.note(file, keyNode(p, "Target"), id, "target %q is not an integration of this template that frontdesk serves: route not served", target)
			return
		}
		rs := routeSpec{key: key, integration: integ}
		if v, _ := getBool(p, "ApiKeyRequired"); v {
			rs.apiKey = true
		}
		switch strings.ToUpper(getStr(p, "AuthorizationType")) {
		case "", "NONE":
		case "CUSTOM", "JWT":
			rs.authorizer = name(getStr(p, "AuthorizerId"))
		case "AWS_IAM":
			b.r.note(file, keyNode(p, "AuthorizationType"), id+".AuthorizationType", "AWS_IAM authorization is not yet supported: the route is served WITHOUT it")
		}
		s.unhandled(id, p, map[string]string{"ApiId": "", "RouteKey": "", "Target": "", "ApiKeyRequired": "", "AuthorizationType": "", "AuthorizerId": "",
			"OperationName": "", "RouteResponseSelectionExpression": "", "AuthorizationScopes": "",
			"RequestModels": "not yet supported: messages are not validated", "ModelSelectionExpression": "not yet supported"})
		b.addRoute(a, rs, file, keyNode(p, "RouteKey"))
		if get(p, "RouteResponseSelectionExpression") != nil && a.typ == "websocket" {
			t.set(get(a.routes, key), "reply", boolNode(true), at)
		}
	case "AWS::ApiGatewayV2::Stage", "AWS::ApiGateway::Stage":
		vars := map[string]string{}
		pairs(get(p, "StageVariables"), func(k, v *yaml.Node) { vars[k.Value] = scalar(v) })
		pairs(get(p, "Variables"), func(k, v *yaml.Node) { vars[k.Value] = scalar(v) })
		a.stage(t, getStr(p, "StageName"), vars, at)
		s.unhandled(id, p, map[string]string{"ApiId": "", "RestApiId": "", "StageName": "", "StageVariables": "", "Variables": "", "DeploymentId": "",
			"AutoDeploy": "", "Description": "", "Tags": "",
			"DefaultRouteSettings": "not mapped: set throttles per route in frontdesk.yaml", "RouteSettings": "not mapped",
			"AccessLogSettings": "ignored: use access_log in frontdesk.yaml", "MethodSettings": "not mapped", "TracingEnabled": "ignored: no X-Ray"})
	case "AWS::ApiGatewayV2::Authorizer":
		out := t.mapping(at)
		switch strings.ToUpper(getStr(p, "AuthorizerType")) {
		case "REQUEST":
			fn, ok := lambdaFunction(getStr(p, "AuthorizerUri"))
			if !ok {
				b.r.fail(file, keyNode(p, "AuthorizerUri"), id+".AuthorizerUri", "want a Lambda invocation URI, got %q", getStr(p, "AuthorizerUri"))
				return
			}
			b.want(fn, file, keyNode(p, "AuthorizerUri"))
			t.set(out, "type", strNode("lambda"), at)
			t.set(out, "function", strNode(fn), at)
			if pf := getStr(p, "AuthorizerPayloadFormatVersion"); pf != "" {
				t.set(out, "payload_format", strNode(pf), at)
			} else if a.typ == "websocket" {
				t.set(out, "payload_format", strNode("1.0"), at)
				t.set(out, "simple_responses", boolNode(false), at)
			}
		case "JWT":
			jc := get(p, "JwtConfiguration")
			t.set(out, "type", strNode("jwt"), at)
			t.set(out, "issuer", strNode(getStr(jc, "Issuer")), at)
			if aud := strs(get(jc, "Audience")); len(aud) > 0 {
				t.set(out, "audience", strList(aud), at)
			}
		default:
			b.r.note(file, res, id, "authorizer type %q is not yet supported", getStr(p, "AuthorizerType"))
			return
		}
		if src := strs(get(p, "IdentitySource")); len(src) > 0 {
			var ids []string
			for _, x := range src {
				ids = append(ids, identitySources(x)...)
			}
			t.set(out, "identity_source", strList(ids), at)
		}
		t.set(a.authorizers, name(id), out, at)
	}
}

// pfOut is the payload_format written for an integration: HTTP APIs only.
func pfOut(a *apiOut, pf string) string {
	if a.typ == "http" {
		return pf
	}
	return ""
}

func codeKey(p *yaml.Node) string {
	if get(p, "CodeUri") != nil {
		return "CodeUri"
	}
	return "Code"
}

// codeDir is CodeUri dir as frontdesk's working directory reaches it: an
// absolute path as it is, a relative one under the template's directory.
func (b *builder) codeDir(dir string) string {
	if filepath.IsAbs(dir) {
		return dir
	}
	return filepath.Join(b.dir, dir)
}
