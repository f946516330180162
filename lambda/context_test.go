package lambda

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestContextExpiresAtItsDeadline(t *testing.T) {
	c := NewContext()
	before := time.Now()
	c.Arm(before, 50*time.Millisecond, "")
	if d, ok := c.Deadline(); !ok || d.Sub(before) < 50*time.Millisecond || d.Sub(before) > time.Second {
		t.Errorf("Deadline = %v, %v; want about 50ms from Arm", d.Sub(before), ok)
	}
	if c.Err() != nil {
		t.Fatalf("Err before the deadline = %v", c.Err())
	}
	select {
	case <-c.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("Done did not close at the deadline")
	}
	if !errors.Is(c.Err(), context.DeadlineExceeded) {
		t.Errorf("Err = %v, want context.DeadlineExceeded", c.Err())
	}
}

// A Context that ran out of time serves the next invocation with a fresh
// deadline and an open Done.
func TestARearmedContextIsLiveAgain(t *testing.T) {
	c := NewContext()
	c.Arm(time.Now(), time.Millisecond, "")
	<-c.Done()
	c.Disarm()
	c.Arm(time.Now(), time.Hour, "")
	select {
	case <-c.Done():
		t.Fatal("Done closed after Arm")
	default:
	}
	if c.Err() != nil {
		t.Errorf("Err = %v after Arm", c.Err())
	}
}

// A firing meant for an earlier deadline, already running when Disarm
// stopped its timer, leaves the re-armed Context alone.
func TestALateFiringClosesNothing(t *testing.T) {
	c := NewContext()
	c.Arm(time.Now(), time.Hour, "")
	c.expire()
	if c.Err() != nil {
		t.Errorf("Err = %v after a firing before the deadline", c.Err())
	}
}

func TestDisarmStopsTheDeadline(t *testing.T) {
	c := NewContext()
	c.Arm(time.Now(), 20*time.Millisecond, "")
	c.Disarm()
	time.Sleep(100 * time.Millisecond)
	if c.Err() != nil {
		t.Errorf("Err = %v after Disarm", c.Err())
	}
}

func TestContextCarriesTheTraceHeaderOfItsInvocation(t *testing.T) {
	c := NewContext()
	const h = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
	c.Arm(time.Now(), time.Hour, h)
	if got := TraceHeader(c); got != h {
		t.Errorf("TraceHeader = %q, want %q", got, h)
	}
	if got, _ := c.Value(traceHeaderKey{}).(string); got != h {
		t.Errorf("Value = %q, want %q", got, h)
	}
	if v := c.Value("other"); v != nil {
		t.Errorf("Value(other key) = %v", v)
	}
	c.Disarm()
	c.Arm(time.Now(), time.Hour, "")
	if got := TraceHeader(c); got != "" {
		t.Errorf("TraceHeader after Arm without one = %q", got)
	}
	if v := c.Value(traceHeaderKey{}); v != nil {
		t.Errorf("Value after Arm without a trace header = %v", v)
	}
}

func TestArmingAContextAllocatesNothing(t *testing.T) {
	c := NewContext()
	allocs := testing.AllocsPerRun(100, func() {
		c.Arm(time.Now(), time.Hour, "Root=1-5759e988-bd862e3fe1be46a994272793")
		_ = TraceHeader(c)
		_, _ = c.Deadline()
		_ = c.Done()
		_ = c.Err()
		c.Disarm()
	})
	if allocs != 0 {
		t.Errorf("%v allocations per invocation, want 0", allocs)
	}
}

func TestAContextDerivedFromOneKeepsItsTraceHeader(t *testing.T) {
	c := NewContext()
	c.Arm(time.Now(), time.Hour, "Root=1-5759e988-bd862e3fe1be46a994272793")
	derived, cancel := context.WithCancel(c)
	defer cancel()
	if got := TraceHeader(derived); got != "Root=1-5759e988-bd862e3fe1be46a994272793" {
		t.Errorf("TraceHeader(derived) = %q", got)
	}
	if got := TraceHeader(context.Background()); got != "" {
		t.Errorf("TraceHeader(Background) = %q", got)
	}
}
