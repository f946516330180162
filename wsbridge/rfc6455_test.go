package wsbridge

import (
	"bufio"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// rawClient speaks WebSocket frames by hand, so tests can send what no
// well-behaved client library would.
type rawClient struct {
	t  *testing.T
	nc net.Conn
	br *bufio.Reader
}

func dialRaw(t *testing.T, g *gateway) *rawClient {
	t.Helper()
	nc, err := net.Dial("tcp4", g.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = nc.Close() })
	_ = nc.SetDeadline(time.Now().Add(5 * time.Second))
	_, err = io.WriteString(nc, "GET /prod HTTP/1.1\r\nHost: "+g.addr+"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
	if err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(nc)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols || resp.Header.Get("Sec-Websocket-Accept") != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Fatalf("handshake: %d %v", resp.StatusCode, resp.Header)
	}
	return &rawClient{t: t, nc: nc, br: br}
}

// frame is one frame as the client sends it: masked, as RFC 6455
// requires of clients.
func frame(fin bool, opcode byte, payload []byte) []byte {
	b0 := opcode
	if fin {
		b0 |= 0x80
	}
	out := []byte{b0}
	switch n := len(payload); {
	case n < 126:
		out = append(out, 0x80|byte(n))
	default:
		out = append(out, 0x80|126)
		out = binary.BigEndian.AppendUint16(out, uint16(n))
	}
	key := [4]byte{0x37, 0xfa, 0x21, 0x3d}
	out = append(out, key[:]...)
	for i, c := range payload {
		out = append(out, c^key[i%4])
	}
	return out
}

func (rc *rawClient) send(frames ...[]byte) {
	rc.t.Helper()
	for _, f := range frames {
		if _, err := rc.nc.Write(f); err != nil {
			rc.t.Fatal(err)
		}
	}
}

// readFrame reads one server frame (servers do not mask).
func (rc *rawClient) readFrame() (opcode byte, payload []byte, err error) {
	var h [2]byte
	if _, err := io.ReadFull(rc.br, h[:]); err != nil {
		return 0, nil, err
	}
	n := int(h[1] & 0x7f)
	switch n {
	case 126:
		var ext [2]byte
		if _, err := io.ReadFull(rc.br, ext[:]); err != nil {
			return 0, nil, err
		}
		n = int(binary.BigEndian.Uint16(ext[:]))
	case 127:
		return 0, nil, errors.New("frame too long for this test")
	}
	payload = make([]byte, n)
	if _, err := io.ReadFull(rc.br, payload); err != nil {
		return 0, nil, err
	}
	return h[0] & 0x0f, payload, nil
}

// closeFrame reads frames until the server's close frame and returns its
// payload; it fails the test if the connection ends first.
func (rc *rawClient) closeFrame() []byte {
	rc.t.Helper()
	for {
		op, payload, err := rc.readFrame()
		if err != nil {
			rc.t.Fatalf("no close frame from the server: %v", err)
		}
		if op == 0x8 {
			return payload
		}
	}
}

func TestRFC6455InvalidFramesFailTheConnection(t *testing.T) {
	const (
		opContinuation = 0x0
		opText         = 0x1
		opClose        = 0x8
	)
	for _, tc := range []struct {
		name        string
		frames      [][]byte
		wantCode    int    // the code of the server's close frame (and of DISCONNECT); -1: an empty close frame
		wantMessage string // what the backend got, messages joined with |
	}{
		{"valid text is forwarded", [][]byte{
			frame(true, opText, []byte(`{"action":"x","data":"€"}`)),
			frame(true, opClose, binary.BigEndian.AppendUint16(nil, 1000)),
		}, 1000, `{"action":"x","data":"€"}`},
		{"a character split over fragments is valid", [][]byte{
			frame(false, opText, []byte("price \xe2\x82")),
			frame(true, opContinuation, []byte("\xac")),
			frame(true, opClose, binary.BigEndian.AppendUint16(nil, 1000)),
		}, 1000, "price €"},
		{"invalid UTF-8 in a text message closes with 1007", [][]byte{
			frame(true, opText, []byte("bad \xff byte")),
		}, 1007, ""},
		{"invalid UTF-8 over fragments closes with 1007", [][]byte{
			frame(false, opText, []byte("bad \xe2\x82")),
			frame(true, opContinuation, []byte("x")),
		}, 1007, ""},
		{"surrogate half encoded in UTF-8 closes with 1007", [][]byte{
			frame(true, opText, []byte("\xed\xa0\x80")),
		}, 1007, ""},
		{"empty close frame is answered with an empty one", [][]byte{
			frame(true, opClose, nil),
		}, -1, ""},
		{"close frame with a 1-byte payload fails with 1002", [][]byte{
			frame(true, opClose, []byte{0x03}),
		}, 1002, ""},
		{"1-byte close frame after a message fails with 1002", [][]byte{
			frame(true, opText, []byte(`{"action":"x"}`)),
			frame(true, opClose, []byte{0x03}),
		}, 1002, `{"action":"x"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := newRecorder(t, nil)
			g := startGateway(t, Options{Routes: map[string]RouteTarget{
				RouteDefault:    {Backend: rec.backend()},
				RouteDisconnect: {Backend: rec.backend()},
			}})
			rc := dialRaw(t, g)
			for _, f := range tc.frames {
				rc.send(f)
			}
			got := rc.closeFrame()
			switch {
			case tc.wantCode == -1 && len(got) != 0:
				t.Fatalf("close frame payload %q, want none", got)
			case tc.wantCode != -1 && (len(got) < 2 || int(binary.BigEndian.Uint16(got)) != tc.wantCode):
				t.Fatalf("close frame payload %q, want code %d", got, tc.wantCode)
			}
			// The server ends the connection after its close frame.
			if _, _, err := rc.readFrame(); err == nil {
				t.Fatal("frame after the close frame")
			}
			evs := rec.wait(t, 3*time.Second, func(e []event) bool {
				return len(e) > 0 && e[len(e)-1].RequestContext.EventType == "DISCONNECT"
			})
			var messages []string
			for _, ev := range evs {
				if ev.RequestContext.EventType == "MESSAGE" {
					messages = append(messages, ev.Body)
				}
			}
			if strings.Join(messages, "|") != tc.wantMessage {
				t.Fatalf("backend got messages %q, want %q", messages, tc.wantMessage)
			}
			wantDisconnect := int64(tc.wantCode)
			if tc.wantCode == -1 {
				wantDisconnect = 1005
			}
			if code := evs[len(evs)-1].RequestContext.DisconnectStatusCode; code != wantDisconnect {
				t.Fatalf("DISCONNECT code %d, want %d", code, wantDisconnect)
			}
		})
	}
}
