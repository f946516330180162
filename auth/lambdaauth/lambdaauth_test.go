package lambdaauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/frontdeskgw/frontdesk/auth"
	"github.com/frontdeskgw/frontdesk/lambda"
)

const (
	getARN  = "arn:aws:execute-api:us-east-1:123456789012:api1/prod/GET/pets/1"
	postARN = "arn:aws:execute-api:us-east-1:123456789012:api1/prod/POST/pets"
)

// fakeFunction is a lambda.Invoker that counts calls and answers with a
// fixed result, error or delay.
type fakeFunction struct {
	calls   atomic.Int32
	result  lambda.Result
	err     error
	delay   time.Duration
	mu      sync.Mutex
	payload []byte
}

func (f *fakeFunction) Invoke(ctx context.Context, payload []byte) (lambda.Result, error) {
	f.calls.Add(1)
	f.mu.Lock()
	f.payload = append([]byte(nil), payload...)
	f.mu.Unlock()
	if f.delay > 0 {
		select {
		case <-time.After(f.delay):
		case <-ctx.Done():
			return lambda.Result{}, fmt.Errorf("fake invoke: %w", lambda.ErrTimeout)
		}
	}
	return f.result, f.err
}

func answering(body string) *fakeFunction {
	return &fakeFunction{result: lambda.Result{Payload: []byte(body)}}
}

type clock struct{ offset atomic.Int64 }

func (c *clock) Now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *clock) Advance(d time.Duration) { c.offset.Add(int64(d)) }

func newAuthorizer(t testing.TB, o Options) *Authorizer {
	t.Helper()
	if o.Name == "" {
		o.Name = "custom"
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.IdentitySources == nil {
		o.IdentitySources = []string{"$request.header.X-Token"}
	}
	a, err := New(o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return a
}

// eventPayload stands in for the gateway's event builder.
func eventPayload(dst []byte, identity [][]byte) []byte {
	dst = append(dst, `{"version":"2.0","type":"REQUEST","identitySource":[`...)
	for i, v := range identity {
		if i > 0 {
			dst = append(dst, ',')
		}
		b, _ := json.Marshal(string(v))
		dst = append(dst, b...)
	}
	return append(dst, "]}"...)
}

func request(token, arn string) Request {
	req := &fasthttp.Request{}
	req.SetRequestURI("/pets/1")
	if token != "" {
		req.Header.Set("X-Token", token)
	}
	return Request{HTTP: req, MethodARN: arn, Payload: eventPayload}
}

func statusOf(err error) int {
	var f *auth.Failure
	if errors.As(err, &f) {
		return f.Status
	}
	return 0
}

// authorizeBounded authorizes a "tok" GET, checks that the authorizer's
// timeout bounded the call and that it ended with status want (0 =
// allowed).
func authorizeBounded(t *testing.T, a *Authorizer, want int) (*Result, error) {
	t.Helper()
	start := time.Now()
	r, err := a.Authorize(context.Background(), request("tok", getARN))
	// The slow fakes answer after 1 s, so a call the timeout did not bound
	// takes at least that; anything shorter is bounded, however loaded
	// the machine.
	if elapsed := time.Since(start); elapsed >= time.Second {
		t.Fatalf("Authorize took %v, want the timeout to bound it", elapsed)
	}
	if got := statusOf(err); got != want {
		t.Fatalf("status = %d (%v), want %d", got, err, want)
	}
	return r, err
}

func TestSimpleResponses(t *testing.T) {
	tests := []struct {
		name   string
		fn     *fakeFunction
		want   int    // 0 = allowed
		wantV2 string // requestContext.authorizer when allowed
	}{
		{"allow with context", answering(`{"isAuthorized":true,"context":{"userId":"u-1","roles":["admin"],"n":1}}`), 0, `{"lambda":{"userId":"u-1","roles":["admin"],"n":1}}`},
		{"allow without context", answering(`{"isAuthorized": true}`), 0, `{"lambda":null}`},
		{"allow with empty context", answering(`{"isAuthorized":true,"context":{}}`), 0, `{"lambda":{}}`},
		{"deny", answering(`{"isAuthorized":false,"context":{"why":"no"}}`), 403, ""},
		{"isAuthorized missing", answering(`{"context":{}}`), 500, ""},
		{"isAuthorized not a boolean", answering(`{"isAuthorized":"true"}`), 500, ""},
		{"not JSON", answering(`allow`), 500, ""},
		{"context not an object", answering(`{"isAuthorized":true,"context":["a"]}`), 500, ""},
		{"policy answer to a simple authorizer", answering(`{"principalId":"u","policyDocument":{"Statement":[]}}`), 500, ""},
		{"function error", &fakeFunction{result: lambda.Result{FunctionError: "Unhandled", Payload: []byte(`{"errorMessage":"boom"}`)}}, 500, ""},
		{"function error Unauthorized", &fakeFunction{result: lambda.Result{FunctionError: "Unhandled", Payload: []byte(`{"errorMessage":"Unauthorized"}`)}}, 401, ""},
		{"invoke error", &fakeFunction{err: errors.New("connection refused")}, 500, ""},
		{"timeout", &fakeFunction{delay: time.Second}, 500, ""},
		{"answer too large", answering(`{"isAuthorized":true,"context":{"x":"` + strings.Repeat("a", MaxResultBytes) + `"}}`), 500, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newAuthorizer(t, Options{Invoker: tt.fn, Timeout: 50 * time.Millisecond})
			r, err := authorizeBounded(t, a, tt.want)
			if tt.want != 0 {
				var f *auth.Failure
				errors.As(err, &f)
				resp := &fasthttp.Response{}
				f.WriteHTTP(resp)
				wantBody := map[int]string{401: `{"message":"Unauthorized"}`, 403: `{"message":"Forbidden"}`, 500: `{"message":"Internal Server Error"}`}[tt.want]
				if string(resp.Body()) != wantBody {
					t.Fatalf("body = %s, want %s", resp.Body(), wantBody)
				}
				return
			}
			if got := string(r.AppendV2(nil)); got != tt.wantV2 {
				t.Fatalf("AppendV2 = %s, want %s", got, tt.wantV2)
			}
		})
	}
}

func TestTimeoutIsReportedAsTimeout(t *testing.T) {
	a := newAuthorizer(t, Options{Invoker: &fakeFunction{delay: time.Second}, Timeout: 20 * time.Millisecond})
	_, err := a.Authorize(context.Background(), request("tok", getARN))
	if statusOf(err) != 500 || !errors.Is(err, errTimedOut) || !errors.Is(err, lambda.ErrTimeout) {
		t.Fatalf("error = %v, want a 500 wrapping the timeout", err)
	}
}

func policyAnswer(statements string, context string) string {
	return `{"principalId":"user-7","policyDocument":{"Version":"2012-10-17","Statement":` + statements + `},"context":` + context + `}`
}

func TestPolicyResponses(t *testing.T) {
	const api = "arn:aws:execute-api:us-east-1:123456789012:api1"
	tests := []struct {
		name       string
		statements string
		arn        string
		want       int
	}{
		{"allow exact resource", `[{"Action":"execute-api:Invoke","Effect":"Allow","Resource":"` + getARN + `"}]`, getARN, 0},
		{"allow as a single statement object", `{"Action":"execute-api:Invoke","Effect":"Allow","Resource":"` + getARN + `"}`, getARN, 0},
		{"allow with action and resource lists", `[{"Action":["execute-api:Invoke"],"Effect":"Allow","Resource":["` + postARN + `","` + getARN + `"]}]`, getARN, 0},
		{"allow wildcard stage and path", `[{"Action":"execute-api:Invoke","Effect":"Allow","Resource":"` + api + `/*/GET/*"}]`, getARN, 0},
		{"allow everything", `[{"Action":"*","Effect":"Allow","Resource":"*"}]`, postARN, 0},
		{"allow with action wildcard", `[{"Action":"execute-api:*","Effect":"Allow","Resource":"` + api + `/*"}]`, postARN, 0},
		{"action case does not matter", `[{"Action":"Execute-API:invoke","Effect":"Allow","Resource":"` + getARN + `"}]`, getARN, 0},
		{"question mark matches one character", `[{"Action":"execute-api:Invoke","Effect":"Allow","Resource":"` + api + `/prod/GET/pets/?"}]`, getARN, 0},
		{"allow for another method", `[{"Action":"execute-api:Invoke","Effect":"Allow","Resource":"` + api + `/*/GET/*"}]`, postARN, 403},
		{"allow for another action", `[{"Action":"execute-api:ManageConnections","Effect":"Allow","Resource":"*"}]`, getARN, 403},
		{"resource case matters", `[{"Action":"execute-api:Invoke","Effect":"Allow","Resource":"` + strings.ToUpper(getARN) + `"}]`, getARN, 403},
		{"explicit deny wins", `[{"Action":"execute-api:Invoke","Effect":"Allow","Resource":"*"},{"Action":"execute-api:Invoke","Effect":"Deny","Resource":"` + api + `/*/GET/pets/*"}]`, getARN, 403},
		{"deny elsewhere leaves the allow", `[{"Action":"execute-api:Invoke","Effect":"Allow","Resource":"*"},{"Action":"execute-api:Invoke","Effect":"Deny","Resource":"` + api + `/*/DELETE/*"}]`, getARN, 0},
		{"no statements", `[]`, getARN, 403},
		{"conditional allow is not trusted", `[{"Action":"execute-api:Invoke","Effect":"Allow","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}]`, getARN, 403},
		{"NotResource deny refuses everything", `[{"Action":"execute-api:Invoke","Effect":"Allow","Resource":"*"},{"Action":"execute-api:Invoke","Effect":"Deny","NotResource":"x"}]`, getARN, 403},
		{"unknown effect", `[{"Action":"execute-api:Invoke","Effect":"allow","Resource":"*"}]`, getARN, 500},
		{"resource of the wrong type", `[{"Action":"execute-api:Invoke","Effect":"Allow","Resource":7}]`, getARN, 500},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newAuthorizer(t, Options{Invoker: answering(policyAnswer(tt.statements, `{}`)), PayloadFormat: "1.0"})
			_, err := a.Authorize(context.Background(), request("tok", tt.arn))
			if got := statusOf(err); got != tt.want {
				t.Fatalf("status = %d (%v), want %d", got, err, tt.want)
			}
		})
	}
	for _, body := range []string{`{"principalId":"u"}`, `{"principalId":"u","policyDocument":{}}`, `[]`} {
		a := newAuthorizer(t, Options{Invoker: answering(body), PayloadFormat: "1.0"})
		if _, err := a.Authorize(context.Background(), request("tok", getARN)); statusOf(err) != 500 {
			t.Errorf("answer %s: %v, want 500", body, err)
		}
	}
}

func TestContextReachesBothPayloadFormats(t *testing.T) {
	allow := `[{"Action":"execute-api:Invoke","Effect":"Allow","Resource":"*"}]`
	ctxJSON := `{"user":"u-1", "n": 1.50, "ok":true, "nothing":null, "roles":["a","b"], "obj":{"k":"v"}, "principalId":"spoof"}`
	for _, format := range []string{"1.0", "2.0"} {
		t.Run(format, func(t *testing.T) {
			a := newAuthorizer(t, Options{Invoker: answering(policyAnswer(allow, ctxJSON)), PayloadFormat: format, Response: ResponsePolicy})
			r, err := a.Authorize(context.Background(), request("tok", getARN))
			if err != nil {
				t.Fatalf("Authorize: %v", err)
			}
			if r.PrincipalID != "user-7" {
				t.Errorf("PrincipalID = %q", r.PrincipalID)
			}
			wantV2 := `{"lambda":{"user":"u-1","n":1.50,"ok":true,"nothing":null,"roles":["a","b"],"obj":{"k":"v"},"principalId":"spoof"}}`
			if got := string(r.AppendV2(nil)); got != wantV2 {
				t.Errorf("AppendV2 =\n%s\nwant\n%s", got, wantV2)
			}
			wantV1 := `{"principalId":"user-7","n":"1.50","nothing":null,"obj":"{\"k\":\"v\"}","ok":"true","roles":"[\"a\",\"b\"]","user":"u-1","integrationLatency":12}`
			if got := string(r.AppendV1(nil, 12*time.Millisecond)); got != wantV1 {
				t.Errorf("AppendV1 =\n%s\nwant\n%s", got, wantV1)
			}
		})
	}
}

func TestMissingIdentityIs401WithoutInvoking(t *testing.T) {
	sources := []string{"$request.header.X-Token", "$request.querystring.tenant", "$stageVariables.realm"}
	vars := func(s auth.Source) []byte {
		if s.Kind == auth.FromStageVariable && s.Name == "realm" {
			return []byte("prod")
		}
		return nil
	}
	tests := []struct {
		name    string
		header  string
		query   string
		vars    func(auth.Source) []byte
		invoked bool
	}{
		{"all present", "tok", "?tenant=t1", vars, true},
		{"header missing", "", "?tenant=t1", vars, false},
		{"query missing", "tok", "", vars, false},
		{"query empty", "tok", "?tenant=", vars, false},
		{"stage variable unresolved", "tok", "?tenant=t1", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fn := answering(`{"isAuthorized":true}`)
			a := newAuthorizer(t, Options{Invoker: fn, IdentitySources: sources})
			r := request(tt.header, getARN)
			r.HTTP.SetRequestURI("/pets/1" + tt.query)
			r.Vars = tt.vars
			_, err := a.Authorize(context.Background(), r)
			if tt.invoked {
				if err != nil || fn.calls.Load() != 1 {
					t.Fatalf("err %v, %d calls; want allowed after one call", err, fn.calls.Load())
				}
				if got, want := string(fn.payload), `{"version":"2.0","type":"REQUEST","identitySource":["tok","t1","prod"]}`; got != want {
					t.Fatalf("payload = %s, want %s", got, want)
				}
				return
			}
			if statusOf(err) != 401 || fn.calls.Load() != 0 {
				t.Fatalf("err %v, %d calls; want 401 without a call", err, fn.calls.Load())
			}
		})
	}
}

func TestDecisionCache(t *testing.T) {
	c := &clock{}
	fn := answering(policyAnswer(`[{"Action":"execute-api:Invoke","Effect":"Allow","Resource":"arn:aws:execute-api:*:*:api1/*/GET/*"}]`, `{"user":"u-1"}`))
	a := newAuthorizer(t, Options{Invoker: fn, PayloadFormat: "1.0", TTL: 300 * time.Second, Now: c.Now})
	ctx := context.Background()
	authorize := func(token, arn string) error {
		_, err := a.Authorize(ctx, request(token, arn))
		return err
	}
	for i := range 10 {
		if err := authorize("alice", getARN); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	if n := fn.calls.Load(); n != 1 {
		t.Fatalf("10 requests within the TTL invoked %d times, want 1", n)
	}
	// The cached policy is evaluated against each request's ARN.
	if err := authorize("alice", postARN); statusOf(err) != 403 {
		t.Fatalf("cached policy for another method: %v, want 403", err)
	}
	if n := fn.calls.Load(); n != 1 {
		t.Fatalf("a cached policy re-invoked the function: %d calls", n)
	}
	if err := authorize("bob", getARN); err != nil || fn.calls.Load() != 2 {
		t.Fatalf("another identity: %v, %d calls; want a second call", err, fn.calls.Load())
	}
	c.Advance(300 * time.Second)
	if err := authorize("alice", getARN); err != nil || fn.calls.Load() != 3 {
		t.Fatalf("after the TTL: %v, %d calls; want a third call", err, fn.calls.Load())
	}
}

func TestFailuresAreNotCached(t *testing.T) {
	fn := &fakeFunction{err: errors.New("throttled")}
	a := newAuthorizer(t, Options{Invoker: fn, TTL: time.Minute})
	for range 3 {
		if _, err := a.Authorize(context.Background(), request("tok", getARN)); statusOf(err) != 500 {
			t.Fatalf("err %v, want 500", err)
		}
	}
	if n := fn.calls.Load(); n != 3 {
		t.Fatalf("%d calls, want 3: failures must not be cached", n)
	}
}

func TestCacheKeysDoNotRunTogether(t *testing.T) {
	fn := answering(`{"isAuthorized":true}`)
	a := newAuthorizer(t, Options{Invoker: fn, TTL: time.Minute, IdentitySources: []string{"$request.header.A", "$request.header.B"}})
	for _, ab := range [][2]string{{"x,y", "z"}, {"x", "y,z"}, {"xy", "z"}, {"x", "yz"}} {
		r := request("", getARN)
		r.HTTP.Header.Set("A", ab[0])
		r.HTTP.Header.Set("B", ab[1])
		if _, err := a.Authorize(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	if n := fn.calls.Load(); n != 4 {
		t.Fatalf("4 distinct identities made %d calls, want 4", n)
	}
}

func TestWithoutTTLEveryRequestInvokes(t *testing.T) {
	fn := answering(`{"isAuthorized":true}`)
	a := newAuthorizer(t, Options{Invoker: fn})
	for range 5 {
		if _, err := a.Authorize(context.Background(), request("tok", getARN)); err != nil {
			t.Fatal(err)
		}
	}
	if n := fn.calls.Load(); n != 5 {
		t.Fatalf("%d calls, want 5", n)
	}
}

func TestConcurrentMissesShareOneInvocation(t *testing.T) {
	fn := answering(`{"isAuthorized":true,"context":{"u":1}}`)
	fn.delay = 50 * time.Millisecond
	a := newAuthorizer(t, Options{Invoker: fn, TTL: time.Minute})
	var wg sync.WaitGroup
	var failures atomic.Int32
	for range 10 {
		wg.Go(func() {
			if _, err := a.Authorize(context.Background(), request("same", getARN)); err != nil {
				failures.Add(1)
			}
		})
	}
	wg.Wait()
	if failures.Load() != 0 || fn.calls.Load() != 1 {
		t.Fatalf("%d failures, %d calls; want 0 and 1", failures.Load(), fn.calls.Load())
	}
}

func TestHTTPAuthorizer(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		delay  time.Duration
		want   int
		wantV2 string
	}{
		{"allow", 200, `{"isAuthorized":true,"context":{"tenant":"t1"}}`, 0, 0, `{"lambda":{"tenant":"t1"}}`},
		{"allow with 201", 201, `{"isAuthorized":true}`, 0, 0, `{"lambda":null}`},
		{"deny", 200, `{"isAuthorized":false}`, 0, 403, ""},
		{"401 answer", 401, ``, 0, 401, ""},
		{"403 answer", 403, ``, 0, 403, ""},
		{"server error", 500, `oops`, 0, 500, ""},
		{"garbage body", 200, `<html>`, 0, 500, ""},
		{"too slow", 200, `{"isAuthorized":true}`, time.Second, 500, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls atomic.Int32
			var gotMethod, gotType, gotBody atomic.Value
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				calls.Add(1)
				body, _ := io.ReadAll(r.Body)
				gotMethod.Store(r.Method)
				gotType.Store(r.Header.Get("Content-Type"))
				gotBody.Store(string(body))
				if tt.delay > 0 {
					select {
					case <-time.After(tt.delay):
					case <-r.Context().Done():
					}
				}
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.body)
			}))
			defer srv.Close()
			a := newAuthorizer(t, Options{URL: srv.URL + "/authorize", Timeout: 200 * time.Millisecond, TTL: time.Minute})
			r, _ := authorizeBounded(t, a, tt.want)
			if gotMethod.Load() != "POST" || gotType.Load() != "application/json" || gotBody.Load() != `{"version":"2.0","type":"REQUEST","identitySource":["tok"]}` {
				t.Fatalf("server saw %v %v %v", gotMethod.Load(), gotType.Load(), gotBody.Load())
			}
			if tt.want == 0 {
				if got := string(r.AppendV2(nil)); got != tt.wantV2 {
					t.Fatalf("AppendV2 = %s, want %s", got, tt.wantV2)
				}
				if _, err := a.Authorize(context.Background(), request("tok", getARN)); err != nil || calls.Load() != 1 {
					t.Fatalf("repeat: %v, %d calls; want the cached decision", err, calls.Load())
				}
			}
		})
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	fn := answering(`{}`)
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"no target", Options{}, "needs a function or a URL"},
		{"both targets", Options{Invoker: fn, URL: "http://127.0.0.1:1"}, "not both"},
		{"unknown payload format", Options{Invoker: fn, PayloadFormat: "3.0"}, "payload format"},
		{"simple responses with 1.0", Options{Invoker: fn, PayloadFormat: "1.0", Response: ResponseSimple}, "simple responses"},
		{"ttl above an hour", Options{Invoker: fn, TTL: 2 * time.Hour, IdentitySources: []string{"$request.header.A"}}, "ttl"},
		{"negative ttl", Options{Invoker: fn, TTL: -time.Second, IdentitySources: []string{"$request.header.A"}}, "ttl"},
		{"ttl without identity sources", Options{Invoker: fn, TTL: time.Minute, IdentitySources: []string{}}, "identity source"},
		{"bad identity source", Options{Invoker: fn, IdentitySources: []string{"header.A"}}, "identity source"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(tt.opts); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestGlob(t *testing.T) {
	tests := []struct {
		pattern, s string
		fold       bool
		want       bool
	}{
		{"*", "", false, true},
		{"*", "anything/at/all", false, true},
		{"abc", "abc", false, true},
		{"abc", "abd", false, false},
		{"a*c", "abbbc", false, true},
		{"a*c", "abbbd", false, false},
		{"a*b*c", "a-b-b-c", false, true},
		{"a?c", "abc", false, true},
		{"a?c", "ac", false, false},
		{"*/GET/*", "api/prod/GET/pets/1", false, true},
		{"*/GET/*", "api/prod/POST/GET", false, false},
		{"ABC", "abc", false, false},
		{"ABC", "abc", true, true},
		{"ab**", "ab", false, true},
		{"", "a", false, false},
	}
	for _, tt := range tests {
		if got := glob(tt.pattern, tt.s, tt.fold); got != tt.want {
			t.Errorf("glob(%q, %q, %v) = %v, want %v", tt.pattern, tt.s, tt.fold, got, tt.want)
		}
	}
}

func TestCachedDecisionDoesNotAllocate(t *testing.T) {
	fn := answering(policyAnswer(`[{"Action":"execute-api:Invoke","Effect":"Allow","Resource":"arn:aws:execute-api:*:*:api1/*/GET/*"}]`, `{"user":"u-1"}`))
	a := newAuthorizer(t, Options{Invoker: fn, PayloadFormat: "1.0", TTL: time.Minute})
	r := request("alice", getARN)
	ctx := context.Background()
	if _, err := a.Authorize(ctx, r); err != nil {
		t.Fatal(err)
	}
	if allocs := testing.AllocsPerRun(100, func() { _, _ = a.Authorize(ctx, r) }); allocs != 0 {
		t.Fatalf("cached Authorize allocates %.1f times, want 0", allocs)
	}
}

func BenchmarkAuthorizeCached(b *testing.B) {
	fn := answering(policyAnswer(`[{"Action":"execute-api:Invoke","Effect":"Allow","Resource":"arn:aws:execute-api:*:*:api1/*/GET/*"}]`, `{"user":"u-1"}`))
	a := newAuthorizer(b, Options{Invoker: fn, PayloadFormat: "1.0", TTL: time.Minute})
	r := request("Bearer some-opaque-token-of-typical-length-0123456789", getARN)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := a.Authorize(ctx, r); err != nil {
			b.Fatal(err)
		}
	}
}
