package server

import (
	"context"
	"testing"
	"time"

	"github.com/frontdeskgw/frontdesk/internal/redistest"
)

// startRedis runs redis-server on a loopback port until the test ends,
// and returns its URL.
func startRedis(t *testing.T) string {
	t.Helper()
	return redistest.Start(t).URL()
}

// startClusterInstance is startControlPlane with cluster.redis set, and a
// full Shutdown at the end (which stops following the shared state).
func startClusterInstance(t *testing.T, redisURL string) *cpServer {
	t.Helper()
	c := startControlPlane(t, t.TempDir(), cpConfig+"cluster:\n  redis: \""+redisURL+"\"\n")
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = c.srv.Shutdown(ctx)
	})
	return c
}

func TestClusterARouteCreatedOnOneInstanceAnswersOnAnotherWithinASecond(t *testing.T) {
	url := startRedis(t)
	a, b := startClusterInstance(t, url), startClusterInstance(t, url)
	up := nameEcho(t, "up")
	var api struct{ ApiID string }
	a.must(t, "POST", "/v2/apis", `{"name":"shared","protocolType":"HTTP"}`, &api)
	base := "/v2/apis/" + api.ApiID
	var in struct{ IntegrationID string }
	a.must(t, "POST", base+"/integrations", `{"integrationType":"HTTP_PROXY","integrationUri":"http://`+up+`/c","integrationMethod":"GET"}`, &in)
	a.must(t, "POST", base+"/stages", `{"stageName":"$default","autoDeploy":true}`, nil)
	a.must(t, "POST", base+"/routes", `{"routeKey":"GET /c","target":"integrations/`+in.IntegrationID+`"}`, nil)
	created := time.Now()
	for {
		r := b.get(t, api.ApiID, "/c")
		if r.status == 200 && r.body == "up /c" {
			break
		}
		if time.Since(created) > time.Second {
			t.Fatalf("instance B still answers %d %q a second after instance A created the route", r.status, r.body)
		}
		time.Sleep(20 * time.Millisecond)
	}
	var list struct{ Items []struct{ ApiID string } }
	b.must(t, "GET", "/v2/apis", "", &list)
	found := false
	for _, x := range list.Items {
		found = found || x.ApiID == api.ApiID
	}
	if !found {
		t.Fatalf("instance B does not list the API: %+v", list.Items)
	}

	// A change made on B is served on A, and an instance started later
	// serves everything at once.
	var key struct{ ID string }
	b.must(t, "POST", "/apikeys", `{"name":"from-b","value":"from-instance-b-0123456789"}`, &key)
	for start := time.Now(); ; {
		if r := a.call(t, cpCall{method: "GET", path: "/apikeys/" + key.ID}); r.status == 200 {
			break
		}
		if time.Since(start) > time.Second {
			t.Fatal("instance A does not know the key created on B after a second")
		}
		time.Sleep(20 * time.Millisecond)
	}
	c := startClusterInstance(t, url)
	if r := c.get(t, api.ApiID, "/c"); r.status != 200 || r.body != "up /c" {
		t.Fatalf("an instance started later answers %d %q", r.status, r.body)
	}
}

func TestClusterARESTAPIImportedOnOneInstanceAnswersOnAnotherWithinASecond(t *testing.T) {
	url := startRedis(t)
	a, b := startClusterInstance(t, url), startClusterInstance(t, url)
	up := nameEcho(t, "U")
	var rest struct{ ID string }
	a.must(t, "POST", "/restapis?mode=import", restDoc(up), &rest)
	a.must(t, "POST", "/restapis/"+rest.ID+"/deployments", `{"stageName":"prod"}`, nil)
	deployed := time.Now()
	for {
		r := b.get(t, rest.ID, "/prod/up")
		if r.status == 200 && r.body == "U /up" {
			break
		}
		if time.Since(deployed) > time.Second {
			t.Fatalf("instance B still answers %d %q a second after instance A deployed the REST API", r.status, r.body)
		}
		time.Sleep(20 * time.Millisecond)
	}
	var got struct{ Name string }
	b.must(t, "GET", "/restapis/"+rest.ID, "", &got)
	if got.Name != "pets" {
		t.Fatalf("instance B's get-rest-api: %+v", got)
	}
}
