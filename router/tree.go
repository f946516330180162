// Package router matches requests to routes the way Amazon API Gateway does.
// It knows nothing of integrations: a route is an int id that the caller
// maps to its own compiled route.
//
// A Table picks the API (host, base path) and the stage; a Tree picks the
// route inside an API: per path segment a literal beats {var} beats {var+},
// then an explicit method beats ANY, and a path that matches nothing falls
// back to $default. Both are built once per config and never change, so the
// hot path reads them without locks. Lookup allocates nothing: parameters are
// returned as byte ranges into the request path.
package router

import (
	"fmt"
)

// Params are the values of a matched route's variables, as [start,end)
// offsets into the path given to Lookup, in the route's variable order.
type Params struct {
	n    int
	span [MaxParams][2]int32
}

// Len is the number of values.
func (p *Params) Len() int { return p.n }

// Value returns the i-th value as a sub-slice of path.
func (p *Params) Value(path []byte, i int) []byte {
	return path[p.span[i][0]:p.span[i][1]]
}

// Reset forgets all values.
func (p *Params) Reset() { p.n = 0 }

func (p *Params) push(start, end int) {
	p.span[p.n] = [2]int32{int32(start), int32(end)}
	p.n++
}

type node struct {
	literal map[string]*node
	param   *node
	greedy  *node
	// routes holds id+1 per method (0 = no route), so the zero value is
	// an empty node.
	routes [numMethods]int32
	keys   [numMethods]string
}

// Tree is the compiled route set of one API.
type Tree struct {
	root   node
	def    int32
	defKey string
}

// NewTree returns an empty tree.
func NewTree() *Tree { return &Tree{} }

// Add inserts a route. It fails when another route has the same method and
// the same shape (variable names aside), since one of them could never match.
func (t *Tree) Add(k Key, id int, keyText string) error {
	if k.Default {
		if t.def != 0 {
			return fmt.Errorf("conflicts with route %q", t.defKey)
		}
		t.def = int32(id) + 1
		t.defKey = keyText
		return nil
	}
	n := &t.root
	for _, s := range k.Segments {
		switch s.Kind {
		case Literal:
			if n.literal == nil {
				n.literal = map[string]*node{}
			}
			c := n.literal[s.Value]
			if c == nil {
				c = &node{}
				n.literal[s.Value] = c
			}
			n = c
		case Param:
			if n.param == nil {
				n.param = &node{}
			}
			n = n.param
		case Greedy:
			if n.greedy == nil {
				n.greedy = &node{}
			}
			n = n.greedy
		}
	}
	if n.routes[k.Method] != 0 {
		return fmt.Errorf("conflicts with route %q (same method and path shape)", n.keys[k.Method])
	}
	n.routes[k.Method] = int32(id) + 1
	n.keys[k.Method] = keyText
	return nil
}

// Lookup finds the route for method and path (which must start with '/').
// A single trailing slash is ignored. It returns the route id, or false when
// neither a route nor $default matches.
func (t *Tree) Lookup(m Method, path []byte, p *Params) (int, bool) {
	p.n = 0
	if len(path) > 1 && path[len(path)-1] == '/' {
		path = path[:len(path)-1]
	}
	var r int32
	if len(path) <= 1 {
		r = t.root.get(m)
	} else {
		r = t.root.find(path, 0, m, p)
	}
	if r == 0 {
		p.n = 0
		r = t.def
	}
	return int(r) - 1, r != 0
}

func (n *node) get(m Method) int32 {
	if m == Other {
		return 0
	}
	if r := n.routes[m]; r != 0 {
		return r
	}
	return n.routes[ANY]
}

// find matches path[i:], where path[i] is the '/' before the next segment,
// trying literal, then variable, then greedy children and backtracking when a
// branch has no route for the method.
func (n *node) find(path []byte, i int, m Method, p *Params) int32 {
	if i >= len(path) {
		return n.get(m)
	}
	j := i + 1
	for j < len(path) && path[j] != '/' {
		j++
	}
	seg := path[i+1 : j]
	if n.literal != nil {
		if c := n.literal[string(seg)]; c != nil {
			if r := c.find(path, j, m, p); r != 0 {
				return r
			}
		}
	}
	if n.param != nil && len(seg) > 0 {
		saved := p.n
		p.push(i+1, j)
		if r := n.param.find(path, j, m, p); r != 0 {
			return r
		}
		p.n = saved
	}
	if n.greedy != nil && i+1 < len(path) {
		if r := n.greedy.get(m); r != 0 {
			p.push(i+1, len(path))
			return r
		}
	}
	return 0
}
