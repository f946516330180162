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

type connections struct {
	mu      sync.Mutex
	owned   map[string]bool // key → written to Redis yet
	gone    []string        // keys to delete
	pending map[uint64]chan wsReply
	rid     atomic.Uint64
	handler atomic.Pointer[ConnectionHandler]
	sem     chan struct{}
	kick    chan struct{}
}

func (c *Cluster) initConnections() {
	c.ws = &connections{owned: map[string]bool{}, pending: map[uint64]chan wsReply{},
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
func (r *Remote) Owned(id string) {
	w := r.c.ws
	w.mu.Lock()
	w.owned[r.c.connKey(r.api, id)] = false
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
	owner, err := cl.Do(ctx, cl.B().Get().Key(c.connKey(r.api, id)).Build()).ToString()
	if err != nil || owner == c.opt.InstanceID {
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
		c.log.Info("owner of a connection did not answer; treating it as gone", "connectionId", id, "owner", owner)
		return 0, "", nil, false
	}
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
	var set []string
	for k, written := range w.owned {
		if all || !written {
			set = append(set, k)
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
	for _, k := range set {
		cmds = append(cmds, cl.B().Set().Key(k).Value(c.opt.InstanceID).PxMilliseconds(ConnTTL.Milliseconds()).Build())
	}
	for _, k := range gone {
		cmds = append(cmds, cl.B().Del().Key(k).Build())
	}
	for i, r := range cl.DoMulti(ctx, cmds...) {
		if err := r.Error(); err != nil && firstErr == nil {
			firstErr = fmt.Errorf("connections: %w", err)
		} else if err == nil && i < len(set) {
			w.mu.Lock()
			if _, ok := w.owned[set[i]]; ok {
				w.owned[set[i]] = true
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
