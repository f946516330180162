package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/frontdeskgw/frontdesk/config"
	"github.com/frontdeskgw/frontdesk/internal/redistest"
	"github.com/valyala/fasthttp"
)

const clusterConfig = `
cluster:
  redis: "{{REDIS}}"
  instance_id: "{{ID}}"
  sync_interval: 50ms
api_keys:
  - {name: metered, value: "metered-key-0123456789abcdef", plan: metered}
usage_plans:
  metered: {quota: {limit: 1000, period: month}, apis: [a]}
apis:
  a:
    integrations: {m: {type: mock, body: ok}}
    routes:
      "GET /limited": {integration: m, throttle: {rate: 100, burst: 20}}
      "GET /metered": {integration: m, api_key: true}
`

// instance is one gateway of a test cluster.
type instance struct {
	s    *Server
	base string // host:port
	done chan struct{}
}

// startInstance serves a cluster member named id on a loopback port the
// OS picks.
func startInstance(t *testing.T, r *redistest.Server, id, src string) *instance {
	t.Helper()
	src = strings.NewReplacer("{{REDIS}}", r.URL(), "{{ID}}", id).Replace(src)
	cfg, _, err := config.Parse("cluster.yaml", []byte(src), os.LookupEnv)
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	s, err := New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.UseListener(ln)
	in := &instance{s: s, base: ln.Addr().String(), done: make(chan struct{})}
	go func() {
		defer close(in.done)
		s.Serve() //nolint:errcheck // ends at stop
	}()
	t.Cleanup(in.stop)
	deadline := time.Now().Add(10 * time.Second)
	for !s.cluster.Up() {
		if time.Now().After(deadline) {
			t.Fatalf("instance %s never reached redis", id)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return in
}

// stop shuts the instance down as a deploy would: drain, give back.
func (in *instance) stop() {
	select {
	case <-in.done:
		return
	default:
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	in.s.Shutdown(ctx) //nolint:errcheck // best effort in cleanup
	<-in.done
}

// load is what a hammer saw.
type load struct {
	status    map[int]int
	latencies []time.Duration
}

func (l *load) admitted() int { return l.status[200] }

func (l *load) fivexx() int {
	n := 0
	for s, c := range l.status {
		if s >= 500 {
			n += c
		}
	}
	return n
}

func (l *load) p(q float64) time.Duration {
	if len(l.latencies) == 0 {
		return 0
	}
	s := slices.Clone(l.latencies)
	slices.Sort(s)
	return s[min(len(s)-1, int(q*float64(len(s))))]
}

// hammerInstances sends GET path with headers from workers goroutines per
// instance until d has passed or stop says so.
func hammerInstances(t *testing.T, ins []*instance, workers int, d time.Duration, path string, headers ...string) *load {
	t.Helper()
	client := &fasthttp.Client{MaxConnsPerHost: 64, ReadTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second}
	var mu sync.Mutex
	l := &load{status: map[int]int{}}
	var failed atomic.Int64
	var wg sync.WaitGroup
	end := time.Now().Add(d)
	for _, in := range ins {
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
				defer fasthttp.ReleaseRequest(req)
				defer fasthttp.ReleaseResponse(resp)
				req.SetRequestURI("http://" + in.base + path)
				for i := 0; i+1 < len(headers); i += 2 {
					req.Header.Set(headers[i], headers[i+1])
				}
				local := map[int]int{}
				var lat []time.Duration
				for time.Now().Before(end) {
					start := time.Now()
					if err := client.Do(req, resp); err != nil {
						failed.Add(1)
						continue
					}
					lat = append(lat, time.Since(start))
					local[resp.StatusCode()]++
				}
				mu.Lock()
				for s, n := range local {
					l.status[s] += n
				}
				l.latencies = append(l.latencies, lat...)
				mu.Unlock()
			}()
		}
	}
	wg.Wait()
	if n := failed.Load(); n > 0 {
		t.Errorf("%d requests failed at the transport", n)
	}
	return l
}

// A route throttle {rate: 100, burst: 20} hammered through three
// instances admits burst + rate × t in total, within ±10%, as one gateway
// would. The run is 4 s to keep the suite short.
func TestClusterThrottleAcrossThreeInstancesAdmitsBurstPlusRateTimesT(t *testing.T) {
	r := redistest.Start(t)
	ins := make([]*instance, 3)
	for i := range ins {
		ins[i] = startInstance(t, r, fmt.Sprintf("edge-%d", i), clusterConfig)
	}
	const d = 4 * time.Second
	start := time.Now()
	l := hammerInstances(t, ins, 2, d, "/limited")
	el := time.Since(start).Seconds()
	want := 20 + 100*el
	t.Logf("admitted %d in %.2fs through 3 instances (want %.0f ±10%%); statuses %v; p99 %v", l.admitted(), el, want, l.status, l.p(0.99))
	if got := float64(l.admitted()); got < 0.9*want || got > 1.1*want {
		t.Fatalf("admitted %d, want within ±10%% of %.0f", l.admitted(), want)
	}
	if l.fivexx() > 0 || l.status[429] == 0 {
		t.Fatalf("statuses %v: want only 200 and 429", l.status)
	}
}

// A quota of 1,000 hammered through three instances admits between 990
// and 1,000, and after every instance is restarted not one more in the
// same period.
func TestClusterQuotaExactAcrossThreeInstancesAndRestarts(t *testing.T) {
	r := redistest.Start(t)
	key := []string{"x-api-key", "metered-key-0123456789abcdef"}
	ins := make([]*instance, 3)
	for i := range ins {
		ins[i] = startInstance(t, r, fmt.Sprintf("edge-%d", i), clusterConfig)
	}
	l := hammerInstances(t, ins, 2, 3*time.Second, "/metered", key...)
	t.Logf("first run: statuses %v", l.status)
	if n := l.admitted(); n < 990 || n > 1000 {
		t.Fatalf("admitted %d, want 990..1000", n)
	}
	if l.fivexx() > 0 {
		t.Fatalf("statuses %v: 5xx", l.status)
	}
	for _, in := range ins {
		in.stop()
	}
	for i := range ins {
		ins[i] = startInstance(t, r, fmt.Sprintf("edge-%d-restarted", i), clusterConfig)
	}
	l = hammerInstances(t, ins, 2, time.Second, "/metered", key...)
	if n := l.admitted(); n != 0 || l.status[429] == 0 {
		t.Fatalf("after restarting every instance: statuses %v, want only 429", l.status)
	}
	// The usage report is cluster-wide.
	res := do(t, "GET", "http://"+ins[0].base+"/metered", nil, key...)
	if res.status != 429 || !strings.Contains(res.body, "Limit Exceeded") {
		t.Fatalf("quota refusal: %d %q", res.status, res.body)
	}
	// The tallies too, once a refresh has read them back.
	deadline := time.Now().Add(5 * time.Second)
	for {
		u := ins[1].s.KeyUsage(time.Now())
		if len(u) == 1 && u[0].QuotaUsed >= 990 && u[0].QuotaLeft <= 10 && u[0].Admitted >= 990 && u[0].Throttled > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("usage on a restarted instance: %+v", u)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Redis stopped and restarted during a load through two instances: no
// request fails with a 5xx, requests are not slowed by it, and the quota
// total stays within its bound afterwards.
func TestClusterSurvivesRedisStoppedDuringLoad(t *testing.T) {
	r := redistest.Start(t)
	key := []string{"x-api-key", "metered-key-0123456789abcdef"}
	ins := []*instance{startInstance(t, r, "edge-a", clusterConfig), startInstance(t, r, "edge-b", clusterConfig)}
	before := hammerInstances(t, ins, 2, time.Second, "/limited")
	var during *load
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		during = hammerInstances(t, ins, 2, 6*time.Second, "/limited")
	}()
	var quota *load
	wg.Add(1)
	go func() {
		defer wg.Done()
		quota = hammerInstances(t, ins, 1, 6*time.Second, "/metered", key...)
	}()
	time.Sleep(500 * time.Millisecond) // into the load
	r.Stop()
	down := time.Now()
	for ins[0].s.cluster.Up() || ins[1].s.cluster.Up() {
		if time.Since(down) > 5*time.Second {
			t.Fatal("instances never noticed redis was down")
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(3 * time.Second) // the outage
	r.Restart()
	wg.Wait()
	for _, in := range ins {
		for !in.s.cluster.Up() {
			if time.Since(down) > 20*time.Second {
				t.Fatal("instances never reconnected")
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	t.Logf("before: p99 %v; during: statuses %v p99 %v max %v; quota statuses %v",
		before.p(0.99), during.status, during.p(0.99), during.p(1), quota.status)
	if during.fivexx() > 0 || quota.fivexx() > 0 {
		t.Fatalf("5xx during the outage: %v %v", during.status, quota.status)
	}
	if during.p(0.99) > before.p(0.99)+100*time.Millisecond {
		t.Fatalf("p99 %v during the outage against %v before: redis is on the request path", during.p(0.99), before.p(0.99))
	}
	if quota.admitted() > 1000 {
		t.Fatalf("quota admitted %d of 1000", quota.admitted())
	}
	for _, in := range ins {
		in.stop()
	}
	used, err := r.Do("KEYS", "fd:q:*")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("quota keys after: %s", used)
}

// GET /cluster on the admin API lists the live instances with the hash of
// the config each runs.
func TestClusterStatusListsInstancesWithConfigHash(t *testing.T) {
	r := redistest.Start(t)
	a := startInstance(t, r, "edge-a", clusterConfig)
	b := startInstance(t, r, "edge-b", clusterConfig)
	deadline := time.Now().Add(5 * time.Second)
	for {
		st, err := a.s.ClusterStatus(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		j, _ := json.Marshal(st)
		var got struct {
			Instances []struct {
				ID   string
				Info map[string]string
			}
		}
		json.Unmarshal(j, &got) //nolint:errcheck
		if len(got.Instances) == 2 {
			if got.Instances[0].Info["config_hash"] == "" || got.Instances[0].Info["config_hash"] != got.Instances[1].Info["config_hash"] {
				t.Fatalf("config hashes differ for one config: %s", j)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("status never listed both: %s", j)
		}
		time.Sleep(20 * time.Millisecond)
	}
	var m strings.Builder
	b.s.WriteMetrics(&m)
	for _, want := range []string{"frontdesk_cluster_redis_up 1", "frontdesk_cluster_instances 2", "frontdesk_cluster_sync_lag_seconds "} {
		if !strings.Contains(m.String(), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if st := b.s.ClusterState(); st != "redis up" {
		t.Errorf("readiness note %q", st)
	}
	r.Stop()
	deadline = time.Now().Add(5 * time.Second)
	for b.s.ClusterState() != "redis down: shared state per on_redis_down" {
		if time.Now().After(deadline) {
			t.Fatalf("readiness note %q after redis stopped", b.s.ClusterState())
		}
		time.Sleep(10 * time.Millisecond)
	}
	m.Reset()
	b.s.WriteMetrics(&m)
	if !strings.Contains(m.String(), "frontdesk_cluster_redis_up 0") {
		t.Errorf("metrics say redis is up after it stopped")
	}
}

// A Redis that hangs (stopped with SIGSTOP: connections open, no answer)
// during a load through two instances is the worst case of a slow Redis:
// requests keep being answered at their usual latency, none with a 5xx,
// and the quota stays within its bound.
func TestClusterAnswersWhileRedisHangs(t *testing.T) {
	r := redistest.Start(t)
	key := []string{"x-api-key", "metered-key-0123456789abcdef"}
	ins := []*instance{startInstance(t, r, "edge-a", clusterConfig), startInstance(t, r, "edge-b", clusterConfig)}
	before := hammerInstances(t, ins, 2, time.Second, "/limited")
	var during, quota *load
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); during = hammerInstances(t, ins, 2, 4*time.Second, "/limited") }()
	go func() { defer wg.Done(); quota = hammerInstances(t, ins, 1, 4*time.Second, "/metered", key...) }()
	time.Sleep(500 * time.Millisecond) // into the load
	r.Pause()
	hung := time.Now()
	for ins[0].s.cluster.Up() {
		if time.Since(hung) > 10*time.Second {
			r.Resume()
			t.Fatal("instance never noticed redis hung")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if lag := ins[0].s.cluster.SyncLag(); lag < 100*time.Millisecond {
		t.Errorf("sync lag %v while redis hangs", lag)
	}
	time.Sleep(time.Second)
	r.Resume()
	wg.Wait()
	t.Logf("before: p99 %v; hung: statuses %v p99 %v max %v; quota %v", before.p(0.99), during.status, during.p(0.99), during.p(1), quota.status)
	if during.fivexx() > 0 || quota.fivexx() > 0 {
		t.Fatalf("5xx while redis hung: %v %v", during.status, quota.status)
	}
	if during.p(0.99) > before.p(0.99)+100*time.Millisecond {
		t.Fatalf("p99 %v while redis hung against %v before", during.p(0.99), before.p(0.99))
	}
	if quota.admitted() > 1000 {
		t.Fatalf("quota admitted %d of 1000", quota.admitted())
	}
}

// The config hash names the file's content, not what differs between
// instances by design.
func TestConfigHashIgnoresInstanceIDAndListenAddresses(t *testing.T) {
	parse := func(src string) *config.Config {
		c, _, err := config.Parse("f.yaml", []byte(src), os.LookupEnv)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	base := "cluster: {redis: \"redis://127.0.0.1:6379\", instance_id: %s}\nserver: {listen: \"127.0.0.1:%s\"}\napis:\n  a:\n    integrations: {m: {type: mock, body: %s}}\n    routes: {\"GET /\": {integration: m}}\n"
	a := ConfigHash(parse(fmt.Sprintf(base, "one", "8080", "v1")))
	b := ConfigHash(parse(fmt.Sprintf(base, "two", "8081", "v1")))
	c := ConfigHash(parse(fmt.Sprintf(base, "one", "8080", "v2")))
	if a != b {
		t.Errorf("same file on two instances: %s vs %s", a, b)
	}
	if a == c {
		t.Errorf("a changed route answer kept the hash %s", a)
	}
}

// An instance starts and serves while its Redis cannot be reached:
// throttles decide locally, quotas fail closed (429 Limit Exceeded), and
// /metrics says Redis is down.
func TestClusterInstanceServesWhileRedisIsUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close() // nothing listens there now
	src := strings.NewReplacer("{{REDIS}}", "redis://"+dead+"/0", "{{ID}}", "edge-alone").Replace(clusterConfig)
	cfg, _, err := config.Parse("cluster.yaml", []byte(src), os.LookupEnv)
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	gl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.UseListener(gl)
	go s.Serve() //nolint:errcheck // ends at cleanup
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.Shutdown(ctx) //nolint:errcheck
	})
	base := "http://" + gl.Addr().String()
	if r := do(t, "GET", base+"/limited", nil); r.status != 200 {
		t.Fatalf("throttled route without redis: %d %s", r.status, r.body)
	}
	if r := do(t, "GET", base+"/metered", nil, "x-api-key", "metered-key-0123456789abcdef"); r.status != 429 || !strings.Contains(r.body, "Limit Exceeded") {
		t.Fatalf("quota without redis: %d %s, want 429 Limit Exceeded", r.status, r.body)
	}
	var m strings.Builder
	s.WriteMetrics(&m)
	if !strings.Contains(m.String(), "frontdesk_cluster_redis_up 0") {
		t.Fatal("metrics do not say redis is down")
	}
}
