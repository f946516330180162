package lambdaauth

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/frontdeskgw/frontdesk/auth"
	"github.com/frontdeskgw/frontdesk/internal/jsonstr"
)

// Result is an allowed request's authorizer output. It is shared by every
// request served from the same cached decision: treat it as read-only.
type Result struct {
	// PrincipalID is the policy answer's principalId ("" for simple
	// answers).
	PrincipalID string

	context []byte // compact JSON object; nil when the answer had none
	v1      []byte // `{"principalId":"…","k":"v",…` without the closing brace
}

// Context returns the authorizer's context as a compact JSON object, or
// nil when it returned none.
func (r *Result) Context() []byte { return r.context }

// AppendV2 appends requestContext.authorizer for payload format 2.0:
// {"lambda":{...context...}} ("lambda":null without a context).
func (r *Result) AppendV2(dst []byte) []byte {
	dst = append(dst, `{"lambda":`...)
	if r.context == nil {
		dst = append(dst, "null"...)
	} else {
		dst = append(dst, r.context...)
	}
	return append(dst, '}')
}

// AppendV1 appends requestContext.authorizer for payload format 1.0: the
// context's keys merged with principalId and integrationLatency
// (milliseconds), every context value stringified as API Gateway does
// ("n":1 becomes "n":"1"; null stays null).
func (r *Result) AppendV1(dst []byte, latency time.Duration) []byte {
	dst = append(dst, r.v1...)
	dst = append(dst, `,"integrationLatency":`...)
	dst = strconv.AppendInt(dst, latency.Milliseconds(), 10)
	return append(dst, '}')
}

// decision is a parsed answer, cached per identity. A simple answer
// applies to every route; a policy is matched against each request's
// method ARN, as API Gateway re-evaluates a cached policy.
type decision struct {
	allow      bool        // simple answers
	statements []statement // policy answers; nil for simple ones
	policy     bool
	result     *Result
}

// decide applies d to one request.
func (d *decision) decide(methodARN string) (*Result, error) {
	allowed := d.allow
	if d.policy {
		allowed = evaluate(d.statements, methodARN)
	}
	if !allowed {
		return nil, auth.Forbidden("", errDenied)
	}
	return d.result, nil
}

var errDenied = errors.New("lambdaauth: authorizer denied the request")

// statement is one compiled IAM policy statement.
type statement struct {
	allow bool
	// unsupported marks NotAction, NotResource or Condition, which this
	// gateway does not evaluate: such an Allow never allows and such a
	// Deny denies everything, so the gap can only refuse, never admit.
	unsupported bool
	actions     []string
	resources   []string
}

// evaluate is IAM's rule for one principal: an explicit deny wins, then an
// allow, and nothing matching means deny.
func evaluate(statements []statement, methodARN string) bool {
	allowed := false
	for i := range statements {
		s := &statements[i]
		if s.unsupported {
			if !s.allow {
				return false
			}
			continue
		}
		if !s.matches(methodARN) {
			continue
		}
		if !s.allow {
			return false
		}
		allowed = true
	}
	return allowed
}

func (s *statement) matches(methodARN string) bool {
	actionOK := false
	for _, a := range s.actions {
		if glob(a, "execute-api:Invoke", true) {
			actionOK = true
			break
		}
	}
	if !actionOK {
		return false
	}
	for _, r := range s.resources {
		if glob(r, methodARN, false) {
			return true
		}
	}
	return false
}

// glob matches s against an IAM pattern: "*" any run of characters
// (slashes included), "?" any one. fold ignores ASCII case (action names
// are case-insensitive, resources are not).
func glob(pattern, s string, fold bool) bool {
	p, i := 0, 0
	star, mark := -1, 0 // last "*" in pattern and where in s it resumes
	for i < len(s) {
		switch {
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, i
			p++
		case p < len(pattern) && (pattern[p] == '?' || sameByte(pattern[p], s[i], fold)):
			p++
			i++
		case star >= 0:
			mark++
			p, i = star+1, mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

func sameByte(a, b byte, fold bool) bool {
	if a == b {
		return true
	}
	if !fold {
		return false
	}
	if a >= 'A' && a <= 'Z' {
		a += 'a' - 'A'
	}
	if b >= 'A' && b <= 'Z' {
		b += 'a' - 'A'
	}
	return a == b
}

// stringList is an IAM field that may be one string or a list.
type stringList []string

func (l *stringList) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*l = stringList{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return fmt.Errorf("want a string or a list of strings: %w", err)
	}
	*l = many
	return nil
}

type rawStatement struct {
	Effect      string          `json:"Effect"`
	Action      stringList      `json:"Action"`
	Resource    stringList      `json:"Resource"`
	NotAction   json.RawMessage `json:"NotAction"`
	NotResource json.RawMessage `json:"NotResource"`
	Condition   json.RawMessage `json:"Condition"`
}

// parseAnswer reads a simple answer or a policy answer, whichever the
// authorizer is configured for.
func parseAnswer(body []byte, simple bool) (*decision, error) {
	body = bytes.TrimSpace(body)
	if simple {
		var out struct {
			IsAuthorized *bool           `json:"isAuthorized"`
			Context      json.RawMessage `json:"context"`
		}
		if err := json.Unmarshal(body, &out); err != nil {
			return nil, fmt.Errorf("simple response: %w", err)
		}
		if out.IsAuthorized == nil {
			return nil, errors.New("simple response without a boolean isAuthorized")
		}
		r, err := newResult("", out.Context)
		if err != nil {
			return nil, err
		}
		return &decision{allow: *out.IsAuthorized, result: r}, nil
	}

	var out struct {
		PrincipalID    *string `json:"principalId"`
		PolicyDocument *struct {
			Statement json.RawMessage `json:"Statement"`
		} `json:"policyDocument"`
		Context json.RawMessage `json:"context"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		return nil, fmt.Errorf("policy response: %w", err)
	}
	if out.PolicyDocument == nil || len(out.PolicyDocument.Statement) == 0 {
		return nil, errors.New("policy response without policyDocument.Statement")
	}
	var raws []rawStatement
	if st := bytes.TrimSpace(out.PolicyDocument.Statement); len(st) > 0 && st[0] == '{' {
		raws = make([]rawStatement, 1)
		if err := json.Unmarshal(st, &raws[0]); err != nil {
			return nil, fmt.Errorf("policy statement: %w", err)
		}
	} else if err := json.Unmarshal(st, &raws); err != nil {
		return nil, fmt.Errorf("policy statements: %w", err)
	}
	d := &decision{policy: true, statements: make([]statement, 0, len(raws))}
	for i, rs := range raws {
		s := statement{
			unsupported: rs.NotAction != nil || rs.NotResource != nil || rs.Condition != nil,
			actions:     rs.Action,
			resources:   rs.Resource,
		}
		switch rs.Effect {
		case "Allow":
			s.allow = true
		case "Deny":
		default:
			return nil, fmt.Errorf("policy statement %d: Effect %q, want Allow or Deny", i, rs.Effect)
		}
		d.statements = append(d.statements, s)
	}
	principal := ""
	if out.PrincipalID != nil {
		principal = *out.PrincipalID
	}
	r, err := newResult(principal, out.Context)
	if err != nil {
		return nil, err
	}
	d.result = r
	return d, nil
}

// newResult validates the context and renders both payload forms once, so
// every cached use only copies bytes.
func newResult(principal string, rawContext json.RawMessage) (*Result, error) {
	r := &Result{PrincipalID: principal}
	var fields map[string]json.RawMessage
	if len(rawContext) > 0 && string(rawContext) != "null" {
		if err := json.Unmarshal(rawContext, &fields); err != nil {
			return nil, fmt.Errorf("context is not a JSON object: %w", err)
		}
		var buf bytes.Buffer
		if err := json.Compact(&buf, rawContext); err != nil {
			return nil, fmt.Errorf("context: %w", err)
		}
		r.context = buf.Bytes()
	}

	v1 := jsonstr.Append([]byte(`{"principalId":`), principal)
	for _, k := range slices.Sorted(maps.Keys(fields)) {
		if k == "principalId" || k == "integrationLatency" {
			continue // the gateway's own keys win
		}
		v1 = append(v1, ',')
		v1 = jsonstr.Append(v1, k)
		v1 = append(v1, ':')
		v1 = appendStringified(v1, fields[k])
	}
	r.v1 = v1
	return r, nil
}

// appendStringified renders a context value for payload 1.0: strings as
// they are, null as null, anything else as a string of its JSON text.
func appendStringified(dst []byte, raw json.RawMessage) []byte {
	raw = bytes.TrimSpace(raw)
	switch {
	case len(raw) > 0 && raw[0] == '"':
		return append(dst, raw...)
	case string(raw) == "null":
		return append(dst, "null"...)
	default:
		var buf bytes.Buffer
		if json.Compact(&buf, raw) == nil {
			raw = buf.Bytes()
		}
		return jsonstr.Append(dst, raw)
	}
}
