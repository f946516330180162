package wsbridge

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/frontdeskgw/frontdesk/vtl"
)

// WebSocket integrations with mapping templates (type http non-proxy, and
// mock), as API Gateway runs them: the template_selection_expression
// picks a request template by key, the template's output (not the proxy
// event) is what the backend gets, and on two-way routes an integration
// response's template reshapes the backend's answer for the client
// (docs/websocket.md). Only routes whose integration has templates pay
// for this.

// Passthrough is what a message whose selection key has no template does.
type Passthrough uint8

// Passthrough behaviors, as for REST integrations.
const (
	PassWhenNoMatch Passthrough = iota
	PassWhenNoTemplates
	PassNever
)

// DefaultTemplateKey is the template used when the selection expression
// names no template of its own.
const DefaultTemplateKey = "$default"

// TemplateResponse is one integration response of a templated WebSocket
// integration.
type TemplateResponse struct {
	// Pattern must match the whole status code; nil is the default
	// response.
	Pattern *regexp.Regexp
	// Templates by key; the "$default" one is used, else the first key.
	Templates map[string]*vtl.Template
}

// TemplateBackend is a WebSocket integration with mapping templates.
type TemplateBackend struct {
	templates   map[string]*vtl.Template
	selector    *vtl.Template // renders the selection key; nil: $default
	passthrough Passthrough
	next        Backend
	responses   []TemplateResponse
}

// NewTemplateBackend builds a templated integration. selection is the
// template_selection_expression ("\$default", "$request.body.action");
// next gets each message's template output (nil makes it a mock: the
// output's statusCode is the answer's status, default 200).
func NewTemplateBackend(templates map[string]*vtl.Template, selection string, pass Passthrough, next Backend, responses []TemplateResponse) (*TemplateBackend, error) {
	t := &TemplateBackend{templates: templates, passthrough: pass, next: next, responses: responses}
	src, err := selectorTemplate(selection)
	if err != nil {
		return nil, err
	}
	if src != "" {
		if t.selector, err = vtl.Parse(src); err != nil {
			return nil, fmt.Errorf("template selection expression %q: %w", selection, err)
		}
	}
	return t, nil
}

// selectorTemplate turns a selection expression into a template that
// renders the key: $request.body.a.b reads the message's JSON member
// a.b, other text is the key itself (\$ is a literal $).
func selectorTemplate(e string) (string, error) {
	if e == "" {
		return "", nil
	}
	if rest, ok := strings.CutPrefix(e, "$request.body"); ok {
		if rest == "" {
			return "$!input.body", nil
		}
		for _, name := range strings.Split(rest[1:], ".") {
			if name == "" || strings.ContainsAny(name, `'"\$#`) {
				return "", fmt.Errorf("template selection expression %q: want $request.body.NAME[.NAME...]", e)
			}
		}
		return "$!input.path('$" + rest + "')", nil
	}
	if strings.Contains(strings.ReplaceAll(e, `\$`, ""), "$") {
		return "", fmt.Errorf("template selection expression %q: want $request.body.NAME or text (\\$ for a $)", e)
	}
	// Text: the key is the expression with \$ read as $, which is VTL's
	// own escape; other VTL syntax is escaped away.
	var b strings.Builder
	for i := 0; i < len(e); i++ {
		switch {
		case e[i] == '\\' && i+1 < len(e) && e[i+1] == '$':
			b.WriteString(`${esc}`)
			i++
		case e[i] == '#':
			b.WriteString(`${hash}`)
		default:
			b.WriteByte(e[i])
		}
	}
	return "#set($esc = '$')#set($hash = '#')" + b.String(), nil
}

var errNoTemplate = errors.New("no request template for the message and passthrough_behavior refuses it")

// Call maps the event's message through the selected template, calls the
// backend with the result and maps its answer.
func (t *TemplateBackend) Call(ctx context.Context, event []byte, connectionID string) (Reply, error) {
	in, err := eventInput(event)
	if err != nil {
		return Reply{}, err
	}
	out, err := t.request(in)
	if err != nil {
		return Reply{}, err
	}
	reply := Reply{Status: 200}
	if t.next != nil {
		if reply, err = t.next.Call(ctx, out, connectionID); err != nil {
			return reply, err
		}
		if reply.Status == 0 {
			reply.Status = 200
		}
	} else {
		n, ok, err := vtl.JSONMemberInt(out, "statusCode")
		if err != nil && len(strings.TrimSpace(string(out))) > 0 {
			return Reply{}, fmt.Errorf("mock request template output: %w", err)
		}
		if ok {
			reply.Status = int(n)
		}
	}
	r := t.selectResponse(reply.Status)
	if r == nil {
		if t.next == nil {
			reply.Body = nil // a mock without a response answers nothing
		}
		return reply, nil
	}
	tmpl := pickWSTemplate(r.Templates)
	if tmpl == nil {
		return reply, nil
	}
	in.Body = reply.Body
	if reply.Body, err = tmpl.Execute(nil, in, nil); err != nil {
		return Reply{}, fmt.Errorf("response template: %w", err)
	}
	return reply, nil
}

// request renders the request template the selection expression picks,
// or passes the message through.
func (t *TemplateBackend) request(in *vtl.Input) ([]byte, error) {
	key := DefaultTemplateKey
	if t.selector != nil {
		if k, err := t.selector.Render(in, nil); err == nil && k != "" {
			key = k
		}
	}
	tmpl := t.templates[key]
	if tmpl == nil {
		tmpl = t.templates[DefaultTemplateKey]
	}
	if tmpl == nil {
		if t.passthrough == PassWhenNoMatch || t.passthrough == PassWhenNoTemplates && len(t.templates) == 0 {
			return in.Body, nil
		}
		return nil, errNoTemplate
	}
	out, err := tmpl.Execute(nil, in, nil)
	if err != nil {
		return nil, fmt.Errorf("request template %q: %w", key, err)
	}
	return out, nil
}

func (t *TemplateBackend) selectResponse(status int) *TemplateResponse {
	s := strconv.Itoa(status)
	var def *TemplateResponse
	for i := range t.responses {
		r := &t.responses[i]
		if r.Pattern == nil {
			if def == nil {
				def = r
			}
			continue
		}
		if r.Pattern.MatchString(s) {
			return r
		}
	}
	return def
}

func pickWSTemplate(m map[string]*vtl.Template) *vtl.Template {
	if t := m[DefaultTemplateKey]; t != nil {
		return t
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if len(keys) == 0 {
		return nil
	}
	return m[keys[0]]
}

// eventInput describes a WebSocket proxy event to a template: the
// message is $input.body, requestContext is $context, headers and query
// parameters ($connect) are $input.params().
func eventInput(event []byte) (*vtl.Input, error) {
	v, err := vtl.ParseJSON(string(event))
	if err != nil {
		return nil, fmt.Errorf("websocket event: %w", err)
	}
	ev, ok := v.(*vtl.Map)
	if !ok {
		return nil, errors.New("websocket event: not an object")
	}
	in := &vtl.Input{Params: vtl.Params{Path: map[string]string{}}}
	if b, ok := ev.Get("body"); ok {
		if s, ok := b.(string); ok {
			in.Body = []byte(s)
		}
	}
	if rc, ok := ev.Get("requestContext"); ok {
		if m, ok := rc.(*vtl.Map); ok {
			in.ContextObject = m
		}
	}
	in.StageVariables = stringMap(ev, "stageVariables")
	in.Params.Header = stringMap(ev, "headers")
	in.Params.QueryString = stringMap(ev, "queryStringParameters")
	return in, nil
}

// stringMap is the string members of the object ev holds at key.
func stringMap(ev *vtl.Map, key string) map[string]string {
	out := map[string]string{}
	v, _ := ev.Get(key)
	m, ok := v.(*vtl.Map)
	if !ok {
		return out
	}
	for _, k := range m.Keys() {
		if s, ok := m.Get(k); ok {
			if str, ok := s.(string); ok {
				out[k] = str
			}
		}
	}
	return out
}
