package importer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/frontdeskgw/frontdesk/config"
	"gopkg.in/yaml.v3"
)

// Format is what a file holds.
type Format string

// Formats Detect tells apart.
const (
	FormatFrontdesk Format = "frontdesk"
	FormatOpenAPI3  Format = "openapi3"
	FormatSwagger2  Format = "swagger2"
	FormatSAM       Format = "sam" // SAM or plain CloudFormation
)

// Detect says what data holds, from its content: an "openapi: 3.x" or
// "swagger: 2.0" key, a template's AWSTemplateFormatVersion, Transform or
// Resources, else a frontdesk config. The error, for text that is not
// YAML or JSON, names file:line.
func Detect(file string, data []byte) (Format, *yaml.Node, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		line, msg := yamlLine(err), err.Error()
		if l, m, ok := jsonError(data); ok {
			// A JSON file: the JSON parser knows the place better.
			line, msg = l, m
		}
		return "", nil, config.Errors{{File: file, Line: line, Msg: "not YAML or JSON: " + msg}}
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return FormatFrontdesk, &doc, nil
	}
	root := doc.Content[0]
	switch {
	case strings.HasPrefix(getStr(root, "openapi"), "3."):
		return FormatOpenAPI3, root, nil
	case getStr(root, "swagger") != "":
		return FormatSwagger2, root, nil
	case get(root, "AWSTemplateFormatVersion") != nil, get(root, "Transform") != nil, get(root, "Resources") != nil:
		return FormatSAM, root, nil
	}
	return FormatFrontdesk, root, nil
}

// jsonError returns the line and message of a JSON syntax error, ok
// false when data does not look like JSON.
func jsonError(data []byte) (int, string, bool) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 || (trimmed[0] != '{' && trimmed[0] != '[') {
		return 0, "", false
	}
	var v any
	err := json.Unmarshal(data, &v)
	var se *json.SyntaxError
	if !errors.As(err, &se) {
		return 0, "", false
	}
	off := min(int(se.Offset), len(data))
	return 1 + bytes.Count(data[:off], []byte("\n")), "json: " + se.Error(), true
}

func yamlLine(err error) int {
	msg := err.Error()
	if i := strings.Index(msg, "line "); i >= 0 {
		n := 0
		for _, c := range msg[i+5:] {
			if c < '0' || c > '9' {
				break
			}
			n = n*10 + int(c-'0')
		}
		return n
	}
	return 0
}

// Options are the inputs of an import besides the file.
type Options struct {
	// Parameters override a template's Parameters defaults
	// (--parameter-overrides K=V).
	Parameters map[string]string
	// FunctionsFile is a YAML file whose functions: block says where each
	// Lambda function runs (merged over what the source says); it may also
	// hold api_keys: and usage_plans:, which the sources cannot carry.
	FunctionsFile string
	// Lookup resolves ${VAR} in the produced config; nil means the
	// process environment.
	Lookup func(string) (string, bool)
	// Dialect, "http" or "rest", reads an OpenAPI or Swagger document as
	// that kind of API whatever its extensions suggest (the control
	// plane's import-api and import-rest-api say which they want); empty
	// decides from the document.
	Dialect string
	// HaveFunction reports the Lambda functions that are defined outside
	// the import (the running config's functions: for the control
	// plane), so a route calling one needs no functions: entry here.
	HaveFunction func(name string) bool
}

// Result is an imported file.
type Result struct {
	Format Format
	// Config is the frontdesk.yaml text, each entry commented with the
	// source line it came from.
	Config []byte
	// Findings lists every construct that is not served as AWS would.
	Findings []Finding

	file  string
	lines map[int]pos
}

// Import converts an OpenAPI, Swagger or SAM/CloudFormation file to
// frontdesk config text. The error is a config.Errors naming file:line.
func Import(file string, data []byte, o Options) (res *Result, err error) {
	format, root, err := Detect(file, data)
	if err != nil {
		return nil, err
	}
	b := newBuilder(file, o)
	if err := b.loadOverlay(); err != nil {
		return nil, err
	}
	switch format {
	case FormatOpenAPI3, FormatSwagger2:
		b.openAPIFile(file, root)
	case FormatSAM:
		b.template(file, root)
	default:
		return nil, config.Errors{{File: file, Line: 1, Msg: "already a frontdesk config: nothing to import (want an OpenAPI 3.0, Swagger 2.0 or SAM/CloudFormation file)"}}
	}
	b.checkFunctions()
	if err := b.r.err(); err != nil {
		return nil, err
	}
	text, lines, err := b.render(format)
	if err != nil {
		return nil, err
	}
	return &Result{Format: format, Config: text, Findings: b.r.sorted(), file: file, lines: lines}, nil
}

// Parse checks the imported config as config.Load would, naming the
// source's file:line in every problem.
func (r *Result) Parse(lookup func(string) (string, bool)) (*config.Config, []config.Problem, error) {
	return r.ParseWith(lookup, nil)
}

// ParseWith is Parse with extend (nil: none) run on the decoded config
// before the checks, as config.ParseWith runs it: the control plane adds
// what it created to an imported file this way.
func (r *Result) ParseWith(lookup func(string) (string, bool), extend func(*config.Config)) (*config.Config, []config.Problem, error) {
	if lookup == nil {
		lookup = os.LookupEnv
	}
	cfg, warns, err := config.ParseWith(r.file, r.Config, lookup, extend)
	if err != nil {
		if list, ok := err.(config.Errors); ok {
			for i := range list {
				list[i] = r.translate(list[i])
			}
			return nil, nil, list
		}
		return nil, nil, err
	}
	for i := range warns {
		warns[i] = r.translate(warns[i])
	}
	return cfg, warns, nil
}

// translate maps a problem at a line of the generated text to the source
// line that produced it (the nearest line above that has one).
func (r *Result) translate(p config.Problem) config.Problem {
	for l := p.Line; l > 0; l-- {
		if at, ok := r.lines[l]; ok {
			p.File, p.Line = at.file, at.line
			return p
		}
	}
	p.Line = 0
	return p
}

// Load reads any of the formats: a frontdesk config goes to config.Load,
// anything else is imported and checked, its findings returned as
// warnings after config's own.
func Load(path string, o Options) (*config.Config, []config.Problem, error) {
	return LoadWith(path, o, nil)
}

// LoadWith is Load with extend (nil: none) run on the decoded config before
// the checks, as config.LoadWith runs it.
func LoadWith(path string, o Options, extend func(*config.Config)) (*config.Config, []config.Problem, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("load %s: %w", path, err)
	}
	format, _, err := Detect(path, data)
	if err != nil {
		return nil, nil, err
	}
	if format == FormatFrontdesk {
		return config.LoadWith(path, extend)
	}
	res, err := Import(path, data, o)
	if err != nil {
		return nil, nil, err
	}
	cfg, warns, err := res.ParseWith(o.Lookup, extend)
	if err != nil {
		return nil, nil, err
	}
	for _, f := range res.Findings {
		warns = append(warns, f.Problem())
	}
	return cfg, warns, nil
}

// builder accumulates the output config.
type builder struct {
	file string
	dir  string
	o    Options
	t    *tree
	r    *report

	apis      []*apiOut
	functions map[string]*yaml.Node // name → functions.NAME mapping
	fnAt      map[string]pos
	overlay   *yaml.Node
	overFile  string
	wanted    []wantedFn
	plans     *yaml.Node
	info      []string // header lines of the output
	keys      *yaml.Node
}

type wantedFn struct {
	name string
	file string
	n    *yaml.Node
}

func newBuilder(file string, o Options) *builder {
	return &builder{file: file, dir: filepath.Dir(file), o: o, t: newTree(), r: &report{},
		functions: map[string]*yaml.Node{}, fnAt: map[string]pos{}}
}

// loadOverlay reads the --functions file.
func (b *builder) loadOverlay() error {
	if b.o.FunctionsFile == "" {
		return nil
	}
	data, err := os.ReadFile(b.o.FunctionsFile)
	if err != nil {
		return fmt.Errorf("--functions: %w", err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return config.Errors{{File: b.o.FunctionsFile, Line: yamlLine(err), Msg: err.Error()}}
	}
	root := get(&doc, "functions")
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return config.Errors{{File: b.o.FunctionsFile, Line: 1, Msg: "want a mapping with functions: (and optionally api_keys:, usage_plans:)"}}
	}
	var errs config.Errors
	pairs(doc.Content[0], func(k, v *yaml.Node) {
		switch k.Value {
		case "functions", "api_keys", "usage_plans":
		default:
			errs = append(errs, config.Problem{File: b.o.FunctionsFile, Line: k.Line, Key: k.Value, Msg: "unknown key (want functions, api_keys or usage_plans)"})
		}
	})
	if len(errs) > 0 {
		return errs
	}
	b.overFile = b.o.FunctionsFile
	b.overlay = doc.Content[0]
	b.markAll(root, b.overFile)
	return nil
}

// markAll gives every node under n its own line in file.
func (b *builder) markAll(n *yaml.Node, file string) {
	if n == nil {
		return
	}
	b.t.mark(n, pos{file, n.Line})
	for _, c := range n.Content {
		b.markAll(c, file)
	}
}

// want records that a route or authorizer calls the function name.
func (b *builder) want(name, file string, n *yaml.Node) {
	b.wanted = append(b.wanted, wantedFn{name, file, n})
}

func (b *builder) overlayFunction(name string) *yaml.Node {
	return get(get(b.overlay, "functions"), name)
}

func (b *builder) checkFunctions() {
	for _, w := range b.wanted {
		if _, ok := b.functions[w.name]; ok {
			continue
		}
		if b.overlayFunction(w.name) != nil {
			continue
		}
		if b.o.HaveFunction != nil && b.o.HaveFunction(w.name) {
			continue
		}
		b.r.fail(w.file, w.n, "", "Lambda function %q has no functions: entry: say where it runs with --functions FILE (functions: {%s: {command: [...]}} or invoke_url)", w.name, w.name)
	}
}

// render assembles the config in a fixed key order.
func (b *builder) render(format Format) ([]byte, map[int]pos, error) {
	root := b.t.mapping(pos{})
	if lt := b.localTLS(format); lt != nil {
		b.t.set(root, "server", lt, pos{})
	}
	fns := b.t.mapping(pos{})
	names := map[string]bool{}
	for n := range b.functions {
		names[n] = true
	}
	pairs(get(b.overlay, "functions"), func(k, _ *yaml.Node) { names[k.Value] = true })
	sorted := make([]string, 0, len(names))
	for n := range names {
		sorted = append(sorted, n)
	}
	sort.Strings(sorted)
	for _, n := range sorted {
		f := b.functions[n]
		over := b.overlayFunction(n)
		switch {
		case f == nil:
			f = over
			b.t.set(fns, n, f, pos{b.overFile, keyNode(get(b.overlay, "functions"), n).Line})
			continue
		case over != nil:
			// The overlay says where it runs: its keys win.
			pairs(over, func(k, v *yaml.Node) { b.t.set(f, k.Value, v, pos{b.overFile, k.Line}) })
			if get(over, "command") != nil || get(over, "invoke_url") != nil {
				b.dropSAMKeys(f, over)
			}
		}
		b.t.set(fns, n, f, b.fnAt[n])
	}
	if len(fns.Content) > 0 {
		b.t.set(root, "functions", fns, pos{})
	}
	for _, k := range []string{"api_keys", "usage_plans"} {
		if v := get(b.overlay, k); v != nil {
			b.markAll(v, b.overFile)
			b.t.set(root, k, v, pos{b.overFile, keyNode(b.overlay, k).Line})
		}
	}
	if b.keys != nil && get(root, "api_keys") == nil {
		b.t.set(root, "api_keys", b.keys, pos{})
	}
	if b.plans != nil && get(root, "usage_plans") == nil {
		b.t.set(root, "usage_plans", b.plans, pos{})
	}
	apis := b.t.mapping(pos{})
	b.placeAPIs()
	for _, a := range b.apis {
		b.t.set(apis, a.name, a.assemble(b.t), a.at)
	}
	b.t.set(root, "apis", apis, pos{})
	header := fmt.Sprintf("Imported by frontdesk import from %s (%s).\nEach entry names the source line it came from.", filepath.Base(b.file), format)
	for _, l := range b.info {
		header += "\n" + l
	}
	return b.t.render(root, header)
}

// LocalTLSListen is where a template with a WebSocket API gets its HTTPS
// listener (serve -local-tls-listen changes it).
const LocalTLSListen = "127.0.0.1:8443"

// localTLS is the server block of a SAM template with a WebSocket API:
// its handlers post to @connections at 'https://' + domainName + '/' +
// stage, which server.local_tls serves with a certificate from the local
// CA that local functions trust. nil for anything else.
func (b *builder) localTLS(format Format) *yaml.Node {
	if format != FormatSAM || !slices.ContainsFunc(b.apis, func(a *apiOut) bool { return a.typ == "websocket" }) {
		return nil
	}
	b.info = append(b.info, "A WebSocket API's handlers call @connections back over https://: server.local_tls serves HTTPS at "+LocalTLSListen+" (docs/functions.md).")
	lt := b.t.mapping(pos{})
	b.t.set(lt, "listen", strNode(LocalTLSListen), pos{})
	server := b.t.mapping(pos{})
	b.t.set(server, "local_tls", lt, pos{})
	return server
}

// dropSAMKeys removes runtime/handler/code_uri when the overlay runs the
// function another way, so the entry says one thing.
func (b *builder) dropSAMKeys(f, over *yaml.Node) {
	kept := f.Content[:0]
	for i := 0; i+1 < len(f.Content); i += 2 {
		k := f.Content[i].Value
		if (k == "runtime" || k == "handler" || k == "code_uri") && get(over, k) == nil {
			continue
		}
		kept = append(kept, f.Content[i], f.Content[i+1])
	}
	f.Content = kept
}

// placeAPIs gives APIs that would share a base path a host of their own,
// {name}.execute-api.localhost: on AWS each API has its own hostname, so
// two of them both at / is the normal case. Every API is served at its
// execute-api hosts anyway (gateway.ExecuteAPIHosts), but one host and
// base path hold one API, so only the first by name can also stay at the
// base path for any host; the host given to the others keeps them off it.
func (b *builder) placeAPIs() {
	sort.SliceStable(b.apis, func(i, j int) bool { return b.apis[i].name < b.apis[j].name })
	taken := map[string]bool{}
	for _, a := range b.apis {
		if a.typ == "websocket" {
			continue
		}
		bp := a.basePath
		if bp == "" {
			bp = "/"
		}
		if taken[bp] {
			a.hosts = []string{strings.ToLower(a.name) + ".execute-api.localhost"}
			b.r.note(a.at.file, &yaml.Node{Line: a.at.line}, a.name, "shares base path %s with another API: served at its own hosts only, %s and %s.execute-api.localhost", bp, a.hosts[0], config.APIID(a.name))
			continue
		}
		taken[bp] = true
	}
}

// ParseOverrides reads --parameter-overrides values: K=V each, or several
// in one argument separated by spaces (as sam deploy takes them).
func ParseOverrides(args []string) (map[string]string, error) {
	out := map[string]string{}
	for _, a := range args {
		for _, kv := range strings.Fields(a) {
			k, v, ok := strings.Cut(kv, "=")
			k = strings.TrimPrefix(k, "ParameterKey=")
			if strings.HasPrefix(kv, "ParameterKey=") {
				// ParameterKey=K,ParameterValue=V
				kk, vv, ok2 := strings.Cut(strings.TrimPrefix(kv, "ParameterKey="), ",ParameterValue=")
				if !ok2 {
					return nil, fmt.Errorf("--parameter-overrides: want K=V or ParameterKey=K,ParameterValue=V, got %q", kv)
				}
				k, v, ok = kk, vv, true
			}
			if !ok || k == "" {
				return nil, fmt.Errorf("--parameter-overrides: want K=V, got %q", kv)
			}
			out[k] = v
		}
	}
	return out, nil
}
