package proxy

import (
	"maps"
	"slices"

	"github.com/frontdeskgw/frontdesk/exchange"
)

// Mock answers with a fixed status, headers and body from the config.
type Mock struct {
	status  int
	headers [][2][]byte
	body    []byte
}

// NewMock compiles a mock integration.
func NewMock(status int, headers map[string]string, body string) *Mock {
	m := &Mock{status: status, body: []byte(body)}
	for _, k := range slices.Sorted(maps.Keys(headers)) {
		m.headers = append(m.headers, [2][]byte{[]byte(k), []byte(headers[k])})
	}
	return m
}

// Serve writes the configured response.
func (m *Mock) Serve(ex *exchange.Exchange) {
	resp := &ex.Ctx.Response
	resp.SetStatusCode(m.status)
	for _, h := range m.headers {
		resp.Header.SetBytesKV(h[0], h[1])
	}
	resp.SetBodyRaw(m.body)
}
