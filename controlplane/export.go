package controlplane

import (
	"encoding/json"
	"strings"

	"github.com/frontdeskgw/frontdesk/router"
	"github.com/valyala/fasthttp"
	"gopkg.in/yaml.v3"
)

// exportAPI answers ExportApi: an HTTP API (created or of the file) as
// OpenAPI 3.0, in JSON or YAML, with AWS's x-amazon-apigateway-*
// extensions unless includeExtensions=false.
func (s *Service) exportAPI(ctx *fasthttp.RequestCtx) {
	rec, err := s.readable(s.state.Load(), s.app.Config(), param(ctx, "apiId"))
	if err == nil && param(ctx, "specification") != "OAS30" {
		err = badRequest("Unsupported specification %q: want OAS30", param(ctx, "specification"))
	}
	if err == nil && rec.API.ProtocolType != "HTTP" {
		err = badRequest("Export is supported for HTTP APIs only")
	}
	q := ctx.QueryArgs()
	out := string(q.Peek("outputType"))
	if err == nil && out != "JSON" && out != "YAML" {
		err = badRequest("Invalid outputType %q: want JSON or YAML", out)
	}
	if err != nil {
		writeError(ctx, err)
		return
	}
	doc := openAPI(rec, s.view(rec).APIEndpoint, string(q.Peek("includeExtensions")) != "false")
	var body []byte
	if out == "JSON" {
		body, err = json.MarshalIndent(doc, "", "  ")
		ctx.SetContentType("application/json")
	} else {
		body, err = yaml.Marshal(doc)
		ctx.SetContentType("application/yaml")
	}
	if err != nil {
		writeError(ctx, err)
		return
	}
	setRequestID(ctx)
	ctx.SetBody(body)
}

// openAPI is rec as an OpenAPI 3.0 document, the way AWS exports HTTP
// APIs: a path per route key, ANY as x-amazon-apigateway-any-method and
// $default as the path "/$default".
func openAPI(rec *apiRecord, endpoint string, extensions bool) map[string]any {
	version := rec.API.Version
	if version == "" {
		version = rec.API.CreatedDate.Format("2006-01-02 15:04:05UTC")
	}
	paths := map[string]any{}
	for _, id := range sortedIDs(rec.Routes) {
		r := rec.Routes[id]
		method, path := "x-amazon-apigateway-any-method", "/$default"
		if r.RouteKey != "$default" {
			if _, err := router.ParseKey(r.RouteKey); err != nil {
				continue
			}
			m, p, _ := strings.Cut(r.RouteKey, " ")
			path = p
			if m != "ANY" {
				method = strings.ToLower(m)
			}
		}
		op := map[string]any{"responses": map[string]any{"default": map[string]any{"description": "Default response for " + r.RouteKey}}}
		if params := pathParams(path); len(params) > 0 {
			op["parameters"] = params
		}
		if extensions {
			if in := rec.Integrations[strings.TrimPrefix(r.Target, "integrations/")]; in != nil {
				x := map[string]any{"type": strings.ToLower(in.IntegrationType), "uri": in.IntegrationURI,
					"payloadFormatVersion": in.PayloadFormatVersion, "connectionType": in.ConnectionType}
				if in.IntegrationMethod != "" {
					x["httpMethod"] = in.IntegrationMethod
				}
				if in.TimeoutInMillis != 0 {
					x["timeoutInMillis"] = in.TimeoutInMillis
				}
				op["x-amazon-apigateway-integration"] = x
			}
			if au := rec.Authorizers[r.AuthorizerID]; au != nil {
				scopes := r.AuthorizationScopes
				if scopes == nil {
					scopes = []string{}
				}
				op["security"] = []any{map[string]any{au.Name: scopes}}
			}
		}
		item, _ := paths[path].(map[string]any)
		if item == nil {
			item = map[string]any{}
			paths[path] = item
		}
		item[method] = op
	}
	doc := map[string]any{
		"openapi": "3.0.1",
		"info":    map[string]any{"title": rec.API.Name, "version": version},
		"servers": []any{map[string]any{"url": endpoint + "/{basePath}", "variables": map[string]any{"basePath": map[string]any{"default": ""}}}},
		"paths":   paths,
	}
	if rec.API.Description != "" {
		doc["info"].(map[string]any)["description"] = rec.API.Description
	}
	if extensions {
		doc["x-amazon-apigateway-importexport-version"] = "1.0"
		if c := rec.API.CorsConfiguration; c != nil {
			doc["x-amazon-apigateway-cors"] = c
		}
		if len(rec.Authorizers) > 0 {
			schemes := map[string]any{}
			for _, au := range rec.Authorizers {
				sc := map[string]any{"type": "oauth2", "flows": map[string]any{}}
				x := map[string]any{"identitySource": strings.Join(au.IdentitySource, ","), "type": strings.ToLower(au.AuthorizerType)}
				if j := au.JWTConfiguration; j != nil {
					x["jwtConfiguration"] = j
				}
				if au.AuthorizerType == "REQUEST" {
					sc = map[string]any{"type": "apiKey", "name": "Unused", "in": "header"}
					x["authorizerUri"] = au.AuthorizerURI
					x["authorizerPayloadFormatVersion"] = au.AuthorizerPayloadFormatVersion
				}
				sc["x-amazon-apigateway-authorizer"] = x
				schemes[au.Name] = sc
			}
			doc["components"] = map[string]any{"securitySchemes": schemes}
		}
	}
	return doc
}

// pathParams lists the {name} and {name+} variables of an OpenAPI path.
func pathParams(path string) []any {
	var out []any
	for seg := range strings.SplitSeq(path, "/") {
		if strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") {
			name := strings.TrimSuffix(seg[1:len(seg)-1], "+")
			out = append(out, map[string]any{"name": name, "in": "path", "required": true, "schema": map[string]any{"type": "string"}})
		}
	}
	return out
}
