// Package lambdaauth is the HTTP API REQUEST authorizer: it reads the
// configured identity sources, asks a Lambda function (through
// lambda.Invoker) or an HTTP endpoint for a decision, caches that decision
// per identity, and tells the gateway whether the request may reach its
// integration and with which context.
//
// The request payload (format 1.0 or 2.0) is built by the gateway's event
// builder, which knows the route and stage; this package owns identity
// extraction, caching, invoking, response parsing and the decision.
//
// Hot path: a cached decision costs one hash of the identity values, one
// cache lookup and, for IAM policies, a wildcard match of the method ARN;
// it does not allocate.
package lambdaauth

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/cespare/xxhash/v2"
	"github.com/valyala/fasthttp"
	"golang.org/x/sync/singleflight"

	"github.com/frontdeskgw/frontdesk/auth"
	"github.com/frontdeskgw/frontdesk/auth/internal/ttlcache"
	"github.com/frontdeskgw/frontdesk/lambda"
)

// Defaults and bounds.
const (
	DefaultTimeout      = 10 * time.Second // API Gateway's authorizer timeout
	DefaultCacheEntries = 10_000
	MaxTTL              = time.Hour // authorizerResultTtlInSeconds maximum
	// MaxResultBytes bounds an authorizer's answer; a larger one is bad
	// output (500).
	MaxResultBytes = 64 << 10
)

// ResponseFormat says which answers the authorizer gives.
type ResponseFormat uint8

const (
	// ResponseDefault is simple responses for payload 2.0 and IAM
	// policies for 1.0.
	ResponseDefault ResponseFormat = iota
	// ResponseSimple is {"isAuthorized":bool,"context":{...}} (2.0 only).
	ResponseSimple
	// ResponsePolicy is an IAM policy document with principalId and
	// context.
	ResponsePolicy
)

// Options configures one REQUEST authorizer.
type Options struct {
	// Name identifies the authorizer in logs and errors.
	Name string
	// Invoker calls the authorizer function. Exactly one of Invoker and
	// URL is set.
	Invoker lambda.Invoker
	// URL receives the payload as a POST with a JSON body; a 2xx answer's
	// body is parsed like a function's result, 401 means Unauthorized and
	// 403 Forbidden.
	URL string
	// Client sends URL requests; nil means a fasthttp.Client bounded by
	// MaxResultBytes.
	Client auth.Doer
	// PayloadFormat is "2.0" (default) or "1.0"; it selects the default
	// response format and what AppendV1/AppendV2 are used for.
	PayloadFormat string
	// Response selects simple or IAM policy answers.
	Response ResponseFormat
	// IdentitySources are $request.header.X, $request.querystring.X,
	// $context.X or $stageVariables.X; when any is missing or empty the
	// request gets 401 without invoking. They are also the cache key.
	IdentitySources []string
	// TTL caches decisions per identity; 0 disables caching, at most
	// MaxTTL. Caching needs at least one identity source.
	TTL time.Duration
	// CacheEntries bounds the decision cache; 0 means DefaultCacheEntries.
	CacheEntries int
	// Timeout bounds one invocation; 0 means DefaultTimeout.
	Timeout time.Duration
	// Logger receives invocation failures; nil means slog.Default().
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Request is what Authorize needs from the gateway for one request.
type Request struct {
	// HTTP is the client's request, read for header and query sources.
	HTTP *fasthttp.Request
	// MethodARN is the request's arn:aws:execute-api:{region}:{account}:
	// {api}/{stage}/{METHOD}/{path}; IAM policies are matched against it.
	MethodARN string
	// Vars resolves $context.X and $stageVariables.X sources; nil when
	// the authorizer has none.
	Vars func(auth.Source) []byte
	// Payload appends the authorizer event (format 1.0 or 2.0) to dst.
	// identity holds the identity source values in configured order, for
	// the event's identitySource (and 1.0's authorizationToken). It is
	// called at most once, only when the authorizer is invoked, from the
	// goroutine that called Authorize.
	Payload func(dst []byte, identity [][]byte) []byte
}

// Authorizer is one compiled REQUEST authorizer; safe for concurrent use.
type Authorizer struct {
	name    string
	sources []auth.Source
	simple  bool
	call    func(ctx context.Context, payload []byte) ([]byte, error)
	timeout time.Duration
	ttl     time.Duration
	log     *slog.Logger
	now     func() time.Time

	cache  *ttlcache.Cache[*decision] // nil when TTL is 0
	flight singleflight.Group
}

// New checks o and returns its authorizer.
func New(o Options) (*Authorizer, error) {
	a := &Authorizer{
		name:    o.Name,
		timeout: o.Timeout,
		ttl:     o.TTL,
		log:     o.Logger,
		now:     o.Now,
	}
	if a.timeout == 0 {
		a.timeout = DefaultTimeout
	}
	if a.log == nil {
		a.log = slog.Default()
	}
	a.log = a.log.With("authorizer", o.Name)
	if a.now == nil {
		a.now = time.Now
	}

	switch o.PayloadFormat {
	case "", "2.0":
		a.simple = o.Response != ResponsePolicy
	case "1.0":
		if o.Response == ResponseSimple {
			return nil, fmt.Errorf("lambdaauth %s: simple responses need payload format 2.0", o.Name)
		}
	default:
		return nil, fmt.Errorf("lambdaauth %s: payload format %q, want \"1.0\" or \"2.0\"", o.Name, o.PayloadFormat)
	}

	switch {
	case o.Invoker != nil && o.URL != "":
		return nil, fmt.Errorf("lambdaauth %s: set a function or a URL, not both", o.Name)
	case o.Invoker != nil:
		a.call = a.invokeFunction(o.Invoker)
	case o.URL != "":
		client := o.Client
		if client == nil {
			client = &fasthttp.Client{Name: "frontdesk", MaxResponseBodySize: MaxResultBytes}
		}
		a.call = a.postURL(client, o.URL)
	default:
		return nil, fmt.Errorf("lambdaauth %s: needs a function or a URL", o.Name)
	}

	for _, expr := range o.IdentitySources {
		src, err := auth.ParseSource(expr)
		if err != nil {
			return nil, fmt.Errorf("lambdaauth %s: %w", o.Name, err)
		}
		a.sources = append(a.sources, src)
	}

	switch {
	case o.TTL < 0 || o.TTL > MaxTTL:
		return nil, fmt.Errorf("lambdaauth %s: ttl %v out of range 0..%v", o.Name, o.TTL, MaxTTL)
	case o.TTL > 0 && len(a.sources) == 0:
		return nil, fmt.Errorf("lambdaauth %s: caching (ttl %v) needs at least one identity source to key on", o.Name, o.TTL)
	case o.TTL > 0:
		n := o.CacheEntries
		if n <= 0 {
			n = DefaultCacheEntries
		}
		a.cache = ttlcache.New[*decision](n)
	}
	return a, nil
}

// errMissingIdentity is behind the 401 for an absent identity source.
var errMissingIdentity = errors.New("lambdaauth: identity source missing or empty")

// Authorize decides r. It returns the authorizer's context on allow, or an
// *auth.Failure: 401 for a missing identity source or a function answering
// "Unauthorized", 403 for a deny, 500 when the authorizer failed, timed out
// or answered something unreadable.
func (a *Authorizer) Authorize(ctx context.Context, r Request) (*Result, error) {
	var idBuf [8][]byte
	ids := idBuf[:0]
	for _, s := range a.sources {
		v := s.Value(r.HTTP, r.Vars)
		if len(v) == 0 {
			return nil, auth.Unauthorized("", fmt.Errorf("%w: %s", errMissingIdentity, s.Expr))
		}
		ids = append(ids, v)
	}
	if a.cache == nil {
		d, err := a.invoke(ctx, r, slices.Clone(ids))
		if err != nil {
			return nil, err
		}
		return d.decide(r.MethodARN)
	}

	var keyBuf [256]byte
	key := appendKey(keyBuf[:0], ids)
	h := xxhash.Sum64(key)
	if d, ok := a.cache.Get(h, key, a.now().UnixNano()); ok {
		return d.decide(r.MethodARN)
	}
	// The miss path gets heap copies: the stack buffers above must not
	// escape, or every cache hit would pay for them.
	d, err := a.fill(ctx, r, slices.Clone(ids), h, bytes.Clone(key))
	if err != nil {
		return nil, err
	}
	return d.decide(r.MethodARN)
}

// fill invokes the authorizer for a cache miss and stores the decision.
// Concurrent misses for one identity share one invocation: its decision is
// what each of them would have found in the cache a moment later. It runs
// on the first caller's goroutine, detached from that caller's
// cancellation since others wait on it.
func (a *Authorizer) fill(ctx context.Context, r Request, ids [][]byte, h uint64, key []byte) (*decision, error) {
	v, err, _ := a.flight.Do(string(key), func() (any, error) {
		if d, ok := a.cache.Get(h, key, a.now().UnixNano()); ok {
			return d, nil
		}
		d, err := a.invoke(context.WithoutCancel(ctx), r, ids)
		if err != nil {
			return nil, err
		}
		now := a.now().UnixNano()
		a.cache.Put(h, key, d, now+int64(a.ttl), now)
		return d, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*decision), nil
}

// appendKey joins identity values unambiguously (length-prefixed), so
// ("a,b","c") and ("a","b,c") are different keys.
func appendKey(dst []byte, ids [][]byte) []byte {
	for _, v := range ids {
		n := len(v)
		dst = append(dst, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
		dst = append(dst, v...)
	}
	return dst
}

// invoke asks the authorizer and parses its answer. Failures are
// *auth.Failure values and are not cached.
func (a *Authorizer) invoke(ctx context.Context, r Request, ids [][]byte) (*decision, error) {
	if r.Payload == nil {
		return nil, auth.Internal(fmt.Errorf("lambdaauth %s: request has no payload builder", a.name))
	}
	payload := r.Payload(make([]byte, 0, 2048), ids)
	ctx, cancel := context.WithTimeout(ctx, a.timeout)
	defer cancel()
	body, err := a.call(ctx, payload)
	if err == nil && len(body) > MaxResultBytes {
		err = fmt.Errorf("lambdaauth %s: answer of %d bytes, more than %d", a.name, len(body), MaxResultBytes)
	}
	if err != nil {
		var f *auth.Failure
		if errors.As(err, &f) && f.Status != fasthttp.StatusInternalServerError {
			return nil, err
		}
		a.log.Warn("lambdaauth: authorizer failed", "err", err)
		return nil, auth.Internal(err)
	}
	d, err := parseAnswer(body, a.simple)
	if err != nil {
		err = fmt.Errorf("lambdaauth %s: unusable answer: %w", a.name, err)
		a.log.Warn("lambdaauth: authorizer answered badly", "err", err)
		return nil, auth.Internal(err)
	}
	return d, nil
}
