package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/rueidis"
)

// WebSocket connections across instances. Each instance writes the
// connections it holds to Redis (connection id → owning instance) with a
// TTL it refreshes while they live, so a dead instance's entries vanish
// by themselves. An @connections call for an id held elsewhere is
// published on the owner's own pub/sub topic and answered on the caller's:
// request and reply, fire and forget, fits pub/sub (an instance that does
// not answer within forwardTimeout is treated as gone).

const (
	// ConnTTL is how long a connection entry outlives its owner's last
	// refresh; after it, any instance answers 410 for the id.
	ConnTTL = 15 * time.Second
	// connRefresh is how often an owner refreshes its entries.
	connRefresh = ConnTTL / 3
	// forwardTimeout bounds one forwarded @connections call.
	forwardTimeout = 2 * time.Second
	// MaxForwardsInFlight bounds the forwarded calls an owner runs at once;
	// more are answered 429 by the owner.
	MaxForwardsInFlight = 256
)

// ConnectionHandler runs a forwarded @connections call on this instance:
// api names the WebSocket API.
type ConnectionHandler func(api, method, stage, id string, body []byte) (status int, contentType string, respBody []byte)

type wsRequest struct {
	RID    uint64 `json:"rid"`
	From   string `json:"from"`
	API    string `json:"api"`
	Method string `json:"method"`
	Stage  string `json:"stage"`
	ID     string `json:"id"`
	Body   []byte `json:"body,omitempty"`
}

type wsReply struct {
	RID         uint64 `json:"rid"`
	Status      int    `json:"status"`
	ContentType string `json:"ct,omitempty"`
	Body        []byte `json:"body,omitempty"`
}

// entry is a connection's value in the registry: its owner, and what
// GetConnection tells of it, so another instance can describe it while
// the owner is slow to answer. An entry written by an older instance is
// the owner's id alone.
type entry struct {
	Owner       string `json:"o"`
	ConnectedAt int64  `json:"t"` // unix ms
	SourceIP    string `json:"ip,omitempty"`
	UserAgent   string `json:"ua,omitempty"`
}

func parseEntry(v string) entry {
	var e entry
	if len(v) > 0 && v[0] == '{' && json.Unmarshal([]byte(v), &e) == nil {
		return e
	}
	return entry{Owner: v}
}

// getConnection is GetConnection's answer from the registry: no
// lastActiveAt, which only the owner knows.
func (e entry) getConnection() []byte {
	b, _ := json.Marshal(struct {
		ConnectedAt string `json:"connectedAt"`
		Identity    struct {
			SourceIP  string `json:"sourceIp"`
			UserAgent string `json:"userAgent"`
		} `json:"identity"`
	}{ConnectedAt: time.UnixMilli(e.ConnectedAt).UTC().Format("2006-01-02T15:04:05.000Z"),
		Identity: struct {
			SourceIP  string `json:"sourceIp"`
			UserAgent string `json:"userAgent"`
		}{e.SourceIP, e.UserAgent}})
	return b
}

// owned is a connection held here: its registry value, and whether it is
// in Redis yet.
type owned struct {
	value   string
	written bool
}

type connections struct {
	mu      sync.Mutex
	owned   map[string]owned // key → entry
	gone    []string         // keys to delete
	pending map[uint64]chan wsReply
	rid     atomic.Uint64
	handler atomic.Pointer[ConnectionHandler]
	sem     chan struct{}
	kick    chan struct{}
}

func (c *Cluster) initConnections() {
	c.ws = &connections{owned: map[string]owned{}, pending: map[uint64]chan wsReply{},
		sem: make(chan struct{}, MaxForwardsInFlight), kick: make(chan struct{}, 1)}
	c.Subscribe("ws:"+c.opt.InstanceID, c.serveForwarded)
	c.Subscribe("wsreply:"+c.opt.InstanceID, c.takeReply)
}

// SetConnectionHandler is how forwarded @connections calls reach this
// instance's bridges.
func (c *Cluster) SetConnectionHandler(h ConnectionHandler) { c.ws.handler.Store(&h) }

func (c *Cluster) connKey(api, id string) string { return c.prefix + "ws:{" + api + ":" + id + "}" }

// Connections returns the wsbridge.Remote of WebSocket API api.
func (c *Cluster) Connections(api string) *Remote { return &Remote{c: c, api: api} }

// Remote is one WebSocket API's view of the connection registry; it
// implements wsbridge.Remote.
type Remote struct {
	c   *Cluster
	api string
}

// Owned records a connection held here; it is written in the background.
func (r *Remote) Owned(id string, connectedAt time.Time, sourceIP, userAgent string) {
	w := r.c.ws
	v, _ := json.Marshal(entry{Owner: r.c.opt.InstanceID, ConnectedAt: connectedAt.UnixMilli(), SourceIP: sourceIP, UserAgent: userAgent})
	w.mu.Lock()
	w.owned[r.c.connKey(r.api, id)] = owned{value: string(v)}
	w.mu.Unlock()
	kickConn(w)
}

// Released forgets a connection that ended here.
func (r *Remote) Released(id string) {
	w := r.c.ws
	k := r.c.connKey(r.api, id)
	w.mu.Lock()
	delete(w.owned, k)
	if len(w.gone) < 100_000 { // beyond, entries just expire
		w.gone = append(w.gone, k)
	}
	w.mu.Unlock()
	kickConn(w)
}

func kickConn(w *connections) {
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// Forward runs an @connections call on the instance owning id.
func (r *Remote) Forward(method, stage, id string, body []byte) (int, string, []byte, bool) {
	c := r.c
	cl := c.conn()
	if cl == nil {
		return 0, "", nil, false
	}
	ctx, cancel := context.WithTimeout(context.Background(), forwardTimeout)
	defer cancel()
	v, err := cl.Do(ctx, cl.B().Get().Key(c.connKey(r.api, id)).Build()).ToString()
	if err != nil {
		return 0, "", nil, false
	}
	e := parseEntry(v)
	owner := e.Owner
	if owner == c.opt.InstanceID {
		return 0, "", nil, false
	}
	req := wsRequest{RID: c.ws.rid.Add(1), From: c.opt.InstanceID, API: r.api, Method: method, Stage: stage, ID: id, Body: body}
	ch := make(chan wsReply, 1)
	c.ws.mu.Lock()
	c.ws.pending[req.RID] = ch
	c.ws.mu.Unlock()
	defer func() {
		c.ws.mu.Lock()
		delete(c.ws.pending, req.RID)
		c.ws.mu.Unlock()
	}()
	msg, _ := json.Marshal(req)
	if err := c.Publish(ctx, "ws:"+owner, msg); err != nil {
		return 0, "", nil, false
	}
	select {
	case rep := <-ch:
		return rep.Status, rep.ContentType, rep.Body, true
	case <-ctx.Done():
		// A GET is answered from the registry while the owner's
		// heartbeat says it lives: it is slow, not gone.
		if method == "GET" && e.ConnectedAt > 0 && c.alive(owner) {
			return 200, "application/json", e.getConnection(), true
		}
		c.log.Info("owner of a connection did not answer; treating it as gone", "connectionId", id, "owner", owner)
		return 0, "", nil, false
	}
}

// alive says whether instance id's last heartbeat is within the instance
// TTL.
func (c *Cluster) alive(id string) bool {
	cl := c.conn()
	if cl == nil {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout())
	defer cancel()
	seen, err := cl.Do(ctx, cl.B().Zscore().Key(c.instancesKey()).Member(id).Build()).AsFloat64()
	return err == nil && time.Since(time.UnixMilli(int64(seen))) < c.instanceTTL()
}

// serveForwarded runs a call another instance forwarded here.
func (c *Cluster) serveForwarded(msg []byte) {
	var req wsRequest
	if json.Unmarshal(msg, &req) != nil {
		return
	}
	h := c.ws.handler.Load()
	reply := func(rep wsReply) {
		rep.RID = req.RID
		b, _ := json.Marshal(rep)
		ctx, cancel := context.WithTimeout(context.Background(), forwardTimeout)
		defer cancel()
		if err := c.Publish(ctx, "wsreply:"+req.From, b); err != nil {
			c.log.Debug("reply to a forwarded call", "err", err)
		}
	}
	select {
	case c.ws.sem <- struct{}{}:
	default:
		go reply(wsReply{Status: 429, ContentType: "application/json", Body: []byte(`{"message":"Too Many Requests"}`)})
		return
	}
	go func() {
		defer func() { <-c.ws.sem }()
		if h == nil {
			reply(wsReply{Status: 410, ContentType: "application/json", Body: []byte(`{"message":"Gone"}`)})
			return
		}
		st, ct, body := (*h)(req.API, req.Method, req.Stage, req.ID, req.Body)
		reply(wsReply{Status: st, ContentType: ct, Body: body})
	}()
}

func (c *Cluster) takeReply(msg []byte) {
	var rep wsReply
	if json.Unmarshal(msg, &rep) != nil {
		return
	}
	c.ws.mu.Lock()
	ch := c.ws.pending[rep.RID]
	c.ws.mu.Unlock()
	if ch != nil {
		select {
		case ch <- rep:
		default:
		}
	}
}

// connLoop writes new entries at once, deletes ended ones, and refreshes
// every entry each connRefresh.
func (c *Cluster) connLoop() {
	defer c.wg.Done()
	t := time.NewTicker(connRefresh)
	defer t.Stop()
	for {
		all := false
		select {
		case <-c.stop:
			return
		case <-c.ws.kick:
		case <-t.C:
			all = true
		}
		if err := c.syncConnections(all); err != nil {
			c.markDown(err)
			// Try again soon rather than at the next refresh.
			time.AfterFunc(c.backoff(1), func() { kickConn(c.ws) })
		}
	}
}

func (c *Cluster) syncConnections(all bool) error {
	cl := c.conn()
	if cl == nil {
		return fmt.Errorf("connections: not connected")
	}
	w := c.ws
	w.mu.Lock()
	var set, values []string
	for k, o := range w.owned {
		if all || !o.written {
			set = append(set, k)
			values = append(values, o.value)
		}
	}
	gone := w.gone
	w.gone = nil
	w.mu.Unlock()
	if len(set) == 0 && len(gone) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout())
	defer cancel()
	var firstErr error
	cmds := make(rueidis.Commands, 0, len(set)+len(gone))
	for i, k := range set {
		cmds = append(cmds, cl.B().Set().Key(k).Value(values[i]).PxMilliseconds(ConnTTL.Milliseconds()).Build())
	}
	for _, k := range gone {
		cmds = append(cmds, cl.B().Del().Key(k).Build())
	}
	for i, r := range cl.DoMulti(ctx, cmds...) {
		if err := r.Error(); err != nil && firstErr == nil {
			firstErr = fmt.Errorf("connections: %w", err)
		} else if err == nil && i < len(set) {
			w.mu.Lock()
			if o, ok := w.owned[set[i]]; ok {
				o.written = true
				w.owned[set[i]] = o
			}
			w.mu.Unlock()
		}
	}
	if firstErr != nil {
		w.mu.Lock()
		w.gone = append(w.gone, gone...)
		w.mu.Unlock()
	}
	return firstErr
}

// releaseAll deletes this instance's entries at shutdown, so the others
// answer 410 at once rather than after ConnTTL.
func (c *Cluster) releaseAll() {
	w := c.ws
	w.mu.Lock()
	for k := range w.owned {
		w.gone = append(w.gone, k)
	}
	clear(w.owned)
	w.mu.Unlock()
	if err := c.syncConnections(false); err != nil {
		c.log.Debug("connection entries left to expire", "err", err)
	}
}
