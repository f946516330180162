package lambda

import (
	"context"
	"sync"
	"time"
)

// Context is the context of one invocation at a time — a deadline and the
// trace header (see TraceHeader) — armed again for each, so that an
// invocation allocates no context: context.WithTimeout allocates the
// context, its Done channel and its timer every time. Done closes when the
// deadline passes, and stays closed until the next Arm.
//
// Arm it before Invoke and Disarm it once Invoke returned; it is not
// armed again while an invocation still runs with it. Invokers do not keep
// their context after Invoke returns, and a late reader of a re-armed
// Context sees the new invocation's values, never a torn one.
type Context struct {
	mu       sync.Mutex
	deadline time.Time
	trace    string
	done     chan struct{}
	expired  bool
	timer    *time.Timer
}

var _ context.Context = (*Context)(nil)

// NewContext returns a disarmed Context.
func NewContext() *Context {
	c := &Context{done: make(chan struct{})}
	c.timer = time.AfterFunc(time.Hour, c.expire)
	c.timer.Stop()
	return c
}

// Arm starts an invocation's deadline, timeout from now (the caller's
// clock reading, which it also times the invocation with), with trace as
// its trace header ("" for none).
func (c *Context) Arm(now time.Time, timeout time.Duration, trace string) {
	c.mu.Lock()
	if c.expired {
		// The last invocation ran out of time and closed the channel.
		c.done = make(chan struct{})
		c.expired = false
	}
	c.deadline = now.Add(timeout)
	c.trace = trace
	c.mu.Unlock()
	c.timer.Reset(timeout)
}

// Disarm ends the invocation's deadline.
func (c *Context) Disarm() {
	c.timer.Stop()
}

// expire closes Done when the deadline has passed. A firing meant for an
// earlier arming, which started before Disarm stopped it, comes before the
// current deadline and closes nothing.
func (c *Context) expire() {
	c.mu.Lock()
	if !c.expired && !time.Now().Before(c.deadline) {
		c.expired = true
		close(c.done)
	}
	c.mu.Unlock()
}

// Deadline is the armed deadline.
func (c *Context) Deadline() (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.deadline, true
}

// Done closes when the deadline passes.
func (c *Context) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.done
}

// Err is context.DeadlineExceeded once the deadline passed, else nil.
func (c *Context) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.expired {
		return context.DeadlineExceeded
	}
	return nil
}

// Value answers TraceHeader's key; a Context carries no other values.
func (c *Context) Value(key any) any {
	if _, ok := key.(traceHeaderKey); !ok {
		return nil
	}
	if h := c.traceHeader(); h != "" {
		return h
	}
	return nil
}

func (c *Context) traceHeader() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.trace
}
