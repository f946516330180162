package gateway

import (
	"fmt"
	"log/slog"
	"reflect"
	"sync"

	"github.com/frontdeskgw/frontdesk/auth/jwtauth"
	"github.com/frontdeskgw/frontdesk/auth/lambdaauth"
	"github.com/frontdeskgw/frontdesk/config"
	"github.com/frontdeskgw/frontdesk/lambda"
	"github.com/frontdeskgw/frontdesk/registry"
)

// Authorizers is the registry of compiled authorizers with their fetched
// JWKS keys and cached decisions, one per API and authorizer name. An
// authorizer whose config, payload format and function are unchanged
// survives a reload with its caches; one the committed config no longer
// names, or changes, is dropped with them. The zero value is usable.
type Authorizers struct {
	Log *slog.Logger

	once sync.Once
	set  *registry.Set[string, AuthorizerSpec, *authorizer]
}

// AuthorizerSpec is what an authorizer is built from; its key is
// "api/name".
type AuthorizerSpec struct {
	API, Name string
	Config    config.Authorizer
	// Format is the payload format the authorizer is called with.
	Format config.PayloadFormat
	// Invoker is a lambda authorizer's function. NoFunctions says the
	// snapshot runs none (validate, routes): a lambda authorizer is then
	// compiled without one and never serves.
	Invoker     lambda.Invoker
	NoFunctions bool
}

// same compares the function by identity: an authorizer keeps calling the
// function it was built with.
func (a AuthorizerSpec) same(b AuthorizerSpec) bool {
	return a.API == b.API && a.Name == b.Name && a.Format == b.Format && a.Invoker == b.Invoker &&
		a.NoFunctions == b.NoFunctions && reflect.DeepEqual(a.Config, b.Config)
}

// Check builds the authorizer and drops it: what a dry compile reports.
func (a AuthorizerSpec) Check() error {
	_, err := a.build(nil)
	return err
}

type authorizer struct {
	jwt *jwtauth.Authorizer
	lam *lambdaauth.Authorizer
}

func (as *Authorizers) registry() *registry.Set[string, AuthorizerSpec, *authorizer] {
	if as == nil {
		return nil
	}
	as.once.Do(func() {
		as.set = registry.NewSet("authorizer", registry.Hooks[string, AuthorizerSpec, *authorizer]{
			Open:  func(_ *registry.Gen, _ string, spec AuthorizerSpec) (*authorizer, error) { return spec.build(as.Log) },
			Equal: AuthorizerSpec.same,
			// Release: nothing runs in an authorizer; dropping it drops
			// its key and decision caches.
		})
	})
	return as.set
}

// Join makes g reconcile the authorizers on commit: the ones g does not
// ask for are dropped.
func (as *Authorizers) Join(g *registry.Gen) { as.registry().Join(g) }

// Live returns the authorizers in use by "api/name", as opaque values
// that compare equal while the same authorizer (and its caches) lives.
func (as *Authorizers) Live() map[string]any {
	out := map[string]any{}
	for id, a := range as.registry().Live() {
		out[id] = a
	}
	return out
}

// get returns the authorizer of spec in generation g: the live one when
// its spec is unchanged, else a new one (nil when g resolves nothing).
func (as *Authorizers) get(g *registry.Gen, spec AuthorizerSpec) (*authorizer, error) {
	return as.registry().Get(g, spec.API+"/"+spec.Name, spec)
}

func (spec AuthorizerSpec) build(log *slog.Logger) (*authorizer, error) {
	if log == nil {
		log = slog.Default()
	}
	id, name, ac := spec.API+"/"+spec.Name, spec.Name, spec.Config
	a := &authorizer{}
	switch ac.Type {
	case config.AuthorizerJWT:
		o := jwtauth.Options{Name: id, Issuer: ac.Issuer, Audience: ac.Audience, JWKSURL: ac.JWKSURL, Logger: log,
			RefetchInterval: ac.JWKSMinRefetch.D()}
		if len(ac.IdentitySource) > 0 {
			o.IdentitySource = ac.IdentitySource[0]
		}
		j, err := jwtauth.New(o)
		if err != nil {
			return nil, fmt.Errorf("authorizer %s: %w", name, err)
		}
		a.jwt = j
	case config.AuthorizerLambda, config.AuthorizerHTTP:
		o := lambdaauth.Options{
			Name: id, PayloadFormat: string(spec.Format), IdentitySources: ac.IdentitySource,
			TTL: ac.TTL.D(), Timeout: ac.Timeout.D(), Logger: log,
		}
		o.Response = lambdaauth.ResponsePolicy
		if *ac.SimpleResponses {
			o.Response = lambdaauth.ResponseSimple
		}
		if ac.Type == config.AuthorizerLambda {
			if spec.NoFunctions {
				return a, nil // compiled without functions (validate, routes): never serves
			}
			if spec.Invoker == nil {
				return nil, fmt.Errorf("authorizer %s: function %q is not running", name, ac.Function)
			}
			o.Invoker = spec.Invoker
		} else {
			o.URL = ac.URL
		}
		l, err := lambdaauth.New(o)
		if err != nil {
			return nil, fmt.Errorf("authorizer %s: %w", name, err)
		}
		a.lam = l
	default:
		return nil, fmt.Errorf("authorizer %s: unknown type %q", name, ac.Type)
	}
	return a, nil
}
