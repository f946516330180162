package wsbridge

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/valyala/fasthttp"
)

func TestManagementPostGetDelete(t *testing.T) {
	g := startGateway(t, Options{MaxMessageBytes: 1024, Stages: []string{"prod", "dev"}})
	c, id := dialRegistered(t, g, "/prod", http.Header{"User-Agent": {"tester/1"}})

	t.Run("POST delivers the raw body as one text message", func(t *testing.T) {
		status, _, body := httpDo(t, "POST", g.connectionsURL("prod", id), `{"hello":"world"}`)
		if status != 200 {
			t.Fatalf("status %d %s", status, body)
		}
		if got := readText(t, c, 2*time.Second); got != `{"hello":"world"}` {
			t.Fatalf("client got %q", got)
		}
	})
	t.Run("GET describes the connection", func(t *testing.T) {
		status, hdr, body := httpDo(t, "GET", g.connectionsURL("prod", id), "")
		if status != 200 || hdr.Get("Content-Type") != "application/json" {
			t.Fatalf("status %d %v", status, hdr)
		}
		var got struct {
			ConnectedAt  time.Time
			LastActiveAt time.Time
			Identity     struct{ SourceIP, UserAgent string }
		}
		if err := json.Unmarshal([]byte(body), &got); err != nil {
			t.Fatalf("%v: %s", err, body)
		}
		if got.Identity.SourceIP != "127.0.0.1" || got.Identity.UserAgent != "tester/1" ||
			time.Since(got.ConnectedAt) > time.Minute || got.LastActiveAt.Before(got.ConnectedAt) {
			t.Fatalf("GET body %s", body)
		}
		if !strings.HasSuffix(got.ConnectedAt.UTC().Format(isoMillis), "Z") || !strings.Contains(body, `"connectedAt":"20`) {
			t.Fatalf("timestamps not ISO-8601: %s", body)
		}
	})
	for _, tc := range []struct {
		name, method, url, body string
		wantStatus              int
		wantType                string
	}{
		{"unknown id is gone", "POST", g.connectionsURL("prod", "AAAAAAAAAAAAAAAA"), "x", 410, "GoneException"},
		{"other stage is gone", "GET", g.connectionsURL("dev", id), "", 410, "GoneException"},
		{"GET unknown is gone", "GET", g.connectionsURL("prod", "nope"), "", 410, "GoneException"},
		{"body over the limit", "POST", g.connectionsURL("prod", id), strings.Repeat("x", 1025), 413, "PayloadTooLargeException"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, hdr, body := httpDo(t, tc.method, tc.url, tc.body)
			if status != tc.wantStatus || hdr.Get("x-amzn-ErrorType") != tc.wantType {
				t.Fatalf("status %d type %q body %s", status, hdr.Get("x-amzn-ErrorType"), body)
			}
			var msg struct{ Message string }
			if json.Unmarshal([]byte(body), &msg) != nil || msg.Message == "" {
				t.Fatalf("body %q is not {\"message\":...}", body)
			}
		})
	}
	t.Run("admin variant reaches any stage", func(t *testing.T) {
		if status, _, _ := httpDo(t, "POST", "http://"+g.addr+"/admin/@connections/"+id, "via admin"); status != 200 {
			t.Fatalf("status %d", status)
		}
		if got := readText(t, c, 2*time.Second); got != "via admin" {
			t.Fatalf("client got %q", got)
		}
	})
	t.Run("DELETE closes and later calls are gone", func(t *testing.T) {
		if status, _, _ := httpDo(t, "DELETE", g.connectionsURL("prod", id), ""); status != 204 {
			t.Fatalf("status %d", status)
		}
		readClose(t, c, 2*time.Second)
		waitFor(t, 2*time.Second, "deregistration", func() bool { return g.bridge.reg.get(id) == nil })
		if status, _, _ := httpDo(t, "POST", g.connectionsURL("prod", id), "x"); status != 410 {
			t.Fatalf("POST after DELETE: status %d", status)
		}
	})
}

func TestSendQueueFullAnswers429(t *testing.T) {
	g := startGateway(t, Options{MaxMessageBytes: 1 << 20, SendQueueLength: 2, WriteTimeout: 5 * time.Second})
	// This client never reads: once the socket buffers are full the
	// writer blocks and the queue fills.
	_, id := dialRegistered(t, g, "/prod", nil)
	other, otherID := dialRegistered(t, g, "/prod", nil)
	payload := strings.Repeat("x", 1<<20)
	got429 := false
	for i := 0; i < 200 && !got429; i++ {
		status, hdr, body := httpDo(t, "POST", g.connectionsURL("prod", id), payload)
		switch status {
		case 200:
		case 429:
			if hdr.Get("x-amzn-ErrorType") != "LimitExceededException" {
				t.Fatalf("429 with type %q body %s", hdr.Get("x-amzn-ErrorType"), body)
			}
			got429 = true
		default:
			t.Fatalf("status %d %s", status, body)
		}
	}
	if !got429 {
		t.Fatal("never got 429 from a client that does not read")
	}
	if s := g.bridge.Stats(); s.QueueFull == 0 {
		t.Fatalf("stats %+v", s)
	}
	// The stuck client does not hold up anyone else: held up, the other
	// would wait for the stuck one's 5 s write timeout.
	start := time.Now()
	if status, _, _ := httpDo(t, "POST", g.connectionsURL("prod", otherID), "still here"); status != 200 {
		t.Fatalf("status %d", status)
	}
	if got := readText(t, other, 4*time.Second); got != "still here" || time.Since(start) >= 4*time.Second {
		t.Fatalf("other client got %q after %v", got, time.Since(start))
	}
}

func TestManagementWithoutCredentialsIsLoopbackOnly(t *testing.T) {
	b, err := New(Options{Stages: []string{"prod"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		remote string
		want   int
	}{
		{"127.0.0.1:5000", 410}, // allowed through, then the id is unknown
		{"[::1]:5000", 410},
		{"192.0.2.10:5000", 403},
	} {
		t.Run(tc.remote, func(t *testing.T) {
			var ctx fasthttp.RequestCtx
			var req fasthttp.Request
			req.Header.SetMethod("POST")
			req.SetRequestURI("/prod/@connections/abc")
			addr, err := net.ResolveTCPAddr("tcp", tc.remote)
			if err != nil {
				t.Fatal(err)
			}
			ctx.Init(&req, addr, nil)
			b.ServeManagement(&ctx, "prod", "abc")
			if got := ctx.Response.StatusCode(); got != tc.want {
				t.Fatalf("status %d, want %d", got, tc.want)
			}
		})
	}
}

// trustedProxyClientIP is the gateway's server.trusted_proxies rule: when
// the socket peer is a trusted proxy, the client is the right-most
// X-Forwarded-For entry that is not one.
func trustedProxyClientIP(trusted ...string) func(*fasthttp.RequestCtx) string {
	var prefixes []netip.Prefix
	for _, p := range trusted {
		prefixes = append(prefixes, netip.MustParsePrefix(p))
	}
	isTrusted := func(s string) bool {
		a, err := netip.ParseAddr(strings.TrimSpace(s))
		if err != nil {
			return false
		}
		for _, p := range prefixes {
			if p.Contains(a.Unmap()) {
				return true
			}
		}
		return false
	}
	return func(ctx *fasthttp.RequestCtx) string {
		peer := ctx.RemoteIP().String()
		if !isTrusted(peer) {
			return peer
		}
		hops := strings.Split(string(ctx.Request.Header.Peek("X-Forwarded-For")), ",")
		for i := len(hops) - 1; i >= 0; i-- {
			if h := strings.TrimSpace(hops[i]); h != "" && !isTrusted(h) {
				return h
			}
		}
		return peer
	}
}

// A same-host reverse proxy connects from 127.0.0.1 for everyone: what
// counts is the client it forwards for.
func TestManagementWithoutCredentialsJudgesTheForwardedClient(t *testing.T) {
	b, err := New(Options{Stages: []string{"prod"}, ClientIP: trustedProxyClientIP("127.0.0.1/32", "::1/128")})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, peer, xff string
		want            int
	}{
		{"local caller, no proxy", "127.0.0.1:5000", "", 410}, // allowed through, then the id is unknown
		{"foreign client through the local proxy", "127.0.0.1:5000", "203.0.113.9", 403},
		{"foreign client, spoofed loopback hop", "127.0.0.1:5000", "127.0.0.1, 203.0.113.9", 403},
		{"foreign client over IPv6 loopback proxy", "[::1]:5000", "2001:db8::1", 403},
		{"local client through the local proxy", "127.0.0.1:5000", "127.0.0.1", 410},
		{"untrusted peer claiming loopback", "192.0.2.10:5000", "127.0.0.1", 403},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ctx fasthttp.RequestCtx
			var req fasthttp.Request
			req.Header.SetMethod("POST")
			req.SetRequestURI("/prod/@connections/abc")
			if tc.xff != "" {
				req.Header.Set("X-Forwarded-For", tc.xff)
			}
			addr, err := net.ResolveTCPAddr("tcp", tc.peer)
			if err != nil {
				t.Fatal(err)
			}
			ctx.Init(&req, addr, nil)
			b.ServeManagement(&ctx, "prod", "abc")
			if got := ctx.Response.StatusCode(); got != tc.want {
				t.Fatalf("status %d, want %d", got, tc.want)
			}
		})
	}
}

const (
	testAK = "AKIDEXAMPLE"
	testSK = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
)

// signedRequest builds a request the way the AWS SDK's
// apigatewaymanagementapi client does and signs it with the SDK signer.
func signedRequest(t *testing.T, method, url string, body []byte, secret string, at time.Time, region string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	sum := sha256.Sum256(body)
	creds := aws.Credentials{AccessKeyID: testAK, SecretAccessKey: secret}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), "execute-api", region, at); err != nil {
		t.Fatal(err)
	}
	return req
}

func TestManagementSigV4(t *testing.T) {
	g := startGateway(t, Options{
		Credentials: []Credential{{AccessKeyID: testAK, SecretAccessKey: testSK}},
		Region:      "",
	})
	c, id := dialRegistered(t, g, "/prod", nil)
	url := g.connectionsURL("prod", id)
	now := time.Now()
	for _, tc := range []struct {
		name   string
		req    func() *http.Request
		want   int
		expect string // message the client must receive
	}{
		{"right secret", func() *http.Request {
			return signedRequest(t, "POST", url, []byte("signed hello"), testSK, now, "eu-west-1")
		}, 200, "signed hello"},
		{"any region in the scope", func() *http.Request {
			return signedRequest(t, "POST", url, []byte("other region"), testSK, now, "ap-northeast-1")
		}, 200, "other region"},
		{"GET signed", func() *http.Request { return signedRequest(t, "GET", url, nil, testSK, now, "us-east-1") }, 200, ""},
		{"percent-encoded id passes auth, then is gone", func() *http.Request {
			return signedRequest(t, "POST", url+"%3D", []byte("x"), testSK, now, "us-east-1")
		}, 410, ""},
		{"wrong secret", func() *http.Request {
			return signedRequest(t, "POST", url, []byte("x"), "not-the-secret", now, "us-east-1")
		}, 403, ""},
		{"stale date", func() *http.Request {
			return signedRequest(t, "POST", url, []byte("x"), testSK, now.Add(-6*time.Minute), "us-east-1")
		}, 403, ""},
		{"future date", func() *http.Request {
			return signedRequest(t, "POST", url, []byte("x"), testSK, now.Add(6*time.Minute), "us-east-1")
		}, 403, ""},
		{"tampered body", func() *http.Request {
			r := signedRequest(t, "POST", url, []byte("original"), testSK, now, "us-east-1")
			r.Body = io.NopCloser(strings.NewReader("tampered"))
			r.ContentLength = int64(len("tampered"))
			return r
		}, 403, ""},
		{"tampered path", func() *http.Request {
			r := signedRequest(t, "DELETE", g.connectionsURL("prod", "AAAAAAAAAAAAAAAA"), nil, testSK, now, "us-east-1")
			r.URL.Path = "/prod/@connections/" + id
			return r
		}, 403, ""},
		{"unsigned", func() *http.Request {
			r, _ := http.NewRequest("POST", url, strings.NewReader("x"))
			return r
		}, 403, ""},
		{"wrong service", func() *http.Request {
			r, _ := http.NewRequest("POST", url, strings.NewReader("x"))
			sum := sha256.Sum256([]byte("x"))
			_ = v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: testAK, SecretAccessKey: testSK},
				r, hex.EncodeToString(sum[:]), "apigateway", "us-east-1", now)
			return r
		}, 403, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := http.DefaultClient.Do(tc.req())
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.want, body)
			}
			if tc.want == 403 && (resp.Header.Get("x-amzn-ErrorType") != "ForbiddenException" || string(body) != `{"message":"Forbidden"}`) {
				t.Fatalf("403 type %q body %s", resp.Header.Get("x-amzn-ErrorType"), body)
			}
			if tc.expect != "" {
				if got := readText(t, c, 2*time.Second); got != tc.expect {
					t.Fatalf("client got %q", got)
				}
			}
		})
	}
}

func TestSigV4RegionPinned(t *testing.T) {
	g := startGateway(t, Options{
		Credentials: []Credential{{AccessKeyID: testAK, SecretAccessKey: testSK}},
		Region:      "eu-central-1",
	})
	_, id := dialRegistered(t, g, "/prod", nil)
	for region, want := range map[string]int{"eu-central-1": 200, "us-east-1": 403} {
		resp, err := http.DefaultClient.Do(signedRequest(t, "GET", g.connectionsURL("prod", id), nil, testSK, time.Now(), region))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("region %s: status %d, want %d", region, resp.StatusCode, want)
		}
	}
}

func TestCredentialsRequireBothHalves(t *testing.T) {
	for _, tc := range []struct {
		name    string
		creds   []Credential
		wantErr bool
	}{
		{"empty placeholders mean none", []Credential{{}}, false},
		{"key without secret", []Credential{{AccessKeyID: "AK"}}, true},
		{"full pair", []Credential{{AccessKeyID: "AK", SecretAccessKey: "SK"}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(Options{Credentials: tc.creds})
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v", err)
			}
		})
	}
}
