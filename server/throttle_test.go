package server

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

const keysConfig = `
server:
  trusted_proxies: ["127.0.0.1/32"]
api_keys:
  - {name: alice, value: "alice-key-0123456789abcdef", plan: basic}
  - {name: bob, value: "bob-key-0123456789abcdef00", plan: basic, enabled: false}
  - {name: carol, value: "carol-key-0123456789abcdef", plan: other}
  - {name: dave, value: "dave-key-0123456789abcdef0", plan: tiny}
usage_plans:
  basic: {throttle: {rate: 1000, burst: 1000}, apis: [a]}
  other: {apis: [b]}
  tiny: {quota: {limit: 25, period: day}, apis: [a]}
apis:
  a:
    type: http
    integrations: {m: {type: mock, body: ok}}
    routes:
      "GET /keyed": {integration: m, api_key: true}
      "GET /hammer": {integration: m, throttle: {rate: 50, burst: 10}}
      "GET /per-client": {integration: m, throttle: {rate: 1, burst: 2, per: client_ip}}
  r:
    type: rest
    base_path: /r
    stages: {v1: {throttle: {rate: 1, burst: 1}}}
    integrations: {m: {type: mock, body: ok}}
    routes:
      "GET /keyed": {integration: m, api_key: true}
      "GET /limited": {integration: m}
  b:
    base_path: /b
    integrations: {m: {type: mock, body: ok}}
    routes:
      "GET /keyed": {integration: m, api_key: true}
`

func TestAPIKeysAnswerBadInputAsDocumented(t *testing.T) {
	base := startGateway(t, keysConfig, "")
	cases := []struct {
		name, path, key string
		status          int
		body, errType   string
	}{
		{"valid key", "/keyed", "alice-key-0123456789abcdef", 200, "ok", ""},
		{"no key", "/keyed", "", 403, `{"message":"Forbidden"}`, ""},
		{"wrong key", "/keyed", "alice-key-0123456789abcdeX", 403, `{"message":"Forbidden"}`, ""},
		{"disabled key", "/keyed", "bob-key-0123456789abcdef00", 403, `{"message":"Forbidden"}`, ""},
		{"key of another plan", "/keyed", "carol-key-0123456789abcdef", 403, `{"message":"Forbidden"}`, ""},
		{"plan covers its API", "/b/keyed", "carol-key-0123456789abcdef", 200, "ok", ""},
		{"junk key", "/keyed", strings.Repeat("junk!@#$%^&*()<>", 560), 403, `{"message":"Forbidden"}`, ""},
		{"rest no key", "/r/v1/keyed", "", 403, `{"message":"Forbidden"}`, "ForbiddenException"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var hdr []string
			if c.key != "" {
				hdr = []string{"X-API-Key", c.key}
			}
			r := do(t, "GET", base+c.path, nil, hdr...)
			if r.status != c.status || r.body != c.body || r.header.Get("x-amzn-ErrorType") != c.errType {
				t.Errorf("got %d %q (%s)", r.status, r.body, r.header.Get("x-amzn-ErrorType"))
			}
		})
	}
	// The header name is case-insensitive.
	if r := do(t, "GET", base+"/keyed", nil, "x-api-key", "alice-key-0123456789abcdef"); r.status != 200 {
		t.Errorf("lower-case header name: %d", r.status)
	}
	// 10 KB of junk in a header is over the header limit.
	r := do(t, "GET", base+"/keyed", nil, "X-API-Key", strings.Repeat("j", 10*1024))
	if r.status != 431 {
		t.Errorf("10 KB header: %d %s", r.status, r.body)
	}
}

func TestQuotaAdmitsExactlyN(t *testing.T) {
	base := startGateway(t, keysConfig, "")
	var ok, limited atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 10; i++ {
				r, err := tryDo("GET", base+"/keyed", nil, "X-API-Key", "dave-key-0123456789abcdef0")
				if err != nil {
					t.Error(err)
					return
				}
				switch {
				case r.status == 200:
					ok.Add(1)
				case r.status == 429 && r.body == `{"message":"Limit Exceeded"}` && r.header.Get("Retry-After") != "":
					limited.Add(1)
				default:
					t.Errorf("unexpected %d %s", r.status, r.body)
				}
			}
		}()
	}
	wg.Wait()
	if ok.Load() != 25 || limited.Load() != 15 {
		t.Errorf("quota 25: admitted %d, limited %d", ok.Load(), limited.Load())
	}
}

// Four clients send 400 requests at {rate: 50, burst: 10}. Every decision
// falls between the first send and the last answer, so whatever the
// scheduling the route admits at least its burst and at most burst + rate
// × that span (+1 for a token under way), and every refusal is a proper
// 429. A bound on the answers, not on a rate the clients may not reach on
// a loaded machine; the limiter's accuracy against its clock is tested in
// package limiter.
func TestThrottleAdmitsAtMostBurstPlusRateUnderConcurrency(t *testing.T) {
	const (
		burst, rate      = 10, 50
		workers, perEach = 4, 100
	)
	base := startGateway(t, keysConfig, "")
	var admitted, refused atomic.Int64
	errs := make(chan error, workers*perEach)
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &fasthttp.Client{}
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(resp)
			req.SetRequestURI(base + "/hammer")
			for i := 0; i < perEach; i++ {
				if err := c.Do(req, resp); err != nil {
					errs <- err
					continue
				}
				switch {
				case resp.StatusCode() == 200:
					admitted.Add(1)
				case resp.StatusCode() == 429 && string(resp.Body()) == `{"message":"Too Many Requests"}` &&
					len(resp.Header.Peek("RateLimit-Limit")) > 0 && len(resp.Header.Peek("Retry-After")) > 0:
					refused.Add(1)
				default:
					errs <- fmt.Errorf("unexpected %d %s", resp.StatusCode(), resp.Body())
				}
			}
		}()
	}
	wg.Wait()
	span := time.Since(start)
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	most := burst + int64(rate*span.Seconds()) + 1
	t.Logf("admitted %d (at most %d in %s), refused %d", admitted.Load(), most, span, refused.Load())
	if n := admitted.Load(); n < burst || n > most {
		t.Errorf("admitted %d in %s, want between the burst %d and burst + rate × span + 1 = %d", n, span, burst, most)
	}
	if admitted.Load()+refused.Load() != workers*perEach {
		t.Errorf("admitted %d + refused %d, want %d answers", admitted.Load(), refused.Load(), workers*perEach)
	}
	// The bucket refills: a later request is admitted again.
	waitFor(t, "a token to come back", 5*time.Second, func() bool {
		return do(t, "GET", base+"/hammer", nil).status == 200
	})
}

func TestPerClientThrottleUsesTheClientAddress(t *testing.T) {
	base := startGateway(t, keysConfig, "")
	get := func(xff string) int {
		return do(t, "GET", base+"/per-client", nil, "X-Forwarded-For", xff).status
	}
	// Each client has a burst of 2; the peer 127.0.0.1 is a trusted proxy,
	// so the client is the right-most untrusted X-Forwarded-For entry.
	for i, want := range []int{200, 200, 429} {
		if got := get("198.51.100.1"); got != want {
			t.Errorf("client 1 request %d: %d, want %d", i, got, want)
		}
	}
	if got := get("198.51.100.2"); got != 200 {
		t.Errorf("client 2 throttled by client 1's bucket: %d", got)
	}
	if got := get("198.51.100.2, 127.0.0.1"); got != 200 {
		t.Errorf("trusted hop skipped: %d", got)
	}
	if got := get("spoofed, 198.51.100.1"); got != 429 {
		t.Errorf("right-most untrusted entry must decide: %d", got)
	}
}

// per: header.X-Tenant keeps one bucket per value of the header: one
// tenant spending its burst leaves another's untouched. The rate is so
// low that no token comes back while the test runs.
func TestPerHeaderThrottleKeepsABucketPerHeaderValue(t *testing.T) {
	base := startGateway(t, `
apis:
  a:
    integrations: {m: {type: mock, body: ok}}
    routes:
      "GET /tenant": {integration: m, throttle: {rate: 0.001, burst: 2, per: header.X-Tenant}}
`, "")
	get := func(tenant string) int {
		return do(t, "GET", base+"/tenant", nil, "X-Tenant", tenant).status
	}
	for i, want := range []int{200, 200, 429} {
		if got := get("blue"); got != want {
			t.Errorf("tenant blue request %d: %d, want %d", i, got, want)
		}
	}
	for i, want := range []int{200, 200, 429} {
		if got := get("green"); got != want {
			t.Errorf("tenant green request %d: %d, want %d (blue's bucket is not green's)", i, got, want)
		}
	}
	if got := get("blue"); got != 429 {
		t.Errorf("tenant blue after green: %d, want 429", got)
	}
}

func TestStageDefaultThrottleAndRESTDialect(t *testing.T) {
	base := startGateway(t, keysConfig, "")
	do(t, "GET", base+"/r/v1/limited", nil)
	r := do(t, "GET", base+"/r/v1/limited", nil)
	if r.status != 429 || r.body != `{"message":"Too Many Requests"}` || r.header.Get("x-amzn-ErrorType") != "TooManyRequestsException" {
		t.Errorf("got %d %s %v", r.status, r.body, r.header)
	}
}

func TestUsageReportAndStateSurviveReload(t *testing.T) {
	path := t.TempDir() + "/frontdesk.yaml"
	writeFile(t, path, keysConfig)
	s, base, adm := startFromFile(t, path)
	for i := 0; i < 5; i++ {
		do(t, "GET", base+"/keyed", nil, "X-API-Key", "dave-key-0123456789abcdef0")
	}
	// A reload that changes an unrelated route keeps quota counts.
	writeFile(t, path, strings.Replace(keysConfig, `"GET /hammer"`, `"GET /hammer2"`, 1))
	if err := s.Reload(); err != nil {
		t.Fatal(err)
	}
	r := do(t, "GET", adm+"/usage/dave", nil)
	var u struct {
		Admitted  uint64 `json:"admitted"`
		QuotaUsed int64  `json:"quotaUsed"`
		QuotaLeft int64  `json:"quotaRemaining"`
	}
	if err := json.Unmarshal([]byte(r.body), &u); err != nil || u.Admitted != 5 || u.QuotaUsed != 5 || u.QuotaLeft != 20 {
		t.Errorf("usage after reload: %d %s", r.status, r.body)
	}
	if r := do(t, "GET", adm+"/usage", nil); !strings.Contains(r.body, `"alice"`) || strings.Contains(r.body, "alice-key") {
		t.Errorf("usage list: %s", r.body)
	}
	if r := do(t, "GET", adm+"/usage/nobody", nil); r.status != 404 {
		t.Errorf("unknown key: %d", r.status)
	}
}
