package lambda

import (
	"strconv"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/frontdeskgw/frontdesk/internal/clftime"
	"github.com/frontdeskgw/frontdesk/internal/jsonstr"
)

// WSEventType is the requestContext.eventType of a WebSocket event.
type WSEventType uint8

// WebSocket event types.
const (
	WSConnect    WSEventType = iota + 1 // $connect, during the upgrade
	WSMessage                           // a text message routed to a route
	WSDisconnect                        // $disconnect, after the close
)

// String returns the eventType value API Gateway sends.
func (t WSEventType) String() string {
	switch t {
	case WSConnect:
		return "CONNECT"
	case WSMessage:
		return "MESSAGE"
	case WSDisconnect:
		return "DISCONNECT"
	}
	return "WSEventType(" + strconv.Itoa(int(t)) + ")"
}

// WSEventInput is what the WebSocket bridge knows about one event.
type WSEventInput struct {
	EventType WSEventType
	// RouteKey is "$connect", "$disconnect", "$default" or a custom key.
	RouteKey string
	Stage    string
	APIID    string
	// DomainName is the Host of the upgrade request; nil means Req's Host.
	DomainName   []byte
	ConnectionID []byte
	ConnectedAt  time.Time
	// RequestID fills both requestId and extendedRequestId, which carry the
	// same value in WebSocket events.
	RequestID []byte
	// Time is when the event happened; the zero value means now.
	Time     time.Time
	SourceIP []byte
	// UserAgent of the client; nil means Req's User-Agent.
	UserAgent []byte

	// Req supplies headers and query parameters: the upgrade request for
	// CONNECT; for DISCONNECT whatever headers the bridge wants to report
	// (API Gateway sends a few), or nil. MESSAGE events ignore it.
	Req *fasthttp.Request

	// MessageID and Body describe a MESSAGE (the text frame).
	MessageID []byte
	Body      []byte

	// DisconnectStatusCode and DisconnectReason describe a DISCONNECT.
	DisconnectStatusCode int
	DisconnectReason     []byte

	StageVariables []Param
	// Authorizer is the raw JSON context the $connect authorizer returned;
	// it is attached to every event of the connection. nil leaves it out.
	Authorizer []byte
}

// AppendWebSocketEvent appends the Lambda proxy event for a WebSocket
// CONNECT, MESSAGE or DISCONNECT to dst, with requestContext fields in the
// order API Gateway writes them.
func AppendWebSocketEvent(dst []byte, in *WSEventInput) []byte {
	var hbuf [headerStack]kv
	var qbuf [queryStack]kv
	hs, qs := hbuf[:0], qbuf[:0]
	req := in.Req
	if req != nil && in.EventType != WSMessage {
		hs = collectHeaders(hs, &req.Header, true)
		if in.EventType == WSConnect {
			qs = splitQuery(qs, req.URI().QueryString(), false)
		}
	}
	when := eventTime(in.Time)

	dst = append(dst, '{')
	var hgbuf, qgbuf [3 * linearGroupLimit]int32
	if len(hs) > 0 {
		dst = appendHeadersMulti(dst, hs, groupHeaders(hgbuf[:0], hs), false)
		dst = append(dst, ',')
	}
	if len(qs) > 0 {
		dst = appendQueryMulti(dst, qs, groupQuery(qgbuf[:0], qs))
		dst = append(dst, ',')
	}
	if len(in.StageVariables) > 0 {
		dst = append(dst, `"stageVariables":`...)
		dst = appendParams(dst, in.StageVariables)
		dst = append(dst, ',')
	}
	dst = append(dst, `"requestContext":{"routeKey":`...)
	dst = jsonstr.Append(dst, in.RouteKey)
	switch in.EventType {
	case WSMessage:
		dst = append(dst, `,"messageId":`...)
		dst = jsonstr.Append(dst, in.MessageID)
	case WSDisconnect:
		dst = append(dst, `,"disconnectStatusCode":`...)
		dst = strconv.AppendInt(dst, int64(in.DisconnectStatusCode), 10)
	}
	dst = append(dst, `,"eventType":"`...)
	dst = append(dst, in.EventType.String()...)
	dst = append(dst, `","extendedRequestId":`...)
	dst = jsonstr.Append(dst, in.RequestID)
	dst = append(dst, `,"requestTime":"`...)
	dst = clftime.Append(dst, when)
	dst = append(dst, `","messageDirection":"IN"`...)
	if in.EventType == WSDisconnect {
		dst = append(dst, `,"disconnectReason":`...)
		dst = jsonstr.Append(dst, in.DisconnectReason)
	}
	dst = append(dst, `,"stage":`...)
	dst = jsonstr.Append(dst, in.Stage)
	dst = append(dst, `,"connectedAt":`...)
	dst = strconv.AppendInt(dst, in.ConnectedAt.UnixMilli(), 10)
	dst = append(dst, `,"requestTimeEpoch":`...)
	dst = strconv.AppendInt(dst, when.UnixMilli(), 10)
	userAgent := in.UserAgent
	if userAgent == nil && req != nil {
		userAgent = req.Header.UserAgent()
	}
	dst = append(dst, `,"identity":{"userAgent":`...)
	dst = jsonstr.Append(dst, userAgent)
	dst = append(dst, `,"sourceIp":`...)
	dst = jsonstr.Append(dst, in.SourceIP)
	dst = append(dst, `},"requestId":`...)
	dst = jsonstr.Append(dst, in.RequestID)
	domain := in.DomainName
	if domain == nil && req != nil {
		domain = req.Header.Host()
	}
	dst = append(dst, `,"domainName":`...)
	dst = jsonstr.Append(dst, domain)
	dst = append(dst, `,"connectionId":`...)
	dst = jsonstr.Append(dst, in.ConnectionID)
	dst = append(dst, `,"apiId":`...)
	dst = jsonstr.Append(dst, in.APIID)
	if in.Authorizer != nil {
		dst = append(dst, `,"authorizer":`...)
		dst = append(dst, in.Authorizer...)
	}
	dst = append(dst, '}')
	if in.EventType == WSMessage {
		dst = append(dst, `,"body":`...)
		dst = jsonstr.Append(dst, in.Body)
	}
	return append(dst, `,"isBase64Encoded":false}`...)
}
