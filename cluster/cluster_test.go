package cluster

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/frontdeskgw/frontdesk/internal/redistest"
	"github.com/frontdeskgw/frontdesk/limiter"
)

func newCluster(t *testing.T, addr, id string, mod func(*Options)) *Cluster {
	t.Helper()
	o := Options{Addrs: []string{addr}, InstanceID: id, SyncInterval: 20 * time.Millisecond,
		Info: func() map[string]string { return map[string]string{"config_hash": "h-" + id} }}
	if mod != nil {
		mod(&o)
	}
	c, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	c.Start()
	t.Cleanup(c.Close)
	return c
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// hammer calls take from n goroutines until d has passed and returns how
// many it admitted.
func hammer(n int, d time.Duration, take func(i int) bool) int64 {
	var admitted atomic.Int64
	var wg sync.WaitGroup
	end := time.Now().Add(d)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(end) {
				if take(i) {
					admitted.Add(1)
				}
				time.Sleep(100 * time.Microsecond)
			}
		}()
	}
	wg.Wait()
	return admitted.Load()
}

func TestThrottleSharedByInstancesAdmitsAboutBurstPlusRateTimesT(t *testing.T) {
	r := redistest.Start(t)
	lim := limiter.Limit{Rate: 100, Burst: 20}
	var sets []*limiter.Set
	for i := range 3 {
		c := newCluster(t, r.URL(), fmt.Sprintf("i%d", i), nil)
		s, _ := limiter.NewSet(lim, 1)
		c.AttachSet("api stage GET /x", s)
		sets = append(sets, s)
		waitFor(t, "redis up", 5*time.Second, c.Up)
	}
	const d = 3 * time.Second
	start := time.Now()
	got := hammer(3, d, func(i int) bool { return sets[i].Allow(1, time.Now().UnixNano()).Allowed })
	el := time.Since(start).Seconds()
	want := float64(lim.Burst) + lim.Rate*el
	t.Logf("admitted %d in %.2fs through 3 instances; burst+rate×t = %.0f", got, el, want)
	if f := float64(got); f < 0.9*want || f > 1.1*want {
		t.Fatalf("admitted %d, want within ±10%% of %.0f", got, want)
	}
}

func TestQuotaExactAcrossInstancesAndRestarts(t *testing.T) {
	r := redistest.Start(t)
	const limit = 300
	key := limiter.KeyString("customer")
	quotas := map[uint64]limiter.Quota{key: {Limit: limit, Period: limiter.Month}}
	run := func(tag string) (int64, []*Cluster) {
		var qs []*limiter.Quotas
		var cs []*Cluster
		for i := range 3 {
			c := newCluster(t, r.URL(), fmt.Sprintf("%s%d", tag, i), nil)
			q, _ := limiter.NewQuotas(quotas)
			c.AttachQuotas(q)
			qs = append(qs, q)
			cs = append(cs, c)
		}
		got := hammer(3, 2*time.Second, func(i int) bool {
			_, _, _, ok := qs[i].Take(key, time.Now())
			return ok
		})
		return got, cs
	}
	first, cs := run("a")
	t.Logf("first run admitted %d of %d", first, limit)
	if first > limit || first < limit*99/100 {
		t.Fatalf("admitted %d, want between %d and %d", first, limit*99/100, limit)
	}
	for _, c := range cs {
		c.Close()
	}
	again, _ := run("b")
	if again != 0 {
		t.Fatalf("after every instance restarted, %d more admitted in the same period", again)
	}
}

func TestStatusListsLiveInstancesWithTheirConfigHash(t *testing.T) {
	r := redistest.Start(t)
	a := newCluster(t, r.URL(), "edge-a", nil)
	b := newCluster(t, r.URL(), "edge-b", nil)
	waitFor(t, "two instances counted", 5*time.Second, func() bool { return a.Instances() == 2 && b.Instances() == 2 })
	st, err := a.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Instances) != 2 || st.Instances[0].ID != "edge-a" || st.Instances[1].Info["config_hash"] != "h-edge-b" {
		t.Fatalf("status = %+v", st)
	}
	b.Close()
	waitFor(t, "a closed instance leaves", 5*time.Second, func() bool { return a.Instances() == 1 })
}

func TestBusDeliversToEveryInstance(t *testing.T) {
	r := redistest.Start(t)
	var got [2]atomic.Value
	cs := make([]*Cluster, 2)
	for i := range cs {
		cs[i] = newCluster(t, r.URL(), fmt.Sprintf("b%d", i), nil)
		cs[i].Subscribe("flush", func(m []byte) { got[i].Store(string(m)) })
		waitFor(t, "redis up", 5*time.Second, cs[i].Up)
	}
	// A subscription may still be on its way: publish until both heard.
	waitFor(t, "both instances hear the broadcast", 5*time.Second, func() bool {
		if err := cs[0].Publish(context.Background(), "flush", []byte("route-1")); err != nil {
			t.Fatal(err)
		}
		return got[0].Load() == "route-1" && got[1].Load() == "route-1"
	})
}

func TestRedisDownQuotasFailClosedThenRecoverWithoutDoubleCounting(t *testing.T) {
	r := redistest.Start(t)
	key := limiter.KeyString("k")
	c := newCluster(t, r.URL(), "solo", nil)
	q, _ := limiter.NewQuotas(map[uint64]limiter.Quota{key: {Limit: 1000, Period: limiter.Day}})
	c.AttachQuotas(q)
	take := func() bool { _, _, _, ok := q.Take(key, time.Now()); return ok }
	waitFor(t, "a first unit reserved", 5*time.Second, take)
	r.Stop()
	waitFor(t, "redis seen down", 5*time.Second, func() bool { return !c.Up() })
	// Units reserved before the outage are spent, then fail closed.
	n := 0
	for take() {
		n++
		if n > 1000 {
			t.Fatal("quota admitted without bound while redis was down")
		}
	}
	if take() {
		t.Fatal("admitted with no units while redis was down")
	}
	r.Restart()
	waitFor(t, "redis seen up", 10*time.Second, c.Up)
	waitFor(t, "units reserved again", 5*time.Second, take)
	c.Close()
	used, err := r.Do("GET", c.quotaKey(key, limiter.Day, dayStart()))
	if err != nil {
		t.Fatal(err)
	}
	if used != fmt.Sprint(n+2) {
		t.Fatalf("shared counter %s after %d admitted; want exactly that", used, n+2)
	}
}

func TestRedisDownQuotasFailOpenAddWhatTheyAdmitted(t *testing.T) {
	r := redistest.Start(t)
	key := limiter.KeyString("k")
	c := newCluster(t, r.URL(), "solo", func(o *Options) { o.QuotasFailOpen = true })
	q, _ := limiter.NewQuotas(map[uint64]limiter.Quota{key: {Limit: 1000, Period: limiter.Day}})
	c.AttachQuotas(q)
	take := func() bool { _, _, _, ok := q.Take(key, time.Now()); return ok }
	waitFor(t, "a first unit reserved", 5*time.Second, take)
	r.Stop()
	waitFor(t, "redis seen down", 5*time.Second, func() bool { return !c.Up() })
	waitFor(t, "failing open", 5*time.Second, take)
	for range 10 {
		if !take() {
			t.Fatal("failing open refused")
		}
	}
	r.Restart()
	waitFor(t, "redis seen up", 10*time.Second, c.Up)
	c.Close()
	// 1 before the outage, at least 11 during it, and none since.
	used, err := r.Do("GET", c.quotaKey(key, limiter.Day, dayStart()))
	if err != nil {
		t.Fatal(err)
	}
	if used != "12" {
		t.Fatalf("shared counter %s, want the 12 admitted", used)
	}
}

func dayStart() time.Time {
	s, _ := limiter.Day.Bounds(time.Now())
	return s
}

// crash stops c as a killed process would: no give-back, no goodbye.
func crash(c *Cluster) {
	c.stopped.Do(func() {
		close(c.stop)
		c.subStop()
		c.wg.Wait()
		if cl := c.conn(); cl != nil {
			cl.Close()
		}
	})
}

func TestConnectionsOfACrashedInstanceAreGoneWithinTheTTL(t *testing.T) {
	r := redistest.Start(t)
	x := newCluster(t, r.URL(), "x", nil)
	y := newCluster(t, r.URL(), "y", nil)
	x.SetConnectionHandler(func(api, method, stage, id string, body []byte) (int, string, []byte) {
		return 200, "text/plain", []byte(method + " " + api + " " + id + " " + string(body))
	})
	waitFor(t, "both up", 5*time.Second, func() bool { return x.Up() && y.Up() })
	x.Connections("chat").Owned("conn-1", time.Now(), "192.0.2.7", "test-agent")
	key := x.connKey("chat", "conn-1")
	waitFor(t, "the entry written", 5*time.Second, func() bool { v, _ := r.Do("GET", key); return parseEntry(v).Owner == "x" })
	// Subscriptions may still be on their way: retry until forwarded.
	var st int
	var body []byte
	waitFor(t, "a call forwarded to the owner", 5*time.Second, func() bool {
		var found bool
		st, _, body, found = y.Connections("chat").Forward("POST", "prod", "conn-1", []byte("hi"))
		return found
	})
	if st != 200 || string(body) != "POST chat conn-1 hi" {
		t.Fatalf("forwarded answer %d %q", st, body)
	}
	crash(x)
	if _, _, _, found := y.Connections("chat").Forward("POST", "prod", "conn-1", []byte("late")); found {
		t.Fatal("a crashed owner's connection was found")
	}
	// A GET is answered from the registry only while the owner's
	// heartbeat is fresh.
	waitFor(t, "GET to find the crashed owner's connection gone", x.instanceTTL()+2*forwardTimeout+time.Second, func() bool {
		_, _, _, found := y.Connections("chat").Forward("GET", "prod", "conn-1", nil)
		return !found
	})
	ttl, err := r.Do("PTTL", key)
	if err != nil {
		t.Fatal(err)
	}
	if ms, _ := strconv.Atoi(strings.TrimPrefix(ttl, ":")); ms <= 0 || ms > int(ConnTTL.Milliseconds()) {
		t.Fatalf("entry TTL %s ms, want it to expire within %v", ttl, ConnTTL)
	}
}

// An owner that lives but does not answer in time (its heartbeat is
// fresh) gets its connection described from the registry on a GET:
// connectedAt and identity, as GetConnection gives them.
func TestGetConnectionIsAnsweredFromTheRegistryWhileTheOwnerIsSlow(t *testing.T) {
	r := redistest.Start(t)
	x := newCluster(t, r.URL(), "x", nil)
	y := newCluster(t, r.URL(), "y", nil)
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	x.SetConnectionHandler(func(api, method, stage, id string, body []byte) (int, string, []byte) {
		select { // slower than any forward waits
		case <-release:
		case <-time.After(2 * forwardTimeout):
		}
		return 200, "application/json", []byte(`{"from":"owner"}`)
	})
	waitFor(t, "both up", 5*time.Second, func() bool { return x.Up() && y.Up() })
	at := time.Date(2026, 1, 2, 3, 4, 5, 678e6, time.UTC)
	x.Connections("chat").Owned("conn-1", at, "192.0.2.7", "test-agent/1.0")
	waitFor(t, "the entry written", 5*time.Second, func() bool { v, _ := r.Do("GET", x.connKey("chat", "conn-1")); return parseEntry(v).Owner == "x" })
	start := time.Now()
	st, ct, body, found := y.Connections("chat").Forward("GET", "prod", "conn-1", nil)
	if !found || st != 200 || ct != "application/json" {
		t.Fatalf("GET while the owner is slow: found %v, %d %s %s", found, st, ct, body)
	}
	if want := `{"connectedAt":"2026-01-02T03:04:05.678Z","identity":{"sourceIp":"192.0.2.7","userAgent":"test-agent/1.0"}}`; string(body) != want {
		t.Fatalf("GET from the registry: %s, want %s", body, want)
	}
	if el := time.Since(start); el < forwardTimeout {
		t.Fatalf("answered from the registry after %v, before the owner had its chance (%v)", el, forwardTimeout)
	}
	// A POST cannot be done from the registry: the owner must send it.
	if _, _, _, found := y.Connections("chat").Forward("POST", "prod", "conn-1", []byte("x")); found {
		t.Fatal("a POST to a slow owner's connection was taken as delivered")
	}
}

// On a Redis Cluster of three shards, given as seeds, throttles, quotas,
// the instance list and the bus work as on one server: every key is
// hash-tagged, so each lives on one shard.
func TestOnRedisClusterThrottlesQuotasStatusAndBusWork(t *testing.T) {
	nodes := redistest.StartCluster(t, 3)
	seeds := []string{nodes[0].Addr(), nodes[1].Addr(), "redis://" + nodes[2].Addr()}
	mk := func(id string) *Cluster {
		o := Options{Addrs: seeds, InstanceID: id, SyncInterval: 20 * time.Millisecond}
		c, err := New(o)
		if err != nil {
			t.Fatal(err)
		}
		c.Start()
		t.Cleanup(c.Close)
		return c
	}
	a, b := mk("a"), mk("b")
	waitFor(t, "both up and counted", 10*time.Second, func() bool { return a.Instances() == 2 && b.Instances() == 2 })

	lim := limiter.Limit{Rate: 100, Burst: 20}
	sa, _ := limiter.NewSet(lim, 100)
	sb, _ := limiter.NewSet(lim, 100)
	a.AttachSet("route", sa)
	b.AttachSet("route", sb)
	const d = 2 * time.Second
	start := time.Now()
	// Many client keys, so the buckets spread over every shard.
	got := hammer(2, d, func(i int) bool {
		s := sa
		if i == 1 {
			s = sb
		}
		return s.Allow(uint64(time.Now().UnixNano()%16)+1, time.Now().UnixNano()).Allowed
	})
	want := 16 * (float64(lim.Burst) + lim.Rate*time.Since(start).Seconds())
	t.Logf("16 keys through 2 instances: %d admitted, one gateway would admit %.0f", got, want)
	if f := float64(got); f < 0.85*want || f > 1.15*want {
		t.Fatalf("admitted %d, want about %.0f", got, want)
	}

	keys := map[uint64]limiter.Quota{}
	for i := range 8 {
		keys[limiter.KeyString(fmt.Sprint("key", i))] = limiter.Quota{Limit: 50, Period: limiter.Day}
	}
	qa, _ := limiter.NewQuotas(keys)
	qb, _ := limiter.NewQuotas(keys)
	a.AttachQuotas(qa)
	b.AttachQuotas(qb)
	var ks []uint64
	for k := range keys {
		ks = append(ks, k)
	}
	admitted := hammer(2, 2*time.Second, func(i int) bool {
		q := qa
		if i == 1 {
			q = qb
		}
		_, _, _, ok := q.Take(ks[time.Now().UnixNano()%int64(len(ks))], time.Now())
		return ok
	})
	if admitted > 8*50 || admitted < 8*50*95/100 {
		t.Fatalf("8 quotas of 50 admitted %d in total", admitted)
	}

	st, err := a.Status(context.Background())
	if err != nil || len(st.Instances) != 2 {
		t.Fatalf("status %+v %v", st, err)
	}
	var heard atomic.Value
	b.Subscribe("t", func(m []byte) { heard.Store(string(m)) })
	waitFor(t, "a broadcast heard across the cluster", 5*time.Second, func() bool {
		_ = a.Publish(context.Background(), "t", []byte("x"))
		return heard.Load() == "x"
	})
}

// Through a Sentinel URL the client finds the primary and shares quotas
// there.
func TestThroughSentinelQuotasAreShared(t *testing.T) {
	primary := redistest.Start(t)
	sentinel := redistest.StartSentinel(t, primary)
	key := limiter.KeyString("k")
	var qs []*limiter.Quotas
	for _, id := range []string{"a", "b"} {
		c := newCluster(t, "redis-sentinel://"+sentinel+"/mymaster", id, nil)
		waitFor(t, "up through sentinel", 10*time.Second, c.Up)
		q, _ := limiter.NewQuotas(map[uint64]limiter.Quota{key: {Limit: 100, Period: limiter.Day}})
		c.AttachQuotas(q)
		qs = append(qs, q)
	}
	got := hammer(2, time.Second, func(i int) bool { _, _, _, ok := qs[i].Take(key, time.Now()); return ok })
	if got > 100 || got < 99 {
		t.Fatalf("a quota of 100 admitted %d through sentinel", got)
	}
	used, err := primary.Do("GET", "fd:q:{"+fmt.Sprintf("%016x", key)+"}:day:"+fmt.Sprint(dayStart().Unix()))
	if err != nil || used == "" {
		t.Fatalf("counter on the primary: %q %v", used, err)
	}
}

// A key busier than one block per Redis round trip is not refused while
// its quota has room: its reservation grows with its demand past
// MaxBlock, up to a thousandth of a large quota. Here 100,000 requests a
// second through one instance whose Redis is 20 ms away: blocks of 1,000
// would supply at most 50,000 a second.
func TestABusyKeyIsNotRefusedWhileItsLargeQuotaHasRoom(t *testing.T) {
	r := redistest.Start(t)
	p := redistest.StartProxy(t, r)
	p.SetLatency(10 * time.Millisecond)
	key := limiter.KeyString("busy")
	c := newCluster(t, p.URL(), "busy", nil)
	q, _ := limiter.NewQuotas(map[uint64]limiter.Quota{key: {Limit: 1_000_000_000_000, Period: limiter.Month}})
	c.AttachQuotas(q)
	const perMs = 100
	var admitted, refused int64
	start := time.Now()
	for sent := 0; time.Since(start) < 2*time.Second; {
		due := int(time.Since(start)/time.Millisecond+1) * perMs
		for ; sent < due; sent++ {
			_, _, _, ok := q.Take(key, time.Now())
			switch {
			case time.Since(start) < time.Second: // the reservation grows from one unit
			case ok:
				admitted++
			default:
				refused++
			}
		}
		time.Sleep(time.Millisecond)
	}
	t.Logf("second second: %d admitted, %d refused", admitted, refused)
	if admitted == 0 || refused > admitted/1000 {
		t.Fatalf("%d admitted and %d refused with the quota nowhere near its limit", admitted, refused)
	}
}
