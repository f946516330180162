package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/frontdeskgw/frontdesk/config"
)

// cpCall is one raw control-plane call, signed as the SDKs sign.
type cpCall struct {
	method, path string
	body         []byte
	keyID        string // default cpKeyID
	secret       string // default cpSecret
	at           time.Time
	unsigned     bool
}

type cpAnswer struct {
	status  int
	errType string
	body    []byte
}

func (c *cpServer) call(t *testing.T, k cpCall) cpAnswer {
	t.Helper()
	a, err := c.send(k)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// send is call for goroutines: it reports what went wrong.
func (c *cpServer) send(k cpCall) (cpAnswer, error) {
	req, err := http.NewRequest(k.method, "http://"+c.admin+k.path, bytes.NewReader(k.body))
	if err != nil {
		return cpAnswer{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	if !k.unsigned {
		if k.keyID == "" {
			k.keyID = cpKeyID
		}
		if k.secret == "" {
			k.secret = cpSecret
		}
		if k.at.IsZero() {
			k.at = time.Now()
		}
		sum := sha256.Sum256(k.body)
		creds := aws.Credentials{AccessKeyID: k.keyID, SecretAccessKey: k.secret}
		if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), "apigateway", "eu-west-1", k.at); err != nil {
			return cpAnswer{}, err
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return cpAnswer{}, fmt.Errorf("%s %s: %w", k.method, k.path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return cpAnswer{resp.StatusCode, resp.Header.Get("x-amzn-ErrorType"), b}, nil
}

// must is call for a setup step that has to succeed; it decodes the
// answer into out.
func (c *cpServer) must(t *testing.T, method, path, body string, out any) {
	t.Helper()
	a := c.call(t, cpCall{method: method, path: path, body: []byte(body)})
	if a.status/100 != 2 {
		t.Fatalf("%s %s: %d %s", method, path, a.status, a.body)
	}
	if out != nil {
		if err := json.Unmarshal(a.body, out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, a.body)
		}
	}
}

func TestControlPlaneRefusesBadCallsWithAWSErrorsAndChangesNothing(t *testing.T) {
	c := startControlPlane(t, t.TempDir(), cpConfig)
	up := nameEcho(t, "up")
	var api struct{ ApiID string }
	c.must(t, "POST", "/v2/apis", `{"name":"demo","protocolType":"HTTP"}`, &api)
	var in struct{ IntegrationID string }
	c.must(t, "POST", "/v2/apis/"+api.ApiID+"/integrations", `{"integrationType":"HTTP_PROXY","integrationUri":"http://`+up+`/x","integrationMethod":"GET"}`, &in)
	c.must(t, "POST", "/v2/apis/"+api.ApiID+"/routes", `{"routeKey":"GET /dup","target":"integrations/`+in.IntegrationID+`"}`, nil)
	c.must(t, "POST", "/v2/apis/"+api.ApiID+"/stages", `{"stageName":"prod","autoDeploy":true}`, nil)

	state := func() string {
		b, err := os.ReadFile(c.srv.Config().Admin.StateFile)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	before := state()
	served := func() string { r := c.get(t, api.ApiID, "/prod/dup"); return r.body }
	if got := served(); got != "up /x" {
		t.Fatalf("setup: served %q", got)
	}
	routes := "/v2/apis/" + api.ApiID + "/routes"
	junk := bytes.Repeat([]byte("\x00junk\xff"), 1_000_000/6)
	for _, tc := range []struct {
		name    string
		call    cpCall
		status  int
		errType string
		message string
	}{
		{"an unknown API id", cpCall{method: "GET", path: "/v2/apis/zzzzzzzzzz"}, 404, "NotFoundException", "Invalid API identifier"},
		{"an unknown route id", cpCall{method: "PATCH", path: routes + "/zzzzzzz", body: []byte(`{"routeKey":"GET /b"}`)}, 404, "NotFoundException", "Invalid Route identifier"},
		{"an unknown usage plan", cpCall{method: "GET", path: "/usageplans/zzzzzz"}, 404, "NotFoundException", "Invalid Usage Plan ID"},
		{"an unknown API key", cpCall{method: "DELETE", path: "/apikeys/zzzzzzzzzz"}, 404, "NotFoundException", "Invalid API Key identifier"},
		{"a route key with an open brace", cpCall{method: "POST", path: routes, body: []byte(`{"routeKey":"GET /a/{b"}`)}, 400, "BadRequestException", "Invalid route key"},
		{"a route key without a path", cpCall{method: "POST", path: routes, body: []byte(`{"routeKey":"GET"}`)}, 400, "BadRequestException", "Invalid route key"},
		{"a duplicate route key", cpCall{method: "POST", path: routes, body: []byte(`{"routeKey":"GET /dup"}`)}, 409, "ConflictException", "already exists"},
		{"a target that names no integration", cpCall{method: "POST", path: routes, body: []byte(`{"routeKey":"GET /t","target":"integrations/zzzzzzz"}`)}, 400, "BadRequestException", "Invalid target"},
		{"a Lambda integration whose function is not configured", cpCall{method: "POST", path: "/v2/apis/" + api.ApiID + "/integrations",
			body: []byte(`{"integrationType":"AWS_PROXY","integrationUri":"arn:aws:lambda:eu-west-1:123456789012:function:missing"}`)}, 400, "BadRequestException", `no function named "missing"`},
		{"an HTTP integration whose URI is not a URL", cpCall{method: "POST", path: "/v2/apis/" + api.ApiID + "/integrations",
			body: []byte(`{"integrationType":"HTTP_PROXY","integrationUri":"not a url"}`)}, 400, "BadRequestException", "url"},
		{"mapping templates on an HTTP API's integration", cpCall{method: "POST", path: "/v2/apis/" + api.ApiID + "/integrations",
			body: []byte(`{"integrationType":"HTTP_PROXY","integrationUri":"http://` + up + `/y","requestTemplates":{"$default":"{}"}}`)}, 400, "BadRequestException", "supported only for WebSocket APIs"},
		{"an integration response on an HTTP API", cpCall{method: "POST", path: "/v2/apis/" + api.ApiID + "/integrations/" + in.IntegrationID + "/integrationresponses",
			body: []byte(`{"integrationResponseKey":"$default"}`)}, 400, "BadRequestException", "supported only for WebSocket APIs"},
		{"an unknown integration response id", cpCall{method: "GET", path: "/v2/apis/" + api.ApiID + "/integrations/" + in.IntegrationID + "/integrationresponses/zzzzzz"}, 404, "NotFoundException", "Invalid IntegrationResponse identifier"},
		{"integration responses of an unknown integration", cpCall{method: "GET", path: "/v2/apis/" + api.ApiID + "/integrations/zzzzzzz/integrationresponses"}, 404, "NotFoundException", "Invalid Integration identifier"},
		{"a stage name AWS refuses", cpCall{method: "POST", path: "/v2/apis/" + api.ApiID + "/stages", body: []byte(`{"stageName":"no spaces"}`)}, 400, "BadRequestException", "Invalid stage name"},
		{"a change to an API of the file", cpCall{method: "POST", path: "/v2/apis/" + config.APIID("keyed") + "/routes", body: []byte(`{"routeKey":"GET /x"}`)}, 400, "BadRequestException", "config file"},
		{"a body that is not JSON", cpCall{method: "POST", path: "/v2/apis", body: []byte(`{"name": "x",`)}, 400, "BadRequestException", "Could not parse request body into json"},
		{"1 MB of junk", cpCall{method: "POST", path: "/v2/apis", body: junk}, 400, "BadRequestException", "Could not parse request body into json"},
		{"a MaxResults out of range", cpCall{method: "GET", path: "/v2/apis?maxResults=0"}, 400, "BadRequestException", "MaxResults"},
		{"a wrong signature", cpCall{method: "POST", path: "/v2/apis", body: []byte(`{"name":"x","protocolType":"HTTP"}`), secret: "not-the-secret"}, 403, "InvalidSignatureException", "signature we calculated does not match"},
		{"an expired signature", cpCall{method: "POST", path: "/v2/apis", body: []byte(`{"name":"x","protocolType":"HTTP"}`), at: time.Now().Add(-10 * time.Minute)}, 403, "InvalidSignatureException", "Signature expired"},
		{"an unknown access key", cpCall{method: "POST", path: "/v2/apis", body: []byte(`{"name":"x","protocolType":"HTTP"}`), keyID: "AKIDNOTKNOWN"}, 403, "UnrecognizedClientException", "security token"},
		{"no signature", cpCall{method: "POST", path: "/v2/apis", body: []byte(`{"name":"x","protocolType":"HTTP"}`), unsigned: true}, 403, "MissingAuthenticationTokenException", "Missing Authentication Token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := c.call(t, tc.call)
			var msg struct{ Message string }
			if err := json.Unmarshal(a.body, &msg); err != nil {
				t.Fatalf("body is not AWS's error JSON: %v: %s", err, a.body)
			}
			if a.status != tc.status || a.errType != tc.errType || !strings.Contains(msg.Message, tc.message) {
				t.Fatalf("answered %d %s %q; want %d %s containing %q", a.status, a.errType, msg.Message, tc.status, tc.errType, tc.message)
			}
			if after := state(); after != before {
				t.Fatalf("the state file changed:\n%s\nwas\n%s", after, before)
			}
			if got := served(); got != "up /x" {
				t.Fatalf("the data plane changed: %q", got)
			}
		})
	}
}

func TestGetAPIsPagesWithNextToken(t *testing.T) {
	c := startControlPlane(t, t.TempDir(), cpConfig)
	want := map[string]bool{config.APIID("keyed"): true}
	for _, name := range []string{"a", "b", "c", "d"} {
		var api struct{ ApiID string }
		c.must(t, "POST", "/v2/apis", `{"name":"`+name+`","protocolType":"HTTP"}`, &api)
		want[api.ApiID] = true
	}
	got := map[string]bool{}
	token := ""
	for pages := 0; ; pages++ {
		if pages > len(want) {
			t.Fatalf("more pages than APIs; seen %v", got)
		}
		var page struct {
			Items     []struct{ ApiID string }
			NextToken string
		}
		c.must(t, "GET", "/v2/apis?maxResults=2&nextToken="+url.QueryEscape(token), "", &page)
		if len(page.Items) > 2 {
			t.Fatalf("page of %d items", len(page.Items))
		}
		for _, a := range page.Items {
			if got[a.ApiID] {
				t.Fatalf("%s listed twice", a.ApiID)
			}
			got[a.ApiID] = true
		}
		if token = page.NextToken; token == "" {
			break
		}
	}
	if len(got) != len(want) {
		t.Fatalf("listed %v, want %v", got, want)
	}
	for id := range want {
		if !got[id] {
			t.Fatalf("%s not listed", id)
		}
	}
}

func TestWithoutCredentialsTheControlPlaneServesLoopbackOnlyAndSaysSo(t *testing.T) {
	file := filepath.Join(t.TempDir(), "frontdesk.yaml")
	if err := os.WriteFile(file, []byte("apis:\n  a:\n    integrations: {m: {type: mock}}\n    routes: {\"GET /\": {integration: m}}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, _, err := config.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Admin.Listen = "127.0.0.1:0"
	logs := &syncBuffer{}
	s, err := New(cfg, slog.New(slog.NewTextHandler(logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	aln, _ := net.Listen("tcp", "127.0.0.1:0")
	s.UseListener(ln)
	s.UseAdminListener(aln)
	go s.Serve() //nolint:errcheck // ends at cleanup
	t.Cleanup(func() { s.http.Shutdown(); s.admin.Shutdown() })
	c := &cpServer{data: ln.Addr().String(), admin: aln.Addr().String()}
	var list struct{ Items []struct{ Name string } }
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(logs.String(), "loopback addresses only"); {
		if time.Now().After(deadline) {
			t.Fatalf("no start-up line says the control plane is loopback-only:\n%s", logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	a := c.call(t, cpCall{method: "GET", path: "/v2/apis", unsigned: true})
	if a.status != 200 || json.Unmarshal(a.body, &list) != nil || len(list.Items) != 1 || list.Items[0].Name != "a" {
		t.Fatalf("an unsigned loopback call: %d %s", a.status, a.body)
	}
}

func TestTooManyCallsAnswerTooManyRequestsException(t *testing.T) {
	c := startControlPlane(t, t.TempDir(), cpConfig)
	for i := 0; i < 1000; i++ {
		a := c.call(t, cpCall{method: "GET", path: "/v2/apis"})
		if a.status == 429 {
			if a.errType != "TooManyRequestsException" {
				t.Fatalf("429 with error type %q", a.errType)
			}
			return
		}
		if a.status != 200 {
			t.Fatalf("call %d: %d %s", i, a.status, a.body)
		}
	}
	t.Fatal("1000 calls in a row were all served")
}
