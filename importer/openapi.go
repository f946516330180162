package importer

import (
	"encoding/json"
	"fmt"
	"net/url"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

const ext = "x-amazon-apigateway-"

// oas reads one OpenAPI 3.0 or Swagger 2.0 document into an API.
type oas struct {
	b    *builder
	file string
	doc  *yaml.Node
	v2   bool
	a    *apiOut
	// schemes are the security schemes by name: "apikey", or the
	// authorizer's name in the output.
	schemes map[string]string
	// schemaBudget is what is left of maxSchemaNodes for the document's
	// models.
	schemaBudget *int
	// built are the models made of schemas, by schema name ("": none).
	built map[string]string
}

// openAPIFile imports a standalone document: it decides the API's name,
// type (HTTP or REST export) and stage, then reads it.
func (b *builder) openAPIFile(file string, root *yaml.Node) {
	b.checkRefs(file, root)
	if len(b.r.errs) > 0 {
		return
	}
	title := name(getStr(get(root, "info"), "title"))
	if title == "" {
		title = name(strings.TrimSuffix(filepath.Base(file), filepath.Ext(file)))
	}
	if title == "" {
		title = "api"
	}
	typ, why := dialect(root)
	if d := b.o.Dialect; d != "" && d != typ {
		typ, why = d, "asked for"
	}
	at := pos{file, lineOf(keyNode(root, "info"))}
	a := b.newAPI(title, typ, at)
	basePath, stage, stageVars := oasBase(root)
	a.basePath = basePath
	if stage != "" {
		a.stage(b.t, stage, stageVars, at)
	}
	b.info = append(b.info, fmt.Sprintf("API %s read as a %s API export: %s.", title, strings.ToUpper(typ), why))
	b.openAPI(file, root, a)
}

// dialect tells an HTTP API export from a REST API export by the
// extensions only one of them has.
func dialect(root *yaml.Node) (typ, why string) {
	if getStr(root, "swagger") != "" {
		return "rest", "Swagger 2.0 is REST only"
	}
	for _, k := range []string{"api-key-source", "binary-media-types", "gateway-responses", "request-validators", "minimum-compression-size", "policy", "documentation"} {
		if get(root, ext+k) != nil {
			return "rest", ext + k + " is REST only"
		}
	}
	for _, k := range []string{"importexport-version", "cors"} {
		if get(root, ext+k) != nil {
			return "http", ext + k + " is HTTP API only"
		}
	}
	if get(get(root, "paths"), "$default") != nil {
		return "http", "a $default route is HTTP API only"
	}
	found := ""
	walk(root, func(n *yaml.Node) bool {
		if integ := get(n, ext+"integration"); integ != nil {
			t := strings.ToLower(getStr(integ, "type"))
			switch {
			case getStr(integ, "payloadFormatVersion") != "":
				found = "http:payloadFormatVersion is HTTP API only"
			case t == "mock" || t == "http" || t == "aws":
				found = "rest:integration type " + t + " is REST only"
			case get(integ, "requestTemplates") != nil:
				found = "rest:requestTemplates are REST only"
			}
		}
		if au := get(n, ext+"authorizer"); au != nil {
			switch strings.ToLower(getStr(au, "type")) {
			case "jwt":
				found = "http:jwt authorizers are HTTP API only"
			case "token", "cognito_user_pools":
				found = "rest:token and Cognito authorizers are REST only"
			}
		}
		return found == ""
	})
	if found != "" {
		t, w, _ := strings.Cut(found, ":")
		return t, w
	}
	return "rest", "no HTTP API marker found; REST is the default"
}

// walk visits every mapping under n until fn returns false.
func walk(n *yaml.Node, fn func(*yaml.Node) bool) bool {
	if n == nil {
		return true
	}
	if n.Kind == yaml.MappingNode && !fn(n) {
		return false
	}
	for _, c := range n.Content {
		if !walk(c, fn) {
			return false
		}
	}
	return true
}

// oasBase finds where the API is mounted and the stage AWS's stage
// exports name: Swagger's basePath, or OpenAPI 3's basePath server
// variable (else the path of servers[0].url). Its last segment is the
// stage; anything before it is the base path.
func oasBase(root *yaml.Node) (basePath, stage string, vars map[string]string) {
	p := getStr(root, "basePath")
	if servers := get(root, "servers"); servers != nil && len(servers.Content) > 0 {
		s := servers.Content[0]
		u := getStr(s, "url")
		bpVar := getStr(get(get(s, "variables"), "basePath"), "default")
		if parsed, err := url.Parse(strings.NewReplacer("{", "", "}", "").Replace(u)); err == nil {
			p = parsed.Path
		}
		if strings.Contains(u, "{basePath}") {
			// .../{basePath}: the variable names the stage.
			prefix := ""
			if parsed, err := url.Parse(strings.NewReplacer("{", "", "}", "").Replace(strings.SplitN(u, "{basePath}", 2)[0])); err == nil {
				prefix = parsed.Path
			}
			p = strings.TrimSuffix(prefix, "/") + "/" + strings.Trim(bpVar, "/")
		}
	}
	if v := get(root, "x-frontdesk-stage"); v != nil {
		vars = map[string]string{}
		pairs(get(v, "variables"), func(k, val *yaml.Node) { vars[k.Value] = val.Value })
	}
	p = strings.Trim(p, "/")
	if p == "" || p == "$default" {
		return "/", "", vars
	}
	i := strings.LastIndexByte(p, '/')
	if i < 0 {
		return "/", p, vars
	}
	return "/" + p[:i], p[i+1:], vars
}

var httpMethods = []string{"get", "put", "post", "delete", "options", "head", "patch"}

// openAPI reads paths, integrations, security and root extensions of doc
// into a.
func (b *builder) openAPI(file string, doc *yaml.Node, a *apiOut) {
	o := &oas{b: b, file: file, doc: doc, v2: getStr(doc, "swagger") != "", a: a, schemes: map[string]string{}}
	o.root()
	if a.typ == "rest" {
		o.models()
	}
	o.securitySchemes()
	rootSec := get(doc, "security")
	pathsNode := get(doc, "paths")
	if pathsNode == nil {
		b.r.note(file, doc, "paths", "the document has no paths: the API has no routes")
	}
	pairs(pathsNode, func(pk, item *yaml.Node) {
		if strings.HasPrefix(pk.Value, "x-") {
			o.extension(pk, "paths")
			return
		}
		item = o.deref(item)
		if item == nil {
			return
		}
		if pk.Value != "$default" && !strings.HasPrefix(pk.Value, "/") {
			b.r.fail(file, pk, "paths."+pk.Value, "a path must start with /")
			return
		}
		pairs(item, func(mk, op *yaml.Node) {
			method := strings.ToLower(mk.Value)
			switch {
			case method == ext+"any-method":
				method = "ANY"
			case contains(httpMethods, method):
				method = strings.ToUpper(method)
			case method == "parameters", method == "summary", method == "description", method == "servers", method == "$ref":
				return
			case strings.HasPrefix(method, "x-"):
				o.extension(mk, pk.Value)
				return
			default:
				b.r.note(file, mk, pk.Value+" "+mk.Value, "not a method API Gateway serves: ignored")
				return
			}
			op = o.deref(op)
			key := method + " " + pk.Value
			if pk.Value == "$default" || getBoolDefault(op, "isDefaultRoute") {
				key = "$default"
			}
			o.operation(key, mk, op, rootSec, get(item, "parameters"))
		})
	})
}

func getBoolDefault(m *yaml.Node, key string) bool {
	v, _ := getBool(m, key)
	return v
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// root reads the document-level extensions.
func (o *oas) root() {
	b, file, a := o.b, o.file, o.a
	pairs(o.doc, func(k, v *yaml.Node) {
		switch k.Value {
		case ext + "cors":
			a.cors = o.cors(k, v)
		case ext + "api-key-source":
			if strings.ToUpper(scalar(v)) == "AUTHORIZER" {
				b.r.note(file, k, k.Value, "AUTHORIZER (keys from a Lambda authorizer's usageIdentifierKey) is not yet supported: keys are read from the x-api-key header")
			}
		case ext + "binary-media-types":
			if o.restOnly(k, k.Value) {
				o.binaryMediaTypes(k, v)
			}
		case ext + "gateway-responses":
			if o.restOnly(k, k.Value) {
				o.gatewayResponses(v)
			}
		case ext + "request-validators":
			if o.restOnly(k, k.Value) {
				o.requestValidators(k, v)
			}
		case ext + "request-validator":
			if o.restOnly(k, k.Value) && scalar(v) != "" {
				a.requestValidator = strNode(scalar(v))
				b.t.mark(a.requestValidator, pos{file, k.Line})
			}
		case ext + "endpoint-configuration":
			b.r.note(file, k, k.Value, "ignored: endpoint types (EDGE, REGIONAL, PRIVATE, VPC endpoints) have no meaning for a self-hosted gateway")
		case ext + "minimum-compression-size":
			b.r.note(file, k, k.Value, "ignored: responses are not compressed by the gateway")
		case ext + "policy":
			b.r.note(file, k, k.Value, "not yet supported: the resource policy is NOT enforced")
		case ext + "documentation":
			b.r.note(file, k, k.Value, "ignored: documentation parts")
		case ext + "importexport-version", ext + "tag-value":
		case "components":
			pairs(v, func(ck, cv *yaml.Node) {
				if strings.HasPrefix(ck.Value, ext) && ck.Value != ext+"integrations" {
					o.extension(ck, "components")
				}
			})
		default:
			if strings.HasPrefix(k.Value, ext) {
				o.extension(k, "the document")
			}
		}
	})
}

func (o *oas) extension(k *yaml.Node, where string) {
	if strings.HasPrefix(k.Value, ext) {
		o.b.r.note(o.file, k, k.Value, "extension not known to frontdesk in %s: ignored", where)
	}
}

// cors maps x-amazon-apigateway-cors (HTTP APIs) to cors.
func (o *oas) cors(k, v *yaml.Node) *yaml.Node {
	t := o.b.t
	at := pos{o.file, k.Line}
	c := t.mapping(at)
	for _, f := range []struct{ from, to string }{
		{"allowOrigins", "allow_origins"}, {"allowMethods", "allow_methods"},
		{"allowHeaders", "allow_headers"}, {"exposeHeaders", "expose_headers"},
	} {
		if n := get(v, f.from); n != nil {
			t.set(c, f.to, strList(strs(n)), pos{o.file, n.Line})
		}
	}
	if n := get(v, "maxAge"); n != nil {
		if i, err := strconv.Atoi(scalar(n)); err == nil {
			t.set(c, "max_age", intNode(i), pos{o.file, n.Line})
		}
	}
	if bv, ok := getBool(v, "allowCredentials"); ok {
		t.set(c, "allow_credentials", boolNode(bv), pos{o.file, get(v, "allowCredentials").Line})
	}
	return c
}

// deref follows a local $ref (chains too) and returns the target.
func (o *oas) deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && i < 32; i++ {
		ref := getStr(n, "$ref")
		if ref == "" {
			return n
		}
		t := resolveRef(o.doc, ref)
		if t == nil {
			return nil // checkRefs reported it
		}
		n = t
	}
	return n
}

// resolveRef finds "#/a/b" in doc.
func resolveRef(doc *yaml.Node, ref string) *yaml.Node {
	if !strings.HasPrefix(ref, "#/") {
		return nil
	}
	n := doc
	for _, part := range strings.Split(ref[2:], "/") {
		part = strings.ReplaceAll(strings.ReplaceAll(part, "~1", "/"), "~0", "~")
		if u, err := url.PathUnescape(part); err == nil {
			part = u
		}
		n = get(n, part)
		if n == nil {
			return nil
		}
	}
	return n
}

// checkRefs fails on every $ref that goes nowhere, leaves the document,
// or only leads to other $refs in a circle. (A schema that contains
// itself through its properties is a legal recursive model; schemas are
// not read here.)
func (b *builder) checkRefs(file string, doc *yaml.Node) {
	walk(doc, func(n *yaml.Node) bool {
		refNode := get(n, "$ref")
		ref := scalar(refNode)
		if refNode == nil {
			return true
		}
		switch {
		case ref == "":
			b.r.fail(file, refNode, "$ref", "want a string")
		case !strings.HasPrefix(ref, "#"):
			b.r.fail(file, refNode, "$ref", "%q: references to other files are not supported (inline them, or bundle the document)", ref)
		default:
			seen := map[string]bool{}
			cur := ref
			for cur != "" {
				if seen[cur] {
					b.r.fail(file, refNode, "$ref", "%q is circular: it leads back to itself through %d $ref(s) and never to a value", ref, len(seen))
					break
				}
				seen[cur] = true
				t := resolveRef(doc, cur)
				if t == nil {
					b.r.fail(file, refNode, "$ref", "%q goes nowhere: no such entry in the document", cur)
					break
				}
				cur = getStr(t, "$ref")
			}
		}
		return true
	})
}

// securitySchemes maps apiKey schemes and x-amazon-apigateway-authorizer
// schemes to api_key and authorizers.
func (o *oas) securitySchemes() {
	schemes := get(get(o.doc, "components"), "securitySchemes")
	if o.v2 {
		schemes = get(o.doc, "securityDefinitions")
	}
	pairs(schemes, func(k, v *yaml.Node) {
		v = o.deref(v)
		au := get(v, ext+"authorizer")
		if au == nil {
			if strings.EqualFold(getStr(v, "x-amazon-apigateway-authtype"), "awsSigv4") {
				o.b.r.note(o.file, k, k.Value, "IAM (SigV4) authorization is not yet supported: routes using it are served WITHOUT it")
				return
			}
			if getStr(v, "type") == "apiKey" {
				if getStr(v, "in") != "header" || !strings.EqualFold(getStr(v, "name"), "x-api-key") {
					o.b.r.note(o.file, k, k.Value, "API keys are read from the x-api-key header (as API Gateway's HEADER source), not %s %q", getStr(v, "in"), getStr(v, "name"))
				}
				o.schemes[k.Value] = "apikey"
				return
			}
			o.b.r.note(o.file, k, k.Value, "security scheme of type %q without %sauthorizer: not enforced", getStr(v, "type"), ext)
			return
		}
		nm := o.a.uniqueName(name(k.Value))
		if o.authorizer(nm, k, v, au) {
			o.schemes[k.Value] = nm
		}
	})
}

// authorizer maps one x-amazon-apigateway-authorizer.
func (o *oas) authorizer(nm string, k, scheme, au *yaml.Node) bool {
	b, t, file := o.b, o.b.t, o.file
	at := pos{file, k.Line}
	out := t.mapping(at)
	typ := strings.ToLower(getStr(au, "type"))
	if strings.EqualFold(getStr(scheme, "x-amazon-apigateway-authtype"), "cognito_user_pools") {
		typ = "cognito_user_pools"
	}
	header := getStr(scheme, "name")
	if header == "" {
		header = "Authorization"
	}
	switch typ {
	case "jwt":
		jc := get(au, "jwtConfiguration")
		t.set(out, "type", strNode("jwt"), at)
		t.set(out, "issuer", strNode(getStr(jc, "issuer")), pos{file, lineOf(get(jc, "issuer"))})
		if aud := strs(get(jc, "audience")); len(aud) > 0 {
			t.set(out, "audience", strList(aud), pos{file, lineOf(get(jc, "audience"))})
		}
		if src := identitySources(getStr(au, "identitySource")); len(src) > 0 {
			t.set(out, "identity_source", strList(src), at)
		}
		if u := getStr(scheme, "x-frontdesk-jwks-url"); u != "" {
			t.set(out, "jwks_url", strNode(u), at)
		}
	case "cognito_user_pools":
		arns := strs(get(au, "providerARNs"))
		if len(arns) == 0 {
			b.r.fail(file, au, k.Value, "a cognito_user_pools authorizer needs providerARNs")
			return false
		}
		iss, ok := cognitoIssuer(arns[0])
		if !ok {
			b.r.fail(file, get(au, "providerARNs"), k.Value, "want a user pool ARN arn:aws:cognito-idp:REGION:ACCOUNT:userpool/POOL_ID, got %q", arns[0])
			return false
		}
		if len(arns) > 1 {
			b.r.note(file, get(au, "providerARNs"), k.Value+".providerARNs", "only the first user pool is trusted")
		}
		t.set(out, "type", strNode("jwt"), at)
		t.set(out, "issuer", strNode(iss), at)
		t.set(out, "jwks_url", strNode(iss+"/.well-known/jwks.json"), at)
		t.set(out, "audience", strList([]string{cognitoAudience(b, file, k, nm)}), at)
		t.set(out, "identity_source", strList([]string{"$request.header." + header}), at)
	case "token", "request":
		uri := getStr(au, "authorizerUri")
		fn, ok := lambdaFunction(uri)
		if !ok {
			b.r.fail(file, keyNode(au, "authorizerUri"), k.Value+".authorizerUri", "want a Lambda function ARN, got %q", uri)
			return false
		}
		b.want(fn, file, keyNode(au, "authorizerUri"))
		t.set(out, "type", strNode("lambda"), at)
		t.set(out, "function", strNode(fn), pos{file, lineOf(keyNode(au, "authorizerUri"))})
		src := identitySources(getStr(au, "identitySource"))
		if typ == "token" {
			src = []string{"$request.header." + header}
			b.r.note(file, keyNode(au, "type"), k.Value+": token authorizer", "served as a REQUEST authorizer whose identity source is the %s header: the function gets a REQUEST event (its headers carry the token), not a TOKEN event's authorizationToken", header)
		}
		if len(src) > 0 {
			t.set(out, "identity_source", strList(src), at)
		}
		pf := getStr(au, "authorizerPayloadFormatVersion")
		if o.a.typ == "rest" {
			pf = "1.0"
		}
		if pf != "" {
			t.set(out, "payload_format", strNode(pf), at)
		}
		if sr, ok := getBool(au, "enableSimpleResponses"); ok {
			t.set(out, "simple_responses", boolNode(sr), at)
		} else if pf == "1.0" {
			t.set(out, "simple_responses", boolNode(false), at)
		}
		if ttl := getStr(au, "authorizerResultTtlInSeconds"); ttl != "" {
			if s, err := strconv.Atoi(ttl); err == nil {
				t.set(out, "ttl", strNode(fmt.Sprintf("%ds", s)), at)
			}
		}
		if get(au, "identityValidationExpression") != nil {
			b.r.note(file, keyNode(au, "identityValidationExpression"), "identityValidationExpression", "not yet supported: every token reaches the function")
		}
	default:
		b.r.fail(file, keyNode(au, "type"), k.Value+".type", "authorizer type %q: want jwt, request, token or cognito_user_pools", getStr(au, "type"))
		return false
	}
	if get(au, "authorizerCredentials") != nil {
		b.r.note(file, keyNode(au, "authorizerCredentials"), "authorizerCredentials", "ignored: no IAM role is assumed to call the function")
	}
	t.set(o.a.authorizers, nm, out, at)
	return true
}

var cognitoARN = regexp.MustCompile(`^arn:aws[a-z-]*:cognito-idp:([a-z0-9-]+):[^:]*:userpool/([A-Za-z0-9_-]+)$`)

// cognitoIssuer is the issuer of a user pool's tokens.
func cognitoIssuer(arn string) (string, bool) {
	m := cognitoARN.FindStringSubmatch(arn)
	if m == nil {
		return "", false
	}
	return "https://cognito-idp." + m[1] + ".amazonaws.com/" + m[2], true
}

// identitySources maps AWS's identity source lists (REST:
// "method.request.header.Authorization, method.request.querystring.x";
// HTTP: "$request.header.Authorization") to frontdesk's.
func identitySources(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		p = strings.TrimSpace(p)
		switch {
		case p == "":
		case strings.HasPrefix(p, "method.request.header."):
			out = append(out, "$request.header."+strings.TrimPrefix(p, "method.request.header."))
		case strings.HasPrefix(p, "method.request.querystring."):
			out = append(out, "$request.querystring."+strings.TrimPrefix(p, "method.request.querystring."))
		case strings.HasPrefix(p, "context."), strings.HasPrefix(p, "stageVariables."):
			out = append(out, "$"+p)
		default:
			out = append(out, p)
		}
	}
	return out
}

// operation maps one method of one path to a route and its integration.
func (o *oas) operation(key string, mk, op, rootSec, itemParams *yaml.Node) {
	b, file, a := o.b, o.file, o.a
	integNode := get(op, ext+"integration")
	pairs(op, func(k, v *yaml.Node) {
		switch k.Value {
		case ext + "integration", ext + "auth", "isDefaultRoute", ext + "any-method":
		case ext + "request-validator":
			o.restOnly(k, k.Value)
		default:
			o.extension(k, key)
		}
	})
	if au := get(op, ext+"auth"); au != nil && strings.EqualFold(getStr(au, "type"), "AWS_IAM") {
		b.r.note(file, keyNode(op, ext+"auth"), key+": "+ext+"auth", "AWS_IAM authorization is not yet supported: the route is served WITHOUT it")
	}
	if integNode == nil {
		b.r.note(file, mk, key, "no %sintegration: route not served", ext)
		return
	}
	integName := ""
	if ref := getStr(integNode, "$ref"); ref != "" {
		integName = name(ref[strings.LastIndexByte(ref, '/')+1:])
	}
	integNode = o.deref(integNode)
	if integNode == nil {
		return
	}
	if integName == "" {
		integName = name(getStr(op, "operationId"))
	}
	if integName == "" {
		integName = name(strings.ToLower(strings.NewReplacer("{", "", "}", "", "+", "", "$", "").Replace(key)))
	}
	rs := routeSpec{key: key}
	if existing := get(a.integrations, integName); existing != nil && getStr(op, "$ref") == "" && a.used[integName] && !strings.Contains(getStr(get(op, ext+"integration"), "$ref"), "/") {
		integName = a.uniqueName(integName)
	} else if existing == nil {
		a.used[integName] = true
	}
	if get(a.integrations, integName) == nil {
		if !o.integration(integName, key, integNode) {
			return
		}
	}
	rs.integration = integName
	sec := get(op, "security")
	if sec == nil {
		sec = rootSec
	}
	o.security(&rs, sec)
	if a.typ == "rest" {
		o.requestValidation(&rs, op, itemParams)
	}
	b.addRoute(a, rs, file, mk)
}

// security reads a security requirement list: API key, authorizer and
// scopes.
func (o *oas) security(rs *routeSpec, sec *yaml.Node) {
	if sec == nil {
		return
	}
	if len(sec.Content) == 0 {
		rs.noAuth = true
		return
	}
	for i, req := range sec.Content {
		pairs(req, func(k, v *yaml.Node) {
			s, ok := o.schemes[k.Value]
			switch {
			case !ok:
				if resolveRef(o.doc, "#/components/securitySchemes/"+k.Value) == nil && get(get(o.doc, "securityDefinitions"), k.Value) == nil {
					o.b.r.fail(o.file, k, "security."+k.Value, "no security scheme named %q", k.Value)
				}
			case s == "apikey":
				rs.apiKey = true
			case rs.authorizer == "":
				rs.authorizer = s
				rs.scopes = strs(v)
			default:
				o.b.r.note(o.file, k, "security."+k.Value, "one authorizer per route: %s is used, %s is ignored", rs.authorizer, s)
			}
		})
		if i > 0 {
			o.b.r.note(o.file, req, "security", "alternative security requirements: all of them are applied together")
		}
	}
}

// integration maps x-amazon-apigateway-integration; false when the route
// cannot be served.
func (o *oas) integration(nm, routeKey string, in *yaml.Node) bool {
	b, t, file, a := o.b, o.b.t, o.file, o.a
	at := pos{file, in.Line}
	out := t.mapping(at)
	typ := strings.ToLower(getStr(in, "type"))
	uri := getStr(in, "uri")
	uriAt := pos{file, lineOf(keyNode(in, "uri"))}
	handled := map[string]bool{"type": true, "uri": true, "httpMethod": true, "timeoutInMillis": true, "payloadFormatVersion": true, "connectionType": true}
	switch typ {
	case "aws_proxy":
		if !isLambdaURI(uri) {
			b.r.note(file, keyNode(in, "uri"), routeKey+": aws_proxy", "AWS service integration %q is not yet supported: route not served", uri)
			return false
		}
		fn, ok := lambdaFunction(uri)
		if !ok || strings.Contains(fn, "${") {
			b.r.fail(file, keyNode(in, "uri"), routeKey, "cannot read a Lambda function name from %q", uri)
			return false
		}
		b.want(fn, file, keyNode(in, "uri"))
		t.set(out, "type", strNode("lambda"), at)
		t.set(out, "function", strNode(fn), uriAt)
		if pf := getStr(in, "payloadFormatVersion"); pf != "" && a.typ == "http" {
			t.set(out, "payload_format", strNode(pf), pos{file, lineOf(keyNode(in, "payloadFormatVersion"))})
		}
		if a.typ == "http" {
			o.paramMapping(routeKey, "lambda", in, out, handled)
		}
		handled["credentials"] = true
		if get(in, "credentials") != nil {
			b.r.note(file, keyNode(in, "credentials"), "credentials", "ignored: no IAM role is assumed to invoke the function")
		}
	case "http_proxy", "http":
		if strings.EqualFold(getStr(in, "connectionType"), "VPC_LINK") {
			b.r.note(file, keyNode(in, "connectionType"), routeKey+": VPC_LINK", "connectionId %q is not reachable from here: the uri is called directly", getStr(in, "connectionId"))
			handled["connectionId"] = true
		}
		u, ok := httpTarget(uri)
		if !ok {
			b.r.fail(file, keyNode(in, "uri"), routeKey, "want an http(s) URL, got %q", uri)
			return false
		}
		if a.typ != "http" {
			handled["requestParameters"] = true
			u = o.restRequestParameters(routeKey, u, get(in, "requestParameters"))
		}
		m := strings.ToUpper(getStr(in, "httpMethod"))
		if typ == "http" && a.typ == "rest" {
			// The non-proxy HTTP integration: templates, passthrough,
			// integration responses, the upstream's own method.
			t.set(out, "type", strNode("http"), at)
			t.set(out, "url", strNode(u), uriAt)
			if m != "" && m != "ANY" && !strings.HasPrefix(routeKey, m+" ") {
				t.set(out, "method", strNode(m), pos{file, lineOf(keyNode(in, "httpMethod"))})
			}
			o.nonProxy(routeKey, in, out, at, handled)
			break
		}
		t.set(out, "type", strNode("http_proxy"), at)
		t.set(out, "url", strNode(u), uriAt)
		if a.typ == "http" {
			o.paramMapping(routeKey, "http_proxy", in, out, handled)
		}
		if m != "" && m != "ANY" && !strings.HasPrefix(routeKey, m+" ") {
			b.r.note(file, keyNode(in, "httpMethod"), routeKey+": httpMethod", "%s ignored: the request's own method is forwarded", m)
		}
		if typ == "http" {
			handled["responses"] = true
			if get(in, "responses") != nil {
				b.r.note(file, keyNode(in, "responses"), routeKey+": responses", "response mapping applies to REST APIs: the backend's response is passed through")
			}
		}
	case "mock":
		handled["requestTemplates"], handled["responses"], handled["passthroughBehavior"] = true, true, true
		if staticMock(in) || a.typ != "rest" {
			o.mock(routeKey, in, out, at)
			break
		}
		t.set(out, "type", strNode("mock"), at)
		o.nonProxy(routeKey, in, out, at, handled)
	case "aws":
		if !isLambdaURI(uri) || a.typ != "rest" {
			b.r.note(file, keyNode(in, "type"), routeKey+": aws", "non-proxy AWS service integrations are not yet supported: route not served")
			return false
		}
		// A Lambda custom integration: the request template's output is
		// the event.
		fn, ok := lambdaFunction(uri)
		if !ok || strings.Contains(fn, "${") {
			b.r.fail(file, keyNode(in, "uri"), routeKey, "cannot read a Lambda function name from %q", uri)
			return false
		}
		b.want(fn, file, keyNode(in, "uri"))
		t.set(out, "type", strNode("lambda"), at)
		t.set(out, "function", strNode(fn), uriAt)
		t.set(out, "proxy", boolNode(false), at)
		o.nonProxy(routeKey, in, out, at, handled)
	default:
		b.r.fail(file, keyNode(in, "type"), routeKey+".type", "integration type %q: want aws_proxy, http_proxy, http, mock or aws", getStr(in, "type"))
		return false
	}
	if ms := getStr(in, "timeoutInMillis"); ms != "" {
		if v, err := strconv.Atoi(ms); err == nil {
			t.set(out, "timeout", strNode(millis(v)), pos{file, lineOf(keyNode(in, "timeoutInMillis"))})
		}
	}
	pairs(in, func(k, v *yaml.Node) {
		if handled[k.Value] {
			return
		}
		switch k.Value {
		case "requestTemplates":
			b.r.note(file, k, routeKey+": requestTemplates", "ignored: a proxy integration passes the request through unchanged (as in API Gateway)")
		case "contentHandling":
			b.r.note(file, k, routeKey+": contentHandling", "ignored: a proxy integration passes the body as it is")
		case "passthroughBehavior":
			b.r.note(file, k, routeKey+": passthroughBehavior", "ignored: a proxy integration passes every request as it is")
		case "cacheKeyParameters", "cacheNamespace", "responseParameters", "tlsConfig", "integrationSubtype":
			b.r.note(file, k, routeKey+": "+k.Value, "ignored")
		case "requestParameters":
			if typ == "aws_proxy" || typ == "aws" {
				o.restRequestParameters(routeKey, "", v)
				break
			}
			b.r.note(file, k, routeKey+": requestParameters", "not yet supported for this integration")
		case "credentials":
			b.r.note(file, k, "credentials", "ignored: no IAM role is assumed")
		case "responses":
			b.r.note(file, k, routeKey+": responses", "ignored: a proxy integration passes the response through (as in API Gateway)")
		default:
			b.r.note(file, k, routeKey+": "+k.Value, "integration field not known to frontdesk: ignored")
		}
	})
	t.set(a.integrations, nm, out, at)
	return true
}

func httpTarget(uri string) (string, bool) {
	if strings.HasPrefix(uri, "${stageVariables.") {
		// The stage variable holds the origin; config checks the URL
		// once it is substituted.
		return uri, true
	}
	u, err := url.Parse(strings.NewReplacer("{", "", "}", "", "$", "").Replace(uri))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", false
	}
	return uri, true
}

// mock maps a REST mock integration: the status its request template
// selects, and that integration response's static headers and template.
func (o *oas) mock(routeKey string, in, out *yaml.Node, at pos) {
	b, t, file := o.b, o.b.t, o.file
	status := 200
	if tmpl := get(get(in, "requestTemplates"), "application/json"); tmpl != nil {
		var sel struct {
			StatusCode int `json:"statusCode"`
		}
		if err := json.Unmarshal([]byte(scalar(tmpl)), &sel); err == nil && sel.StatusCode != 0 {
			status = sel.StatusCode
		} else {
			b.r.note(file, tmpl, routeKey+": requestTemplates", "only {\"statusCode\": N} is read from a mock's request template; 200 is used")
		}
	}
	var chosen *yaml.Node
	responses := get(in, "responses")
	pairs(responses, func(k, v *yaml.Node) {
		if chosen != nil {
			return
		}
		if k.Value != "default" {
			if re, err := regexp.Compile("^(?:" + k.Value + ")$"); err == nil && re.MatchString(strconv.Itoa(status)) {
				chosen = v
			}
		}
	})
	if chosen == nil {
		chosen = get(responses, "default")
	}
	t.set(out, "type", strNode("mock"), at)
	if chosen != nil {
		if s := getStr(chosen, "statusCode"); s != "" {
			if v, err := strconv.Atoi(s); err == nil {
				status = v
			}
		}
	}
	t.set(out, "status", intNode(status), at)
	if chosen == nil {
		return
	}
	headers := map[string]string{}
	pairs(get(chosen, "responseParameters"), func(k, v *yaml.Node) {
		h, ok := strings.CutPrefix(k.Value, "method.response.header.")
		val := scalar(v)
		if ok && len(val) >= 2 && val[0] == '\'' && val[len(val)-1] == '\'' {
			headers[h] = val[1 : len(val)-1]
			return
		}
		b.r.note(file, k, routeKey+": "+k.Value, "only static header values ('...') are supported in a mock's responseParameters")
	})
	if len(headers) > 0 {
		t.set(out, "headers", strMap(headers), pos{file, lineOf(keyNode(chosen, "responseParameters"))})
	}
	tmpls := get(chosen, "responseTemplates")
	var types []string
	pairs(tmpls, func(k, _ *yaml.Node) { types = append(types, k.Value) })
	sort.Strings(types)
	if len(types) > 0 {
		ct := "application/json"
		if get(tmpls, ct) == nil {
			ct = types[0]
		}
		body := getStr(tmpls, ct)
		if strings.ContainsAny(body, "$#") {
			b.r.note(file, get(tmpls, ct), routeKey+": responseTemplates", "mapping templates (VTL) are not yet supported: the template text is the body")
		}
		if body != "" {
			t.set(out, "body", strNode(body), pos{file, lineOf(keyNode(tmpls, ct))})
		}
		if _, ok := headers["Content-Type"]; !ok {
			headers["content-type"] = ct
			t.set(out, "headers", strMap(headers), pos{file, lineOf(keyNode(chosen, "responseTemplates"))})
		}
	}
}

// cognitoAudience is the audience of a JWT authorizer standing for a
// Cognito user pool authorizer: API Gateway's checks none, frontdesk's
// JWT authorizer checks one, so it comes from the environment.
func cognitoAudience(b *builder, file string, at *yaml.Node, authorizer string) string {
	env := strings.ToUpper(strings.ReplaceAll(name(authorizer), "-", "_")) + "_CLIENT_ID"
	b.r.note(file, at, authorizer+" (Cognito user pool)", "the JWT authorizer also checks the token's audience: set %s to the app client id (until then tokens are refused)", env)
	return "${" + env + ":-unset-app-client-id}"
}
