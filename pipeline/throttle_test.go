package pipeline

import (
	"testing"
	"time"

	"github.com/frontdeskgw/frontdesk/exchange"
	"github.com/frontdeskgw/frontdesk/limiter"
	"github.com/frontdeskgw/frontdesk/registry"
	"github.com/valyala/fasthttp"
)

// spendOnly is the hot-path half of cluster mode: sets count their spend
// into a log no one drains here.
type spendOnly struct{ attached int }

func (s *spendOnly) AttachSet(_ string, set *limiter.Set) {
	s.attached++
	set.AttachSpend(limiter.NewSpendLog(limiter.DefaultMaxKeys))
}
func (*spendOnly) DetachSet(set *limiter.Set)     { set.AttachSpend(nil) }
func (*spendOnly) AttachQuotas(*limiter.Quotas)   {}
func (*spendOnly) DetachQuotas(q *limiter.Quotas) {}
func (*spendOnly) AttachUsage(*limiter.Usage)     {}
func (*spendOnly) DetachUsage(*limiter.Usage)     {}

func newThrottleStep(tb testing.TB, shared Shared, per Per) *Throttle {
	tb.Helper()
	st := &State{Shared: shared}
	g := registry.NewGen()
	st.Join(g)
	th, err := NewThrottle(st, g, ThrottleOptions{ID: "a $default GET /", Limit: limiter.Limit{Rate: 1e9, Burst: 1 << 20}, Per: per})
	if err != nil {
		tb.Fatal(err)
	}
	g.Commit()
	return th
}

func TestThrottleSetsAttachToTheSharedStateWhenThereIsOne(t *testing.T) {
	sh := &spendOnly{}
	th := newThrottleStep(t, sh, PerRoute)
	if sh.attached != 1 || th.set.Spend() == nil {
		t.Fatalf("the route's set was not attached (%d attached)", sh.attached)
	}
	if th := newThrottleStep(t, nil, PerRoute); th.set.Spend() != nil {
		t.Fatal("a set without shared state has a spend log")
	}
}

// The throttle step's decision, single instance and in cluster mode.
func BenchmarkThrottleStep(b *testing.B) {
	for _, c := range []struct {
		name   string
		shared Shared
		per    Per
	}{
		{"single/route", nil, PerRoute},
		{"single/client_ip", nil, PerClientIP},
		{"cluster/route", &spendOnly{}, PerRoute},
		{"cluster/client_ip", &spendOnly{}, PerClientIP},
	} {
		b.Run(c.name, func(b *testing.B) {
			th := newThrottleStep(b, c.shared, c.per)
			var ctx fasthttp.RequestCtx
			ex := &exchange.Exchange{Ctx: &ctx, Start: time.Now()}
			next := exchange.Then(nil, nop{})
			b.ReportAllocs()
			for b.Loop() {
				th.Handle(ex, next)
			}
		})
	}
}
