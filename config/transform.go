package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// RequestValidator is one of a REST API's request validators: what a
// route using it checks before its integration runs.
type RequestValidator struct {
	ValidateRequestBody       bool `yaml:"validate_request_body"`
	ValidateRequestParameters bool `yaml:"validate_request_parameters"`
}

// Model is a REST API's model: a JSON Schema (draft 4) that request
// bodies are validated against, written as YAML or as a JSON string.
type Model struct {
	Schema any `yaml:"schema"`

	// compiled is the schema compiled once, when the config is checked.
	compiled *jsonschema.Schema
}

// MaxMappings bounds the parameter mappings of one integration's request,
// and of each of its response status codes.
const MaxMappings = 64

// CompiledSchema returns the model's schema compiled as JSON Schema draft
// 4. It is compiled once, on the first call (the config's check); a
// schema that does not compile is an error naming why.
func (m *Model) CompiledSchema(name string) (*jsonschema.Schema, error) {
	if m.compiled != nil {
		return m.compiled, nil
	}
	var raw []byte
	switch s := m.Schema.(type) {
	case nil:
		return nil, fmt.Errorf("schema is required")
	case string:
		raw = []byte(s)
	default:
		b, err := json.Marshal(s)
		if err != nil {
			return nil, fmt.Errorf("schema is not a JSON value: %w", err)
		}
		raw = b
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("schema is not JSON: %w", err)
	}
	if _, ok := doc.(map[string]any); !ok {
		return nil, fmt.Errorf("schema must be a JSON object")
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft4)
	// No loader reaches outside the config: a $ref to another document
	// fails to compile instead of reading files or the network.
	c.UseLoader(noLoader{})
	url := "https://models.frontdesk.invalid/" + name
	if err := c.AddResource(url, doc); err != nil {
		return nil, fmt.Errorf("schema: %w", err)
	}
	sch, err := c.Compile(url)
	if err != nil {
		// The library's message spans lines and names the schema by its
		// internal URL: one line, naming the key, reads better.
		msg := strings.ReplaceAll(err.Error(), strconv.Quote(url+"#")+" ", "it ")
		msg = strings.ReplaceAll(msg, url+"#", "")
		msg = strings.Join(strings.Fields(strings.ReplaceAll(msg, "\n", "; ")), " ")
		return nil, fmt.Errorf("schema does not compile as JSON Schema draft 4: %s", msg)
	}
	m.compiled = sch
	return sch, nil
}

type noLoader struct{}

func (noLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("%s: models may refer only within themselves", url)
}

// ParamLocation is where a request parameter is: header, querystring or
// path.
type ParamLocation uint8

// Parameter locations, in the order a "Missing required request
// parameters" message lists them.
const (
	ParamHeader ParamLocation = iota
	ParamPath
	ParamQuery
)

// ParseRequiredParam reads a route's request_parameters key,
// "method.request.querystring.q1" (or header, path), as API Gateway names
// method request parameters.
func ParseRequiredParam(key string) (ParamLocation, string, error) {
	rest, ok := strings.CutPrefix(key, "method.request.")
	if ok {
		loc, name, _ := strings.Cut(rest, ".")
		if name != "" {
			switch loc {
			case "header":
				return ParamHeader, name, nil
			case "querystring":
				return ParamQuery, name, nil
			case "path":
				return ParamPath, name, nil
			}
		}
	}
	return 0, "", fmt.Errorf("want method.request.header.<name>, method.request.querystring.<name> or method.request.path.<name>, got %q", key)
}

// MapAction is what a parameter mapping does: append, overwrite, remove.
type MapAction uint8

// Mapping actions.
const (
	MapAppend MapAction = iota
	MapOverwrite
	MapRemove
)

// MapTarget is what a parameter mapping changes.
type MapTarget uint8

// Mapping targets.
const (
	MapHeader MapTarget = iota
	MapQuery
	MapPath
	MapStatus
)

// MapSource is where one part of a mapped value comes from.
type MapSource uint8

// Value sources. Static parts are text; the others name what they read.
const (
	SrcStatic          MapSource = iota
	SrcRequestHeader             // $request.header.<name>
	SrcRequestQuery              // $request.querystring.<name>
	SrcRequestBody               // $request.body (whole) or $request.body.<path>
	SrcRequestPath               // $request.path (the path without the stage)
	SrcRequestPathParm           // $request.path.<name>
	SrcResponseHeader            // $response.header.<name>
	SrcResponseBody              // $response.body or $response.body.<path>
	SrcContext                   // $context.<name>
	SrcStageVariable             // $stageVariables.<name>
)

// MapPart is one part of a mapped value: static text, or a variable.
type MapPart struct {
	Source MapSource
	// Name is the static text, or the variable's name (a JSONPath for
	// bodies, "" for a whole body).
	Name string
}

// ParamMapping is one parsed request_parameters or response_parameters
// entry.
type ParamMapping struct {
	Action MapAction
	Target MapTarget
	// Name is the header or query string parameter changed.
	Name  string
	Value []MapPart
}

// MappingContextVars are the $context variables a parameter mapping may
// read.
var MappingContextVars = []string{
	"apiId", "stage", "routeKey", "resourcePath", "requestId", "extendedRequestId",
	"httpMethod", "path", "protocol", "domainName", "domainPrefix",
	"identity.sourceIp", "identity.userAgent", "requestTime", "requestTimeEpoch",
	"accountId", "authorizer.principalId", "authorizer.<key>", "authorizer.claims.<claim>",
}

func knownContextVar(name string) bool {
	if rest, ok := strings.CutPrefix(name, "authorizer."); ok {
		return rest != "" && !strings.HasSuffix(rest, ".")
	}
	for _, v := range MappingContextVars {
		if v == name {
			return true
		}
	}
	return false
}

// ParseParamMapping reads one parameter mapping: key is
// "append|overwrite|remove:header.<name>", "...:querystring.<name>",
// "overwrite:path" (requests) or "overwrite:statuscode" (responses), and
// value mixes static text with $request.*, $response.*, $context.* and
// $stageVariables.* variables, bare ($request.header.x) or braced
// (${request.header.x}) as API Gateway writes them.
func ParseParamMapping(key, value string, response bool) (ParamMapping, error) {
	var m ParamMapping
	action, target, ok := strings.Cut(key, ":")
	if !ok {
		return m, fmt.Errorf("want append|overwrite|remove:header.<name>, got %q", key)
	}
	switch action {
	case "append":
		m.Action = MapAppend
	case "overwrite":
		m.Action = MapOverwrite
	case "remove":
		m.Action = MapRemove
	default:
		return m, fmt.Errorf("%q: the action is append, overwrite or remove, got %q", key, action)
	}
	switch {
	case strings.HasPrefix(target, "header."):
		m.Target, m.Name = MapHeader, target[len("header."):]
		if !validHeaderName(m.Name) {
			return m, fmt.Errorf("%q: %q is not a header name", key, m.Name)
		}
		if reservedHeader(m.Name) {
			return m, fmt.Errorf("%q: %s is a reserved header API Gateway does not let mappings change", key, m.Name)
		}
	case strings.HasPrefix(target, "querystring.") && !response:
		m.Target, m.Name = MapQuery, target[len("querystring."):]
		if m.Name == "" {
			return m, fmt.Errorf("%q: the query string parameter has no name", key)
		}
	case target == "path" && !response:
		m.Target = MapPath
		if m.Action != MapOverwrite {
			return m, fmt.Errorf("%q: the path can only be overwritten", key)
		}
	case target == "statuscode" && response:
		m.Target = MapStatus
		if m.Action != MapOverwrite {
			return m, fmt.Errorf("%q: the status code can only be overwritten", key)
		}
	default:
		want := "header.<name>, querystring.<name> or path"
		if response {
			want = "header.<name> or statuscode"
		}
		return m, fmt.Errorf("%q: want %s after the action", key, want)
	}
	if m.Action == MapRemove {
		return m, nil // the value is ignored ('' by convention)
	}
	parts, err := parseMapValue(value, response)
	if err != nil {
		return m, fmt.Errorf("%q: %w", key, err)
	}
	m.Value = parts
	if m.Target == MapStatus && len(parts) == 1 && parts[0].Source == SrcStatic {
		if n, err := strconv.Atoi(parts[0].Name); err != nil || n < 100 || n > 599 {
			return m, fmt.Errorf("%q: want a status code 100-599, got %q", key, parts[0].Name)
		}
	}
	return m, nil
}

// parseMapValue splits a mapping value into static text and variables.
func parseMapValue(v string, response bool) ([]MapPart, error) {
	var parts []MapPart
	static := func(s string) {
		if s == "" {
			return
		}
		if n := len(parts); n > 0 && parts[n-1].Source == SrcStatic {
			parts[n-1].Name += s
			return
		}
		parts = append(parts, MapPart{Source: SrcStatic, Name: s})
	}
	for v != "" {
		i := strings.IndexByte(v, '$')
		if i < 0 || i == len(v)-1 {
			static(v)
			break
		}
		static(v[:i])
		v = v[i+1:]
		var expr string
		if v[0] == '{' {
			j := strings.IndexByte(v, '}')
			if j < 0 {
				return nil, fmt.Errorf("unclosed ${ in the value")
			}
			expr, v = v[1:j], v[j+1:]
		} else {
			// A bare variable runs to the first character that cannot be
			// part of a name: AWS allows only . and _ in them, besides
			// letters and digits (and - in header names).
			j := 0
			for j < len(v) && isVarByte(v[j]) {
				j++
			}
			expr = strings.TrimRight(v[:j], ".")
			v = v[len(expr):]
			if expr == "" {
				static("$")
				continue
			}
		}
		p, err := parseMapVar(expr, response)
		if err != nil {
			return nil, err
		}
		parts = append(parts, p)
	}
	return parts, nil
}

func isVarByte(c byte) bool {
	return c == '.' || c == '_' || c == '-' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '[' || c == ']'
}

func parseMapVar(expr string, response bool) (MapPart, error) {
	bad := func() (MapPart, error) {
		if response {
			return MapPart{}, fmt.Errorf("unknown variable $%s: want $response.header.<name>, $response.body[.<path>], $context.<name>, $stageVariables.<name>", expr)
		}
		return MapPart{}, fmt.Errorf("unknown variable $%s: want $request.header.<name>, $request.querystring.<name>, $request.body[.<path>], $request.path[.<name>], $context.<name>, $stageVariables.<name>", expr)
	}
	src, name, _ := strings.Cut(expr, ".")
	switch src {
	case "context":
		if !knownContextVar(name) {
			return MapPart{}, fmt.Errorf("$context.%s is not a variable mappings can read (%s)", name, strings.Join(MappingContextVars, ", "))
		}
		return MapPart{Source: SrcContext, Name: name}, nil
	case "stageVariables":
		if name == "" {
			return bad()
		}
		return MapPart{Source: SrcStageVariable, Name: name}, nil
	case "request":
		if response {
			return bad()
		}
		kind, n, _ := strings.Cut(name, ".")
		switch {
		case kind == "header" && n != "":
			return MapPart{Source: SrcRequestHeader, Name: n}, nil
		case kind == "querystring" && n != "":
			return MapPart{Source: SrcRequestQuery, Name: n}, nil
		case kind == "path" && n == "":
			return MapPart{Source: SrcRequestPath}, nil
		case kind == "path":
			return MapPart{Source: SrcRequestPathParm, Name: n}, nil
		case kind == "body":
			if err := checkBodyPath(n); err != nil {
				return MapPart{}, err
			}
			return MapPart{Source: SrcRequestBody, Name: n}, nil
		}
	case "response":
		if !response {
			return bad()
		}
		kind, n, _ := strings.Cut(name, ".")
		switch {
		case kind == "header" && n != "":
			return MapPart{Source: SrcResponseHeader, Name: n}, nil
		case kind == "body":
			if err := checkBodyPath(n); err != nil {
				return MapPart{}, err
			}
			return MapPart{Source: SrcResponseBody, Name: n}, nil
		}
	}
	return bad()
}

// checkBodyPath accepts the JSONPath subset API Gateway allows in
// mappings: member names and [index] steps; no recursive descent and no
// filters.
func checkBodyPath(p string) error {
	if strings.Contains(p, "..") || strings.HasPrefix(p, ".") {
		return fmt.Errorf("$request.body..%s: recursive descent is not supported", strings.TrimLeft(p, "."))
	}
	if strings.ContainsAny(p, "?()*") {
		return fmt.Errorf("body path %q: filters and wildcards are not supported", p)
	}
	_, err := SplitBodyPath(p)
	return err
}

// SplitBodyPath splits "a.b[0].c" into its steps; an index step is
// "[0]".
func SplitBodyPath(p string) ([]string, error) {
	var steps []string
	for p != "" {
		switch {
		case p[0] == '[':
			j := strings.IndexByte(p, ']')
			if j < 0 {
				return nil, fmt.Errorf("body path: unclosed [")
			}
			if _, err := strconv.Atoi(p[1:j]); err != nil {
				return nil, fmt.Errorf("body path: index %q is not a number", p[1:j])
			}
			steps = append(steps, p[:j+1])
			p = strings.TrimPrefix(p[j+1:], ".")
		default:
			j := strings.IndexAny(p, ".[")
			if j < 0 {
				j = len(p)
			}
			if j == 0 {
				return nil, fmt.Errorf("body path: empty member name")
			}
			steps = append(steps, p[:j])
			p = strings.TrimPrefix(p[j:], ".")
		}
	}
	return steps, nil
}

func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

// reservedHeaders are the headers API Gateway refuses to map in HTTP
// APIs; reservedPrefixes the families it refuses.
var (
	reservedHeaders = []string{
		"authorization", "connection", "content-encoding", "content-length", "content-location",
		"forwarded", "keep-alive", "origin", "proxy-authenticate", "proxy-authorization", "te",
		"trailers", "transfer-encoding", "upgrade", "x-forwarded-for", "x-forwarded-host",
		"x-forwarded-proto", "via",
		// Host is not in AWS's list (API Gateway sets it from the
		// integration URL and refuses a mapping of it at deploy time);
		// here too it always names the origin.
		"host",
	}
	reservedPrefixes = []string{"access-control-", "apigw-", "x-amz-", "x-amzn-"}
)

func reservedHeader(name string) bool {
	n := strings.ToLower(name)
	for _, h := range reservedHeaders {
		if n == h {
			return true
		}
	}
	for _, p := range reservedPrefixes {
		if strings.HasPrefix(n, p) {
			return true
		}
	}
	return false
}
