package jwtauth

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Claim is one token claim with its value as API Gateway passes it on:
// always a string.
type Claim struct {
	Name, Value string
}

// Result is a verified token. It is shared by every request presenting the
// same token while cached: treat it as read-only.
type Result struct {
	// Claims are every claim of the token, sorted by name, values
	// stringified: strings as is, numbers in their JSON text, booleans as
	// "true"/"false", null as "null", arrays as "[a b]" and objects as
	// their compact JSON.
	Claims []Claim
	// Scopes are the token's scopes (scope and scp claims), nil when it
	// has none.
	Scopes []string

	expires time.Time
	json    []byte // {"claims":{...},"scopes":[...]|null}
}

// Claim returns the stringified value of the named claim.
func (r *Result) Claim(name string) (string, bool) {
	i := sort.Search(len(r.Claims), func(i int) bool { return r.Claims[i].Name >= name })
	if i < len(r.Claims) && r.Claims[i].Name == name {
		return r.Claims[i].Value, true
	}
	return "", false
}

// AppendV2 appends requestContext.authorizer for payload format 2.0:
// {"jwt":{"claims":{...},"scopes":[...]}} ("scopes":null without scopes).
func (r *Result) AppendV2(dst []byte) []byte {
	dst = append(dst, `{"jwt":`...)
	dst = append(dst, r.json...)
	return append(dst, '}')
}

// AppendV1 appends requestContext.authorizer for payload format 1.0:
// {"claims":{...},"scopes":[...]}.
func (r *Result) AppendV1(dst []byte) []byte {
	return append(dst, r.json...)
}

// newResult flattens verified claims once; the JSON is built here so every
// cached use of the token only copies bytes.
func newResult(claims map[string]any, expires time.Time) (*Result, error) {
	r := &Result{expires: expires, Claims: make([]Claim, 0, len(claims))}
	flat := make(map[string]string, len(claims))
	for _, name := range slices.Sorted(maps.Keys(claims)) {
		v, err := stringify(claims[name])
		if err != nil {
			return nil, fmt.Errorf("jwtauth: claim %q: %w", name, err)
		}
		r.Claims = append(r.Claims, Claim{Name: name, Value: v})
		flat[name] = v
	}
	r.Scopes = tokenScopes(claims)

	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // claim values reach the integration byte for byte
	err := enc.Encode(struct {
		Claims map[string]string `json:"claims"`
		Scopes []string          `json:"scopes"`
	}{flat, r.Scopes})
	if err != nil {
		return nil, fmt.Errorf("jwtauth: encoding claims: %w", err)
	}
	r.json = bytes.TrimSuffix(buf.Bytes(), []byte{'\n'})
	return r, nil
}

// stringify renders a claim value the way API Gateway does: every claim
// reaches the integration as a string.
func stringify(v any) (string, error) {
	switch v := v.(type) {
	case string:
		return v, nil
	case json.Number:
		return v.String(), nil
	case bool:
		return strconv.FormatBool(v), nil
	case nil:
		return "null", nil
	case []any:
		parts := make([]string, len(v))
		for i, e := range v {
			s, err := stringify(e)
			if err != nil {
				return "", err
			}
			parts[i] = s
		}
		return "[" + strings.Join(parts, " ") + "]", nil
	default:
		b, err := json.Marshal(v)
		if err != nil {
			return "", err
		}
		return string(b), nil
	}
}

// tokenScopes collects scope (space-separated string) and scp (array or
// space-separated string), without duplicates, in order.
func tokenScopes(claims map[string]any) []string {
	var out []string
	add := func(s string) {
		if s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	for _, name := range [...]string{"scope", "scp"} {
		switch v := claims[name].(type) {
		case string:
			for s := range strings.FieldsSeq(v) {
				add(s)
			}
		case []any:
			for _, e := range v {
				if s, ok := e.(string); ok {
					add(s)
				}
			}
		}
	}
	return out
}
