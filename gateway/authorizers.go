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
)

// Authorizers keeps compiled authorizers across snapshots, so that a
// reload does not throw away fetched JWKS keys or cached decisions of an
// authorizer whose config did not change.
type Authorizers struct {
	mu   sync.Mutex
	live map[string]*authorizer
	Log  *slog.Logger
}

type authorizer struct {
	cfg    config.Authorizer
	format string
	inv    lambda.Invoker
	jwt    *jwtauth.Authorizer
	lam    *lambdaauth.Authorizer
}

// get returns the authorizer name of api, reusing the live one when its
// config, payload format and function are unchanged.
func (as *Authorizers) get(api, name string, ac config.Authorizer, format string, invokers map[string]lambda.Invoker) (*authorizer, error) {
	as.mu.Lock()
	defer as.mu.Unlock()
	id := api + "/" + name
	var inv lambda.Invoker
	if ac.Type == "lambda" {
		inv = invokers[ac.Function]
	}
	if cur := as.live[id]; cur != nil && reflect.DeepEqual(cur.cfg, ac) && cur.format == format && cur.inv == inv {
		return cur, nil
	}
	log := as.Log
	if log == nil {
		log = slog.Default()
	}
	a := &authorizer{cfg: ac, format: format, inv: inv}
	switch ac.Type {
	case "jwt":
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
	case "lambda", "http":
		o := lambdaauth.Options{
			Name: id, PayloadFormat: format, IdentitySources: ac.IdentitySource,
			TTL: ac.TTL.D(), Timeout: ac.Timeout.D(), Logger: log,
		}
		if ac.SimpleResponses != nil {
			o.Response = lambdaauth.ResponsePolicy
			if *ac.SimpleResponses {
				o.Response = lambdaauth.ResponseSimple
			}
		}
		if ac.Type == "lambda" {
			if invokers == nil {
				return a, nil // compiled without functions (validate, routes): never serves
			}
			if inv == nil {
				return nil, fmt.Errorf("authorizer %s: function %q is not running", name, ac.Function)
			}
			o.Invoker = inv
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
	if as.live == nil {
		as.live = map[string]*authorizer{}
	}
	as.live[id] = a
	return a, nil
}
