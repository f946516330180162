package bench

import (
	"crypto/tls"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/frontdeskgw/frontdesk/bench/loadgen"
	"github.com/valyala/fasthttp"
	"gopkg.in/yaml.v3"
)

// serveTLS runs a fasthttp server behind crypto/tls (session tickets on,
// as Go's default) with the suite's certificate, on a port the OS picks.
func serveTLS(t *testing.T) (addr string, cert CertFiles) {
	t.Helper()
	cert, err := WriteCertificate(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.LoadX509KeyPair(cert.Cert, cert.Key)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// The window's end cuts writes mid-record (the generator's deadline):
	// the server's complaints about those are expected, not worth a log.
	srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString(SmallBody) }, Logger: quietLogger{}}
	go func() {
		_ = srv.Serve(tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS13}))
	}()
	t.Cleanup(func() { _ = srv.Shutdown() })
	return ln.Addr().String(), cert
}

func TestTLSLoadCompletesRequests(t *testing.T) {
	addr, cert := serveTLS(t)
	for _, tc := range []struct {
		name     string
		newConn  bool
		cache    bool
		resumes  bool // nearly every handshake in the window resumes
		perReq   bool // a handshake per request
		maxHands int64
	}{
		{name: "new connection per request resumes sessions", newConn: true, cache: true, resumes: true, perReq: true},
		{name: "without a session cache nothing resumes", newConn: true, cache: false, perReq: true},
		{name: "kept-alive connections handshake once each", newConn: false, cache: true, maxHands: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var cache tls.ClientSessionCache
			if tc.cache {
				cache = loadgen.NewSessionCache(2)
			}
			conf, err := ClientTLSConfig(cert.Cert, TLSServerName, cache)
			if err != nil {
				t.Fatal(err)
			}
			r, err := loadgen.Run(loadgen.Config{Addr: addr, Path: SmallPath, Conns: 2, Warmup: 100 * time.Millisecond,
				Duration: 700 * time.Millisecond, TLS: conf, NewConnPerRequest: tc.newConn})
			if err != nil {
				t.Fatal(err)
			}
			if r.Status2xx < 20 || r.ErrorCount() != 0 {
				t.Fatalf("2xx %d errors %v, want at least 20 and none", r.Status2xx, r.Errors)
			}
			if want := int64(len(SmallBody)) * r.Status2xx; r.BodyBytes != want {
				t.Errorf("body bytes %d, want %d", r.BodyBytes, want)
			}
			if tc.perReq {
				// Connections dialled in the window and answered in it:
				// the two edges can each differ by one per connection.
				if d := r.Handshakes - r.Responses; d < -2 || d > 2 {
					t.Errorf("handshakes %d, responses %d: want one each", r.Handshakes, r.Responses)
				}
				if r.HandshakesPerS <= 0 {
					t.Errorf("handshakes/s %.1f", r.HandshakesPerS)
				}
			}
			if tc.maxHands > 0 && (r.Handshakes > tc.maxHands || r.Responses <= r.Handshakes) {
				t.Errorf("handshakes %d for %d responses over 2 kept-alive connections", r.Handshakes, r.Responses)
			}
			switch {
			case tc.resumes && r.Resumed*10 < r.Handshakes*9:
				t.Errorf("resumed %d of %d handshakes, want at least 90%%", r.Resumed, r.Handshakes)
			case !tc.cache && r.Resumed != 0:
				t.Errorf("resumed %d handshakes without a session cache", r.Resumed)
			}
		})
	}
}

func TestTLSConfigsServeTheSuitesCertificate(t *testing.T) {
	c := CertFiles{Cert: "/run/x/bench-cert.pem", Key: "/run/x/bench-key.pem"}
	conf, err := NginxConf(nginxData{Dir: "/run/x", Listen: "127.0.0.1:8443", Upstream: "127.0.0.1:9", Cert: c})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"listen 127.0.0.1:8443 ssl;", "ssl_certificate /run/x/bench-cert.pem;", "ssl_protocols TLSv1.3;", "ssl_session_tickets on;"} {
		if !strings.Contains(conf, want) {
			t.Errorf("nginx.conf lacks %q:\n%s", want, conf)
		}
	}
	plain, err := NginxConf(nginxData{Dir: "/run/x", Listen: "127.0.0.1:8080", Upstream: "127.0.0.1:9"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(plain, "ssl") {
		t.Errorf("plain nginx.conf mentions ssl:\n%s", plain)
	}
	var sc Scenario
	for _, s := range Scenarios() {
		if s.Name == "frontdesk-tls" {
			sc = s
		}
	}
	yml, err := FrontdeskConfig(sc, ConfigData{Upstream: "127.0.0.1:9", Dir: "/run/x", Cert: c})
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Server struct {
			Listen string `yaml:"listen"`
			TLS    struct{ Cert, Key string }
		}
	}
	if err := yaml.Unmarshal([]byte(yml), &doc); err != nil {
		t.Fatalf("%v:\n%s", err, yml)
	}
	if doc.Server.TLS.Cert != c.Cert || doc.Server.TLS.Key != c.Key || doc.Server.Listen == "" {
		t.Errorf("server block %+v, want the certificate %+v:\n%s", doc.Server, c, yml)
	}
}

type quietLogger struct{}

func (quietLogger) Printf(string, ...any) {}
