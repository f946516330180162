package attack

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Secrets of the test configs. Tests look for them in frontdesk's log.
const (
	apiKey      = "attackKEYattackKEY0123456789"
	adminToken  = "attack-admin-token-0123456789"
	sigv4Key    = "AKIDATTACKSUITE"
	sigv4Secret = "attack/sigv4/secret/0123456789"
	issuer      = "https://issuer.attack.test"
	audience    = "frontdesk"
)

// Paths of the origin the routes below may reach.
var routePrefixes = []string{"/api/", "/pets/", "/cached/", "/jwt/", "/key/", "/throttled/", "/bhost/", "/wsb/"}

// baseConfig is the config every group serves, with placeholders:
// {{UP}} the origin, {{K}} its key (see origin.key), {{JWKS}} the key set URL, {{SERVER}} extra server
// keys, {{ADMIN}} extra admin keys.
const baseConfig = `
server:
  shutdown_grace: 1s
{{SERVER}}
admin:
  listen: "127.0.0.1:0"
{{ADMIN}}
access_log:
  output: stdout
  format: json
api_keys:
  - {name: attack, value: "` + apiKey + `", plan: basic}
usage_plans:
  basic: {apis: [main]}
apis:
  main:
    type: http
    authorizers:
      jwt:
        type: jwt
        issuer: "` + issuer + `"
        audience: [` + audience + `]
        jwks_url: "{{JWKS}}"
        claims_to_headers: {sub: X-User-Sub, note: X-User-Note}
    integrations:
      up: {type: http_proxy, url: "http://{{UP}}/api/{proxy}?{{K}}", timeout: 10s}
      pets: {type: http_proxy, url: "http://{{UP}}/pets/{id}?{{K}}", timeout: 10s}
      cached: {type: http_proxy, url: "http://{{UP}}/cached/{proxy}?{{K}}", timeout: 10s}
      jwt: {type: http_proxy, url: "http://{{UP}}/jwt/{proxy}?{{K}}", timeout: 10s}
      key: {type: http_proxy, url: "http://{{UP}}/key/{proxy}?{{K}}", timeout: 10s}
      throttled: {type: http_proxy, url: "http://{{UP}}/throttled/{proxy}?{{K}}", timeout: 10s}
      ping: {type: mock, status: 200, headers: {content-type: application/json}, body: '{"pong":true}'}
    routes:
      "ANY /api/{proxy+}": {integration: up}
      "GET /pets/{id}": {integration: pets}
{{CACHED}}
      "ANY /jwt/{proxy+}": {integration: jwt, authorizer: jwt}
      "ANY /key/{proxy+}": {integration: key, api_key: true}
      "GET /throttled/{proxy+}": {integration: throttled, throttle: {rate: 0.5, burst: 3, per: client_ip}}
      "GET /ping": {integration: ping}
  bhost:
    type: http
    hosts: [b.example]
    integrations:
      up: {type: http_proxy, url: "http://{{UP}}/bhost/{proxy}?{{K}}", timeout: 10s}
    routes:
      "ANY /{proxy+}": {integration: up}
  ws:
    type: websocket
    base_path: /ws
    stages: {prod: {}}
    route_selection: $request.body.action
    max_message_bytes: 16KiB
    integrations:
      disc: {type: http, url: "http://{{UP}}/wsb/disconnect?{{K}}&b=sleep&d=300"}
      msg: {type: http, url: "http://{{UP}}/wsb/message?{{K}}"}
    routes:
      "$disconnect": {integration: disc}
      "$default": {integration: msg}
  wsauth:
    type: websocket
    base_path: /wss
    stages: {prod: {}}
    route_selection: $request.body.action
    management:
      credentials: [{access_key_id: ` + sigv4Key + `, secret_access_key: "` + sigv4Secret + `"}]
    integrations:
      msg: {type: http, url: "http://{{UP}}/wsb/message?{{K}}"}
    routes:
      "$default": {integration: msg}
`

// cachedRoute is left out of the config unless a test needs it: the
// response cache reserves its memory up front, which would hide what an
// attack costs.
const cachedRoute = `      "GET /cached/{proxy+}": {integration: cached, cache: {ttl: 60s}}`

// fixture is one frontdesk with its origin and JWKS server.
type fixture struct {
	fd   *frontdesk
	up   *origin
	jwks *jwksServer
}

type options struct {
	// server and admin are extra YAML lines under server: and admin:,
	// indented by two spaces.
	server, admin string
	// adminToken sets admin.token.
	adminToken string
	// cache adds the cached route GET /cached/{proxy+}.
	cache bool
}

func newFixture(t testing.TB, o options) *fixture {
	t.Helper()
	f := &fixture{up: startOrigin(t, routePrefixes...), jwks: startJWKS(t)}
	if o.adminToken != "" {
		o.admin += "\n  token: \"" + o.adminToken + "\""
	}
	cached := ""
	if o.cache {
		cached = cachedRoute
	}
	cfg := strings.NewReplacer("{{UP}}", f.up.addr, "{{K}}", f.up.key, "{{JWKS}}", f.jwks.url, "{{SERVER}}", o.server, "{{ADMIN}}", o.admin,
		"{{CACHED}}", cached).Replace(baseConfig)
	f.fd = startFrontdesk(t, cfg)
	if o.adminToken != "" {
		f.fd.adminAuth = map[string]string{"Authorization": "Bearer " + o.adminToken}
	}
	return f
}

// run runs one case of class as a subtest and then checks what must hold
// after any attack: the origin saw no flawed, smuggled or out-of-route
// request, well-behaved clients on other connections get their own
// answers, and frontdesk is alive on both listeners.
func (f *fixture) run(t *testing.T, class, name string, fn func(t *testing.T)) {
	t.Run(name, func(t *testing.T) {
		mark := f.up.mark()
		fn(t)
		f.up.checkForwarded(t, f.up.since(mark))
		f.victims(t, class)
		f.fd.alive(t)
		results.caseDone(class, name, !t.Failed())
	})
}

// isolated runs one case of class on a fixture of its own, for attacks
// that leave frontdesk in a state later cases must not inherit (a
// poisoned upstream pool), with the same checks as run.
func isolated(t *testing.T, class, name string, o options, fn func(t *testing.T, f *fixture)) {
	t.Run(name, func(t *testing.T) {
		f := newFixture(t, o)
		fn(t, f)
		f.up.checkForwarded(t, f.up.since(0))
		f.victims(t, class)
		f.fd.alive(t)
		results.caseDone(class, name, !t.Failed())
	})
}

// victims sends a GET and a POST victim and records them for the table.
func (f *fixture) victims(t testing.TB, class string) {
	t.Helper()
	var st loadStats
	for _, m := range []string{http.MethodGet, http.MethodPost} {
		start := time.Now()
		err := victim(f.fd.Addr, m)
		st.Total++
		if err != nil {
			t.Error(err)
			continue
		}
		st.OK++
		st.Latencies = append(st.Latencies, time.Since(start))
	}
	results.victims(class, st)
}

// jwksServer serves the test's key set and counts fetches.
type jwksServer struct {
	url     string
	fetches atomic.Int64
}

// signingKey is the RSA key the JWKS publishes as kid "k1".
var signingKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

func startJWKS(t testing.TB) *jwksServer {
	t.Helper()
	pub := signingKey().PublicKey
	body, _ := json.Marshal(map[string]any{"keys": []map[string]string{{
		"kty": "RSA", "kid": "k1", "use": "sig", "alg": "RS256",
		"n": base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
		"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
	}}})
	j := &jwksServer{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		j.fetches.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	})}
	go srv.Serve(ln) //nolint:errcheck // ends at cleanup
	t.Cleanup(func() { srv.Close() })
	j.url = "http://" + ln.Addr().String() + "/jwks.json"
	return j
}

// token signs claims (with defaults for iss, aud, exp) with the JWKS key.
func token(t testing.TB, claims jwt.MapClaims, header map[string]any) string {
	t.Helper()
	c := jwt.MapClaims{"iss": issuer, "aud": audience, "sub": "alice", "exp": time.Now().Add(time.Hour).Unix()}
	for k, v := range claims {
		c[k] = v
	}
	tk := jwt.NewWithClaims(jwt.SigningMethodRS256, c)
	tk.Header["kid"] = "k1"
	for k, v := range header {
		if v == nil {
			delete(tk.Header, k)
		} else {
			tk.Header[k] = v
		}
	}
	s, err := tk.SignedString(signingKey())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// publicKeyPEM is the JWKS key as PEM, the secret of the HS256 confusion.
func publicKeyPEM() []byte {
	der, _ := x509.MarshalPKIXPublicKey(&signingKey().PublicKey)
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}
