package vtl

import (
	"errors"
	"math"
	"sort"
	"strconv"
	"sync"
	"unicode/utf8"
	"unsafe"

	"github.com/frontdeskgw/frontdesk/internal/jsonstr"
)

// The values a template works with: nil (Java null), string, int64,
// float64, bool, *List and *Map (ordered, as Java's LinkedHashMap keeps
// JSON members), and the caller's map[string]any / map[string]string
// trees, read as maps.

// List is a template list (a Java ArrayList).
type List struct{ Items []any }

// ValueAtIndex, SetValueAtIndex and Size let JSONPath walk lists.
func (l *List) ValueAtIndex(i int) any {
	if i < 0 || i >= len(l.Items) {
		return nil
	}
	return l.Items[i]
}

// SetValueAtIndex sets the item at i, when i is in range.
func (l *List) SetValueAtIndex(i int, v any) {
	if i >= 0 && i < len(l.Items) {
		l.Items[i] = v
	}
}

// Size is the number of items.
func (l *List) Size() int { return len(l.Items) }

// Map is a template map that keeps its keys in insertion order.
type Map struct {
	keys []string
	vals []any
}

// Get returns the value for k.
func (m *Map) Get(k string) (any, bool) {
	for i, kk := range m.keys {
		if kk == k {
			return m.vals[i], true
		}
	}
	return nil, false
}

// Put sets k to v, keeping k's place when it is already there.
func (m *Map) Put(k string, v any) {
	for i, kk := range m.keys {
		if kk == k {
			m.vals[i] = v
			return
		}
	}
	m.keys = append(m.keys, k)
	m.vals = append(m.vals, v)
}

// Len is the number of entries.
func (m *Map) Len() int { return len(m.keys) }

// ValueForKey, SetValueForKey, RemoveValueForKey and Keys let JSONPath
// walk maps.
func (m *Map) ValueForKey(k string) (any, bool) { return m.Get(k) }

// SetValueForKey is Put.
func (m *Map) SetValueForKey(k string, v any) { m.Put(k, v) }

// RemoveValueForKey removes k.
func (m *Map) RemoveValueForKey(k string) {
	for i, kk := range m.keys {
		if kk == k {
			m.keys = append(m.keys[:i], m.keys[i+1:]...)
			m.vals = append(m.vals[:i], m.vals[i+1:]...)
			return
		}
	}
}

// Keys returns the keys in order.
func (m *Map) Keys() []string { return m.keys }

// ---- JSON ----

var errJSON = errors.New("invalid JSON")

// maxJSONDepth bounds the nesting of parsed JSON.
const maxJSONDepth = 512

// ParseJSON parses JSON text into template values (*Map, *List, string,
// int64, float64, bool, nil).
func ParseJSON(s string) (any, error) {
	return parseJSONArena(s, nil)
}

// arena holds the maps, lists and their members of one evaluation's
// parsed body, reused by the next evaluation, so that parsing a body
// allocates almost nothing in steady state. Slices handed out are capped
// (three-index), so a template's Put or add on them copies rather than
// overwrites a neighbour.
type arena struct {
	maps   []Map
	lists  []List
	keys   []string
	vals   []any
	kstack []string
	vstack []any
	strs   slab[string]
	floats slab[float64]
	ints   slab[int64]
}

func (a *arena) reset() {
	clear(a.maps)
	clear(a.lists)
	clear(a.vals)
	clear(a.vstack)
	clear(a.keys)
	clear(a.kstack)
	a.strs.reset()
	a.floats.reset()
	a.ints.reset()
	a.maps, a.lists, a.keys, a.vals, a.kstack, a.vstack = a.maps[:0], a.lists[:0], a.keys[:0], a.vals[:0], a.kstack[:0], a.vstack[:0]
}

func (a *arena) newMap() *Map {
	if len(a.maps) == cap(a.maps) {
		// A new block; maps handed out stay in the old one.
		a.maps = make([]Map, 0, max(2, 2*cap(a.maps)))
	}
	a.maps = a.maps[:len(a.maps)+1]
	return &a.maps[len(a.maps)-1]
}

func (a *arena) newList() *List {
	if len(a.lists) == cap(a.lists) {
		a.lists = make([]List, 0, max(2, 2*cap(a.lists)))
	}
	a.lists = a.lists[:len(a.lists)+1]
	return &a.lists[len(a.lists)-1]
}

func parseJSONArena(s string, a *arena) (any, error) {
	if a == nil {
		a = &arena{}
	}
	d := jsonDec{s: s, a: a}
	d.ws()
	v, err := d.value(0)
	if err != nil {
		return nil, err
	}
	d.ws()
	if d.i != len(d.s) {
		return nil, errJSON
	}
	return v, nil
}

type jsonDec struct {
	s string
	i int
	a *arena
}

func (d *jsonDec) ws() {
	for d.i < len(d.s) {
		switch d.s[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

func (d *jsonDec) value(depth int) (any, error) {
	if depth > maxJSONDepth || d.i >= len(d.s) {
		return nil, errJSON
	}
	switch c := d.s[d.i]; {
	case c == '{':
		d.i++
		m := d.a.newMap()
		d.ws()
		if d.i < len(d.s) && d.s[d.i] == '}' {
			d.i++
			return m, nil
		}
		kbase, vbase := len(d.a.kstack), len(d.a.vstack)
		defer func() {
			clear(d.a.vstack[vbase:])
			d.a.kstack, d.a.vstack = d.a.kstack[:kbase], d.a.vstack[:vbase]
		}()
		for {
			d.ws()
			if d.i >= len(d.s) || d.s[d.i] != '"' {
				return nil, errJSON
			}
			k, err := d.str()
			if err != nil {
				return nil, err
			}
			d.ws()
			if d.i >= len(d.s) || d.s[d.i] != ':' {
				return nil, errJSON
			}
			d.i++
			d.ws()
			v, err := d.value(depth + 1)
			if err != nil {
				return nil, err
			}
			d.a.kstack = append(d.a.kstack, k)
			d.a.vstack = append(d.a.vstack, v)
			d.ws()
			if d.i >= len(d.s) {
				return nil, errJSON
			}
			if d.s[d.i] == ',' {
				d.i++
				continue
			}
			if d.s[d.i] == '}' {
				d.i++
				ks, vs := len(d.a.keys), len(d.a.vals)
				d.a.keys = append(d.a.keys, d.a.kstack[kbase:]...)
				d.a.vals = append(d.a.vals, d.a.vstack[vbase:]...)
				m.keys = d.a.keys[ks:len(d.a.keys):len(d.a.keys)]
				m.vals = d.a.vals[vs:len(d.a.vals):len(d.a.vals)]
				return m, nil
			}
			return nil, errJSON
		}
	case c == '[':
		d.i++
		l := d.a.newList()
		d.ws()
		if d.i < len(d.s) && d.s[d.i] == ']' {
			d.i++
			return l, nil
		}
		base := len(d.a.vstack)
		defer func() {
			clear(d.a.vstack[base:])
			d.a.vstack = d.a.vstack[:base]
		}()
		for {
			d.ws()
			v, err := d.value(depth + 1)
			if err != nil {
				return nil, err
			}
			d.a.vstack = append(d.a.vstack, v)
			d.ws()
			if d.i >= len(d.s) {
				return nil, errJSON
			}
			if d.s[d.i] == ',' {
				d.i++
				continue
			}
			if d.s[d.i] == ']' {
				d.i++
				vs := len(d.a.vals)
				d.a.vals = append(d.a.vals, d.a.vstack[base:]...)
				l.Items = d.a.vals[vs:len(d.a.vals):len(d.a.vals)]
				return l, nil
			}
			return nil, errJSON
		}
	case c == '"':
		v, err := d.str()
		if err != nil {
			return nil, err
		}
		return d.a.boxString(v), nil
	case c == 't':
		return d.word("true", true)
	case c == 'f':
		return d.word("false", false)
	case c == 'n':
		return d.word("null", nil)
	case c == '-' || c >= '0' && c <= '9':
		return d.num()
	}
	return nil, errJSON
}

func (d *jsonDec) word(w string, v any) (any, error) {
	if len(d.s)-d.i >= len(w) && d.s[d.i:d.i+len(w)] == w {
		d.i += len(w)
		return v, nil
	}
	return nil, errJSON
}

func (d *jsonDec) num() (any, error) {
	start := d.i
	if d.s[d.i] == '-' {
		d.i++
	}
	isFloat := false
	for d.i < len(d.s) {
		c := d.s[d.i]
		if c >= '0' && c <= '9' {
			d.i++
			continue
		}
		if c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-' {
			isFloat = true
			d.i++
			continue
		}
		break
	}
	t := d.s[start:d.i]
	if !isFloat {
		if n, err := strconv.ParseInt(t, 10, 64); err == nil {
			return d.a.boxInt(n), nil
		}
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil {
		return nil, errJSON
	}
	return d.a.boxFloat(f), nil
}

// str reads a JSON string at d.i ('"'). Strings without escapes are
// slices of the source: no copy.
func (d *jsonDec) str() (string, error) {
	d.i++
	start := d.i
	for d.i < len(d.s) {
		c := d.s[d.i]
		if c == '"' {
			s := d.s[start:d.i]
			d.i++
			return s, nil
		}
		if c == '\\' {
			break
		}
		if c < 0x20 {
			return "", errJSON
		}
		d.i++
	}
	b := []byte(d.s[start:d.i])
	for d.i < len(d.s) {
		c := d.s[d.i]
		switch {
		case c == '"':
			d.i++
			return string(b), nil
		case c < 0x20:
			return "", errJSON
		case c != '\\':
			b = append(b, c)
			d.i++
			continue
		}
		if d.i+1 >= len(d.s) {
			return "", errJSON
		}
		e := d.s[d.i+1]
		d.i += 2
		if c, ok := jsonstr.Unescape(e); ok {
			b = append(b, c)
			continue
		}
		if e != 'u' {
			return "", errJSON
		}
		r, ok := d.hex4()
		if !ok {
			return "", errJSON
		}
		if r >= 0xd800 && r < 0xdc00 && d.i+1 < len(d.s) && d.s[d.i] == '\\' && d.s[d.i+1] == 'u' {
			d.i += 2
			r2, ok := d.hex4()
			if !ok {
				return "", errJSON
			}
			r = 0x10000 + (r-0xd800)<<10 + (r2 - 0xdc00)
		}
		b = utf8.AppendRune(b, r)
	}
	return "", errJSON
}

func (d *jsonDec) hex4() (rune, bool) {
	if d.i+4 > len(d.s) {
		return 0, false
	}
	n, err := strconv.ParseUint(d.s[d.i:d.i+4], 16, 32)
	if err != nil {
		return 0, false
	}
	d.i += 4
	return rune(n), true
}

// appendJSON writes v as compact JSON; past limit bytes it stops (the
// caller's output bound then fails the evaluation).
func appendJSON(b []byte, v any, depth, limit int) []byte {
	if depth > maxJSONDepth || len(b) > limit {
		return append(b, "null"...)
	}
	switch x := v.(type) {
	case nil:
		return append(b, "null"...)
	case string:
		return appendJSONString(b, x)
	case int64:
		return strconv.AppendInt(b, x, 10)
	case float64:
		return appendJSONFloat(b, x)
	case bool:
		return strconv.AppendBool(b, x)
	case *Map:
		b = append(b, '{')
		for i, k := range x.keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, k)
			b = append(b, ':')
			b = appendJSON(b, x.vals[i], depth+1, limit)
		}
		return append(b, '}')
	case *List:
		b = append(b, '[')
		for i, it := range x.Items {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSON(b, it, depth+1, limit)
		}
		return append(b, ']')
	case map[string]any, map[string]string:
		m := asMap(x)
		return appendJSON(b, m, depth, limit)
	case *defineBlock:
		return appendJSONString(b, "")
	}
	return appendJSONString(b, "")
}

func appendJSONFloat(b []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(b, "null"...)
	}
	if f == math.Trunc(f) && math.Abs(f) < 1e15 {
		b = strconv.AppendFloat(b, f, 'f', -1, 64)
		return append(b, ".0"...)
	}
	return strconv.AppendFloat(b, f, 'g', -1, 64)
}

const hexDigits = "0123456789abcdef"

func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// asMap converts a caller's map to a *Map, keys sorted so that output
// does not depend on Go's map order.
func asMap(v any) *Map {
	m := &Map{}
	defer func() {
		idx := make([]int, len(m.keys))
		for i := range idx {
			idx[i] = i
		}
		sort.Slice(idx, func(a, b int) bool { return m.keys[idx[a]] < m.keys[idx[b]] })
		keys, vals := make([]string, len(idx)), make([]any, len(idx))
		for i, j := range idx {
			keys[i], vals[i] = m.keys[j], m.vals[j]
		}
		m.keys, m.vals = keys, vals
	}()
	switch x := v.(type) {
	case map[string]any:
		for k, vv := range x {
			m.keys = append(m.keys, k)
			m.vals = append(m.vals, vv)
		}
	case map[string]string:
		for k, vv := range x {
			m.keys = append(m.keys, k)
			m.vals = append(m.vals, vv)
		}
	}
	return m
}

// jsonArenas are the arenas of JSONMemberInt, which hands out no value.
var jsonArenas = sync.Pool{New: func() any { return &arena{} }}

// JSONMemberInt parses body as JSON and reads the top-level member name
// as an integer: a JSON integer, or a string holding one. ok is false
// when the body is not an object or the member is missing or of another
// kind; err is set when the body is not JSON. It allocates nothing in
// steady state (a mock integration reads its "statusCode" this way).
func JSONMemberInt(body []byte, name string) (n int64, ok bool, err error) {
	a := jsonArenas.Get().(*arena)
	defer func() {
		a.reset()
		jsonArenas.Put(a)
	}()
	v, err := parseJSONArena(unsafe.String(unsafe.SliceData(body), len(body)), a)
	if err != nil {
		return 0, false, err
	}
	m, isMap := v.(*Map)
	if !isMap {
		return 0, false, nil
	}
	switch x, _ := m.Get(name); x := x.(type) {
	case int64:
		return x, true, nil
	case string:
		if p, err := strconv.ParseInt(x, 10, 64); err == nil {
			return p, true, nil
		}
	}
	return 0, false, nil
}
