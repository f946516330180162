package vtl

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/ohler55/ojg/jp"
)

// jsonPath is a compiled JSONPath. The paths templates use most ($,
// $.a.b, $.a[0], $['a-b']) are walked directly, without allocating;
// everything else (wildcards, slices, filters, recursive descent) is
// evaluated by ojg's jp.
type jsonPath struct {
	// segs is the definite path when it is only names and indexes.
	segs   []pathSeg
	simple bool
	expr   jp.Expr
	// definite paths select one value; the others select a list.
	definite bool
}

type pathSeg struct {
	key   string
	index int
	isIdx bool
}

// maxPathBytes bounds a JSONPath given at run time.
const maxPathBytes = 4096

func compilePath(s string) (*jsonPath, error) {
	if len(s) > maxPathBytes {
		return nil, fmt.Errorf("JSONPath longer than %d bytes", maxPathBytes)
	}
	if segs, ok := simplePath(s); ok {
		return &jsonPath{segs: segs, simple: true, definite: true}, nil
	}
	x, err := jp.ParseString(s)
	if err != nil {
		return nil, fmt.Errorf("JSONPath %q: %w", s, err)
	}
	def := true
	for _, f := range x {
		switch f.(type) {
		case jp.Root, jp.At, jp.Child, jp.Nth:
		case jp.Bracket:
		default:
			def = false
		}
	}
	return &jsonPath{expr: x, definite: def}, nil
}

// simplePath parses $, .name, ['name'] and [n] segments.
func simplePath(s string) ([]pathSeg, bool) {
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, "$") {
		return nil, false
	}
	s = s[1:]
	var segs []pathSeg
	for len(s) > 0 {
		switch s[0] {
		case '.':
			i := 1
			for i < len(s) && s[i] != '.' && s[i] != '[' {
				i++
			}
			name := s[1:i]
			if name == "" || name == "*" || strings.ContainsAny(name, " ()?@*,:") {
				return nil, false
			}
			segs = append(segs, pathSeg{key: name})
			s = s[i:]
		case '[':
			end := strings.IndexByte(s, ']')
			if end < 0 {
				return nil, false
			}
			in := s[1:end]
			if len(in) >= 2 && (in[0] == '\'' && in[len(in)-1] == '\'' || in[0] == '"' && in[len(in)-1] == '"') {
				k := in[1 : len(in)-1]
				if strings.ContainsAny(k, "'\"") {
					return nil, false
				}
				segs = append(segs, pathSeg{key: k})
			} else {
				n, err := strconv.Atoi(in)
				if err != nil || n < 0 {
					return nil, false
				}
				segs = append(segs, pathSeg{index: n, isIdx: true})
			}
			s = s[end+1:]
		default:
			return nil, false
		}
	}
	return segs, true
}

// get selects from root: one value for a definite path (found is false
// when it is absent), a *List of every match otherwise.
func (p *jsonPath) get(root any) (v any, found bool) {
	if p.simple {
		v := root
		for _, sg := range p.segs {
			if sg.isIdx {
				l, ok := v.(*List)
				if !ok || sg.index >= len(l.Items) {
					return nil, false
				}
				v = l.Items[sg.index]
				continue
			}
			var ok bool
			switch m := v.(type) {
			case *Map:
				v, ok = m.Get(sg.key)
			case map[string]any:
				v, ok = m[sg.key]
			case map[string]string:
				v, ok = m[sg.key]
			}
			if !ok {
				return nil, false
			}
		}
		return v, true
	}
	res := p.expr.Get(root)
	if p.definite {
		if len(res) == 0 {
			return nil, false
		}
		return res[0], true
	}
	return &List{Items: res}, true
}
