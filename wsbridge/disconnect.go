package wsbridge

import (
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"sync"
	"time"

	"github.com/frontdeskgw/frontdesk/lambda"
	"github.com/valyala/fasthttp"
)

// $disconnect delivery. When many clients leave at once (a network
// blip, a deploy of the clients, the gateway's own shutdown) their
// DISCONNECT events reach the backend in a burst; a backend that misses
// one keeps a dead connection id for good. So the events wait in a
// bounded queue, a bounded number of workers deliver them, and a call
// that fails in a way worth repeating is retried with back-off.
const (
	// disconnectWorkers bounds the $disconnect calls in flight, so that a
	// burst leaves most of the backend pool (DefaultBackendMaxConns) to
	// $connect and message calls. Workers exist only while the queue has
	// something in it.
	disconnectWorkers = 256
	// disconnectAttempts bounds the calls made for one event; between
	// them the worker waits disconnectBackoff, doubling up to
	// disconnectMaxBackoff, with jitter: about 11 s from the first call
	// to the last.
	disconnectAttempts   = 8
	disconnectBackoff    = 100 * time.Millisecond
	disconnectMaxBackoff = 5 * time.Second
	// disconnectDrain is how long Close lets queued events wait for the
	// backend; after it, what is still queued is dropped and nothing is
	// retried, so a dead backend cannot hold a shutdown up.
	disconnectDrain = 10 * time.Second
)

// disconnectJob is one DISCONNECT event waiting for the backend. Its
// request id and time are fixed when the connection ends, so a retried
// event is the same event (a backend can tell a repeat by requestId).
type disconnectJob struct {
	c      *conn
	code   int
	reason string
	at     time.Time
	rid    [requestIDLen]byte
}

// disconnectQueue is a FIFO of jobs with no backing array while empty.
type disconnectQueue struct {
	mu      sync.Mutex
	jobs    []disconnectJob
	workers int
	// stop is closed when Close has waited disconnectDrain: queued jobs
	// are then dropped and failed calls not retried.
	stop chan struct{}
}

func (q *disconnectQueue) stopped() bool {
	select {
	case <-q.stop:
		return true
	default:
		return false
	}
}

// queueDisconnect hands c's DISCONNECT event to the workers. It takes
// over the wait-group count the connection held: the count is released
// once the event has been delivered or given up.
func (b *Bridge) queueDisconnect(c *conn, code int, reason string) {
	if b.s.disconnect == nil {
		b.wg.Done()
		return
	}
	j := disconnectJob{c: c, code: code, reason: reason, at: time.Now()}
	appendRequestID(j.rid[:0])
	q := &b.dq
	q.mu.Lock()
	if len(q.jobs) >= b.s.disconnectQ {
		q.mu.Unlock()
		b.st.disconnectsDropped.Add(1)
		b.s.log.Warn("$disconnect queue full: event dropped", "connectionId", c.id, "queue", b.s.disconnectQ)
		b.wg.Done()
		return
	}
	q.jobs = append(q.jobs, j)
	start := q.workers < b.s.disconnectWorkers
	if start {
		q.workers++
	}
	q.mu.Unlock()
	if start {
		go b.disconnectWorker()
	}
}

// disconnectWorker delivers queued events until the queue is empty.
func (b *Bridge) disconnectWorker() {
	q := &b.dq
	for {
		q.mu.Lock()
		if len(q.jobs) == 0 {
			q.workers--
			q.mu.Unlock()
			return
		}
		j := q.jobs[0]
		q.jobs[0] = disconnectJob{}
		q.jobs = q.jobs[1:]
		if len(q.jobs) == 0 {
			q.jobs = nil
		}
		q.mu.Unlock()
		b.deliverDisconnect(&j)
		b.wg.Done()
	}
}

// deliverDisconnect calls the $disconnect backend until it takes the
// event: a call that failed (transport error, timeout, a Lambda
// function's error) or was answered 429, 502, 503 or 504 is made again
// after a back-off, at most disconnectAttempts times in all. Any other
// answer is the backend's: like API Gateway, the bridge ignores it.
func (b *Bridge) deliverDisconnect(j *disconnectJob) {
	backoff := b.s.disconnectBackoff
	for attempt := 1; ; attempt++ {
		if b.dq.stopped() {
			b.dropDisconnect(j, attempt-1, errors.New("gateway shutting down"))
			return
		}
		err := b.callDisconnect(j)
		if err == nil {
			return
		}
		if attempt == disconnectAttempts {
			b.dropDisconnect(j, attempt, err)
			return
		}
		b.s.log.Debug("$disconnect backend failed, will retry", "connectionId", j.c.id, "attempt", attempt, "err", err)
		// Jitter spreads the retries of a burst that failed together.
		t := time.NewTimer(backoff/2 + mrand.N(backoff/2+1))
		select {
		case <-t.C:
		case <-b.dq.stop:
			t.Stop()
		}
		backoff = min(2*backoff, disconnectMaxBackoff)
	}
}

func (b *Bridge) dropDisconnect(j *disconnectJob, attempts int, err error) {
	b.st.disconnectsDropped.Add(1)
	b.s.log.Warn("$disconnect event dropped", "connectionId", j.c.id, "attempts", attempts, "err", err)
}

// callDisconnect makes one $disconnect call and returns an error when it
// is worth making again. Like API Gateway it reports a few headers: here
// the Host.
func (b *Bridge) callDisconnect(j *disconnectJob) error {
	in := b.event(j.c, lambda.WSDisconnect, RouteDisconnect, j.rid[:], j.at)
	in.DisconnectStatusCode = j.code
	in.DisconnectReason = []byte(j.reason)
	req := fasthttp.AcquireRequest()
	defer fasthttp.ReleaseRequest(req)
	req.Header.SetHostBytes(j.c.host)
	in.Req = req
	reply, err := b.call(b.s.disconnect.Backend, &in, j.c.id)
	if err != nil {
		return err
	}
	switch reply.Status {
	case fasthttp.StatusTooManyRequests, fasthttp.StatusBadGateway, fasthttp.StatusServiceUnavailable, fasthttp.StatusGatewayTimeout:
		return fmt.Errorf("wsbridge: $disconnect backend answered %d", reply.Status)
	}
	return nil
}
