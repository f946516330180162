package importer

import (
	"fmt"
	"sort"
	"strings"

	"github.com/frontdeskgw/frontdesk/config"
	"gopkg.in/yaml.v3"
)

// Finding is one construct of the source that frontdesk does not serve
// as AWS would: what it is, where, and what happens to it.
type Finding struct {
	File string
	Line int
	// Construct names it as the source does, e.g.
	// "x-amazon-apigateway-gateway-responses" or "AWS::DynamoDB::Table".
	Construct string
	// Note says what is ignored, or how it is served instead.
	Note string
}

func (f Finding) String() string {
	return fmt.Sprintf("%s: %s: %s", pos{f.File, f.Line}, f.Construct, f.Note)
}

// Problem returns the finding as a config warning.
func (f Finding) Problem() config.Problem {
	return config.Problem{File: f.File, Line: f.Line, Key: f.Construct, Msg: f.Note}
}

// report collects findings (each place and construct once) and errors.
type report struct {
	findings []Finding
	seen     map[string]bool
	errs     config.Errors
}

func (r *report) note(file string, n *yaml.Node, construct, format string, args ...any) {
	line := 0
	if n != nil {
		line = n.Line
	}
	k := fmt.Sprintf("%s:%d:%s", file, line, construct)
	if r.seen == nil {
		r.seen = map[string]bool{}
	}
	if r.seen[k] {
		return
	}
	r.seen[k] = true
	r.findings = append(r.findings, Finding{File: file, Line: line, Construct: construct, Note: fmt.Sprintf(format, args...)})
}

func (r *report) fail(file string, n *yaml.Node, key, format string, args ...any) {
	line := 0
	if n != nil {
		line = n.Line
	}
	r.errs = append(r.errs, config.Problem{File: file, Line: line, Key: key, Msg: fmt.Sprintf(format, args...)})
}

func (r *report) sorted() []Finding {
	sort.SliceStable(r.findings, func(i, j int) bool {
		a, b := r.findings[i], r.findings[j]
		if a.File != b.File {
			return a.File < b.File
		}
		return a.Line < b.Line
	})
	return r.findings
}

func (r *report) err() error {
	if len(r.errs) == 0 {
		return nil
	}
	sort.SliceStable(r.errs, func(i, j int) bool { return r.errs[i].Line < r.errs[j].Line })
	return r.errs
}

// Reading source nodes.

// get returns m's value under key, or nil.
func get(m *yaml.Node, key string) *yaml.Node {
	if m == nil {
		return nil
	}
	if m.Kind == yaml.DocumentNode && len(m.Content) > 0 {
		m = m.Content[0]
	}
	if m.Kind == yaml.AliasNode {
		m = m.Alias
	}
	if m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			v := m.Content[i+1]
			if v.Kind == yaml.AliasNode {
				return v.Alias
			}
			return v
		}
	}
	return nil
}

// keyNode returns the key node of key in m (for its line), or m.
func keyNode(m *yaml.Node, key string) *yaml.Node {
	if m != nil && m.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(m.Content); i += 2 {
			if m.Content[i].Value == key {
				return m.Content[i]
			}
		}
	}
	return m
}

// pairs calls fn for each key and value of a mapping, in file order.
func pairs(m *yaml.Node, fn func(k, v *yaml.Node)) {
	if m == nil || m.Kind != yaml.MappingNode {
		return
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		v := m.Content[i+1]
		if v.Kind == yaml.AliasNode {
			v = v.Alias
		}
		fn(m.Content[i], v)
	}
}

// scalar returns a scalar's value, "" for anything else.
func scalar(n *yaml.Node) string {
	if n == nil || n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		return ""
	}
	return n.Value
}

func getStr(m *yaml.Node, key string) string { return scalar(get(m, key)) }

func getBool(m *yaml.Node, key string) (value, ok bool) {
	n := get(m, key)
	if n == nil || n.Kind != yaml.ScalarNode {
		return false, false
	}
	switch strings.ToLower(n.Value) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	return false, false
}

// strs reads a list of strings, or one string as a list.
func strs(n *yaml.Node) []string {
	if n == nil {
		return nil
	}
	if n.Kind == yaml.ScalarNode {
		if n.Tag == "!!null" || n.Value == "" {
			return nil
		}
		return []string{n.Value}
	}
	var out []string
	for _, c := range n.Content {
		if c.Kind == yaml.ScalarNode {
			out = append(out, c.Value)
		}
	}
	return out
}

// name makes a config key from free text: letters, digits, - and _.
func name(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range s {
		ok := r == '_' || r == '-' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9')
		if ok {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.Trim(b.String(), "-")
}
