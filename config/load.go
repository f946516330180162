// Package config loads frontdesk.yaml: it parses the YAML contract, expands
// ${VAR} and ${VAR:-default} from the environment, checks every key and value
// and reports all mistakes at once, each naming file:line and the key.
//
// It runs at start-up and on reload only; the gateway compiles the result
// into plain structs for the request path.
package config

import (
	"fmt"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Problem is one mistake (or warning) found in a config file.
type Problem struct {
	File string
	Line int
	Key  string
	Msg  string
}

func (p Problem) String() string {
	loc := p.File
	if p.Line > 0 {
		loc = fmt.Sprintf("%s:%d", p.File, p.Line)
	}
	if p.Key == "" {
		return loc + ": " + p.Msg
	}
	return fmt.Sprintf("%s: %s: %s", loc, p.Key, p.Msg)
}

// Errors is every problem that makes a config invalid.
type Errors []Problem

func (e Errors) Error() string {
	lines := make([]string, len(e))
	for i, p := range e {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// Load reads, checks and returns the config at path, with the warnings
// (keys accepted but not yet supported). On failure the error is an Errors
// value listing every problem found.
func Load(path string) (*Config, []Problem, error) { return LoadWith(path, nil) }

// LoadWith is Load with extend run on the decoded file before defaults
// and checks, so that what extend adds (the control plane's APIs, keys
// and plans) is checked by the same rules, in the same pass, as the file.
func LoadWith(path string, extend func(*Config)) (*Config, []Problem, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("load %s: %w", path, err)
	}
	return ParseWith(path, data, os.LookupEnv, extend)
}

// Parse checks data as if read from file; lookup resolves ${VAR}.
func Parse(file string, data []byte, lookup func(string) (string, bool)) (*Config, []Problem, error) {
	return ParseWith(file, data, lookup, nil)
}

// ParseWith is Parse with extend (nil: none) run as LoadWith runs it.
func ParseWith(file string, data []byte, lookup func(string) (string, bool), extend func(*Config)) (*Config, []Problem, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, nil, Errors{{File: file, Line: yamlErrorLine(err), Msg: err.Error()}}
	}
	c := &Config{File: file, Lines: map[string]int{}}
	if len(doc.Content) == 0 {
		return nil, nil, Errors{{File: file, Line: 1, Msg: "empty config"}}
	}
	root := doc.Content[0]
	expandNode(root, lookup)

	w := walker{file: file, lines: c.Lines}
	w.walk(root, reflect.TypeOf(*c), "")
	if root.Kind != yaml.MappingNode {
		return nil, nil, w.errs
	}
	// The walker has blanked every value it rejected, so the rest of the
	// file still decodes and the semantic checks run in the same pass:
	// one run reports every problem, not one phase of them at a time.
	if err := root.Decode(c); err != nil {
		// The walker checks every kind and scalar the decoder does, so
		// this only fires on a case it misses; still report it.
		return nil, nil, append(w.errs, Problem{File: file, Line: yamlErrorLine(err), Msg: err.Error()})
	}
	if extend != nil && len(w.errs) == 0 {
		extend(c)
	}
	applyDefaults(c)
	errs, warns := validate(c)
	if len(w.errs) > 0 {
		errs = mergeProblems(w.errs, errs)
	}
	if len(errs) > 0 {
		return nil, nil, errs
	}
	warns = append(warns, unsupported(c, notYetSupported)...)
	sort.SliceStable(warns, func(i, j int) bool { return warns[i].Line < warns[j].Line })
	return c, warns, nil
}

// mergeProblems adds the semantic problems to the walker's, leaving out
// those about a key the walker already rejected (its blanked value would
// otherwise be reported again, as missing), in line order.
func mergeProblems(walked, checked Errors) Errors {
	rejected := make(map[string]bool, len(walked))
	for _, p := range walked {
		rejected[p.Key] = true
	}
	out := append(Errors(nil), walked...)
	for _, p := range checked {
		if !rejected[p.Key] {
			out = append(out, p)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Line < out[j].Line })
	return out
}

func yamlErrorLine(err error) int {
	msg := err.Error()
	if i := strings.Index(msg, "line "); i >= 0 {
		rest := msg[i+5:]
		j := 0
		for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
			j++
		}
		if n, e := strconv.Atoi(rest[:j]); e == nil {
			return n
		}
	}
	return 0
}

// expandNode replaces ${VAR} and ${VAR:-default} in every scalar. Only plain
// identifiers are environment variables: ${stageVariables.x} and
// ${request.body.action} are left for the features that own them.
//
// Mapping templates are left alone: ${name} is a VTL reference there.
func expandNode(n *yaml.Node, lookup func(string) (string, bool)) {
	if n.Kind == yaml.ScalarNode && strings.Contains(n.Value, "${") {
		n.Value = expand(n.Value, lookup)
	}
	for i, c := range n.Content {
		if n.Kind == yaml.MappingNode && i%2 == 1 && strings.HasSuffix(n.Content[i-1].Value, "_templates") {
			continue
		}
		expandNode(c, lookup)
	}
}

func expand(s string, lookup func(string) (string, bool)) string {
	var b strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			b.WriteString(s)
			return b.String()
		}
		inner := s[i+2 : i+j]
		name, def, hasDef := strings.Cut(inner, ":-")
		if !isEnvName(name) {
			b.WriteString(s[:i+j+1])
			s = s[i+j+1:]
			continue
		}
		b.WriteString(s[:i])
		v, ok := lookup(name)
		if (!ok || v == "") && hasDef {
			v = def
		}
		b.WriteString(v)
		s = s[i+j+1:]
	}
}

func isEnvName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		if r == '_' || (r >= 'A' && r <= 'Z') || (r >= 'a' && r <= 'z') || (i > 0 && r >= '0' && r <= '9') {
			continue
		}
		return false
	}
	return true
}

// walker checks a YAML tree against the Go types it will decode into: unknown
// and duplicate keys, wrong kinds and unparsable scalars, all collected.
type walker struct {
	file  string
	lines map[string]int
	errs  Errors
}

var (
	durationType = reflect.TypeOf(Duration(0))
	sizeType     = reflect.TypeOf(Size(0))
	strListType  = reflect.TypeOf(StrList(nil))
)

func (w *walker) fail(n *yaml.Node, key, format string, args ...any) {
	w.errs = append(w.errs, Problem{File: w.file, Line: n.Line, Key: key, Msg: fmt.Sprintf(format, args...)})
}

// reject reports a value the decoder would refuse and blanks it, so the
// file still decodes (the key takes its default) and the semantic checks
// can run on the rest.
func (w *walker) reject(n *yaml.Node, key, format string, args ...any) {
	w.fail(n, key, format, args...)
	*n = yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Line: n.Line, Column: n.Column}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "null"
		}
		return fmt.Sprintf("%q", n.Value)
	}
	return "an alias"
}

func (w *walker) walk(n *yaml.Node, t reflect.Type, path string) {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return // an empty value leaves the default
	}
	switch t {
	case durationType:
		if isFunctionTimeout(path) && isDigits(strings.TrimSpace(n.Value)) {
			// SAM writes Timeout in whole seconds.
			n.Value = strings.TrimSpace(n.Value) + "s"
		}
		if w.scalar(n, path, "a duration") {
			if _, err := parseDuration(n.Value); err != nil {
				w.reject(n, path, "%v", err)
			}
		}
		return
	case sizeType:
		if w.scalar(n, path, "a size") {
			if _, err := parseSize(n.Value); err != nil {
				w.reject(n, path, "%v", err)
			}
		}
		return
	case strListType:
		if n.Kind == yaml.ScalarNode {
			return
		}
		w.walk(n, reflect.TypeOf([]string(nil)), path)
		return
	}
	switch t.Kind() {
	case reflect.Pointer:
		w.walk(n, t.Elem(), path)
	case reflect.Struct, reflect.Map:
		if n.Kind != yaml.MappingNode {
			w.reject(n, path, "want a mapping, got %s", kindName(n))
			return
		}
		// A struct takes the keys its yaml tags name; a map takes any key.
		var fields map[string]reflect.StructField
		if t.Kind() == reflect.Struct {
			fields = yamlFields(t)
		}
		seen := map[string]int{}
		kept := n.Content[:0]
		defer func() { n.Content = kept }()
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			key := join(path, k.Value)
			if first, dup := seen[k.Value]; dup {
				// The decoder refuses duplicates: drop the later one.
				w.fail(k, key, "duplicate key (first at line %d)", first)
				continue
			}
			kept = append(kept, k, v)
			seen[k.Value] = k.Line
			var elem reflect.Type
			if fields == nil {
				elem = t.Elem()
			} else if f, ok := fields[k.Value]; ok {
				elem = f.Type
			} else {
				w.fail(k, key, "unknown key %q%s", k.Value, suggest(k.Value, fields))
				continue
			}
			w.lines[key] = k.Line
			w.walk(v, elem, key)
		}
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			w.reject(n, path, "want a list, got %s", kindName(n))
			return
		}
		for i, e := range n.Content {
			key := fmt.Sprintf("%s[%d]", path, i)
			w.lines[key] = e.Line
			w.walk(e, t.Elem(), key)
		}
	case reflect.String:
		w.scalar(n, path, "a string")
	case reflect.Bool:
		if w.scalar(n, path, "true or false") {
			var b bool
			if n.Decode(&b) != nil {
				w.reject(n, path, "want true or false, got %q", n.Value)
			}
		}
	case reflect.Int, reflect.Int64:
		if w.scalar(n, path, "an integer") {
			if _, err := strconv.ParseInt(strings.TrimSpace(n.Value), 0, 64); err != nil {
				w.reject(n, path, "want an integer, got %q", n.Value)
			}
		}
	case reflect.Float64:
		if w.scalar(n, path, "a number") {
			if _, err := strconv.ParseFloat(strings.TrimSpace(n.Value), 64); err != nil {
				w.reject(n, path, "want a number, got %q", n.Value)
			}
		}
	}
}

// yamlFields are t's fields by the name their yaml tag gives them.
func yamlFields(t reflect.Type) map[string]reflect.StructField {
	fields := map[string]reflect.StructField{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name != "" && name != "-" {
			fields[name] = f
		}
	}
	return fields
}

func (w *walker) scalar(n *yaml.Node, path, want string) bool {
	if n.Kind != yaml.ScalarNode {
		w.reject(n, path, "want %s, got %s", want, kindName(n))
		return false
	}
	return true
}

// suggest names the closest known key, for typos.
func suggest(key string, fields map[string]reflect.StructField) string {
	best, bestD := "", 3
	for name := range fields {
		if d := distance(key, name); d < bestD {
			best, bestD = name, d
		}
	}
	if best == "" {
		names := make([]string, 0, len(fields))
		for name := range fields {
			names = append(names, name)
		}
		sort.Strings(names)
		return " (known: " + strings.Join(names, ", ") + ")"
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// isFunctionTimeout says whether path is functions.NAME.timeout, the one
// duration that also takes a bare number of seconds, as SAM's Timeout.
func isFunctionTimeout(path string) bool {
	rest, ok := strings.CutPrefix(path, "functions.")
	return ok && strings.HasSuffix(rest, ".timeout") && strings.Count(rest, ".") == 1
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
