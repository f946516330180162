package host

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/frontdeskgw/frontdesk/lambda"
)

type ran struct {
	o  outcome
	st runState
}

// runWarm runs inv on a warm apiInstance whose runtime has not asked for
// an event yet, and waits until the event is pending.
func runWarm(t *testing.T, inst *instance, inv *invocation) <-chan ran {
	t.Helper()
	inst.timer = time.NewTimer(time.Hour)
	out := make(chan ran, 1)
	go func() {
		o, st := inst.run(inv, false)
		out <- ran{o, st}
	}()
	waitFor(t, func() bool { return len(inst.pending) == 1 }, "the event to wait for GET /next")
	return out
}

func finished(t *testing.T, out <-chan ran) ran {
	t.Helper()
	select {
	case r := <-out:
		return r
	case <-time.After(5 * time.Second):
		t.Fatal("run did not return")
		return ran{}
	}
}

func TestAPendingEventIsTakenByTheNextGETNext(t *testing.T) {
	inst := apiInstance(t)
	inv := namedInvocation([]byte(`{"n":1}`))
	out := runWarm(t, inst, inv)

	ctx := call(inst, "GET", "/2018-06-01/runtime/invocation/next", nil)
	if got := string(ctx.Response.Header.Peek("Lambda-Runtime-Aws-Request-Id")); got != inv.id {
		t.Fatalf("GET /next got request %q, want %q", got, inv.id)
	}
	if string(ctx.Response.Body()) != `{"n":1}` {
		t.Errorf("event = %s", ctx.Response.Body())
	}
	call(inst, "POST", "/2018-06-01/runtime/invocation/"+inv.id+"/response", []byte(`"ok"`))
	r := finished(t, out)
	if r.st != keep || r.o.err != nil || string(r.o.res.Payload) != `"ok"` {
		t.Errorf("run = %+v, %v; want the result and the instance kept", r.o, r.st)
	}
}

// The function's timeout counts from when its runtime takes the event, as
// the deadline it is given says, not from when the event began to wait.
func TestTheFunctionTimeoutRunsFromWhenTheEventIsTaken(t *testing.T) {
	inst := apiInstance(t)
	inst.f.cfg.Timeout = time.Second
	inv := namedInvocation([]byte(`{}`))
	out := runWarm(t, inst, inv)

	time.Sleep(500 * time.Millisecond)
	taken := time.Now()
	ctx := call(inst, "GET", "/2018-06-01/runtime/invocation/next", nil)
	ms, err := strconv.ParseInt(string(ctx.Response.Header.Peek("Lambda-Runtime-Deadline-Ms")), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	if d := time.UnixMilli(ms).Sub(taken); d < 900*time.Millisecond || d > 1100*time.Millisecond {
		t.Errorf("deadline %s after the event was taken, want the 1s timeout", d)
	}
	// Past a second since the event waited, within one since it was taken.
	time.Sleep(700 * time.Millisecond)
	call(inst, "POST", "/2018-06-01/runtime/invocation/"+inv.id+"/response", []byte(`"late but in time"`))
	if r := finished(t, out); r.st != keep || r.o.err != nil {
		t.Errorf("run = %+v, %v; want the result", r.o, r.st)
	}
}

func TestAPendingEventNobodyTakesTimesOut(t *testing.T) {
	inst := apiInstance(t)
	inst.f.cfg.Timeout = 200 * time.Millisecond
	out := runWarm(t, inst, namedInvocation([]byte(`{}`)))
	r := finished(t, out)
	if r.st != discard || !errors.Is(r.o.err, lambda.ErrTimeout) || !strings.Contains(r.o.err.Error(), "did not take the next event") {
		t.Errorf("run = %v, %v; want a timeout for an event not taken, the instance discarded", r.o.err, r.st)
	}
	if len(inst.pending) != 0 {
		t.Error("the event is still pending on a discarded instance")
	}
}

// An instance that exits before its runtime took the event never ran it:
// the invocation is retried on a fresh instance (notDelivered), as when a
// warm instance is found dead.
func TestAPendingEventOfAnInstanceThatExitedIsRetried(t *testing.T) {
	inst := apiInstance(t)
	out := runWarm(t, inst, namedInvocation([]byte(`{}`)))
	inst.exitDesc = "exit status 2"
	close(inst.exited)
	if r := finished(t, out); r.st != notDelivered {
		t.Errorf("run = %+v, %v; want notDelivered", r.o, r.st)
	}
}
