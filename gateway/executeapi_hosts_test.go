package gateway

import (
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/frontdeskgw/frontdesk/config"
)

// Two APIs that both live at "/" (as on AWS, where each has its own
// hostname), and one mounted under a base path on a custom domain.
const twoRootAPIs = `
apis:
  Orders:
    type: http
    integrations:
      m: {type: mock, body: orders}
    routes:
      "GET /hello": {integration: m}
  shop:
    type: rest
    hosts: [shop.example.com]
    base_path: /shop
    stages:
      prod: {}
    integrations:
      m: {type: mock, body: shop}
    routes:
      "GET /hello": {integration: m}
  Users:
    type: http
    hosts: [users.execute-api.localhost]
    integrations:
      m: {type: mock, body: users}
    routes:
      "GET /hello": {integration: m}
`

func TestExecuteAPIHostSelectsTheAPIAtItsOriginalPaths(t *testing.T) {
	g := newTestGateway(t, twoRootAPIs, petUpstream)
	cases := []struct {
		host, path string
		status     int
		body       string
	}{
		{"orders.execute-api.localhost", "/hello", 200, "orders"},
		{"Orders.Execute-API.localhost:8443", "/hello", 200, "orders"},
		{config.APIID("Orders") + ".execute-api.localhost:8080", "/hello", 200, "orders"},
		// At its execute-api host the REST API is at the root, stage first,
		// not under its custom domain's base path.
		{"shop.execute-api.localhost", "/prod/hello", 200, "shop"},
		{config.APIID("shop") + ".execute-api.localhost", "/prod/hello", 200, "shop"},
		{"shop.execute-api.localhost", "/shop/prod/hello", 403, `{"message":"Missing Authentication Token"}`},
		// The custom domain keeps working as before.
		{"shop.example.com", "/shop/prod/hello", 200, "shop"},
		// An API that names its execute-api host itself is served there once.
		{"users.execute-api.localhost", "/hello", 200, "users"},
		{config.APIID("Users") + ".execute-api.localhost", "/hello", 200, "users"},
		// Any other host still reaches the API mounted for any host.
		{"127.0.0.1:8080", "/hello", 200, "orders"},
	}
	for _, tc := range cases {
		t.Run(tc.host+tc.path, func(t *testing.T) {
			ctx := newCtx(fasthttp.MethodGet, tc.path)
			ctx.Request.Header.SetHost(tc.host)
			g.Handle(ctx)
			if ctx.Response.StatusCode() != tc.status || string(ctx.Response.Body()) != tc.body {
				t.Errorf("%d %s, want %d %s", ctx.Response.StatusCode(), ctx.Response.Body(), tc.status, tc.body)
			}
		})
	}
}

func TestExecuteAPIHostsAreNameAndID(t *testing.T) {
	got := ExecuteAPIHosts("Chat")
	want := []string{"chat.execute-api.localhost", config.APIID("Chat") + ".execute-api.localhost"}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("ExecuteAPIHosts = %v, want %v", got, want)
	}
}
