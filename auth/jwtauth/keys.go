package jwtauth

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/valyala/fasthttp"
)

// minRSABits refuses keys too weak to trust; every mainstream identity
// provider signs with 2048 bits or more.
const minRSABits = 2048

// key is one usable verification key from the set.
type key struct {
	alg string // the JWK's alg, "" when it did not say
	pub crypto.PublicKey
}

// fits reports whether the key may verify a token signed with alg: the
// JWK's own alg when it has one, and always the key type's family, so an
// EC key is never handed to an RSA verifier and no key ever to HMAC.
func (k key) fits(alg string) bool {
	if k.alg != "" && k.alg != alg {
		return false
	}
	switch pub := k.pub.(type) {
	case *rsa.PublicKey:
		return alg == "RS256" || alg == "RS384" || alg == "RS512"
	case *ecdsa.PublicKey:
		return alg == "ES256" && pub.Curve == elliptic.P256() || alg == "ES384" && pub.Curve == elliptic.P384()
	case ed25519.PublicKey:
		return alg == "EdDSA"
	}
	return false
}

// keySet is an immutable snapshot of the fetched keys, swapped whole.
type keySet struct {
	keys    map[string]key // by kid
	fetched time.Time
}

// get returns the key named kid; a nil set, before the first fetch, has
// none.
func (ks *keySet) get(kid string) (key, bool) {
	if ks == nil {
		return key{}, false
	}
	k, ok := ks.keys[kid]
	return k, ok
}

// keyFor is the jwt.Keyfunc: the key named by the token's kid, fetched if
// need be, and fit for the token's alg.
func (a *Authorizer) keyFor(ctx context.Context, t *jwt.Token) (any, error) {
	kid, _ := t.Header["kid"].(string)
	if kid == "" {
		return nil, errNoKid
	}
	k, err := a.key(ctx, kid)
	if err != nil {
		return nil, err
	}
	if !k.fits(t.Method.Alg()) {
		return nil, fmt.Errorf("jwtauth: kid %q, alg %s: %w", kid, t.Method.Alg(), errKeyMismatch)
	}
	return k.pub, nil
}

// key finds kid. A known kid in a stale set is served at once while the
// set refreshes in the background; an unknown kid waits for a refetch,
// which happens at most once per RefetchInterval and is shared by every
// request that asks meanwhile.
func (a *Authorizer) key(ctx context.Context, kid string) (key, error) {
	now := a.now()
	ks := a.keys.Load()
	if k, ok := ks.get(kid); ok {
		if now.Sub(ks.fetched) >= a.keysTTL && a.mayFetch(now) {
			a.flight.DoChan("keys", a.fetchOnce) // not waited for
		}
		return k, nil
	}
	var fetchErr error
	if a.mayFetch(now) {
		select {
		case res := <-a.flight.DoChan("keys", a.fetchOnce):
			fetchErr = res.Err
		case <-ctx.Done():
			return key{}, fmt.Errorf("jwtauth: waiting for the key set: %w", ctx.Err())
		}
	}
	if k, ok := a.keys.Load().get(kid); ok {
		return k, nil
	}
	if fetchErr != nil && !errors.Is(fetchErr, errRateLimited) {
		return key{}, fmt.Errorf("jwtauth: kid %q: %w (key set fetch failed: %w)", kid, errUnknownKey, fetchErr)
	}
	return key{}, fmt.Errorf("jwtauth: kid %q: %w", kid, errUnknownKey)
}

func (a *Authorizer) mayFetch(now time.Time) bool {
	last := a.lastFetch.Load()
	return last == 0 || now.UnixNano()-last >= int64(a.refetchInterval)
}

// fetchOnce runs inside the single flight. Flights never overlap, so the
// rate check here is exact: a caller that queued behind a flight which
// just finished finds lastFetch fresh and uses that flight's keys.
// lastFetch is stamped when the attempt ends, after the new keys are in
// place: whoever sees a fresh stamp also sees the keys, and whoever arrives
// while the fetch runs still joins it instead of giving up.
func (a *Authorizer) fetchOnce() (any, error) {
	if !a.mayFetch(a.now()) {
		return nil, errRateLimited
	}
	ks, err := a.fetchKeySet()
	if err != nil {
		// Keep serving the previous set, if any: a flaky identity
		// provider should not log everyone out.
		a.log.Warn("jwtauth: key set fetch failed", "err", err)
	} else {
		a.keys.Store(ks)
		a.log.Debug("jwtauth: key set fetched", "keys", len(ks.keys))
	}
	a.lastFetch.Store(a.now().UnixNano())
	return nil, err
}

func (a *Authorizer) fetchKeySet() (*keySet, error) {
	url, err := a.jwksURL()
	if err != nil {
		return nil, err
	}
	body, err := a.get(url)
	if err != nil {
		return nil, err
	}
	ks, err := parseKeySet(body, a.log)
	if err != nil {
		return nil, fmt.Errorf("jwtauth: key set at %s: %w", url, err)
	}
	ks.fetched = a.now()
	return ks, nil
}

// jwksURL returns the configured URL or discovers it from the issuer.
func (a *Authorizer) jwksURL() (string, error) {
	if u := a.keySetURL.Load(); u != nil {
		return *u, nil
	}
	body, err := a.get(a.discoveryURL)
	if err != nil {
		return "", err
	}
	var doc struct {
		JWKSURI string `json:"jwks_uri"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return "", fmt.Errorf("jwtauth: discovery document %s: %w", a.discoveryURL, err)
	}
	if !strings.HasPrefix(doc.JWKSURI, "https://") && !strings.HasPrefix(doc.JWKSURI, "http://") {
		return "", fmt.Errorf("jwtauth: discovery document %s has no usable jwks_uri (%q)", a.discoveryURL, doc.JWKSURI)
	}
	a.keySetURL.Store(&doc.JWKSURI)
	return doc.JWKSURI, nil
}

// get fetches url within FetchTimeout and MaxKeySetBytes; the result is a
// copy the caller owns.
func (a *Authorizer) get(url string) ([]byte, error) {
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI(url)
	req.Header.SetMethod(fasthttp.MethodGet)
	req.Header.Set(fasthttp.HeaderAccept, "application/json")
	if err := a.client.DoTimeout(req, resp, a.fetchTimeout); err != nil {
		return nil, fmt.Errorf("jwtauth: GET %s: %w", url, err)
	}
	if sc := resp.StatusCode(); sc != fasthttp.StatusOK {
		return nil, fmt.Errorf("jwtauth: GET %s: status %d", url, sc)
	}
	body := resp.Body()
	if len(body) > a.maxKeySetBytes {
		return nil, fmt.Errorf("jwtauth: GET %s: %d bytes, more than the %d allowed", url, len(body), a.maxKeySetBytes)
	}
	return append([]byte(nil), body...), nil
}

// rawKey is one JWK as published (RFC 7517/7518/8037).
type rawKey struct {
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Use string `json:"use"`
	Alg string `json:"alg"`
	Crv string `json:"crv"`
	N   string `json:"n"`
	E   string `json:"e"`
	X   string `json:"x"`
	Y   string `json:"y"`
}

// parseKeySet keeps the signature keys it can use and skips the rest (with
// a debug line): a set may legitimately hold encryption keys or types this
// gateway does not verify with.
func parseKeySet(body []byte, log *slog.Logger) (*keySet, error) {
	var doc struct {
		Keys []rawKey `json:"keys"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, err
	}
	ks := &keySet{keys: make(map[string]key, len(doc.Keys))}
	for _, rk := range doc.Keys {
		if rk.Kid == "" || (rk.Use != "" && rk.Use != "sig") {
			continue
		}
		if _, dup := ks.keys[rk.Kid]; dup {
			continue // the first key with a kid wins; a duplicate is ambiguous
		}
		pub, err := rk.publicKey()
		if err != nil {
			log.Debug("jwtauth: skipping key", "kid", rk.Kid, "err", err)
			continue
		}
		ks.keys[rk.Kid] = key{alg: rk.Alg, pub: pub}
	}
	if len(ks.keys) == 0 {
		return nil, fmt.Errorf("no usable signature keys among %d", len(doc.Keys))
	}
	return ks, nil
}

func (rk rawKey) publicKey() (crypto.PublicKey, error) {
	switch rk.Kty {
	case "RSA":
		n, err := b64(rk.N)
		if err != nil {
			return nil, fmt.Errorf("n: %w", err)
		}
		e, err := b64(rk.E)
		if err != nil {
			return nil, fmt.Errorf("e: %w", err)
		}
		if len(e) == 0 || len(e) > 4 {
			return nil, fmt.Errorf("exponent of %d bytes", len(e))
		}
		exp := 0
		for _, b := range e {
			exp = exp<<8 | int(b)
		}
		pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: exp}
		if pub.N.BitLen() < minRSABits || exp < 3 || exp%2 == 0 {
			return nil, fmt.Errorf("weak or invalid RSA key (%d bits, e=%d)", pub.N.BitLen(), exp)
		}
		return pub, nil
	case "EC":
		var curve elliptic.Curve
		switch rk.Crv {
		case "P-256":
			curve = elliptic.P256()
		case "P-384":
			curve = elliptic.P384()
		default:
			return nil, fmt.Errorf("unsupported curve %q", rk.Crv)
		}
		size := (curve.Params().BitSize + 7) / 8
		x, err := b64(rk.X)
		if err != nil {
			return nil, fmt.Errorf("x: %w", err)
		}
		y, err := b64(rk.Y)
		if err != nil {
			return nil, fmt.Errorf("y: %w", err)
		}
		if len(x) != size || len(y) != size {
			return nil, fmt.Errorf("coordinates of %d/%d bytes, want %d", len(x), len(y), size)
		}
		point := append(append([]byte{4}, x...), y...)
		return ecdsa.ParseUncompressedPublicKey(curve, point) // checks the point is on the curve
	case "OKP":
		if rk.Crv != "Ed25519" {
			return nil, fmt.Errorf("unsupported curve %q", rk.Crv)
		}
		x, err := b64(rk.X)
		if err != nil {
			return nil, fmt.Errorf("x: %w", err)
		}
		if len(x) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("Ed25519 key of %d bytes", len(x))
		}
		return ed25519.PublicKey(x), nil
	}
	return nil, fmt.Errorf("unsupported key type %q", rk.Kty)
}

// b64 decodes base64url, tolerating the padding some providers add.
func b64(s string) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
}
