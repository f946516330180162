package vtl

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf16"
)

// method calls st on v. A method the value does not have gives null, as
// in Velocity; a method that fails (an index out of range, a bad regular
// expression) is an error, as Java's exception is in API Gateway.
func (s *state) method(v any, st *step, pos int) (any, error) {
	var buf [3]any
	args := buf[:0]
	for _, a := range st.args {
		x, err := s.eval(a)
		if err != nil {
			return nil, err
		}
		args = append(args, x)
	}
	switch x := v.(type) {
	case *inputObj:
		return x.call(st, args, pos)
	case utilObj:
		return x.call(s, st, args, pos)
	case string:
		return s.stringMethod(x, st, args, pos)
	case *List:
		return s.listMethod(x, st, args, pos)
	case *Map:
		return s.mapMethod(x, st, args)
	case map[string]any, map[string]string, paramsObj, overrideMap, *contextObj, Object:
		if st.name == "toString" {
			return s.str(v), nil
		}
		switch st.name {
		case "get":
			if len(args) == 1 {
				return s.prop(v, s.str(args[0])), nil
			}
		case "put":
			if o, ok := v.(overrideMap); ok && len(args) == 2 {
				o.put(s.str(args[0]), s.str(args[1]))
			}
			return nil, nil
		case "containsKey":
			if len(args) == 1 {
				return s.prop(v, s.str(args[0])) != nil, nil
			}
		}
		return s.mapMethod(s.mapOf(v), st, args)
	case int64, float64, bool:
		switch st.name {
		case "toString":
			return s.str(x), nil
		case "intValue", "longValue":
			n, _ := toInt(x)
			return n, nil
		case "doubleValue", "floatValue":
			f, _ := toFloat(x)
			return f, nil
		case "equals":
			if len(args) == 1 {
				return s.equal(x, args[0]), nil
			}
		}
		return nil, nil
	case *foreachScope:
		switch st.name {
		case "hasNext":
			return x.hasNext, nil
		case "getIndex", "index":
			return int64(x.index), nil
		case "getCount", "count":
			return int64(x.index + 1), nil
		}
	case *defineBlock:
		str, err := s.renderBlock(x, pos)
		if err != nil {
			return nil, err
		}
		return s.stringMethod(str, st, args, pos)
	}
	return nil, nil
}

// mapOf turns a read-only map view into a *Map for the generic methods.
func (s *state) mapOf(v any) *Map {
	switch x := v.(type) {
	case paramsObj:
		m := &Map{}
		m.Put("path", orEmpty(x.in.Params.Path))
		m.Put("querystring", orEmpty(x.in.Params.QueryString))
		m.Put("header", orEmpty(x.in.Params.Header))
		return m
	case overrideMap:
		return asMap(*x.m)
	case *contextObj:
		return x.asMap()
	case *Map:
		return x
	case Object:
		out := &Map{}
		for _, k := range x.Keys() {
			v, _ := x.Get(k)
			out.Put(k, v)
		}
		return out
	}
	return asMap(v)
}

func (s *state) regex(st *step, arg any, pos int) (*regexp.Regexp, error) {
	if st.re != nil {
		return st.re, nil
	}
	re, err := compileJavaRegex(s.str(arg))
	if err != nil {
		return nil, s.fail(pos, err)
	}
	return re, nil
}

// compileJavaRegex compiles a Java regular expression with Go's RE2,
// which shares its common syntax (no backreferences or lookaround).
func compileJavaRegex(p string) (*regexp.Regexp, error) {
	if len(p) > maxPathBytes {
		return nil, fmt.Errorf("regular expression longer than %d bytes", maxPathBytes)
	}
	re, err := regexp.Compile(p)
	if err != nil {
		return nil, fmt.Errorf("regular expression %q: %w", p, err)
	}
	return re, nil
}

// javaReplacement turns a Java replacement string ($1, \$) into Go's
// (${1}, $$).
func javaReplacement(r string) string {
	if !strings.ContainsAny(r, `$\`) {
		return r
	}
	var b strings.Builder
	for i := 0; i < len(r); i++ {
		c := r[i]
		switch {
		case c == '\\' && i+1 < len(r):
			i++
			if r[i] == '$' {
				b.WriteString("$$")
			} else {
				b.WriteByte(r[i])
			}
		case c == '$':
			j := i + 1
			for j < len(r) && r[j] >= '0' && r[j] <= '9' {
				j++
			}
			if j == i+1 {
				b.WriteString("$$")
				continue
			}
			b.WriteString("${" + r[i+1:j] + "}")
			i = j - 1
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// utf16Len and the index helpers make string positions Java's: UTF-16
// code units. ASCII strings take the fast path.
func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func (s *state) stringMethod(x string, st *step, args []any, pos int) (any, error) {
	if err := s.step(pos, len(x)/16); err != nil {
		return nil, err
	}
	argStr := func(i int) string {
		if i < len(args) {
			return s.str(args[i])
		}
		return ""
	}
	need := func(n int) error {
		if len(args) != n {
			return s.fail(pos, fmt.Errorf("%s takes %d arguments, got %d", st.name, n, len(args)))
		}
		return nil
	}
	bound := func(r string) (any, error) {
		if len(r) > s.lim.MaxOutput {
			return nil, s.fail(pos, ErrOutputTooLarge)
		}
		return r, nil
	}
	switch st.name {
	case "length":
		if isASCII(x) {
			return int64(len(x)), nil
		}
		return int64(len(utf16.Encode([]rune(x)))), nil
	case "isEmpty":
		return x == "", nil
	case "toString", "trim", "toLowerCase", "toUpperCase":
		switch st.name {
		case "trim":
			return strings.Trim(x, " \t\n\r\f\v\x00"), nil
		case "toLowerCase":
			return strings.ToLower(x), nil
		case "toUpperCase":
			return strings.ToUpper(x), nil
		}
		return x, nil
	case "contains":
		if err := need(1); err != nil {
			return nil, err
		}
		return strings.Contains(x, argStr(0)), nil
	case "startsWith":
		if err := need(1); err != nil {
			return nil, err
		}
		return strings.HasPrefix(x, argStr(0)), nil
	case "endsWith":
		if err := need(1); err != nil {
			return nil, err
		}
		return strings.HasSuffix(x, argStr(0)), nil
	case "equals":
		if err := need(1); err != nil {
			return nil, err
		}
		y, ok := args[0].(string)
		return ok && x == y, nil
	case "equalsIgnoreCase":
		if err := need(1); err != nil {
			return nil, err
		}
		return strings.EqualFold(x, argStr(0)), nil
	case "indexOf", "lastIndexOf":
		if len(args) != 1 {
			return nil, need(1)
		}
		sub := argStr(0)
		i := strings.Index(x, sub)
		if st.name == "lastIndexOf" {
			i = strings.LastIndex(x, sub)
		}
		if i < 0 {
			return int64(-1), nil
		}
		if isASCII(x[:i]) {
			return int64(i), nil
		}
		return int64(len(utf16.Encode([]rune(x[:i])))), nil
	case "charAt":
		if err := need(1); err != nil {
			return nil, err
		}
		u := utf16.Encode([]rune(x))
		i, _ := toInt(args[0])
		if i < 0 || i >= int64(len(u)) {
			return nil, s.fail(pos, fmt.Errorf("charAt(%d): index out of range for length %d", i, len(u)))
		}
		return string(utf16.Decode(u[i : i+1])), nil
	case "substring":
		if len(args) != 1 && len(args) != 2 {
			return nil, need(2)
		}
		u := utf16.Encode([]rune(x))
		b, _ := toInt(args[0])
		e := int64(len(u))
		if len(args) == 2 {
			e, _ = toInt(args[1])
		}
		if b < 0 || e > int64(len(u)) || b > e {
			return nil, s.fail(pos, fmt.Errorf("substring(%d, %d): out of range for length %d", b, e, len(u)))
		}
		return string(utf16.Decode(u[b:e])), nil
	case "concat":
		if err := need(1); err != nil {
			return nil, err
		}
		return bound(x + argStr(0))
	case "replace":
		if err := need(2); err != nil {
			return nil, err
		}
		old := argStr(0)
		if old == "" {
			return x, nil
		}
		if n := strings.Count(x, old); n > 0 && len(x)+n*len(argStr(1)) > s.lim.MaxOutput {
			return nil, s.fail(pos, ErrOutputTooLarge)
		}
		return strings.ReplaceAll(x, old, argStr(1)), nil
	case "replaceAll", "replaceFirst":
		if err := need(2); err != nil {
			return nil, err
		}
		re, err := s.regex(st, args[0], pos)
		if err != nil {
			return nil, err
		}
		repl := javaReplacement(argStr(1))
		if st.name == "replaceFirst" {
			loc := re.FindStringSubmatchIndex(x)
			if loc == nil {
				return x, nil
			}
			out := re.ExpandString(nil, repl, x, loc)
			return bound(x[:loc[0]] + string(out) + x[loc[1]:])
		}
		if n := len(re.FindAllStringIndex(x, -1)); n > 0 && len(x)+n*(len(repl)+64) > s.lim.MaxOutput {
			return nil, s.fail(pos, ErrOutputTooLarge)
		}
		return bound(re.ReplaceAllString(x, repl))
	case "matches":
		if err := need(1); err != nil {
			return nil, err
		}
		re, err := s.regex(st, args[0], pos)
		if err != nil {
			return nil, err
		}
		loc := re.FindStringIndex(x)
		if loc == nil || loc[0] != 0 || loc[1] != len(x) {
			// Java's matches is a whole-string match.
			full, err := compileJavaRegex(`^(?:` + re.String() + `)$`)
			if err != nil {
				return nil, s.fail(pos, err)
			}
			return full.MatchString(x), nil
		}
		return true, nil
	case "split":
		if len(args) != 1 && len(args) != 2 {
			return nil, need(1)
		}
		re, err := s.regex(st, args[0], pos)
		if err != nil {
			return nil, err
		}
		limit := int64(0)
		if len(args) == 2 {
			limit, _ = toInt(args[1])
		}
		var parts []string
		if limit > 0 {
			parts = re.Split(x, int(limit))
		} else {
			parts = re.Split(x, -1)
			if limit == 0 {
				// Java drops trailing empty strings.
				for len(parts) > 0 && parts[len(parts)-1] == "" {
					parts = parts[:len(parts)-1]
				}
				if len(parts) == 0 {
					parts = []string{x}
				}
			}
		}
		if err := s.step(pos, len(parts)); err != nil {
			return nil, err
		}
		l := &List{Items: make([]any, len(parts))}
		for i, p := range parts {
			l.Items[i] = p
		}
		return l, nil
	case "hashCode":
		var h int32
		for _, c := range utf16.Encode([]rune(x)) {
			h = 31*h + int32(c)
		}
		return int64(h), nil
	}
	return nil, nil
}

func (s *state) listMethod(x *List, st *step, args []any, pos int) (any, error) {
	switch st.name {
	case "size":
		return int64(len(x.Items)), nil
	case "isEmpty":
		return len(x.Items) == 0, nil
	case "get":
		if len(args) != 1 {
			return nil, s.fail(pos, fmt.Errorf("get takes one index"))
		}
		i, ok := toInt(args[0])
		if !ok || i < 0 || i >= int64(len(x.Items)) {
			return nil, s.fail(pos, fmt.Errorf("get(%v): index out of range for size %d", s.str(args[0]), len(x.Items)))
		}
		return x.Items[i], nil
	case "add":
		if len(args) > 0 {
			v, err := s.own(args[len(args)-1], 0, pos)
			if err != nil {
				return nil, err
			}
			args[len(args)-1] = v
		}
		if len(args) == 1 {
			if err := s.step(pos, 1); err != nil {
				return nil, err
			}
			x.Items = append(x.Items, args[0])
			return true, nil
		}
		if len(args) == 2 {
			i, ok := toInt(args[0])
			if !ok || i < 0 || i > int64(len(x.Items)) {
				return nil, s.fail(pos, fmt.Errorf("add(%v, ...): index out of range for size %d", s.str(args[0]), len(x.Items)))
			}
			x.Items = append(x.Items, nil)
			copy(x.Items[i+1:], x.Items[i:])
			x.Items[i] = args[1]
			return nil, nil
		}
	case "set":
		if len(args) == 2 {
			v, err := s.own(args[1], 0, pos)
			if err != nil {
				return nil, err
			}
			args[1] = v
			i, ok := toInt(args[0])
			if !ok || i < 0 || i >= int64(len(x.Items)) {
				return nil, s.fail(pos, fmt.Errorf("set(%v, ...): index out of range for size %d", s.str(args[0]), len(x.Items)))
			}
			old := x.Items[i]
			x.Items[i] = args[1]
			return old, nil
		}
	case "contains":
		if len(args) == 1 {
			for _, it := range x.Items {
				if s.equal(it, args[0]) {
					return true, nil
				}
			}
			return false, nil
		}
	case "indexOf":
		if len(args) == 1 {
			for i, it := range x.Items {
				if s.equal(it, args[0]) {
					return int64(i), nil
				}
			}
			return int64(-1), nil
		}
	case "toString":
		return s.str(x), nil
	}
	return nil, nil
}

func (s *state) mapMethod(x *Map, st *step, args []any) (any, error) {
	switch st.name {
	case "size":
		return int64(x.Len()), nil
	case "isEmpty":
		return x.Len() == 0, nil
	case "get":
		if len(args) == 1 {
			v, _ := x.Get(s.str(args[0]))
			return v, nil
		}
	case "containsKey":
		if len(args) == 1 {
			_, ok := x.Get(s.str(args[0]))
			return ok, nil
		}
	case "put":
		if len(args) == 2 {
			v, err := s.own(args[1], 0, 0)
			if err != nil {
				return nil, err
			}
			args[1] = v
			old, _ := x.Get(s.str(args[0]))
			x.Put(s.str(args[0]), args[1])
			return old, nil
		}
	case "remove":
		if len(args) == 1 {
			old, _ := x.Get(s.str(args[0]))
			x.RemoveValueForKey(s.str(args[0]))
			return old, nil
		}
	case "keySet":
		l := &List{Items: make([]any, len(x.keys))}
		for i, k := range x.keys {
			l.Items[i] = k
		}
		return l, nil
	case "values":
		return &List{Items: append([]any(nil), x.vals...)}, nil
	case "entrySet":
		l := &List{Items: make([]any, len(x.keys))}
		for i, k := range x.keys {
			e := &Map{}
			e.Put("key", k)
			e.Put("value", x.vals[i])
			l.Items[i] = e
		}
		return l, nil
	case "toString":
		return s.str(x), nil
	}
	return nil, nil
}
