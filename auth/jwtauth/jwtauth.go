// Package jwtauth is the HTTP API JWT authorizer: it reads a bearer token
// from the request, verifies its signature against the issuer's JSON Web
// Key Set and its iss/aud/exp/nbf/iat claims, checks a route's required
// scopes, and hands the gateway the claims for requestContext.authorizer.
//
// Signature checks and claim validation are github.com/golang-jwt/jwt/v5's;
// this package decides which algorithms and keys are acceptable, fetches
// and caches the key set (OpenID discovery, one hour, bounded refetch on an
// unknown kid) and maps every failure to API Gateway's answers.
//
// Hot path: a token seen in the last minute is found in a bounded cache by
// its xxhash and skips signature verification; a scope check is a scan of
// two short lists. Neither allocates.
package jwtauth

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/cespare/xxhash/v2"
	"github.com/frontdeskgw/frontdesk/internal/ascii"
	"github.com/golang-jwt/jwt/v5"
	"github.com/valyala/fasthttp"
	"golang.org/x/sync/singleflight"

	"github.com/frontdeskgw/frontdesk/auth"
	"github.com/frontdeskgw/frontdesk/auth/internal/ttlcache"
)

// Defaults applied by New to zero Options fields.
const (
	DefaultIdentitySource  = "$request.header.Authorization"
	DefaultClockSkew       = 30 * time.Second
	DefaultFetchTimeout    = 1500 * time.Millisecond // API Gateway's discovery and JWKS timeout
	DefaultKeysTTL         = time.Hour               // API Gateway's best-effort key cache
	DefaultRefetchInterval = 10 * time.Second
	DefaultMaxKeySetBytes  = 150_000 // API Gateway's JWKS size limit
	DefaultCacheEntries    = 4096
	DefaultCacheTTL        = time.Minute
)

// Options configures one JWT authorizer.
type Options struct {
	// Name identifies the authorizer in logs.
	Name string
	// Issuer must equal the token's iss claim exactly (trailing slash
	// included). Required.
	Issuer string
	// Audience lists the accepted aud values (or client_id values when
	// the token has no aud). At least one is required.
	Audience []string
	// JWKSURL is where the signing keys are; empty discovers it from
	// {Issuer}/.well-known/openid-configuration (jwks_uri).
	JWKSURL string
	// IdentitySource is $request.header.Name or $request.querystring.name;
	// empty means DefaultIdentitySource. A "Bearer " prefix is optional.
	IdentitySource string
	// ClockSkew is the leeway for exp, nbf and iat; 0 means
	// DefaultClockSkew, a negative value means none.
	ClockSkew time.Duration
	// FetchTimeout bounds each discovery and JWKS request; 0 means
	// DefaultFetchTimeout.
	FetchTimeout time.Duration
	// KeysTTL is how long a fetched key set is used before it is
	// refreshed in the background; 0 means DefaultKeysTTL.
	KeysTTL time.Duration
	// RefetchInterval is the least time between two fetches of the key
	// set, so tokens with made-up kids cannot hammer the identity
	// provider; 0 means DefaultRefetchInterval.
	RefetchInterval time.Duration
	// MaxKeySetBytes bounds the discovery and JWKS documents; 0 means
	// DefaultMaxKeySetBytes.
	MaxKeySetBytes int
	// CacheEntries bounds the verified-token cache; 0 means
	// DefaultCacheEntries, a negative value disables the cache.
	CacheEntries int
	// CacheTTL is the longest a verified token is trusted without
	// verifying it again (never past its exp); 0 means DefaultCacheTTL.
	CacheTTL time.Duration
	// Client fetches discovery and JWKS documents; nil means a
	// fasthttp.Client bounded by MaxKeySetBytes.
	Client auth.Doer
	// Logger receives key fetch failures; nil means slog.Default().
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Authorizer verifies tokens for one configured JWT authorizer. It is safe
// for concurrent use.
type Authorizer struct {
	name            string
	audience        []string
	source          auth.Source
	parser          *jwt.Parser
	skew            time.Duration
	fetchTimeout    time.Duration
	keysTTL         time.Duration
	refetchInterval time.Duration
	maxKeySetBytes  int
	client          auth.Doer
	log             *slog.Logger
	now             func() time.Time
	discoveryURL    string

	keySetURL atomic.Pointer[string] // configured or discovered
	keys      atomic.Pointer[keySet]
	lastFetch atomic.Int64 // unix nanoseconds of the last fetch attempt; 0 = never
	flight    singleflight.Group

	cache    *ttlcache.Cache[*Result] // nil when disabled
	cacheTTL time.Duration
}

// New checks o and returns its authorizer. Keys are fetched on the first
// token, not here, so a gateway starts even while the identity provider is
// down.
func New(o Options) (*Authorizer, error) {
	if o.Issuer == "" {
		return nil, fmt.Errorf("jwtauth %s: issuer is required", o.Name)
	}
	if len(o.Audience) == 0 {
		return nil, fmt.Errorf("jwtauth %s: at least one audience is required", o.Name)
	}
	if o.IdentitySource == "" {
		o.IdentitySource = DefaultIdentitySource
	}
	src, err := auth.ParseSource(o.IdentitySource)
	if err != nil {
		return nil, fmt.Errorf("jwtauth %s: %w", o.Name, err)
	}
	if src.Kind != auth.FromHeader && src.Kind != auth.FromQuery {
		return nil, fmt.Errorf("jwtauth %s: identity source %q must be a header or query string parameter", o.Name, o.IdentitySource)
	}
	a := &Authorizer{
		name:            o.Name,
		audience:        slices.Clone(o.Audience),
		source:          src,
		skew:            cmp.Or(o.ClockSkew, DefaultClockSkew),
		fetchTimeout:    cmp.Or(o.FetchTimeout, DefaultFetchTimeout),
		keysTTL:         cmp.Or(o.KeysTTL, DefaultKeysTTL),
		refetchInterval: cmp.Or(o.RefetchInterval, DefaultRefetchInterval),
		maxKeySetBytes:  cmp.Or(o.MaxKeySetBytes, DefaultMaxKeySetBytes),
		cacheTTL:        cmp.Or(o.CacheTTL, DefaultCacheTTL),
		client:          o.Client,
		log:             o.Logger,
		now:             o.Now,
		discoveryURL:    strings.TrimSuffix(o.Issuer, "/") + "/.well-known/openid-configuration",
	}
	a.skew = max(a.skew, 0)
	if a.log == nil {
		a.log = slog.Default()
	}
	a.log = a.log.With("authorizer", o.Name)
	if a.now == nil {
		a.now = time.Now
	}
	if a.client == nil {
		a.client = &fasthttp.Client{
			Name:                "frontdesk",
			MaxResponseBodySize: a.maxKeySetBytes,
			ReadTimeout:         a.fetchTimeout,
			WriteTimeout:        a.fetchTimeout,
		}
	}
	if o.JWKSURL != "" {
		u := o.JWKSURL
		a.keySetURL.Store(&u)
	}
	if n := cmp.Or(o.CacheEntries, DefaultCacheEntries); n > 0 {
		a.cache = ttlcache.New[*Result](n)
	}
	a.parser = jwt.NewParser(
		// Asymmetric algorithms only: "none" and every HMAC are refused
		// before a key is even looked up, which is what defeats signing
		// with the public key as an HMAC secret.
		jwt.WithValidMethods([]string{"RS256", "RS384", "RS512", "ES256", "ES384", "EdDSA"}),
		jwt.WithIssuer(o.Issuer),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(a.skew),
		jwt.WithTimeFunc(a.now),
		// Numbers keep their exact text, so claims stringify as sent.
		jwt.WithJSONNumber(),
	)
	return a, nil
}

// Authorize verifies the token of req and, when scopes is not nil, that it
// carries at least one of them. It returns the verified claims or an
// *auth.Failure: 401 for a missing or invalid token, 403 for a valid token
// without a required scope. ctx bounds waiting for a key fetch.
func (a *Authorizer) Authorize(ctx context.Context, req *fasthttp.Request, scopes *Scopes) (*Result, error) {
	token := bearerToken(a.source.Value(req, nil))
	if len(token) == 0 {
		// RFC 6750 §3.1: no error code when no credentials were sent.
		return nil, auth.Unauthorized("Bearer", errMissingToken)
	}
	now := a.now()
	var h uint64
	if a.cache != nil {
		h = xxhash.Sum64(token)
		if r, ok := a.cache.Get(h, token, now.UnixNano()); ok {
			return scopes.check(r)
		}
	}
	r, err := a.verify(ctx, string(token))
	if err != nil {
		return nil, err
	}
	if a.cache != nil {
		until := min(now.Add(a.cacheTTL).UnixNano(), r.expires.Add(a.skew).UnixNano())
		a.cache.Put(h, token, r, until, now.UnixNano())
	}
	return scopes.check(r)
}

// bearerToken trims v and an optional, case-insensitive "Bearer " prefix;
// a lone "Bearer" is no token.
func bearerToken(v []byte) []byte {
	v = bytes.Trim(v, " \t")
	if len(v) == len("bearer") && (v[0] == 'B' || v[0] == 'b') && string(v[1:]) == "earer" {
		return nil
	}
	const prefix = "bearer "
	if len(v) >= len(prefix) && ascii.EqualFold(v[:len(prefix)], prefix) {
		v = bytes.TrimLeft(v[len(prefix):], " \t")
	}
	return v
}

// verify checks signature and claims; failures are 401s.
func (a *Authorizer) verify(ctx context.Context, token string) (*Result, error) {
	claims := jwt.MapClaims{}
	_, err := a.parser.ParseWithClaims(token, claims, func(t *jwt.Token) (any, error) {
		return a.keyFor(ctx, t)
	})
	if err != nil {
		return nil, invalidToken(describe(err), err)
	}
	if !a.audienceOK(claims) {
		return nil, invalidToken("the token does not have a valid audience", errAudience)
	}
	exp, err := claims.GetExpirationTime()
	if err != nil || exp == nil { // the parser requires exp; kept for safety
		return nil, invalidToken("the token has no valid exp claim", fmt.Errorf("jwtauth: exp: %w", err))
	}
	r, err := newResult(claims, exp.Time)
	if err != nil {
		return nil, invalidToken("the token claims could not be read", err)
	}
	return r, nil
}

// audienceOK follows API Gateway: aud must name a configured audience; only
// a token without aud is checked by client_id instead (Cognito access
// tokens).
func (a *Authorizer) audienceOK(c jwt.MapClaims) bool {
	aud, err := c.GetAudience()
	if err != nil {
		return false
	}
	if len(aud) > 0 {
		for _, v := range aud {
			if slices.Contains(a.audience, v) {
				return true
			}
		}
		return false
	}
	id, _ := c["client_id"].(string)
	return id != "" && slices.Contains(a.audience, id)
}

// Errors behind 401/403 failures, for logs and errors.Is.
var (
	errMissingToken      = errors.New("jwtauth: no token in the identity source")
	errAudience          = errors.New("jwtauth: no accepted aud or client_id")
	errInsufficientScope = errors.New("jwtauth: token lacks every required scope")
	errNoKid             = errors.New("jwtauth: token header has no kid")
	errUnknownKey        = errors.New("jwtauth: no key with that kid")
	errKeyMismatch       = errors.New("jwtauth: key does not fit the token's alg")
	errRateLimited       = errors.New("jwtauth: key set fetched too recently to fetch again")
)

// describe maps a verification error to the error_description sent to the
// client: fixed phrases in API Gateway's style, never the raw error.
func describe(err error) string {
	switch {
	case errors.Is(err, errNoKid), errors.Is(err, errUnknownKey), errors.Is(err, errKeyMismatch):
		return "the token signing key was not found"
	case errors.Is(err, jwt.ErrTokenMalformed):
		return "the token is malformed"
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return "the token signature is invalid"
	case errors.Is(err, jwt.ErrTokenExpired):
		return "the token has expired"
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return "the token is not valid yet"
	case errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return "the token was issued in the future"
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return "the token does not have a valid issuer"
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return "the token is missing a required claim"
	case errors.Is(err, jwt.ErrTokenUnverifiable):
		return "the token could not be verified"
	default:
		return "the token is invalid"
	}
}

func invalidToken(description string, cause error) *auth.Failure {
	return auth.Unauthorized(`Bearer scope="" error="invalid_token" error_description="`+description+`"`, cause)
}

// Scopes is a route's compiled list of required scopes: a token must carry
// at least one of them (API Gateway's any-of rule).
type Scopes struct {
	anyOf          []string
	forbiddenValue string // www-authenticate of the 403
}

// NewScopes compiles a route's required scopes; no scopes gives nil, which
// Authorize treats as no requirement.
func NewScopes(required []string) (*Scopes, error) {
	if len(required) == 0 {
		return nil, nil
	}
	for _, s := range required {
		// RFC 6749 scope-token characters, so the list can be quoted in
		// www-authenticate as is.
		if s == "" || strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r == '"' || r == '\\' || r > '~' }) {
			return nil, fmt.Errorf("jwtauth: scope %q is not a valid scope token", s)
		}
	}
	return &Scopes{
		anyOf: slices.Clone(required),
		forbiddenValue: `Bearer scope="` + strings.Join(required, " ") +
			`" error="insufficient_scope" error_description="the token does not have the required scope"`,
	}, nil
}

// check returns r when s is satisfied, else a 403.
func (s *Scopes) check(r *Result) (*Result, error) {
	if s == nil {
		return r, nil
	}
	for _, want := range s.anyOf {
		if slices.Contains(r.Scopes, want) {
			return r, nil
		}
	}
	return nil, auth.Forbidden(s.forbiddenValue, errInsufficientScope)
}
