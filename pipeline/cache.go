package pipeline

import (
	"bytes"
	"context"
	"github.com/frontdeskgw/frontdesk/exchange"
	"sync"
	"time"

	"github.com/frontdeskgw/frontdesk/cache"
	"github.com/frontdeskgw/frontdesk/internal/ascii"
)

// Invalidate says who may refresh a cached entry with
// "Cache-Control: max-age=0".
type Invalidate uint8

// Invalidation policies (route cache.invalidate).
const (
	InvalidateAuthorized Invalidate = iota // only requests that passed an API key or authorizer
	InvalidateAnyone
	InvalidateIgnore
)

// KeyPart is one request value in a cache key: query.x, header.x or path.x.
type KeyPart struct {
	Source string // "query", "header" or "path"
	Name   string
}

// CacheOptions configure a route's cache step.
type CacheOptions struct {
	Route      *cache.RouteSpace
	TTL        time.Duration
	Key        []KeyPart
	Invalidate Invalidate
	// Statuses are the cacheable response statuses (default 200).
	Statuses []int
	// XCache adds "X-Cache: Hit|Miss" to answers.
	XCache bool
	// StaleWhileRevalidate serves an entry up to this long past its TTL
	// while one request refreshes it (0: off). The store's StaleGrace
	// bounds it.
	StaleWhileRevalidate time.Duration
}

// keySource is KeyPart.Source resolved when the route compiles.
type keySource uint8

const (
	fromNone keySource = iota // an unknown source: the parameter is always absent
	fromQuery
	fromHeader
	fromPath
)

var keySources = map[string]keySource{"query": fromQuery, "header": fromHeader, "path": fromPath}

type keyPart struct {
	from keySource
	name string
}

// Cache answers GET and HEAD from the shared store when it holds a fresh
// response for the request's key, and stores cacheable responses. Concurrent
// misses for one key send a single request upstream.
type Cache struct {
	store *cache.Store
	o     CacheOptions
	key   []keyPart
	keys  sync.Pool
	ents  sync.Pool
}

// NewCache compiles a route's cache step.
func NewCache(store *cache.Store, o CacheOptions) *Cache {
	if len(o.Statuses) == 0 {
		o.Statuses = []int{200}
	}
	c := &Cache{store: store, o: o}
	for _, p := range o.Key {
		c.key = append(c.key, keyPart{from: keySources[p.Source], name: p.Name})
	}
	c.keys.New = func() any { return &cache.KeyBuilder{} }
	c.ents.New = func() any { return &cache.Entry{} }
	return c
}

var (
	methodGET        = []byte("GET")
	hdrCacheControl  = []byte("Cache-Control")
	hdrXCache        = []byte("X-Cache")
	hdrCacheWarning  = []byte("X-Cache-Invalidation")
	valHit           = []byte("Hit")
	valMiss          = []byte("Miss")
	valRefresh       = []byte("Refresh")
	valStale         = []byte("Stale")
	valNotAuthorized = []byte("ignored: not authorized")
	maxAge0          = []byte("max-age=0")
	hdrSetCookie     = []byte("Set-Cookie")
	noStore          = []byte("no-store")
	private          = []byte("private")
)

// Handle serves from the cache or fetches and stores.
func (c *Cache) Handle(ex *exchange.Exchange, next exchange.Next) {
	req := &ex.Ctx.Request
	if !req.Header.IsGet() && !req.Header.IsHead() {
		next.Serve(ex)
		return
	}
	kb := c.keys.Get().(*cache.KeyBuilder)
	defer c.keys.Put(kb)
	kb.Begin(c.o.Route, methodGET) // HEAD is answered from GET's entry
	if ex.AnyHost {
		// The upstream sees this Host; without it in the key the first
		// requester's Host would decide what every client is served.
		kb.Host(req.Header.Host())
	}
	for _, p := range c.key {
		var v []byte
		found := false
		switch p.from {
		case fromQuery:
			v = ex.Ctx.QueryArgs().Peek(p.name)
			found = ex.Ctx.QueryArgs().Has(p.name)
		case fromHeader:
			v = req.Header.Peek(p.name)
			found = len(v) > 0
		case fromPath:
			v = ex.Param(p.name)
			found = v != nil
		}
		if found {
			kb.Param(p.name, v)
		} else {
			kb.Absent(p.name)
		}
	}
	key := kb.Bytes()
	e := c.ents.Get().(*cache.Entry)
	defer c.ents.Put(e)
	now := ex.Start.UnixNano()

	if bytes.Contains(req.Header.PeekBytes(hdrCacheControl), maxAge0) {
		switch {
		case c.o.Invalidate == InvalidateAnyone || (c.o.Invalidate == InvalidateAuthorized && (ex.APIKey != nil || ex.Authorizer != nil)):
			next.Serve(ex)
			if c.capture(ex, e, now) {
				_ = c.store.Set(key, e)
			}
			// Other instances of a cluster drop their copy.
			c.store.Announce(key)
			c.mark(ex, valRefresh)
			return
		case c.o.Invalidate == InvalidateAuthorized:
			defer ex.Ctx.Response.Header.SetBytesKV(hdrCacheWarning, valNotAuthorized)
		}
	}

	head := req.Header.IsHead()
	if c.o.StaleWhileRevalidate > 0 && c.serveStale(ex, next, key, e, now, head) {
		return
	}
	hit, err := c.store.GetOrFetch(context.Background(), key, now, e, func(dst *cache.Entry) (bool, error) {
		next.Serve(ex)
		// A HEAD answer has no body: it may be served from GET's entry
		// but never stored as one.
		return !head && c.capture(ex, dst, now), nil
	})
	if hit && err == nil {
		c.write(ex, e)
		c.mark(ex, valHit)
		return
	}
	c.mark(ex, valMiss)
}

// serveStale answers from an entry that is fresh, or expired for less than
// the route's stale window; of the requests that find it expired, one
// refetches and stores while the others are served the old entry at once.
// It reports false when the caller must take the ordinary path.
func (c *Cache) serveStale(ex *exchange.Exchange, next exchange.Next, key []byte, e *cache.Entry, now int64, head bool) bool {
	ok, refresh := c.store.GetStale(key, now, e)
	if !ok || now-e.Expires > int64(c.o.StaleWhileRevalidate) {
		refresh.Release()
		return false
	}
	if refresh == nil {
		c.write(ex, e)
		if now < e.Expires {
			c.mark(ex, valHit)
		} else {
			c.mark(ex, valStale)
		}
		return true
	}
	defer refresh.Release()
	next.Serve(ex)
	if !head && c.capture(ex, e, now) {
		_ = refresh.Set(key, e)
	}
	c.mark(ex, valRefresh)
	return true
}

func (c *Cache) mark(ex *exchange.Exchange, v []byte) {
	ex.Trace.CacheDecision(v)
	if c.o.XCache {
		ex.Ctx.Response.Header.SetCanonical(hdrXCache, v)
	}
}

// capture copies a cacheable response into e. Responses that set cookies,
// say no-store or private, or have another status are not cacheable.
func (c *Cache) capture(ex *exchange.Exchange, e *cache.Entry, now int64) bool {
	resp := &ex.Ctx.Response
	if !c.cacheableStatus(resp.StatusCode()) || len(resp.Header.PeekBytes(hdrSetCookie)) > 0 {
		return false
	}
	// Every Cache-Control line counts, in any spelling: relayed responses
	// keep the origin's names ("cache-control"), which PeekBytes would
	// match exactly.
	for k, v := range resp.Header.All() {
		if len(k) == len(hdrCacheControl) && ascii.EqualFold(k, hdrCacheControl) &&
			(bytes.Contains(v, noStore) || bytes.Contains(v, private)) {
			return false
		}
	}
	if resp.IsBodyStream() {
		// Streamed bodies are the large ones (over the upstream stream
		// threshold); reading one whole to cache it is only worth it
		// when it fits the item cap.
		if n := resp.Header.ContentLength(); n < 0 || n > c.store.MaxItemSize() {
			return false
		}
	}
	e.Reset()
	e.Status = resp.StatusCode()
	for k, v := range resp.Header.All() {
		if skipStored(k) {
			continue
		}
		e.AddHeader(k, v)
	}
	e.Body = append(e.Body[:0], resp.Body()...)
	e.Expires = now + int64(c.o.TTL)
	return true
}

func (c *Cache) cacheableStatus(s int) bool {
	for _, ok := range c.o.Statuses {
		if s == ok {
			return true
		}
	}
	return false
}

// notStored are headers that describe one response, not the resource.
// Hop-by-hop headers (Connection, Transfer-Encoding, ...) are not listed:
// cache.Store.Set drops those itself.
var notStored = [...][]byte{
	[]byte("Content-Length"), []byte("Date"),
	[]byte("X-Cache"), []byte("Apigw-Requestid"), []byte("X-Amzn-Requestid"),
}

func skipStored(name []byte) bool {
	for _, s := range notStored {
		if ascii.EqualFold(name, s) {
			return true
		}
	}
	return false
}

// write answers from a cached entry.
func (c *Cache) write(ex *exchange.Exchange, e *cache.Entry) {
	resp := &ex.Ctx.Response
	resp.Reset()
	resp.SetStatusCode(e.Status)
	resp.Header.SetNoDefaultContentType(true)
	// The names were stored as fasthttp normalised them (capture): adding
	// them as they are skips normalising each one again on every hit.
	resp.Header.DisableNormalizing()
	for _, h := range e.Headers {
		// The two fasthttp keeps in fields of their own (and lists under
		// these names) are set there directly: AddBytesKV would copy the
		// pair and compare the name with each special one first.
		switch string(h.Name) {
		case "Content-Type":
			resp.Header.SetContentTypeBytes(h.Value)
		case "Server":
			resp.Header.SetServerBytes(h.Value)
		default:
			resp.Header.AddBytesKV(h.Name, h.Value)
		}
	}
	resp.Header.EnableNormalizing()
	resp.SetBody(e.Body)
}
