package vtl

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
)

// Limits bound one evaluation.
type Limits struct {
	// MaxOutput is the largest output, and the largest string a template
	// may build, in bytes.
	MaxOutput int
	// MaxSteps bounds the work of one evaluation: every directive,
	// expression and reference is a step, and string methods cost a step
	// per 16 bytes they read.
	MaxSteps int
	// MaxForeach is the most iterations of one #foreach (API Gateway's
	// 1,000).
	MaxForeach int
	// MaxDepth is how deep macro calls and #define blocks may nest.
	MaxDepth int
}

// DefaultLimits are the bounds Parse gives a template.
var DefaultLimits = Limits{MaxOutput: 10 << 20, MaxSteps: 1_000_000, MaxForeach: 1000, MaxDepth: 20}

// Input is what a template reads: the body and parameters of the request
// (or, in a response template, of the integration's response), the
// $context tree and the stage variables. The gateway fills it; nothing
// here is HTTP.
type Input struct {
	// Body is $input.body, and what $input.json and $input.path select
	// from (an empty body reads as {}).
	Body []byte
	// Params are $input.params(): header, querystring and path.
	Params Params
	// Context is $context: string, number and bool leaves in nested
	// map[string]any (e.g. Context["identity"].(map[string]any)["sourceIp"]).
	Context map[string]any
	// ContextObject, when set, answers the $context names Context does
	// not hold, computed when a template reads them (so a request pays
	// only for what its template uses).
	ContextObject Object
	// StageVariables is $stageVariables.
	StageVariables map[string]string
}

// Object is a map whose members the caller computes on demand: a
// template reads it as a map ($x.name, get, keySet). *Map is one.
type Object interface {
	Get(name string) (any, bool)
	Keys() []string
}

// StringObject is an Object that can hand out its string members
// without boxing them: GetString answers ok=false for names that are not
// strings (Get answers those). The string need only stay unchanged until
// the evaluation ends, so it may be a view of the caller's bytes.
type StringObject interface {
	Object
	GetString(name string) (string, bool)
}

// objectGet is o.Get(name), with strings boxed into the evaluation's
// arena when o can hand them out unboxed.
func (s *state) objectGet(o Object, name string) any {
	if so, ok := o.(StringObject); ok {
		if v, ok := so.GetString(name); ok {
			return s.arena.boxString(v)
		}
	}
	v, _ := o.Get(name)
	return v
}

// Params are the request parameters by kind.
type Params struct {
	Path, QueryString, Header map[string]string
}

// Overrides collects what a template set in $context.requestOverride and
// $context.responseOverride. Maps are made when first written.
type Overrides struct {
	RequestHeader      map[string]string
	RequestQueryString map[string]string
	RequestPath        map[string]string
	ResponseHeader     map[string]string
	// ResponseStatus is 0 unless the template set it.
	ResponseStatus int
}

// Reset empties o for reuse, keeping its maps.
func (o *Overrides) Reset() {
	clear(o.RequestHeader)
	clear(o.RequestQueryString)
	clear(o.RequestPath)
	clear(o.ResponseHeader)
	o.ResponseStatus = 0
}

// Errors of evaluation that the caller may want to tell apart (they are
// wrapped in *Error with the position).
var (
	ErrOutputTooLarge = errors.New("output larger than the limit")
	ErrTooManySteps   = errors.New("evaluation takes more steps than the limit")
	ErrForeachLimit   = errors.New("#foreach runs more iterations than the limit")
	ErrTooDeep        = errors.New("macros or #define blocks nest deeper than the limit")
)

// RunError is an evaluation error at a place of the template.
type RunError struct {
	Line, Col int
	Err       error
}

func (e *RunError) Error() string { return fmt.Sprintf("%d:%d: %v", e.Line, e.Col, e.Err) }
func (e *RunError) Unwrap() error { return e.Err }

type ctl uint8

const (
	ctlNone ctl = iota
	ctlBreak
	ctlStop
)

type foreachScope struct {
	index   int
	hasNext bool
	parent  *foreachScope
}

type defineBlock struct{ nodes []node }

// state is one evaluation; pooled.
type state struct {
	t     *Template
	in    *Input
	ov    *Overrides
	out   []byte
	base  int
	vars  map[string]any
	steps int
	depth int
	lim   Limits

	root       any
	rootDone   bool
	rootErr    error
	body       string
	bodyDone   bool
	foreach    *foreachScope
	scopes     []foreachScope
	arena      arena
	scopeDepth int
	scratchOv  Overrides
}

var statePool = sync.Pool{New: func() any { return &state{vars: map[string]any{}} }}

// Execute evaluates the template with in, appending the output to dst,
// and records overrides in ov (nil: overrides are ignored). On an error
// the returned slice holds dst and possibly part of the output.
func (t *Template) Execute(dst []byte, in *Input, ov *Overrides) ([]byte, error) {
	s := statePool.Get().(*state)
	s.t, s.in, s.ov, s.out, s.base, s.lim = t, in, ov, dst, len(dst), t.Limits
	if s.ov == nil {
		s.scratchOv.Reset()
		s.ov = &s.scratchOv
	}
	_, err := s.execNodes(t.nodes)
	out := s.out
	s.t, s.in, s.ov, s.out = nil, nil, nil, nil
	clear(s.vars)
	s.arena.reset()
	s.steps, s.depth, s.root, s.rootDone, s.rootErr, s.body, s.bodyDone, s.foreach, s.scopeDepth = 0, 0, nil, false, nil, "", false, nil, 0
	statePool.Put(s)
	return out, err
}

// Render is Execute into a new buffer.
func (t *Template) Render(in *Input, ov *Overrides) (string, error) {
	b, err := t.Execute(nil, in, ov)
	return string(b), err
}

func (s *state) fail(pos int, err error) error {
	l, c := position(s.t.src, pos)
	return &RunError{Line: l, Col: c, Err: err}
}

func (s *state) step(pos, n int) error {
	s.steps += n
	if s.steps > s.lim.MaxSteps {
		return s.fail(pos, ErrTooManySteps)
	}
	return nil
}

func (s *state) checkOut(pos int) error {
	if len(s.out)-s.base > s.lim.MaxOutput {
		return s.fail(pos, ErrOutputTooLarge)
	}
	return nil
}

func (s *state) execNodes(nodes []node) (ctl, error) {
	for _, n := range nodes {
		c, err := s.exec(n)
		if err != nil || c != ctlNone {
			return c, err
		}
	}
	return ctlNone, nil
}

func (s *state) exec(n node) (ctl, error) {
	switch n := n.(type) {
	case *textNode:
		s.out = append(s.out, n.s...)
		return ctlNone, s.checkOut(0)
	case *refNode:
		if err := s.step(n.ref.pos, 1); err != nil {
			return ctlNone, err
		}
		if r := n.ref; r.name == "input" && len(r.chain) == 1 && r.chain[0].path != nil && r.chain[0].name == "json" {
			// $input.json('literal path') in text: written straight
			// into the output.
			root, err := (*inputObj)(s).rootValue()
			if err != nil {
				return ctlNone, s.fail(r.pos, err)
			}
			if v, found := r.chain[0].path.get(root); found {
				s.out = appendJSON(s.out, v, 0, len(s.out)+s.lim.MaxOutput)
			}
			return ctlNone, s.checkOut(r.pos)
		}
		v, err := s.evalRef(n.ref)
		if err != nil {
			return ctlNone, err
		}
		if v == nil {
			if !n.quiet {
				s.out = append(s.out, n.src...)
			}
			return ctlNone, nil
		}
		if err := s.write(v, n.ref.pos); err != nil {
			return ctlNone, err
		}
		return ctlNone, s.checkOut(n.ref.pos)
	case *setNode:
		if err := s.step(n.pos, 1); err != nil {
			return ctlNone, err
		}
		v, err := s.eval(n.val)
		if err != nil {
			return ctlNone, err
		}
		return ctlNone, s.set(n.target, v)
	case *ifNode:
		for i, c := range n.conds {
			v, err := s.eval(c)
			if err != nil {
				return ctlNone, err
			}
			if truthy(v) {
				return s.execNodes(n.blocks[i])
			}
		}
		return s.execNodes(n.els)
	case *foreachNode:
		return s.foreachLoop(n)
	case *breakNode:
		return ctlBreak, nil
	case *stopNode:
		return ctlStop, nil
	case *defineNode:
		s.vars[n.name] = &defineBlock{nodes: n.body}
		return ctlNone, nil
	case *macroCallNode:
		return s.callMacro(n)
	}
	return ctlNone, nil
}

func (s *state) foreachLoop(n *foreachNode) (ctl, error) {
	v, err := s.eval(n.iter)
	if err != nil {
		return ctlNone, err
	}
	var items []any
	switch x := v.(type) {
	case *List:
		items = x.Items
	case *Map:
		// Velocity iterates a map's values.
		items = x.vals
	case map[string]any, map[string]string:
		items = asMap(x).vals
	case nil:
		return ctlNone, nil
	default:
		return ctlNone, nil
	}
	if len(items) > s.lim.MaxForeach {
		return ctlNone, s.fail(n.pos, fmt.Errorf("%w (%d items, at most %d)", ErrForeachLimit, len(items), s.lim.MaxForeach))
	}
	if s.scopeDepth >= maxNesting {
		return ctlNone, s.fail(n.pos, ErrTooDeep)
	}
	if s.scopeDepth >= len(s.scopes) {
		s.scopes = append(s.scopes, make([]foreachScope, 8)...)
	}
	sc := &s.scopes[s.scopeDepth]
	s.scopeDepth++
	*sc = foreachScope{parent: s.foreach}
	prevVar, hadVar := s.vars[n.name]
	s.foreach = sc
	defer func() {
		s.foreach = sc.parent
		s.scopeDepth--
		if hadVar {
			s.vars[n.name] = prevVar
		} else {
			delete(s.vars, n.name)
		}
	}()
	// items may grow while the loop runs ($list.add in the body); the
	// loop runs over what was there when it began, as Java's iterator
	// would refuse to go on.
	count := len(items)
	for i := 0; i < count; i++ {
		if err := s.step(n.pos, 1); err != nil {
			return ctlNone, err
		}
		sc.index = i
		sc.hasNext = i+1 < count
		s.vars[n.name] = items[i]
		c, err := s.execNodes(n.body)
		if err != nil {
			return ctlNone, err
		}
		if c == ctlBreak {
			break
		}
		if c == ctlStop {
			return c, nil
		}
	}
	return ctlNone, nil
}

func (s *state) callMacro(n *macroCallNode) (ctl, error) {
	m := s.t.macros[n.name]
	if s.depth >= s.lim.MaxDepth {
		return ctlNone, s.fail(n.pos, ErrTooDeep)
	}
	if err := s.step(n.pos, 1); err != nil {
		return ctlNone, err
	}
	type saved struct {
		v   any
		had bool
	}
	var buf [4]saved
	prev := buf[:0]
	vals := make([]any, len(n.args))
	for i, a := range n.args {
		v, err := s.eval(a)
		if err != nil {
			return ctlNone, err
		}
		vals[i] = v
	}
	for i, p := range m.params {
		v, had := s.vars[p]
		prev = append(prev, saved{v, had})
		s.vars[p] = vals[i]
	}
	s.depth++
	c, err := s.execNodes(m.body)
	s.depth--
	for i, p := range m.params {
		if prev[i].had {
			s.vars[p] = prev[i].v
		} else {
			delete(s.vars, p)
		}
	}
	if c == ctlBreak {
		c = ctlNone
	}
	return c, err
}

// set assigns v to a reference: a variable, or a map entry or override
// through a property or index chain. As in Velocity 1.7, a null value
// leaves the target unchanged.
func (s *state) set(target *refExpr, v any) error {
	if v == nil {
		return nil
	}
	if b, ok := v.(*defineBlock); ok {
		str, err := s.renderBlock(b, target.pos)
		if err != nil {
			return err
		}
		v = str
	}
	if len(target.chain) == 0 {
		s.vars[target.name] = v
		return nil
	}
	last := target.chain[len(target.chain)-1]
	cont, err := s.evalChain(target, len(target.chain)-1)
	if err != nil {
		return err
	}
	var key any = last.name
	if last.kind == stepIndex {
		key, err = s.eval(last.idx)
		if err != nil {
			return err
		}
	}
	if _, ok := cont.(overrideMap); !ok {
		if v, err = s.own(v, 0, target.pos); err != nil {
			return err
		}
	}
	switch c := cont.(type) {
	case *Map:
		c.Put(s.str(key), v)
	case map[string]any:
		// The caller's maps are read-only to templates.
	case *List:
		if i, ok := toInt(key); ok && i >= 0 && i < int64(len(c.Items)) {
			c.Items[i] = v
		}
	case overrideMap:
		c.put(s.str(key), s.str(v))
	case *responseOverride:
		k := s.str(key)
		if k == "status" {
			if n, ok := toInt(v); ok {
				s.ov.ResponseStatus = int(n)
			} else if n, err := strconv.Atoi(s.str(v)); err == nil {
				s.ov.ResponseStatus = n
			}
		}
	}
	return nil
}

func truthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	}
	return true
}

// ---- expressions ----

func (s *state) eval(e expr) (any, error) {
	s.steps++
	if s.steps > s.lim.MaxSteps {
		return nil, s.fail(0, ErrTooManySteps)
	}
	switch e := e.(type) {
	case *litExpr:
		return e.v, nil
	case *refExpr:
		return s.evalRef(e)
	case *strExpr:
		start := len(s.out)
		if _, err := s.execNodes(e.parts); err != nil {
			s.out = s.out[:start]
			return nil, err
		}
		str := string(s.out[start:])
		s.out = s.out[:start]
		return str, nil
	case *listExpr:
		l := &List{Items: make([]any, 0, len(e.items))}
		for _, it := range e.items {
			v, err := s.eval(it)
			if err != nil {
				return nil, err
			}
			if v, err = s.own(v, 0, 0); err != nil {
				return nil, err
			}
			l.Items = append(l.Items, v)
		}
		return l, nil
	case *rangeExpr:
		lo, err := s.eval(e.lo)
		if err != nil {
			return nil, err
		}
		hi, err := s.eval(e.hi)
		if err != nil {
			return nil, err
		}
		a, ok1 := toInt(lo)
		b, ok2 := toInt(hi)
		if !ok1 || !ok2 {
			return nil, nil
		}
		n := b - a
		if n < 0 {
			n = -n
		}
		if err := s.step(0, int(min(n, int64(s.lim.MaxSteps)))); err != nil {
			return nil, err
		}
		l := &List{Items: make([]any, 0, n+1)}
		for i := a; ; {
			l.Items = append(l.Items, i)
			if i == b {
				break
			}
			if a < b {
				i++
			} else {
				i--
			}
		}
		return l, nil
	case *mapExpr:
		m := &Map{}
		for i, k := range e.keys {
			kv, err := s.eval(k)
			if err != nil {
				return nil, err
			}
			vv, err := s.eval(e.vals[i])
			if err != nil {
				return nil, err
			}
			if vv, err = s.own(vv, 0, 0); err != nil {
				return nil, err
			}
			m.Put(s.str(kv), vv)
		}
		return m, nil
	case *notExpr:
		v, err := s.eval(e.x)
		if err != nil {
			return nil, err
		}
		return !truthy(v), nil
	case *negExpr:
		v, err := s.eval(e.x)
		if err != nil {
			return nil, err
		}
		switch x := v.(type) {
		case int64:
			return -x, nil
		case float64:
			return -x, nil
		}
		return nil, nil
	case *binExpr:
		return s.evalBin(e)
	}
	return nil, nil
}

func (s *state) evalBin(e *binExpr) (any, error) {
	l, err := s.eval(e.l)
	if err != nil {
		return nil, err
	}
	switch e.op {
	case "&&":
		if !truthy(l) {
			return false, nil
		}
		r, err := s.eval(e.r)
		return truthy(r), err
	case "||":
		if truthy(l) {
			return true, nil
		}
		r, err := s.eval(e.r)
		return truthy(r), err
	}
	r, err := s.eval(e.r)
	if err != nil {
		return nil, err
	}
	switch e.op {
	case "==":
		return s.equal(l, r), nil
	case "!=":
		return !s.equal(l, r), nil
	case "<", "<=", ">", ">=":
		c, ok := s.compare(l, r)
		if !ok {
			return false, nil
		}
		switch e.op {
		case "<":
			return c < 0, nil
		case "<=":
			return c <= 0, nil
		case ">":
			return c > 0, nil
		}
		return c >= 0, nil
	}
	// Arithmetic. + joins strings when either side is one.
	if e.op == "+" {
		_, ls := l.(string)
		_, rs := r.(string)
		if ls || rs {
			a, b := s.str(l), s.str(r)
			if len(a)+len(b) > s.lim.MaxOutput {
				return nil, s.fail(e.pos, ErrOutputTooLarge)
			}
			return a + b, nil
		}
	}
	li, lInt := l.(int64)
	ri, rInt := r.(int64)
	if lInt && rInt {
		switch e.op {
		case "+":
			return li + ri, nil
		case "-":
			return li - ri, nil
		case "*":
			return li * ri, nil
		case "/":
			if ri == 0 {
				return nil, nil
			}
			return li / ri, nil
		case "%":
			if ri == 0 {
				return nil, nil
			}
			return li % ri, nil
		}
	}
	lf, ok1 := toFloat(l)
	rf, ok2 := toFloat(r)
	if !ok1 || !ok2 {
		return nil, nil
	}
	switch e.op {
	case "+":
		return lf + rf, nil
	case "-":
		return lf - rf, nil
	case "*":
		return lf * rf, nil
	case "/":
		if rf == 0 {
			return nil, nil
		}
		return lf / rf, nil
	case "%":
		if rf == 0 {
			return nil, nil
		}
		return math.Mod(lf, rf), nil
	}
	return nil, nil
}

func toInt(v any) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case float64:
		return int64(x), true
	}
	return 0, false
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case int64:
		return float64(x), true
	case float64:
		return x, true
	}
	return 0, false
}

// equal is Velocity's ==: numbers by value, same kinds by value, and
// otherwise the string forms.
func (s *state) equal(l, r any) bool {
	if l == nil || r == nil {
		return l == nil && r == nil
	}
	lf, ok1 := toFloat(l)
	rf, ok2 := toFloat(r)
	if ok1 && ok2 {
		return lf == rf
	}
	switch x := l.(type) {
	case string:
		if y, ok := r.(string); ok {
			return x == y
		}
	case bool:
		if y, ok := r.(bool); ok {
			return x == y
		}
	}
	return s.str(l) == s.str(r)
}

func (s *state) compare(l, r any) (int, bool) {
	lf, ok1 := toFloat(l)
	rf, ok2 := toFloat(r)
	if ok1 && ok2 {
		switch {
		case lf < rf:
			return -1, true
		case lf > rf:
			return 1, true
		}
		return 0, true
	}
	ls, ok1 := l.(string)
	rs, ok2 := r.(string)
	if ok1 && ok2 {
		return strings.Compare(ls, rs), true
	}
	return 0, false
}

// ---- references ----

func (s *state) evalRef(r *refExpr) (any, error) {
	return s.evalChain(r, len(r.chain))
}

// evalChain evaluates the reference's root and its first n steps.
func (s *state) evalChain(r *refExpr, n int) (any, error) {
	v := s.lookup(r.name)
	for i := 0; i < n; i++ {
		if v == nil {
			return nil, nil
		}
		st := &r.chain[i]
		var err error
		switch st.kind {
		case stepProp:
			v = s.prop(v, st.name)
		case stepIndex:
			var k any
			k, err = s.eval(st.idx)
			if err != nil {
				return nil, err
			}
			v = s.index(v, k)
		case stepMethod:
			v, err = s.method(v, st, r.pos)
		}
		if err != nil {
			return nil, err
		}
	}
	return v, nil
}

func (s *state) lookup(name string) any {
	switch name {
	case "input":
		return (*inputObj)(s)
	case "util":
		return utilObj{}
	case "context":
		return (*contextObj)(s)
	case "stageVariables":
		if s.in.StageVariables == nil {
			return emptyStrMap
		}
		return s.in.StageVariables
	case "foreach":
		if s.foreach != nil {
			return s.foreach
		}
	case "velocityCount":
		if s.foreach != nil {
			return int64(s.foreach.index + 1)
		}
	}
	return s.vars[name]
}

var emptyStrMap = map[string]string{}

// prop is $x.name: a map's entry, or a getter.
func (s *state) prop(v any, name string) any {
	switch x := v.(type) {
	case *Map:
		r, _ := x.Get(name)
		return r
	case map[string]any:
		return x[name]
	case map[string]string:
		r, ok := x[name]
		if !ok {
			return nil
		}
		return s.arena.boxString(r)
	case *foreachScope:
		switch name {
		case "index":
			return int64(x.index)
		case "count":
			return int64(x.index + 1)
		case "hasNext":
			return x.hasNext
		case "first":
			return x.index == 0
		case "last":
			return !x.hasNext
		case "parent":
			if x.parent == nil {
				return nil
			}
			return x.parent
		}
		return nil
	case *inputObj:
		if name == "body" {
			return s.arena.boxString(x.bodyString())
		}
		return nil
	case *contextObj:
		return x.get(name)
	case *requestOverride:
		switch name {
		case "header":
			return overrideMap{&x.ov.RequestHeader}
		case "querystring":
			return overrideMap{&x.ov.RequestQueryString}
		case "path":
			return overrideMap{&x.ov.RequestPath}
		}
		return nil
	case *responseOverride:
		switch name {
		case "header":
			return overrideMap{&x.ov.ResponseHeader}
		case "status":
			if x.ov.ResponseStatus == 0 {
				return nil
			}
			return int64(x.ov.ResponseStatus)
		}
		return nil
	case overrideMap:
		return x.get(name)
	case Object:
		return s.objectGet(x, name)
	case paramsObj:
		switch name {
		case "header":
			return orEmpty(x.in.Params.Header)
		case "querystring":
			return orEmpty(x.in.Params.QueryString)
		case "path":
			return orEmpty(x.in.Params.Path)
		}
		return nil
	case string:
		// Java getters on strings: $s.empty, $s.bytes are rare; length
		// is a method.
		if name == "empty" {
			return x == ""
		}
		return nil
	case *List:
		if name == "empty" {
			return len(x.Items) == 0
		}
		return nil
	}
	return nil
}

func orEmpty(m map[string]string) map[string]string {
	if m == nil {
		return emptyStrMap
	}
	return m
}

func (s *state) index(v, k any) any {
	switch x := v.(type) {
	case *List:
		i, ok := toInt(k)
		if !ok {
			return nil
		}
		if i < 0 {
			i += int64(len(x.Items))
		}
		if i < 0 || i >= int64(len(x.Items)) {
			return nil
		}
		return x.Items[i]
	case string:
		return nil
	}
	return s.prop(v, s.str(k))
}

// ---- output ----

// write appends v's string form to the output.
func (s *state) write(v any, pos int) error {
	switch x := v.(type) {
	case string:
		s.out = append(s.out, x...)
	case int64:
		s.out = strconv.AppendInt(s.out, x, 10)
	case float64:
		s.out = appendJavaDouble(s.out, x)
	case bool:
		s.out = strconv.AppendBool(s.out, x)
	case *defineBlock:
		if s.depth >= s.lim.MaxDepth {
			return s.fail(pos, ErrTooDeep)
		}
		s.depth++
		_, err := s.execNodes(x.nodes)
		s.depth--
		return err
	default:
		s.out = s.appendJava(s.out, v, 0)
	}
	return nil
}

func (s *state) renderBlock(b *defineBlock, pos int) (string, error) {
	start := len(s.out)
	err := s.write(b, pos)
	str := string(s.out[start:])
	s.out = s.out[:start]
	return str, err
}

// str is a value's Java toString.
func (s *state) str(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case nil:
		return ""
	case int64:
		return strconv.FormatInt(x, 10)
	case bool:
		return strconv.FormatBool(x)
	case *defineBlock:
		str, _ := s.renderBlock(x, 0)
		return str
	}
	return string(s.appendJava(nil, v, 0))
}

// appendJava writes Java's toString of v: lists as [a, b], maps as
// {k=v}.
func (s *state) appendJava(b []byte, v any, depth int) []byte {
	if depth > maxJSONDepth || len(b) > s.lim.MaxOutput {
		return b
	}
	switch x := v.(type) {
	case nil:
		return append(b, "null"...)
	case string:
		return append(b, x...)
	case int64:
		return strconv.AppendInt(b, x, 10)
	case float64:
		return appendJavaDouble(b, x)
	case bool:
		return strconv.AppendBool(b, x)
	case *List:
		b = append(b, '[')
		for i, it := range x.Items {
			if i > 0 {
				b = append(b, ", "...)
			}
			b = s.appendJava(b, it, depth+1)
		}
		return append(b, ']')
	case *Map:
		b = append(b, '{')
		for i, k := range x.keys {
			if i > 0 {
				b = append(b, ", "...)
			}
			b = append(b, k...)
			b = append(b, '=')
			b = s.appendJava(b, x.vals[i], depth+1)
		}
		return append(b, '}')
	case map[string]any, map[string]string:
		return s.appendJava(b, asMap(x), depth)
	case overrideMap:
		return s.appendJava(b, *x.m, depth)
	case paramsObj:
		m := &Map{}
		m.Put("path", orEmpty(x.in.Params.Path))
		m.Put("querystring", orEmpty(x.in.Params.QueryString))
		m.Put("header", orEmpty(x.in.Params.Header))
		return s.appendJava(b, m, depth)
	case *contextObj, Object:
		return s.appendJava(b, s.mapOf(x), depth)
	case *foreachScope:
		return append(b, "foreach"...)
	}
	return b
}

// appendJavaDouble writes f as Java's Double.toString does: 1.0, 0.5,
// 1.0E7, 1.0E-4.
func appendJavaDouble(b []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(b, "NaN"...)
	case math.IsInf(f, 1):
		return append(b, "Infinity"...)
	case math.IsInf(f, -1):
		return append(b, "-Infinity"...)
	}
	a := math.Abs(f)
	if a == 0 || a >= 1e-3 && a < 1e7 {
		start := len(b)
		b = strconv.AppendFloat(b, f, 'f', -1, 64)
		if !strings.Contains(string(b[start:]), ".") {
			b = append(b, ".0"...)
		}
		return b
	}
	e := strconv.FormatFloat(f, 'E', -1, 64)
	mant, exp, _ := strings.Cut(e, "E")
	if !strings.Contains(mant, ".") {
		mant += ".0"
	}
	n, _ := strconv.Atoi(exp)
	b = append(b, mant...)
	b = append(b, 'E')
	return strconv.AppendInt(b, int64(n), 10)
}

var errTooDeepValue = errors.New("a value nests deeper than 512 levels")

// own makes v fit to be stored in a list or map: lists and maps are
// copied (so no container ever holds itself, and none is shared, and
// walking one always ends), the caller's maps and the API Gateway
// objects become plain maps, a #define block its text. The copy costs a
// step per element.
func (s *state) own(v any, depth, pos int) (any, error) {
	if depth > maxJSONDepth {
		return nil, s.fail(pos, errTooDeepValue)
	}
	switch x := v.(type) {
	case nil, string, int64, float64, bool:
		return v, nil
	case *List:
		if err := s.step(pos, len(x.Items)); err != nil {
			return nil, err
		}
		l := &List{Items: make([]any, len(x.Items))}
		for i, it := range x.Items {
			c, err := s.own(it, depth+1, pos)
			if err != nil {
				return nil, err
			}
			l.Items[i] = c
		}
		return l, nil
	case *Map:
		if err := s.step(pos, len(x.keys)); err != nil {
			return nil, err
		}
		m := &Map{keys: append([]string(nil), x.keys...), vals: make([]any, len(x.vals))}
		for i, it := range x.vals {
			c, err := s.own(it, depth+1, pos)
			if err != nil {
				return nil, err
			}
			m.vals[i] = c
		}
		return m, nil
	case map[string]any, map[string]string, paramsObj, overrideMap, *contextObj, Object:
		return s.own(s.mapOf(x), depth, pos)
	case *defineBlock:
		return s.renderBlock(x, pos)
	}
	// $input, $util, $foreach and the override objects are not values
	// to keep.
	return nil, nil
}
