package router

import (
	"fmt"
	"strings"
)

// Method is an HTTP method a route key may name. ANY matches every method
// of the list that is not explicitly routed on the same path.
type Method uint8

// The methods of API Gateway route keys. Other is every method outside the
// list: ANY does not match it.
const (
	GET Method = iota
	POST
	PUT
	PATCH
	DELETE
	HEAD
	OPTIONS
	ANY
	Other
	numMethods = Other
)

var methodNames = [...]string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "ANY", "OTHER"}

func (m Method) String() string { return methodNames[m] }

// ParseMethod maps a request method to a Method; it never allocates.
func ParseMethod(b []byte) Method {
	switch string(b) {
	case "GET":
		return GET
	case "POST":
		return POST
	case "PUT":
		return PUT
	case "PATCH":
		return PATCH
	case "DELETE":
		return DELETE
	case "HEAD":
		return HEAD
	case "OPTIONS":
		return OPTIONS
	}
	return Other
}

// SegmentKind says how a path segment of a route matches.
type SegmentKind uint8

// Segment kinds, in match priority order.
const (
	Literal SegmentKind = iota
	Param               // {name}: one non-empty segment
	Greedy              // {name+}: one or more segments, last only
)

// Segment is one '/'-separated part of a route path.
type Segment struct {
	Kind SegmentKind
	// Value is the literal text, or the parameter name.
	Value string
}

// Key is a parsed route key: "GET /pets/{id}", "ANY /{proxy+}" or "$default".
type Key struct {
	Default  bool
	Method   Method
	Segments []Segment
}

// MaxParams bounds the path parameters of one route, so that a match fits
// in a fixed array and allocates nothing.
const MaxParams = 16

// ParseKey parses a route key of an HTTP or REST API.
func ParseKey(s string) (Key, error) {
	if s == "$default" {
		return Key{Default: true}, nil
	}
	method, path, ok := strings.Cut(s, " ")
	if !ok {
		return Key{}, fmt.Errorf("route key %q: want \"METHOD /path\" or \"$default\"", s)
	}
	m := ParseMethod([]byte(method))
	if method == "ANY" {
		m = ANY
	}
	if m == Other {
		return Key{}, fmt.Errorf("route key %q: unknown method %q (want GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS or ANY)", s, method)
	}
	segs, err := ParsePath(path)
	if err != nil {
		return Key{}, fmt.Errorf("route key %q: %w", s, err)
	}
	return Key{Method: m, Segments: segs}, nil
}

// ParsePath splits a route path into segments and checks its variables.
func ParsePath(path string) ([]Segment, error) {
	if !strings.HasPrefix(path, "/") {
		return nil, fmt.Errorf("path %q must start with /", path)
	}
	if path == "/" {
		return nil, nil
	}
	if strings.HasSuffix(path, "/") {
		return nil, fmt.Errorf("path %q must not end with / (a trailing slash in a request is ignored)", path)
	}
	parts := strings.Split(path[1:], "/")
	segs := make([]Segment, 0, len(parts))
	names := map[string]bool{}
	for i, p := range parts {
		if p == "" {
			return nil, fmt.Errorf("path %q has an empty segment", path)
		}
		if !strings.ContainsAny(p, "{}") {
			segs = append(segs, Segment{Kind: Literal, Value: p})
			continue
		}
		if !strings.HasPrefix(p, "{") || !strings.HasSuffix(p, "}") {
			return nil, fmt.Errorf("segment %q: a variable must be a whole segment like {id}", p)
		}
		name := p[1 : len(p)-1]
		kind := Param
		if strings.HasSuffix(name, "+") {
			kind = Greedy
			name = strings.TrimSuffix(name, "+")
			if i != len(parts)-1 {
				return nil, fmt.Errorf("greedy variable {%s+} must be the last segment", name)
			}
		}
		if !validParamName(name) {
			return nil, fmt.Errorf("segment %q: variable names use letters, digits, _, - and dots", p)
		}
		if names[name] {
			return nil, fmt.Errorf("variable {%s} appears twice", name)
		}
		names[name] = true
		segs = append(segs, Segment{Kind: kind, Value: name})
	}
	if len(names) > MaxParams {
		return nil, fmt.Errorf("path %q has more than %d variables", path, MaxParams)
	}
	return segs, nil
}

func validParamName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r == '_' || r == '-' || r == '.' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9')) {
			return false
		}
	}
	return true
}

// ParamNames lists the key's variables in path order.
func (k Key) ParamNames() []string {
	var out []string
	for _, s := range k.Segments {
		if s.Kind != Literal {
			out = append(out, s.Value)
		}
	}
	return out
}
