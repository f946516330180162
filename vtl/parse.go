package vtl

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// MaxTemplateBytes is the largest template Parse accepts: API Gateway's
// 300 KB bound on a mapping template.
const MaxTemplateBytes = 300 * 1024

// maxNesting bounds how deep blocks and expressions nest, so that a
// hostile template cannot exhaust the parser's or the evaluator's stack.
const maxNesting = 200

// Error is a parse or evaluation error at a position of the template.
// Line and Col count from 1; Col counts bytes.
type Error struct {
	Line, Col int
	Msg       string
}

func (e *Error) Error() string { return fmt.Sprintf("%d:%d: %s", e.Line, e.Col, e.Msg) }

// position turns a byte offset of src into a line and a column.
func position(src string, off int) (line, col int) {
	if off > len(src) {
		off = len(src)
	}
	line = 1 + strings.Count(src[:off], "\n")
	col = off - strings.LastIndexByte(src[:off], '\n')
	return line, col
}

// Template is a parsed template. It is immutable and safe for concurrent
// use by any number of evaluations.
type Template struct {
	src    string
	nodes  []node
	macros map[string]*macroDef
	// Limits bound every evaluation; Parse sets DefaultLimits.
	Limits Limits
}

// ---- syntax tree ----

type node interface{}

type textNode struct{ s string }

// refNode writes a reference; src is the reference as written, rendered
// when the value is null and the reference is not quiet ($!x).
type refNode struct {
	ref   *refExpr
	quiet bool
	src   string
}

type setNode struct {
	target *refExpr
	val    expr
	pos    int
}

type ifNode struct {
	conds  []expr
	blocks [][]node
	els    []node
}

type foreachNode struct {
	name string
	iter expr
	body []node
	pos  int
}

type breakNode struct{}
type stopNode struct{}

type defineNode struct {
	name string
	body []node
}

type macroDef struct {
	name   string
	params []string
	body   []node
}

type macroCallNode struct {
	name string
	args []expr
	pos  int
}

type expr interface{}

type litExpr struct{ v any }

// strExpr is a double-quoted string with references or directives in it.
type strExpr struct{ parts []node }

type listExpr struct{ items []expr }

type rangeExpr struct{ lo, hi expr }

type mapExpr struct{ keys, vals []expr }

type refExpr struct {
	name  string
	chain []step
	pos   int
}

type stepKind uint8

const (
	stepProp stepKind = iota
	stepMethod
	stepIndex
)

type step struct {
	kind stepKind
	name string
	args []expr
	idx  expr
	// re is the compiled regular expression when a regex method's first
	// argument is a literal; path is the compiled JSONPath of an
	// $input.json/path call with a literal argument.
	re   *regexp.Regexp
	path *jsonPath
}

type binExpr struct {
	op   string
	l, r expr
	pos  int
}

type notExpr struct{ x expr }
type negExpr struct{ x expr }

// ---- parser ----

type parser struct {
	src    string
	pos    int
	depth  int
	macros map[string]*macroDef
	calls  []*macroCallNode
	// inString is set while parsing the inside of a double-quoted string,
	// where the string's end is the end of the text.
	inString bool
}

// Parse parses a template. Errors are *Error with the line and column.
func Parse(src string) (*Template, error) {
	if len(src) > MaxTemplateBytes {
		return nil, &Error{Line: 1, Col: 1, Msg: fmt.Sprintf("template is %d bytes, more than the %d allowed", len(src), MaxTemplateBytes)}
	}
	p := &parser{src: src, macros: map[string]*macroDef{}}
	nodes, term, termPos, err := p.parseBlock()
	if err != nil {
		return nil, err
	}
	if term != "" {
		return nil, p.errAt(termPos, "#"+term+" without an open block")
	}
	for _, c := range p.calls {
		m, ok := p.macros[c.name]
		if !ok {
			return nil, p.errAt(c.pos, "unknown directive #"+c.name)
		}
		if len(c.args) != len(m.params) {
			return nil, p.errAt(c.pos, fmt.Sprintf("macro #%s takes %d arguments, called with %d", c.name, len(m.params), len(c.args)))
		}
	}
	return &Template{src: src, nodes: nodes, macros: p.macros, Limits: DefaultLimits}, nil
}

// MustParse is Parse for templates known to be valid; it panics on an
// error.
func MustParse(src string) *Template {
	t, err := Parse(src)
	if err != nil {
		panic(err)
	}
	return t
}

func (p *parser) errAt(pos int, msg string) *Error {
	l, c := position(p.src, pos)
	return &Error{Line: l, Col: c, Msg: msg}
}

func (p *parser) enter(pos int) error {
	p.depth++
	if p.depth > maxNesting {
		return p.errAt(pos, "template nests too deep")
	}
	return nil
}

func (p *parser) leave() { p.depth-- }

func identStart(c byte) bool { return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func identChar(c byte) bool  { return identStart(c) || c >= '0' && c <= '9' }

func (p *parser) at(i int) byte {
	if i < len(p.src) {
		return p.src[i]
	}
	return 0
}

// ident reads an identifier at i and returns it and the index after it.
func (p *parser) ident(i int) (string, int) {
	j := i
	for j < len(p.src) && identChar(p.src[j]) {
		j++
	}
	return p.src[i:j], j
}

// propName reads a property name at i: an identifier in which, as in
// Velocity 1.7, a hyphen may join identifier characters
// ($context.requestOverride.header.X-Trace).
func (p *parser) propName(i int) (string, int) {
	j := i
	for j < len(p.src) && (identChar(p.src[j]) || p.src[j] == '-' && j > i && identChar(p.at(j+1))) {
		j++
	}
	return p.src[i:j], j
}

// blockTerms are the directives that end a block.
func isTerm(name string) bool { return name == "end" || name == "else" || name == "elseif" }

// parseBlock parses text and directives up to a terminating #end, #else or
// #elseif (returned, with its position; the parser is left after it) or
// the end of the source.
// blockToEnd parses the body of directive (opened at start) up to its
// #end; an #else or #elseif there belongs to no #if.
func (p *parser) blockToEnd(directive string, start int) ([]node, error) {
	body, term, termPos, err := p.parseBlock()
	if err != nil {
		return nil, err
	}
	switch term {
	case "end":
		return body, nil
	case "":
		return nil, p.errAt(start, "#"+directive+" is not closed by #end")
	default:
		return nil, p.errAt(termPos, "#"+term+" without #if")
	}
}

func (p *parser) parseBlock() (nodes []node, term string, termPos int, err error) {
	var lit []byte
	flush := func() {
		if len(lit) > 0 {
			nodes = append(nodes, &textNode{s: string(lit)})
			lit = lit[:0]
		}
	}
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		switch c {
		case '\\':
			n := 0
			for p.pos+n < len(p.src) && p.src[p.pos+n] == '\\' {
				n++
			}
			next := p.at(p.pos + n)
			if next != '$' && next != '#' {
				lit = append(lit, p.src[p.pos:p.pos+n]...)
				p.pos += n
				continue
			}
			lit = append(lit, strings.Repeat(`\`, n/2)...)
			p.pos += n
			if n%2 == 1 {
				// An escaped $ or # and the name after it are text.
				lit = append(lit, next)
				p.pos++
				if p.at(p.pos) == '!' && next == '$' {
					lit = append(lit, '!')
					p.pos++
				}
				if p.at(p.pos) == '{' {
					lit = append(lit, '{')
					p.pos++
				}
				name, j := p.ident(p.pos)
				lit = append(lit, name...)
				p.pos = j
			}
		case '$':
			start := p.pos
			ref, quiet, ok, err := p.parseRef()
			if err != nil {
				return nil, "", 0, err
			}
			if !ok {
				lit = append(lit, '$')
				p.pos++
				continue
			}
			flush()
			nodes = append(nodes, &refNode{ref: ref, quiet: quiet, src: p.src[start:p.pos]})
		case '#':
			start := p.pos
			n1 := p.at(p.pos + 1)
			switch {
			case n1 == '#':
				// The comment takes its newline with it; alone on its
				// line, the blanks before it go too.
				if p.lineStartBlank(start) {
					lit = trimBlankTail(lit)
				}
				end := strings.IndexByte(p.src[p.pos:], '\n')
				if end < 0 {
					p.pos = len(p.src)
				} else {
					p.pos += end + 1
				}
				continue
			case n1 == '*':
				end := strings.Index(p.src[p.pos+2:], "*#")
				if end < 0 {
					return nil, "", 0, p.errAt(start, "comment #* is not closed by *#")
				}
				p.pos += 2 + end + 2
				lit = p.gobble(start, lit)
				continue
			case n1 == '[' && p.at(p.pos+2) == '[':
				end := strings.Index(p.src[p.pos+3:], "]]#")
				if end < 0 {
					return nil, "", 0, p.errAt(start, "#[[ is not closed by ]]#")
				}
				lit = append(lit, p.src[p.pos+3:p.pos+3+end]...)
				p.pos += 3 + end + 3
				continue
			}
			i := p.pos + 1
			braced := false
			if p.at(i) == '{' {
				braced = true
				i++
			}
			if !identStart(p.at(i)) {
				lit = append(lit, '#')
				p.pos++
				continue
			}
			name, j := p.ident(i)
			if braced {
				if p.at(j) != '}' {
					lit = append(lit, '#')
					p.pos++
					continue
				}
				j++
			}
			// A directive name followed by '(' (spaces allowed) takes
			// arguments.
			k := j
			for p.at(k) == ' ' || p.at(k) == '\t' {
				k++
			}
			paren := p.at(k) == '('
			switch name {
			case "end", "else":
				p.pos = j
				lit = p.gobble(start, lit)
				flush()
				return nodes, name, start, nil
			case "elseif":
				if !paren {
					return nil, "", 0, p.errAt(start, "#elseif needs a condition in parentheses")
				}
				// The caller parses the condition.
				flush()
				p.pos = k
				return nodes, name, start, nil
			case "break", "stop":
				p.pos = j
				lit = p.gobble(start, lit)
				flush()
				if name == "break" {
					nodes = append(nodes, &breakNode{})
				} else {
					nodes = append(nodes, &stopNode{})
				}
				continue
			case "set", "if", "foreach", "define", "macro":
				if !paren {
					return nil, "", 0, p.errAt(start, "#"+name+" needs arguments in parentheses")
				}
				p.pos = k + 1
				n, err := p.directive(name, start, &lit)
				if err != nil {
					return nil, "", 0, err
				}
				flush()
				if n != nil {
					nodes = append(nodes, n)
				}
				continue
			}
			if !paren {
				// #word that is no directive: text, as Velocity does.
				lit = append(lit, p.src[p.pos:j]...)
				p.pos = j
				continue
			}
			p.pos = k + 1
			call, err := p.macroCall(name, start)
			if err != nil {
				return nil, "", 0, err
			}
			flush()
			nodes = append(nodes, call)
		default:
			lit = append(lit, c)
			p.pos++
		}
	}
	flush()
	return nodes, "", 0, nil
}

// lineStartBlank reports whether only spaces and tabs precede pos on its
// line.
func (p *parser) lineStartBlank(pos int) bool {
	for i := pos - 1; i >= 0; i-- {
		switch p.src[i] {
		case ' ', '\t':
		case '\n':
			return true
		default:
			return false
		}
	}
	return !p.inString
}

func trimBlankTail(lit []byte) []byte {
	for len(lit) > 0 && (lit[len(lit)-1] == ' ' || lit[len(lit)-1] == '\t') {
		lit = lit[:len(lit)-1]
	}
	return lit
}

// gobbleLine reports whether the directive that began at start and ends
// at p.pos stands alone on its line (only blanks before it and after it
// up to the newline); if so it moves p.pos past the newline. Removing
// such lines is Velocity's "lines" space gobbling, which keeps templates
// readable.
func (p *parser) gobbleLine(start int) bool {
	if p.inString || !p.lineStartBlank(start) {
		return false
	}
	i := p.pos
	for p.at(i) == ' ' || p.at(i) == '\t' {
		i++
	}
	switch {
	case i >= len(p.src):
	case p.src[i] == '\n':
		i++
	case p.src[i] == '\r' && p.at(i+1) == '\n':
		i += 2
	default:
		return false
	}
	p.pos = i
	return true
}

// gobble applies gobbleLine and drops the blanks before the directive,
// held at the end of lit.
func (p *parser) gobble(start int, lit []byte) []byte {
	if p.gobbleLine(start) {
		return trimBlankTail(lit)
	}
	return lit
}

// trimLastText drops the blanks at the end of a block's last text.
func trimLastText(nodes []node) {
	if len(nodes) == 0 {
		return
	}
	if t, ok := nodes[len(nodes)-1].(*textNode); ok {
		t.s = string(trimBlankTail([]byte(t.s)))
	}
}

func (p *parser) skipSpace() {
	for p.pos < len(p.src) {
		switch p.src[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *parser) expect(c byte, what string) error {
	p.skipSpace()
	if p.at(p.pos) != c {
		if p.pos >= len(p.src) {
			return p.errAt(p.pos, fmt.Sprintf("unexpected end of template, expected %q %s", c, what))
		}
		return p.errAt(p.pos, fmt.Sprintf("expected %q %s, found %q", c, what, p.src[p.pos]))
	}
	p.pos++
	return nil
}

// directive parses the arguments and, for block directives, the body of
// #set, #if, #foreach, #define and #macro; p.pos is after the '('.
func (p *parser) directive(name string, start int, lit *[]byte) (node, error) {
	if err := p.enter(start); err != nil {
		return nil, err
	}
	defer p.leave()
	switch name {
	case "set":
		p.skipSpace()
		if p.at(p.pos) != '$' {
			return nil, p.errAt(p.pos, "#set needs a reference on the left of =")
		}
		ref, _, ok, err := p.parseRef()
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, p.errAt(p.pos, "#set needs a reference on the left of =")
		}
		if n := len(ref.chain); n > 0 && ref.chain[n-1].kind == stepMethod {
			return nil, p.errAt(ref.pos, "#set cannot assign to a method call")
		}
		if err := p.expect('=', "in #set"); err != nil {
			return nil, err
		}
		val, err := p.parseExpr()
		if err != nil {
			return nil, err
		}
		if err := p.expect(')', "to close #set"); err != nil {
			return nil, err
		}
		*lit = p.gobble(start, *lit)
		return &setNode{target: ref, val: val, pos: start}, nil
	case "if":
		n := &ifNode{}
		for {
			cond, err := p.parseExpr()
			if err != nil {
				return nil, err
			}
			if err := p.expect(')', "to close the condition"); err != nil {
				return nil, err
			}
			if len(n.blocks) == 0 {
				*lit = p.gobble(start, *lit)
			} else if p.gobbleLine(start) {
				trimLastText(n.blocks[len(n.blocks)-1])
			}
			body, term, termPos, err := p.parseBlock()
			if err != nil {
				return nil, err
			}
			n.conds = append(n.conds, cond)
			n.blocks = append(n.blocks, body)
			switch term {
			case "":
				return nil, p.errAt(start, "#if is not closed by #end")
			case "end":
				return n, nil
			case "elseif":
				p.pos++ // the '('
				start = termPos
				continue
			case "else":
				els, term2, termPos2, err := p.parseBlock()
				if err != nil {
					return nil, err
				}
				switch term2 {
				case "end":
					n.els = els
					return n, nil
				case "":
					return nil, p.errAt(start, "#if is not closed by #end")
				default:
					return nil, p.errAt(termPos2, "#"+term2+" after #else")
				}
			}
		}
	case "foreach":
		p.skipSpace()
		if p.at(p.pos) != '$' || !identStart(p.at(p.pos+1)) {
			return nil, p.errAt(p.pos, "#foreach needs a variable: #foreach($x in ...)")
		}
		v, j := p.ident(p.pos + 1)
		p.pos = j
		p.skipSpace()
		if !strings.HasPrefix(p.src[p.pos:], "in") || identChar(p.at(p.pos+2)) {
			return nil, p.errAt(p.pos, "#foreach needs 'in': #foreach($x in ...)")
		}
		p.pos += 2
		iter, err := p.parseExpr()
		if err != nil {
			return nil, err
		}
		if err := p.expect(')', "to close #foreach"); err != nil {
			return nil, err
		}
		*lit = p.gobble(start, *lit)
		body, err := p.blockToEnd("foreach", start)
		if err != nil {
			return nil, err
		}
		return &foreachNode{name: v, iter: iter, body: body, pos: start}, nil
	case "define":
		p.skipSpace()
		if p.at(p.pos) != '$' || !identStart(p.at(p.pos+1)) {
			return nil, p.errAt(p.pos, "#define needs a variable: #define($name)")
		}
		v, j := p.ident(p.pos + 1)
		p.pos = j
		if err := p.expect(')', "to close #define"); err != nil {
			return nil, err
		}
		*lit = p.gobble(start, *lit)
		body, err := p.blockToEnd("define", start)
		if err != nil {
			return nil, err
		}
		return &defineNode{name: v, body: body}, nil
	case "macro":
		p.skipSpace()
		if !identStart(p.at(p.pos)) {
			return nil, p.errAt(p.pos, "#macro needs a name: #macro(name $arg ...)")
		}
		mname, j := p.ident(p.pos)
		p.pos = j
		if isTerm(mname) || isDirective(mname) {
			return nil, p.errAt(start, "#macro cannot be named "+mname)
		}
		m := &macroDef{name: mname}
		for {
			p.skipSpace()
			if p.at(p.pos) == ',' {
				p.pos++
				p.skipSpace()
			}
			if p.at(p.pos) == ')' {
				p.pos++
				break
			}
			if p.at(p.pos) != '$' || !identStart(p.at(p.pos+1)) {
				return nil, p.errAt(p.pos, "#macro arguments are $names")
			}
			a, j := p.ident(p.pos + 1)
			m.params = append(m.params, a)
			p.pos = j
		}
		*lit = p.gobble(start, *lit)
		body, err := p.blockToEnd("macro", start)
		if err != nil {
			return nil, err
		}
		if _, dup := p.macros[mname]; dup {
			return nil, p.errAt(start, "macro #"+mname+" is defined twice")
		}
		m.body = body
		p.macros[mname] = m
		return nil, nil
	}
	return nil, p.errAt(start, "unknown directive #"+name)
}

func isDirective(name string) bool {
	switch name {
	case "set", "if", "foreach", "define", "macro", "break", "stop":
		return true
	}
	return false
}

// macroCall parses the arguments of #name(...); p.pos is after the '('.
func (p *parser) macroCall(name string, start int) (node, error) {
	c := &macroCallNode{name: name, pos: start}
	for {
		p.skipSpace()
		if p.at(p.pos) == ',' {
			p.pos++
			p.skipSpace()
		}
		if p.at(p.pos) == ')' {
			p.pos++
			break
		}
		if p.pos >= len(p.src) {
			return nil, p.errAt(start, "#"+name+"( is not closed by )")
		}
		a, err := p.parsePrimary()
		if err != nil {
			return nil, err
		}
		c.args = append(c.args, a)
	}
	p.calls = append(p.calls, c)
	return c, nil
}

// parseRef parses a reference at p.pos ('$'). ok is false, and p.pos
// unchanged, when what follows the '$' is no reference (it is text).
func (p *parser) parseRef() (ref *refExpr, quiet, ok bool, err error) {
	start := p.pos
	i := p.pos + 1
	if p.at(i) == '!' {
		quiet = true
		i++
	}
	braced := false
	if p.at(i) == '{' {
		braced = true
		i++
	}
	if !identStart(p.at(i)) {
		return nil, false, false, nil
	}
	if err := p.enter(start); err != nil {
		return nil, false, false, err
	}
	defer p.leave()
	name, i := p.ident(i)
	ref = &refExpr{name: name, pos: start}
	for {
		c := p.at(i)
		if c == '.' && identStart(p.at(i+1)) {
			m, j := p.propName(i + 1)
			if p.at(j) == '(' {
				p.pos = j + 1
				args, err := p.parseArgs()
				if err != nil {
					return nil, false, false, err
				}
				st := step{kind: stepMethod, name: m, args: args}
				precompile(ref, &st)
				ref.chain = append(ref.chain, st)
				i = p.pos
				continue
			}
			ref.chain = append(ref.chain, step{kind: stepProp, name: m})
			i = j
			continue
		}
		if c == '[' {
			p.pos = i + 1
			idx, err := p.parseExpr()
			if err != nil {
				return nil, false, false, err
			}
			if err := p.expect(']', "to close the index"); err != nil {
				return nil, false, false, err
			}
			ref.chain = append(ref.chain, step{kind: stepIndex, idx: idx})
			i = p.pos
			continue
		}
		break
	}
	if braced {
		if p.at(i) != '}' {
			return nil, false, false, p.errAt(start, "reference ${ is not closed by }")
		}
		i++
	}
	p.pos = i
	return ref, quiet, true, nil
}

// precompile compiles a literal regular expression or JSONPath argument
// once, at parse time; a bad one is found here rather than per request.
func precompile(ref *refExpr, st *step) {
	if len(st.args) == 0 {
		return
	}
	lit, ok := st.args[0].(*litExpr)
	if !ok {
		return
	}
	s, ok := lit.v.(string)
	if !ok {
		return
	}
	switch st.name {
	case "replaceAll", "replaceFirst", "matches", "split":
		if re, err := compileJavaRegex(s); err == nil {
			st.re = re
		}
	case "json", "path":
		if ref.name == "input" && len(ref.chain) == 0 {
			if jp, err := compilePath(s); err == nil {
				st.path = jp
			}
		}
	}
}

func (p *parser) parseArgs() ([]expr, error) {
	var args []expr
	p.skipSpace()
	if p.at(p.pos) == ')' {
		p.pos++
		return nil, nil
	}
	for {
		a, err := p.parseExpr()
		if err != nil {
			return nil, err
		}
		args = append(args, a)
		p.skipSpace()
		switch p.at(p.pos) {
		case ',':
			p.pos++
		case ')':
			p.pos++
			return args, nil
		default:
			if p.pos >= len(p.src) {
				return nil, p.errAt(p.pos, "unexpected end of template in method arguments")
			}
			return nil, p.errAt(p.pos, fmt.Sprintf("expected ',' or ')' in method arguments, found %q", p.src[p.pos]))
		}
	}
}

// ---- expressions ----

func (p *parser) parseExpr() (expr, error) {
	if err := p.enter(p.pos); err != nil {
		return nil, err
	}
	defer p.leave()
	return p.parseOr()
}

// op matches one of the operators at p.pos (after blanks): symbols
// exactly, words when no identifier character follows.
func (p *parser) op(ops ...string) string {
	p.skipSpace()
	rest := p.src[p.pos:]
	for _, o := range ops {
		if !strings.HasPrefix(rest, o) {
			continue
		}
		if identStart(o[0]) {
			if len(rest) > len(o) && identChar(rest[len(o)]) {
				continue
			}
		}
		// '!' alone is not '!='; '=' alone is not '=='.
		p.pos += len(o)
		return o
	}
	return ""
}

func (p *parser) parseOr() (expr, error)  { return p.binaryLevel(p.parseAnd, "||", "or") }
func (p *parser) parseAnd() (expr, error) { return p.binaryLevel(p.parseEq, "&&", "and") }
func (p *parser) parseEq() (expr, error)  { return p.binaryLevel(p.parseRel, "==", "!=", "eq", "ne") }
func (p *parser) parseRel() (expr, error) {
	return p.binaryLevel(p.parseAdd, "<=", ">=", "<", ">", "lt", "le", "gt", "ge")
}
func (p *parser) parseAdd() (expr, error) { return p.binaryLevel(p.parseMul, "+", "-") }
func (p *parser) parseMul() (expr, error) { return p.binaryLevel(p.parseUnary, "*", "/", "%") }

// wordOps are Velocity's word spellings of operators, by the symbol the
// evaluator knows them as.
var wordOps = map[string]string{"eq": "==", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">=", "or": "||", "and": "&&"}

// binaryLevel parses one precedence level of left-associative binary
// operators: next parses the operands (the next tighter level), ops are
// this level's spellings.
func (p *parser) binaryLevel(next func() (expr, error), ops ...string) (expr, error) {
	l, err := next()
	if err != nil {
		return nil, err
	}
	for {
		pos := p.pos
		o := p.op(ops...)
		if o == "" {
			return l, nil
		}
		if w, ok := wordOps[o]; ok {
			o = w
		}
		r, err := next()
		if err != nil {
			return nil, err
		}
		l = &binExpr{op: o, l: l, r: r, pos: pos}
	}
}

func (p *parser) parseUnary() (expr, error) {
	p.skipSpace()
	if p.at(p.pos) == '!' && p.at(p.pos+1) != '=' {
		p.pos++
		x, err := p.parseUnaryNested()
		if err != nil {
			return nil, err
		}
		return &notExpr{x: x}, nil
	}
	if p.op("not") != "" {
		x, err := p.parseUnaryNested()
		if err != nil {
			return nil, err
		}
		return &notExpr{x: x}, nil
	}
	if p.at(p.pos) == '-' && !isDigit(p.at(p.pos+1)) {
		p.pos++
		x, err := p.parseUnaryNested()
		if err != nil {
			return nil, err
		}
		return &negExpr{x: x}, nil
	}
	return p.parsePrimary()
}

func (p *parser) parseUnaryNested() (expr, error) {
	if err := p.enter(p.pos); err != nil {
		return nil, err
	}
	defer p.leave()
	return p.parseUnary()
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func (p *parser) parsePrimary() (expr, error) {
	p.skipSpace()
	start := p.pos
	if p.pos >= len(p.src) {
		return nil, p.errAt(p.pos, "unexpected end of template in an expression")
	}
	c := p.src[p.pos]
	switch {
	case c == '(':
		p.pos++
		x, err := p.parseExpr()
		if err != nil {
			return nil, err
		}
		if err := p.expect(')', "to close the parenthesis"); err != nil {
			return nil, err
		}
		return x, nil
	case c == '$':
		ref, _, ok, err := p.parseRef()
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, p.errAt(start, "expected a reference after $")
		}
		return ref, nil
	case c == '\'' || c == '"':
		return p.parseString(c)
	case isDigit(c) || c == '-' && isDigit(p.at(p.pos+1)):
		return p.parseNumber()
	case c == '[':
		return p.parseList()
	case c == '{':
		return p.parseMap()
	case identStart(c):
		w, j := p.ident(p.pos)
		switch w {
		case "true":
			p.pos = j
			return &litExpr{v: true}, nil
		case "false":
			p.pos = j
			return &litExpr{v: false}, nil
		case "null":
			p.pos = j
			return &litExpr{v: nil}, nil
		}
		return nil, p.errAt(start, fmt.Sprintf("unexpected %q in an expression", w))
	}
	return nil, p.errAt(start, fmt.Sprintf("unexpected %q in an expression", c))
}

func (p *parser) parseNumber() (expr, error) {
	start := p.pos
	i := p.pos
	if p.at(i) == '-' {
		i++
	}
	for isDigit(p.at(i)) {
		i++
	}
	isFloat := false
	if p.at(i) == '.' && isDigit(p.at(i+1)) {
		isFloat = true
		i++
		for isDigit(p.at(i)) {
			i++
		}
	}
	p.pos = i
	text := p.src[start:i]
	if isFloat {
		f, err := strconv.ParseFloat(text, 64)
		if err != nil {
			return nil, p.errAt(start, "bad number "+text)
		}
		return &litExpr{v: f}, nil
	}
	n, err := strconv.ParseInt(text, 10, 64)
	if err != nil {
		return nil, p.errAt(start, "bad number "+text)
	}
	return &litExpr{v: n}, nil
}

// parseString parses a quoted string: a doubled quote stands for one.
// Double-quoted strings interpolate references and directives.
func (p *parser) parseString(q byte) (expr, error) {
	start := p.pos
	p.pos++
	var b strings.Builder
	for {
		if p.pos >= len(p.src) {
			return nil, p.errAt(start, "string is not closed")
		}
		c := p.src[p.pos]
		if c == q {
			if p.at(p.pos+1) == q {
				b.WriteByte(q)
				p.pos += 2
				continue
			}
			p.pos++
			break
		}
		b.WriteByte(c)
		p.pos++
	}
	s := b.String()
	if q == '\'' || !strings.ContainsAny(s, "$#\\") {
		return &litExpr{v: s}, nil
	}
	sub := &parser{src: s, macros: p.macros, depth: p.depth, inString: true}
	parts, term, termPos, err := sub.parseBlock()
	if err != nil {
		// Report at the string's place in the template.
		if e, ok := err.(*Error); ok {
			e.Line, e.Col = position(p.src, start)
			e.Msg = "in string: " + e.Msg
		}
		return nil, err
	}
	if term != "" {
		return nil, p.errAt(start+1+termPos, "#"+term+" without an open block in a string")
	}
	p.calls = append(p.calls, sub.calls...)
	if len(parts) == 1 {
		if t, ok := parts[0].(*textNode); ok {
			return &litExpr{v: t.s}, nil
		}
	}
	return &strExpr{parts: parts}, nil
}

func (p *parser) parseList() (expr, error) {
	start := p.pos
	p.pos++
	p.skipSpace()
	if p.at(p.pos) == ']' {
		p.pos++
		return &listExpr{}, nil
	}
	first, err := p.parseExpr()
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if strings.HasPrefix(p.src[p.pos:], "..") {
		p.pos += 2
		hi, err := p.parseExpr()
		if err != nil {
			return nil, err
		}
		if err := p.expect(']', "to close the range"); err != nil {
			return nil, err
		}
		return &rangeExpr{lo: first, hi: hi}, nil
	}
	l := &listExpr{items: []expr{first}}
	for {
		p.skipSpace()
		switch p.at(p.pos) {
		case ',':
			p.pos++
			x, err := p.parseExpr()
			if err != nil {
				return nil, err
			}
			l.items = append(l.items, x)
		case ']':
			p.pos++
			return l, nil
		default:
			return nil, p.errAt(start, "list [ is not closed by ]")
		}
	}
}

func (p *parser) parseMap() (expr, error) {
	start := p.pos
	p.pos++
	m := &mapExpr{}
	p.skipSpace()
	if p.at(p.pos) == '}' {
		p.pos++
		return m, nil
	}
	for {
		k, err := p.parseExpr()
		if err != nil {
			return nil, err
		}
		if err := p.expect(':', "after a map key"); err != nil {
			return nil, err
		}
		v, err := p.parseExpr()
		if err != nil {
			return nil, err
		}
		m.keys = append(m.keys, k)
		m.vals = append(m.vals, v)
		p.skipSpace()
		switch p.at(p.pos) {
		case ',':
			p.pos++
		case '}':
			p.pos++
			return m, nil
		default:
			return nil, p.errAt(start, "map { is not closed by }")
		}
	}
}
