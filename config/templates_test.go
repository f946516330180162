package config

import (
	"errors"
	"strings"
	"testing"
)

func TestTemplateKeysAreCheckedWithTheTemplatesOwnLine(t *testing.T) {
	src := `apis:
  shop:
    type: rest
    integrations:
      orders:
        type: http
        url: "http://127.0.0.1:9000/orders"
        passthrough_behavior: sometimes
        request_templates:
          application/json: |
            {
              #if($input.path('$.a'))
              "a": 1
            }
          not-a-type: '{}'
        responses:
          - selection_pattern: "5(\\d"
            status: 999
            response_parameters:
              X-Nope: "'a'"
              method.response.header.X-Ok: "whatever"
            response_templates:
              application/json: '#frobnicate($x)'
          - status: 200
          - status: 201
      proxied:
        type: http_proxy
        url: "http://127.0.0.1:9000"
        request_templates: {application/json: '{}'}
      fn:
        type: lambda
        function: nope
        proxy: false
    gateway_responses:
      NOT_A_TYPE: {status: 400}
      REQUEST_TOO_LARGE: {status: 400}
      DEFAULT_4XX:
        response_parameters:
          gatewayresponse.header.Access-Control-Allow-Origin: "'*'"
          gatewayresponse.header.X-From: "body.x"
        response_templates:
          application/json: '{"m": ${x'
    routes:
      "POST /orders": {integration: orders}
  web:
    type: http
    base_path: /web
    integrations:
      m: {type: mock, request_templates: {application/json: '{}'}}
    gateway_responses:
      DEFAULT_4XX: {status: 400}
    routes:
      "GET /m": {integration: m}
`
	_, _, err := Parse("t.yaml", []byte(src), env(nil))
	var list Errors
	if !errors.As(err, &list) {
		t.Fatalf("want Errors, got %v", err)
	}
	cases := []struct {
		line int
		key  string
		msg  string
	}{
		{8, "apis.shop.integrations.orders.passthrough_behavior", "want when_no_match, when_no_templates or never"},
		// The #if opened on the template's line 2 is the file's line 12.
		{12, "apis.shop.integrations.orders.request_templates.application/json", "template line 2, column 3: #if is not closed by #end"},
		{15, "apis.shop.integrations.orders.request_templates.not-a-type", "want a content type"},
		{17, "apis.shop.integrations.orders.responses[0].selection_pattern", "not a regular expression"},
		{18, "apis.shop.integrations.orders.responses[0].status", "want an HTTP status"},
		{20, "apis.shop.integrations.orders.responses[0].response_parameters.X-Nope", "want method.response.header.NAME"},
		{21, "apis.shop.integrations.orders.responses[0].response_parameters.method.response.header.X-Ok", "want 'static text'"},
		{23, "apis.shop.integrations.orders.responses[0].response_templates.application/json", "unknown directive #frobnicate"},
		{25, "apis.shop.integrations.orders.responses[2].selection_pattern", "a second default response"},
		{26, "apis.shop.integrations.proxied", "apply to non-proxy integrations"},
		{32, "apis.shop.integrations.fn.function", "no function named"},
		{35, "apis.shop.gateway_responses.NOT_A_TYPE", "unknown gateway response type"},
		{36, "apis.shop.gateway_responses.REQUEST_TOO_LARGE", "cannot be customised"},
		{40, "apis.shop.gateway_responses.DEFAULT_4XX.response_parameters.gatewayresponse.header.X-From", "want 'static text'"},
		{42, "apis.shop.gateway_responses.DEFAULT_4XX.response_templates.application/json", "reference ${"},
		{49, "apis.web.integrations.m", "REST APIs only"},
		{50, "apis.web.gateway_responses", "REST APIs only"},
	}
	for _, c := range cases {
		if !hasProblem(list, c.line, c.key, c.msg) {
			t.Errorf("missing %d %s: %s", c.line, c.key, c.msg)
		}
	}
	if t.Failed() {
		for _, p := range list {
			t.Logf("got %d %s: %s", p.Line, p.Key, p.Msg)
		}
	}
}

func TestTemplateDefaultsAndAWSSpellings(t *testing.T) {
	src := `apis:
  shop:
    type: rest
    integrations:
      a:
        type: mock
        passthrough_behavior: WHEN_NO_TEMPLATES
        request_templates: {application/json: '{"statusCode": $input.params(''s'')}'}
        responses: [{selection_pattern: "4\\d\\d", status: 404}, {}]
      b: {type: http, url: "http://127.0.0.1:9/x"}
    routes:
      "GET /a": {integration: a}
      "GET /b": {integration: b}
`
	c, _, err := Parse("t.yaml", []byte(src), env(map[string]string{"s": "env-must-not-apply"}))
	if err != nil {
		t.Fatal(err)
	}
	a, b := c.APIs["shop"].Integrations["a"], c.APIs["shop"].Integrations["b"]
	if a.PassthroughBehavior != PassthroughWhenNoTemplates || b.PassthroughBehavior != PassthroughWhenNoMatch {
		t.Errorf("passthrough: %q %q", a.PassthroughBehavior, b.PassthroughBehavior)
	}
	if a.Responses[1].Status != DefaultIntegrationResponseStatus || !a.NonProxy() || !b.NonProxy() {
		t.Errorf("defaults: %+v", a.Responses)
	}
}

func TestTemplatesKeepVTLFormalReferences(t *testing.T) {
	src := `apis:
  shop:
    type: rest
    integrations:
      a:
        type: mock
        request_templates: {application/json: '{"statusCode": ${code}}'}
        responses: [{response_templates: {application/json: '${HOME}'}}]
        body: "${HOME}"
    routes:
      "GET /a": {integration: a}
`
	c, _, err := Parse("t.yaml", []byte(src), env(map[string]string{"code": "x", "HOME": "/root"}))
	if err != nil {
		t.Fatal(err)
	}
	a := c.APIs["shop"].Integrations["a"]
	if a.RequestTemplates["application/json"] != `{"statusCode": ${code}}` || a.Responses[0].ResponseTemplates["application/json"] != "${HOME}" {
		t.Errorf("templates were expanded from the environment: %q %q", a.RequestTemplates, a.Responses[0].ResponseTemplates)
	}
	if a.Body != "/root" {
		t.Errorf("other values must still expand: %q", a.Body)
	}
}

func TestContentHandlingIsCheckedAndTakesAWSSpellings(t *testing.T) {
	src := `apis:
  shop:
    type: rest
    binary_media_types: [image/png]
    integrations:
      up:
        type: http
        url: "http://127.0.0.1:9000/up"
        content_handling: CONVERT_TO_TEXT
        responses:
          - content_handling: convert_to_binary
          - selection_pattern: "4\\d\\d"
      bad:
        type: http
        url: "http://127.0.0.1:9000/up"
        content_handling: convert_to_json
        responses:
          - content_handling: sometimes
    routes:
      "POST /up": {integration: up}
      "POST /bad": {integration: bad}
  web:
    type: http
    integrations:
      m: {type: http_proxy, url: "http://127.0.0.1:9000", content_handling: convert_to_text}
    routes:
      "GET /m": {integration: m}
`
	_, _, err := Parse("t.yaml", []byte(src), env(nil))
	var list Errors
	if !errors.As(err, &list) {
		t.Fatalf("want Errors, got %v", err)
	}
	cases := []struct {
		line int
		key  string
		msg  string
	}{
		{16, "apis.shop.integrations.bad.content_handling", "want convert_to_text or convert_to_binary"},
		{18, "apis.shop.integrations.bad.responses[0].content_handling", "want convert_to_text or convert_to_binary"},
		{25, "apis.web.integrations.m", "REST APIs only"},
	}
	for _, c := range cases {
		if !hasProblem(list, c.line, c.key, c.msg) {
			t.Errorf("missing %d %s: %s", c.line, c.key, c.msg)
		}
	}
	for _, p := range list {
		if p.Key == "apis.shop.integrations.up.content_handling" || p.Key == "apis.shop.integrations.up.responses[0].content_handling" {
			t.Errorf("valid content_handling refused: %d %s: %s", p.Line, p.Key, p.Msg)
		}
	}
	if t.Failed() {
		for _, p := range list {
			t.Logf("got %d %s: %s", p.Line, p.Key, p.Msg)
		}
	}

	good := src[:strings.Index(src, "      bad:")] + "    routes:\n      \"POST /up\": {integration: up}\n"
	c, _, err := Parse("t.yaml", []byte(good), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	up := c.APIs["shop"].Integrations["up"]
	if up.ContentHandling != ConvertToText || up.Responses[0].ContentHandling != ConvertToBinary || up.Responses[1].ContentHandling != "" {
		t.Errorf("content_handling: %q %q %q", up.ContentHandling, up.Responses[0].ContentHandling, up.Responses[1].ContentHandling)
	}
}

func TestWebSocketTemplateKeysAreChecked(t *testing.T) {
	src := `apis:
  chat:
    type: websocket
    route_selection: "$request.body.action"
    integrations:
      good:
        type: http
        url: "http://127.0.0.1:9000/m"
        request_templates: {$default: '{"m": $input.json(''$'')}'}
        responses: [{response_templates: {$default: '{}'}}]
      bad:
        type: http
        url: "http://127.0.0.1:9000/m"
        template_selection_expression: "$context.x"
        content_handling: convert_to_text
        request_templates: {join: '#if('}
        responses: [{response_parameters: {method.response.header.X: "'a'"}}]
      fn:
        type: lambda
        function: nope
        request_templates: {$default: '{}'}
      m: {type: mock}
    routes:
      "$default": {integration: good}
  shop:
    type: rest
    integrations:
      up: {type: http, url: "http://127.0.0.1:9000/up", template_selection_expression: "\\$default"}
    routes:
      "POST /up": {integration: up}
`
	c, _, err := Parse("t.yaml", []byte(src), env(nil))
	var list Errors
	if !errors.As(err, &list) {
		t.Fatalf("want Errors, got %v (%v)", err, c)
	}
	cases := []struct {
		line int
		key  string
		msg  string
	}{
		{14, "apis.chat.integrations.bad.template_selection_expression", "want $request.body.NAME"},
		{15, "apis.chat.integrations.bad.content_handling", "REST integrations only"},
		{16, "apis.chat.integrations.bad.request_templates.join", "template line 1"},
		{17, "apis.chat.integrations.bad.responses[0].response_parameters", "no headers"},
		{18, "apis.chat.integrations.fn", "type http and mock"},
		{28, "apis.shop.integrations.up.template_selection_expression", "WebSocket integrations only"},
	}
	for _, c := range cases {
		if !hasProblem(list, c.line, c.key, c.msg) {
			t.Errorf("missing %d %s: %s", c.line, c.key, c.msg)
		}
	}
	for _, p := range list {
		if strings.Contains(p.Key, ".good") {
			t.Errorf("valid integration refused: %d %s: %s", p.Line, p.Key, p.Msg)
		}
	}
	if t.Failed() {
		for _, p := range list {
			t.Logf("got %d %s: %s", p.Line, p.Key, p.Msg)
		}
	}
}
