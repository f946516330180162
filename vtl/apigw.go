package vtl

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"unicode/utf8"
	"unsafe"
)

// The API Gateway variables. They are views of the evaluation state, so
// reading them allocates nothing.

type inputObj state
type contextObj state
type utilObj struct{}
type paramsObj struct{ in *Input }
type requestOverride struct{ ov *Overrides }
type responseOverride struct{ ov *Overrides }

// overrideMap is one map of the overrides, made on first write.
type overrideMap struct{ m *map[string]string }

func (o overrideMap) get(k string) any {
	v, ok := (*o.m)[k]
	if !ok {
		return nil
	}
	return v
}

func (o overrideMap) put(k, v string) {
	if *o.m == nil {
		*o.m = map[string]string{}
	}
	// Cloned: the caller reads overrides after the evaluation, whose
	// strings may be slices of pooled memory.
	(*o.m)[strings.Clone(k)] = strings.Clone(v)
}

var errBodyNotJSON = errors.New("the body is not JSON, $input.json and $input.path cannot read it")

func (x *inputObj) bodyString() string {
	s := (*state)(x)
	if !s.bodyDone {
		// A view, not a copy: the caller does not change Body while the
		// evaluation runs, and no string outlives the evaluation.
		s.body = unsafe.String(unsafe.SliceData(s.in.Body), len(s.in.Body))
		s.bodyDone = true
	}
	return s.body
}

// rootValue is the parsed body, parsed on first use.
func (x *inputObj) rootValue() (any, error) {
	s := (*state)(x)
	if !s.rootDone {
		s.rootDone = true
		body := strings.TrimSpace(x.bodyString())
		if body == "" {
			s.root = &Map{}
		} else {
			s.root, s.rootErr = parseJSONArena(body, &s.arena)
			if s.rootErr != nil {
				s.rootErr = errBodyNotJSON
			}
		}
	}
	return s.root, s.rootErr
}

func (x *inputObj) call(st *step, args []any, pos int) (any, error) {
	s := (*state)(x)
	switch st.name {
	case "json", "path":
		if len(args) != 1 {
			return nil, s.fail(pos, fmt.Errorf("$input.%s takes one JSONPath", st.name))
		}
		p := st.path
		if p == nil {
			var err error
			if p, err = compilePath(s.str(args[0])); err != nil {
				return nil, s.fail(pos, err)
			}
		}
		root, err := x.rootValue()
		if err != nil {
			return nil, s.fail(pos, err)
		}
		v, found := p.get(root)
		if st.name == "path" {
			return v, nil
		}
		if !found {
			return "", nil
		}
		return s.arena.boxString(string(appendJSON(nil, v, 0, s.lim.MaxOutput))), nil
	case "params":
		if len(args) == 0 {
			return paramsObj{s.in}, nil
		}
		name := s.str(args[0])
		// API Gateway looks a name up in the path, the query string,
		// then the headers; a missing parameter is "".
		if v, ok := s.in.Params.Path[name]; ok {
			return s.arena.boxString(v), nil
		}
		if v, ok := s.in.Params.QueryString[name]; ok {
			return s.arena.boxString(v), nil
		}
		if v, ok := s.in.Params.Header[name]; ok {
			return s.arena.boxString(v), nil
		}
		for k, v := range s.in.Params.Header {
			if strings.EqualFold(k, name) {
				return s.arena.boxString(v), nil
			}
		}
		return "", nil
	case "body", "getBody":
		return s.arena.boxString(x.bodyString()), nil
	}
	return nil, nil
}

func (x *contextObj) get(name string) any {
	s := (*state)(x)
	switch name {
	case "requestOverride":
		return &requestOverride{s.ov}
	case "responseOverride":
		return &responseOverride{s.ov}
	}
	if v, ok := s.in.Context[name]; ok {
		return v
	}
	if s.in.ContextObject != nil {
		return s.objectGet(s.in.ContextObject, name)
	}
	return nil
}

// contextKeys are the names of $context: the map's and the object's.
func (x *contextObj) asMap() *Map {
	s := (*state)(x)
	m := asMap(s.in.Context)
	if o := s.in.ContextObject; o != nil {
		for _, k := range o.Keys() {
			if _, ok := m.Get(k); !ok {
				v, _ := o.Get(k)
				m.Put(k, v)
			}
		}
	}
	return m
}

func (utilObj) call(s *state, st *step, args []any, pos int) (any, error) {
	if len(args) != 1 {
		return nil, s.fail(pos, fmt.Errorf("$util.%s takes one argument", st.name))
	}
	if args[0] == nil {
		return nil, nil
	}
	in := s.str(args[0])
	if err := s.step(pos, len(in)/16); err != nil {
		return nil, err
	}
	switch st.name {
	case "escapeJavaScript":
		return s.arena.boxString(EscapeJavaScript(in)), nil
	case "parseJson":
		v, err := ParseJSON(in)
		if err != nil {
			return nil, s.fail(pos, fmt.Errorf("$util.parseJson: %w", err))
		}
		return v, nil
	case "urlEncode":
		return s.arena.boxString(URLEncode(in)), nil
	case "urlDecode":
		v, err := url.QueryUnescape(in)
		if err != nil {
			return nil, s.fail(pos, fmt.Errorf("$util.urlDecode: %w", err))
		}
		return v, nil
	case "base64Encode":
		return base64.StdEncoding.EncodeToString([]byte(in)), nil
	case "base64Decode":
		b, err := base64.StdEncoding.DecodeString(in)
		if err != nil {
			return nil, s.fail(pos, fmt.Errorf("$util.base64Decode: %w", err))
		}
		return string(b), nil
	}
	return nil, nil
}

// EscapeJavaScript escapes s as API Gateway's $util.escapeJavaScript
// (Apache Commons Lang's StringEscapeUtils.escapeJavaScript) does: quotes
// (single ones too), backslash and slash get a backslash, control
// characters their short or \u00XX form, and every character beyond
// ASCII its \uXXXX form (UTF-16, upper-case hex).
func EscapeJavaScript(s string) string {
	clean := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x7f || c == '\'' || c == '"' || c == '\\' || c == '/' {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	const hex = "0123456789ABCDEF"
	b := make([]byte, 0, len(s)+8)
	u := func(r rune) {
		b = append(b, '\\', 'u', hex[r>>12&0xf], hex[r>>8&0xf], hex[r>>4&0xf], hex[r&0xf])
	}
	for _, r := range s {
		switch {
		case r == '\'' || r == '"' || r == '\\' || r == '/':
			b = append(b, '\\', byte(r))
		case r == '\b':
			b = append(b, '\\', 'b')
		case r == '\n':
			b = append(b, '\\', 'n')
		case r == '\t':
			b = append(b, '\\', 't')
		case r == '\f':
			b = append(b, '\\', 'f')
		case r == '\r':
			b = append(b, '\\', 'r')
		case r < 0x20:
			u(r)
		case r < 0x7f:
			b = append(b, byte(r))
		case r == utf8.RuneError:
			u(0xfffd)
		case r > 0xffff:
			r -= 0x10000
			u(0xd800 + r>>10)
			u(0xdc00 + r&0x3ff)
		default:
			u(r)
		}
	}
	return string(b)
}

// URLEncode encodes s as Java's URLEncoder.encode(s, "UTF-8"), which
// $util.urlEncode is: letters, digits and . - * _ stay, a space becomes
// +, every other byte %XX.
func URLEncode(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '-', c == '*', c == '_':
			b.WriteByte(c)
		case c == ' ':
			b.WriteByte('+')
		default:
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&0xf])
		}
	}
	return b.String()
}
