package gateway

import (
	"testing"
)

const headerMappingConfig = `
apis:
  petstore:
    type: http
    integrations:
      up:
        type: http_proxy
        url: "http://upstream.test:80/pets/{id}"
        request_parameters:
          "overwrite:header.x-user": "$request.header.x-old-user"
          "remove:header.x-old-user": "''"
    routes:
      "GET /pets/{id}": {integration: up}
`

// BenchmarkProxyGETWithHeaderMapping is BenchmarkProxyGET through an
// integration whose parameter mapping renames a header (overwrite the new
// name from the old one, remove the old one).
func BenchmarkProxyGETWithHeaderMapping(b *testing.B) {
	g := newTestGateway(b, headerMappingConfig, petUpstream)
	ctx := newCtx("GET", "/pets/42?verbose=1")
	ctx.Request.Header.Set("Accept", "application/json")
	ctx.Request.Header.Set("User-Agent", "bench/1.0")
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		// The mapping removed it from the (reused) request.
		ctx.Request.Header.Set("X-Old-User", "ada")
		g.Handle(ctx)
		if ctx.Response.StatusCode() != 200 {
			b.Fatal(ctx.Response.StatusCode(), string(ctx.Response.Body()))
		}
		drain(ctx)
	}
}

const paramValidationConfig = `
apis:
  petstore:
    type: rest
    request_validators:
      params: {validate_request_parameters: true}
    integrations:
      up: {type: http_proxy, url: "http://upstream.test:80/pets/{id}"}
    routes:
      "GET /pets/{id}":
        integration: up
        request_validator: params
        request_parameters: {method.request.querystring.verbose: true, method.request.header.accept: true}
`

// BenchmarkProxyGETWithRequiredParameters is a proxied REST GET through a
// validator that checks two required parameters.
func BenchmarkProxyGETWithRequiredParameters(b *testing.B) {
	g := newTestGateway(b, paramValidationConfig, petUpstream)
	ctx := newCtx("GET", "/pets/42?verbose=1")
	ctx.Request.Header.Set("Accept", "application/json")
	ctx.Request.Header.Set("User-Agent", "bench/1.0")
	serveLoop(b, g, ctx)
}
