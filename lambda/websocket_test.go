package lambda

import (
	"reflect"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

const chromeUA = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/118.0.0.0 Safari/537.36"

func TestWebSocketMessageMatchesFixture(t *testing.T) {
	var want events.APIGatewayWebsocketProxyRequest
	decode(t, fixture(t, "apigw-websocket-request-send-message.json"), &want)

	in := &WSEventInput{
		EventType:    WSMessage,
		RouteKey:     "$default",
		Stage:        "prod",
		APIID:        "gy415nuibc",
		DomainName:   []byte("dl7ptocha9.execute-api.ap-northeast-1.amazonaws.com"),
		ConnectionID: []byte("R1kmxc2VNjMCFIA="),
		ConnectedAt:  msTime(1705751697419),
		RequestID:    []byte("R1knPH17NjMFftw="),
		Time:         msTime(1705751700453),
		SourceIP:     []byte("49.105.91.154"),
		UserAgent:    []byte(chromeUA),
		MessageID:    []byte("R1knPc2ntjMCFIA="),
		Body:         []byte("{\r\n\t\"a\": 1\r\n}"),
	}
	var got events.APIGatewayWebsocketProxyRequest
	decode(t, AppendWebSocketEvent(nil, in), &got)
	diffFields(t, "event", reflect.ValueOf(got), reflect.ValueOf(want))
}

func TestWebSocketDisconnectMatchesFixture(t *testing.T) {
	var want events.APIGatewayWebsocketProxyRequest
	decode(t, fixture(t, "apigw-websocket-request-disconnect.json"), &want)

	req := newRequest("GET", "/prod", [][2]string{
		{"Host", "dl7ptocha9.execute-api.ap-northeast-1.amazonaws.com"},
		{"x-api-key", ""},
		{"X-Forwarded-For", ""},
		{"x-restapi", ""},
	}, "")
	in := &WSEventInput{
		EventType:            WSDisconnect,
		RouteKey:             "$disconnect",
		Stage:                "prod",
		APIID:                "dl7ptocha9",
		ConnectionID:         []byte("R1kmxc2VNjMCFIA="),
		ConnectedAt:          msTime(1705751697419),
		RequestID:            []byte("R1koeHsUtjMFbRw="),
		Time:                 msTime(1705751708326),
		SourceIP:             []byte("49.105.91.154"),
		UserAgent:            []byte(chromeUA),
		Req:                  req,
		DisconnectStatusCode: 1001,
		DisconnectReason:     []byte(""),
	}
	var got events.APIGatewayWebsocketProxyRequest
	decode(t, AppendWebSocketEvent(nil, in), &got)
	diffFields(t, "event", reflect.ValueOf(got), reflect.ValueOf(want))
}

func TestWebSocketConnectMatchesFixture(t *testing.T) {
	var fix events.APIGatewayWebsocketProxyRequest
	decode(t, fixture(t, "apigw-websocket-request.json"), &fix)

	// The upgrade request is the one the fixture's multiValueHeaders record;
	// its "headers" and REST-only requestContext fields come from another
	// request and are not compared.
	req := newRequest("GET", "/?name=me", [][2]string{
		{"Host", "*.execute-api.eu-central-1.amazonaws.com"},
		{"Sec-WebSocket-Extensions", "permessage-deflate; client_max_window_bits"},
		{"Sec-WebSocket-Key", "*"},
		{"Sec-WebSocket-Version", "13"},
		{"X-Amzn-Trace-Id", "Root=*"},
		{"X-Forwarded-For", "*.*.*.*"},
		{"X-Forwarded-Port", "443"},
		{"X-Forwarded-Proto", "https"},
	}, "")
	in := &WSEventInput{
		EventType:    WSConnect,
		RouteKey:     "$connect",
		Stage:        "testStage",
		APIID:        "gy415nuibc",
		ConnectionID: []byte("TWegAcC4EowCHnA="),
		ConnectedAt:  msTime(1547230720092),
		RequestID:    []byte("TWegAcC4EowCHnA="),
		Time:         msTime(1546852857000),
		SourceIP:     []byte("192.168.196.186"),
		UserAgent:    []byte("PostmanRuntime/2.4.5"),
		Req:          req,
		Authorizer:   []byte(`{"principalId":"admin","clientId":1,"clientName":"Exata"}`),
	}
	var got events.APIGatewayWebsocketProxyRequest
	decode(t, AppendWebSocketEvent(nil, in), &got)

	want := events.APIGatewayWebsocketProxyRequest{
		MultiValueHeaders:               fix.MultiValueHeaders,
		QueryStringParameters:           fix.QueryStringParameters,
		MultiValueQueryStringParameters: fix.MultiValueQueryStringParameters,
		Headers:                         map[string]string{},
		IsBase64Encoded:                 fix.IsBase64Encoded,
	}
	for name, values := range fix.MultiValueHeaders {
		want.Headers[name] = values[len(values)-1]
	}
	rc := fix.RequestContext
	want.RequestContext = events.APIGatewayWebsocketProxyRequestContext{
		Stage:             rc.Stage,
		RequestID:         rc.ExtendedRequestID, // the fixture's requestId is a REST one
		Identity:          events.APIGatewayRequestIdentity{SourceIP: rc.Identity.SourceIP, UserAgent: rc.Identity.UserAgent},
		Authorizer:        rc.Authorizer,
		APIID:             rc.APIID,
		ConnectedAt:       rc.ConnectedAt,
		ConnectionID:      rc.ConnectionID,
		DomainName:        rc.DomainName,
		EventType:         rc.EventType,
		ExtendedRequestID: rc.ExtendedRequestID,
		MessageDirection:  rc.MessageDirection,
		RequestTime:       rc.RequestTime,
		RequestTimeEpoch:  1546852857000, // the fixture has 0 next to a real requestTime
		RouteKey:          rc.RouteKey,
	}
	diffFields(t, "event", reflect.ValueOf(got), reflect.ValueOf(want))
}

func TestWebSocketEventsCarryOnlyTheirTypesMembers(t *testing.T) {
	upgrade := newRequest("GET", "/prod", [][2]string{{"Host", "ws.test"}, {"User-Agent", "wscat"}}, "")
	tests := []struct {
		name    string
		in      WSEventInput
		present []string
		absent  []string
		context map[string]any // requestContext members with their value
	}{
		{
			name:    "connect without query",
			in:      WSEventInput{EventType: WSConnect, RouteKey: "$connect", Req: upgrade},
			present: []string{"headers", "multiValueHeaders", "isBase64Encoded"},
			absent:  []string{"queryStringParameters", "multiValueQueryStringParameters", "body", "stageVariables"},
			context: map[string]any{"eventType": "CONNECT", "messageDirection": "IN", "domainName": "ws.test"},
		},
		{
			name:    "message",
			in:      WSEventInput{EventType: WSMessage, RouteKey: "sendmessage", Req: upgrade, MessageID: []byte("m1"), Body: []byte(`{"action":"sendmessage"}`)},
			present: []string{"body", "isBase64Encoded"},
			absent:  []string{"headers", "multiValueHeaders", "queryStringParameters"},
			context: map[string]any{"eventType": "MESSAGE", "messageId": "m1", "routeKey": "sendmessage"},
		},
		{
			name:    "disconnect without headers",
			in:      WSEventInput{EventType: WSDisconnect, RouteKey: "$disconnect", DisconnectStatusCode: 1005, DisconnectReason: []byte("bye")},
			present: []string{"isBase64Encoded"},
			absent:  []string{"headers", "multiValueHeaders", "body"},
			context: map[string]any{"eventType": "DISCONNECT", "disconnectStatusCode": float64(1005), "disconnectReason": "bye"},
		},
		{
			name: "stage variables and authorizer",
			in: WSEventInput{EventType: WSMessage, RouteKey: "$default", StageVariables: []Param{{"a", []byte("1")}},
				Authorizer: []byte(`{"principalId":"u1"}`)},
			present: []string{"stageVariables"},
			context: map[string]any{"authorizer": map[string]any{"principalId": "u1"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := decodeMap(t, AppendWebSocketEvent(nil, &tt.in))
			for _, key := range tt.present {
				if _, ok := m[key]; !ok {
					t.Errorf("%s absent, want present", key)
				}
			}
			for _, key := range tt.absent {
				if v, ok := m[key]; ok {
					t.Errorf("%s = %v, want absent", key, v)
				}
			}
			for key, want := range tt.context {
				if got, _ := member(m, "requestContext", key); !reflect.DeepEqual(got, want) {
					t.Errorf("requestContext.%s = %#v, want %#v", key, got, want)
				}
			}
			if tt.in.EventType != WSMessage {
				if _, ok := member(m, "requestContext", "messageId"); ok {
					t.Errorf("messageId present on %v", tt.in.EventType)
				}
			}
			if tt.in.EventType != WSDisconnect {
				if _, ok := member(m, "requestContext", "disconnectReason"); ok {
					t.Errorf("disconnectReason present on %v", tt.in.EventType)
				}
			}
			if got := m["isBase64Encoded"]; got != false {
				t.Errorf("isBase64Encoded = %v, want false", got)
			}
		})
	}
}

func TestWSEventTypeNamesMatchAWS(t *testing.T) {
	for typ, want := range map[WSEventType]string{
		WSConnect: "CONNECT", WSMessage: "MESSAGE", WSDisconnect: "DISCONNECT", 0: "WSEventType(0)",
	} {
		if got := typ.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", typ, got, want)
		}
	}
}

func TestWebSocketEventDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	in := &WSEventInput{
		EventType: WSMessage, RouteKey: "$default", Stage: "prod", APIID: "chat",
		DomainName: []byte("ws.test"), ConnectionID: []byte("R1kmxc2VNjMCFIA="), ConnectedAt: msTime(1),
		RequestID: []byte("R1knPH17NjMFftw="), Time: msTime(2), SourceIP: []byte("127.0.0.1"),
		UserAgent: []byte("wscat"), MessageID: []byte("m"), Body: []byte(`{"action":"x"}`),
	}
	dst := make([]byte, 0, 1024)
	if n := testing.AllocsPerRun(100, func() { dst = AppendWebSocketEvent(dst[:0], in) }); n != 0 {
		t.Errorf("%v allocations per event, want 0", n)
	}
}
