package server

import (
	"testing"
	"time"

	"github.com/frontdeskgw/frontdesk/internal/redistest"
)

const clusterCacheConfig = `
cluster:
  redis: "{{REDIS}}"
  instance_id: "{{ID}}"
  sync_interval: 50ms
apis:
  a:
    integrations: {m: {type: mock, body: cached}}
    routes:
      "GET /cached": {integration: m, cache: {ttl: 300s, invalidate: anyone}}
`

// An invalidation on instance B (Cache-Control: max-age=0 under the
// route's invalidate policy, or the admin flush) evicts the entry on A
// and C too.
func TestClusterCacheInvalidationReachesEveryInstance(t *testing.T) {
	r := redistest.Start(t)
	ins := make([]*instance, 3)
	for i, id := range []string{"edge-a", "edge-b", "edge-c"} {
		ins[i] = startInstance(t, r, id, clusterCacheConfig)
	}
	// Behind a load balancer every instance sees the same Host, which
	// is part of the key of an API without hosts.
	xcache := func(in *instance, headers ...string) string {
		return do(t, "GET", "http://"+in.base+"/cached", nil, append(headers, "Host", "api.example")...).header.Get("X-Cache")
	}
	warm := func() {
		for _, in := range ins {
			xcache(in)
			if got := xcache(in); got != "Hit" {
				t.Fatalf("second GET on %s: X-Cache %q, want Hit", in.base, got)
			}
		}
	}
	// waitMiss polls an instance until its entry is gone: a poll that
	// still hits leaves it in place, the first miss proves the eviction.
	waitMiss := func(in *instance, what string) {
		deadline := time.Now().Add(5 * time.Second)
		for xcache(in) != "Miss" {
			if time.Now().After(deadline) {
				t.Fatalf("%s: entry on %s never evicted", what, in.base)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}

	warm()
	if got := xcache(ins[1], "Cache-Control", "max-age=0"); got != "Refresh" {
		t.Fatalf("invalidating GET on B: X-Cache %q", got)
	}
	waitMiss(ins[0], "max-age=0 on B")
	waitMiss(ins[2], "max-age=0 on B")
	if got := xcache(ins[1]); got != "Hit" {
		t.Fatalf("B's own refreshed entry: X-Cache %q, want Hit", got)
	}

	warm()
	if err := ins[1].s.Cache().Flush(); err != nil {
		t.Fatal(err)
	}
	waitMiss(ins[0], "admin flush on B")
	waitMiss(ins[2], "admin flush on B")
}
