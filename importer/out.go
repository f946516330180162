package importer

import (
	"bytes"
	"fmt"
	"sort"
	"strconv"

	"gopkg.in/yaml.v3"
)

// pos is a place in a source file.
type pos struct {
	file string
	line int
}

func (p pos) String() string {
	if p.line <= 0 {
		return p.file
	}
	return p.file + ":" + strconv.Itoa(p.line)
}

// tree builds the output config as YAML nodes and remembers, for the
// nodes that came from somewhere, the source position: rendering maps
// every output line back to one.
type tree struct {
	at map[*yaml.Node]pos
}

func newTree() *tree { return &tree{at: map[*yaml.Node]pos{}} }

func (t *tree) mapping(at pos) *yaml.Node {
	n := &yaml.Node{Kind: yaml.MappingNode}
	t.mark(n, at)
	return n
}

func (t *tree) mark(n *yaml.Node, at pos) {
	if at.file != "" {
		t.at[n] = at
	}
}

// set puts key: v into m (replacing an existing key), the key marked at.
func (t *tree) set(m *yaml.Node, key string, v *yaml.Node, at pos) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			m.Content[i+1] = v
			t.mark(m.Content[i], at)
			return
		}
	}
	k := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key}
	t.mark(k, at)
	m.Content = append(m.Content, k, v)
}

func strNode(s string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s}
}

func intNode(i int) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.Itoa(i)}
}

func boolNode(b bool) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(b)}
}

func floatNode(f float64) *yaml.Node {
	if f == float64(int(f)) {
		return intNode(int(f))
	}
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!float", Value: strconv.FormatFloat(f, 'f', -1, 64)}
}

func strList(ss []string) *yaml.Node {
	n := &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
	for _, s := range ss {
		n.Content = append(n.Content, strNode(s))
	}
	return n
}

func strMap(m map[string]string) *yaml.Node {
	n := &yaml.Node{Kind: yaml.MappingNode}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		n.Content = append(n.Content, strNode(k), strNode(m[k]))
	}
	return n
}

// sortMap orders a mapping's keys, so output does not depend on the order
// things were found in.
func sortMap(m *yaml.Node) {
	if m == nil || m.Kind != yaml.MappingNode {
		return
	}
	type kv struct{ k, v *yaml.Node }
	pairs := make([]kv, 0, len(m.Content)/2)
	for i := 0; i+1 < len(m.Content); i += 2 {
		pairs = append(pairs, kv{m.Content[i], m.Content[i+1]})
	}
	sort.SliceStable(pairs, func(i, j int) bool { return pairs[i].k.Value < pairs[j].k.Value })
	m.Content = m.Content[:0]
	for _, p := range pairs {
		m.Content = append(m.Content, p.k, p.v)
	}
}

// render writes the tree as YAML with a comment naming the source of
// each entry that has one, and returns, per output line, the source
// position it came from.
func (t *tree) render(root *yaml.Node, header string) ([]byte, map[int]pos, error) {
	t.comment(root, 0)
	doc := &yaml.Node{Kind: yaml.DocumentNode, HeadComment: header, Content: []*yaml.Node{root}}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return nil, nil, fmt.Errorf("render config: %w", err)
	}
	enc.Close()
	var back yaml.Node
	if err := yaml.Unmarshal(buf.Bytes(), &back); err != nil {
		return nil, nil, fmt.Errorf("render config: read back: %w\n%s", err, buf.Bytes())
	}
	lines := map[int]pos{}
	t.walkLines(root, back.Content[0], pos{}, lines)
	return buf.Bytes(), lines, nil
}

// comment adds "# file:line" to the keys two and three levels down
// (functions.NAME, apis.NAME, apis.NAME.routes.KEY, ...), enough for a
// reader to find where each entry came from without drowning the file.
func (t *tree) comment(n *yaml.Node, depth int) {
	if n.Kind != yaml.MappingNode {
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if at, ok := t.at[k]; ok && (depth == 1 || depth == 3) && v.Kind == yaml.MappingNode && len(v.Content) > 0 && v.Style != yaml.FlowStyle {
			k.LineComment = "from " + at.String()
		}
		t.comment(v, depth+1)
	}
}

func (t *tree) walkLines(built, read *yaml.Node, inherit pos, lines map[int]pos) {
	if at, ok := t.at[built]; ok {
		inherit = at
	}
	if inherit.file != "" {
		if _, seen := lines[read.Line]; !seen {
			lines[read.Line] = inherit
		}
	}
	if len(built.Content) != len(read.Content) {
		return
	}
	if built.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(built.Content); i += 2 {
			// A mapping's value takes its key's position.
			at := inherit
			if p, ok := t.at[built.Content[i]]; ok {
				at = p
			}
			t.walkLines(built.Content[i], read.Content[i], at, lines)
			t.walkLines(built.Content[i+1], read.Content[i+1], at, lines)
		}
		return
	}
	for i := range built.Content {
		t.walkLines(built.Content[i], read.Content[i], inherit, lines)
	}
}
