package lambda

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
)

func BenchmarkAppendEventV2(b *testing.B) {
	in := typicalRequest(b)
	dst := AppendEventV2(nil, in)
	b.SetBytes(int64(len(dst)))
	b.ReportAllocs()
	for b.Loop() {
		dst = AppendEventV2(dst[:0], in)
	}
}

func BenchmarkAppendEventV1(b *testing.B) {
	in := typicalRequest(b)
	dst := AppendEventV1(nil, in, false)
	b.SetBytes(int64(len(dst)))
	b.ReportAllocs()
	for b.Loop() {
		dst = AppendEventV1(dst[:0], in, false)
	}
}

func BenchmarkAppendWebSocketEvent(b *testing.B) {
	in := &WSEventInput{
		EventType: WSMessage, RouteKey: "sendmessage", Stage: "prod", APIID: "chat",
		DomainName: []byte("ws.example.com"), ConnectionID: []byte("R1kmxc2VNjMCFIA="), ConnectedAt: msTime(1705751697419),
		RequestID: []byte("R1knPH17NjMFftw="), Time: msTime(1705751700453), SourceIP: []byte("127.0.0.1"),
		UserAgent: []byte("wscat/5"), MessageID: []byte("R1knPc2ntjMCFIA="), Body: []byte(`{"action":"sendmessage","data":"hello"}`),
	}
	dst := AppendWebSocketEvent(nil, in)
	b.SetBytes(int64(len(dst)))
	b.ReportAllocs()
	for b.Loop() {
		dst = AppendWebSocketEvent(dst[:0], in)
	}
}

// benchResponseV2 is a typical handler result: JSON body, two headers and a
// cookie.
var benchResponseV2 = []byte(`{"statusCode":200,"headers":{"content-type":"application/json","x-request-id":"Xk2aHiVvoAMEbHg="},` +
	`"cookies":["session=abc; Path=/; HttpOnly"],"body":"{\"id\":42,\"name\":\"rex\",\"kind\":\"dog\"}","isBase64Encoded":false}`)

func BenchmarkParseResponseV2(b *testing.B) { benchParse(b, ParseResponseV2, benchResponseV2) }

func BenchmarkParseResponseV1(b *testing.B) {
	benchParse(b, ParseResponseV1, []byte(`{"statusCode":200,"headers":{"Content-Type":"application/json","X-Request-Id":"Xk2aHiVvoAMEbHg="},`+
		`"multiValueHeaders":{"Set-Cookie":["a=1","b=2"]},"body":"{\"id\":42,\"name\":\"rex\"}","isBase64Encoded":false}`))
}

// benchParse parses payload into one reused Response, as the gateway does.
func benchParse(b *testing.B, parse func([]byte, *Response) error, payload []byte) {
	var r Response
	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	for b.Loop() {
		if err := parse(payload, &r); err != nil {
			b.Fatal(err)
		}
	}
}

// benchManyHeaders is a result with 1,000 header values, the most accepted:
// 1.0 splits them between multiValueHeaders and headers so every header
// name is merged against the multi-value ones.
func benchManyHeaders(v1 bool) []byte {
	if !v1 {
		return []byte(`{"statusCode":200,"headers":` + manyHeaders(1000) + `,"body":"ok"}`)
	}
	multi := strings.ReplaceAll(strings.ReplaceAll(manyHeaders(500), `":"`, `":["`), `",`, `"],`)
	multi = strings.TrimSuffix(multi, `}`) + `]}`
	return []byte(`{"statusCode":200,"multiValueHeaders":` + multi + `,"headers":` + manyHeaders(500) + `,"body":"ok"}`)
}

func manyHeaders(n int) string {
	var b strings.Builder
	b.WriteByte('{')
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"X-Header-%d":"value-%d"`, i, i)
	}
	b.WriteByte('}')
	return b.String()
}

func BenchmarkParseResponseV2ManyHeaders(b *testing.B) {
	benchParse(b, ParseResponseV2, benchManyHeaders(false))
}

func BenchmarkParseResponseV1ManyHeaders(b *testing.B) {
	benchParse(b, ParseResponseV1, benchManyHeaders(true))
}

// BenchmarkParseResponseV2Base64Body is a result carrying 4 KiB of binary
// as base64: one long string without escapes.
func BenchmarkParseResponseV2Base64Body(b *testing.B) {
	body := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0xde, 0xad, 0xbe, 0xef}, 1024))
	benchParse(b, ParseResponseV2, []byte(`{"statusCode":200,"headers":{"content-type":"image/png"},"body":"`+body+`","isBase64Encoded":true}`))
}
