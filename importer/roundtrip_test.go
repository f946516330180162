package importer

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/frontdeskgw/frontdesk/config"
	"gopkg.in/yaml.v3"
)

// served is what an HTTP or REST API does, with names of integrations
// and authorizers replaced by what they are: two configs whose served
// values are equal answer every request alike.
type served struct {
	Type, BasePath string
	Hosts          []string
	Stages         map[string]map[string]string
	CORS           *config.CORS
	Routes         map[string]servedRoute

	// REST request validation, gateway responses, binary media types.
	RequestValidators map[string]config.RequestValidator
	RequestValidator  string
	GatewayResponses  map[string]config.GatewayResponse
	BinaryMediaTypes  []string
}

type servedRoute struct {
	Integration config.Integration
	APIKey      bool
	Authorizer  *config.Authorizer
	Scopes      []string

	RequestValidator  string
	RequestModels     map[string]string // content type → the model's schema as JSON
	RequestParameters map[string]bool
}

// schemaJSON is a model's schema as canonical JSON (written as YAML or
// as a JSON string).
func schemaJSON(m *config.Model) string {
	if m == nil {
		return "<no model>"
	}
	v := m.Schema
	if s, ok := v.(string); ok {
		if err := json.Unmarshal([]byte(s), &v); err != nil {
			return "<not JSON: " + s + ">"
		}
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "<" + err.Error() + ">"
	}
	return string(b)
}

func serve(a *config.API) served {
	s := served{Type: string(a.Type), BasePath: strings.TrimSuffix(a.BasePath, "/"), Hosts: a.Hosts, CORS: a.CORS,
		Stages: map[string]map[string]string{}, Routes: map[string]servedRoute{},
		RequestValidators: a.RequestValidators, RequestValidator: a.RequestValidator, BinaryMediaTypes: a.BinaryMediaTypes}
	if len(a.GatewayResponses) > 0 {
		s.GatewayResponses = map[string]config.GatewayResponse{}
		for k, g := range a.GatewayResponses {
			s.GatewayResponses[k] = *g
		}
	}
	for n, st := range a.Stages {
		vars := map[string]string{}
		for k, v := range st.Variables {
			vars[k] = v
		}
		s.Stages[n] = vars
	}
	for k, r := range a.Routes {
		in := *a.Integrations[r.Integration]
		// Header names are case-insensitive.
		if len(in.Headers) > 0 {
			h := map[string]string{}
			for k, v := range in.Headers {
				h[strings.ToLower(k)] = v
			}
			in.Headers = h
		}
		sr := servedRoute{Integration: in, APIKey: r.APIKey, Scopes: r.Scopes, RequestValidator: r.RequestValidator}
		for p, req := range r.RequestParameters {
			// A matched route always has its path variables: listing
			// them changes nothing, and import leaves them out.
			if !strings.HasPrefix(p, "method.request.path.") {
				if sr.RequestParameters == nil {
					sr.RequestParameters = map[string]bool{}
				}
				sr.RequestParameters[p] = req
			}
		}
		if len(r.RequestModels) > 0 {
			sr.RequestModels = map[string]string{}
			for ct, mn := range r.RequestModels {
				sr.RequestModels[ct] = schemaJSON(a.Models[mn])
			}
		}
		if r.Authorizer != "" {
			au := a.Authorizers[r.Authorizer]
			sr.Authorizer = &au
		}
		s.Routes[k] = sr
	}
	return s
}

// roundTrip exports every HTTP and REST API of cfg, imports the export
// (with cfg's functions as the overlay) and checks the API serves the
// same.
func roundTrip(t *testing.T, cfg *config.Config) {
	t.Helper()
	var names []string
	for n, a := range cfg.APIs {
		if a.Type != config.APIWebSocket {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	dir := t.TempDir()
	fns := map[string]any{}
	for n, f := range cfg.Functions {
		fns[n] = f
	}
	over, err := yaml.Marshal(map[string]any{"functions": fns})
	if err != nil {
		t.Fatal(err)
	}
	overPath := filepath.Join(dir, "functions.yaml")
	if err := os.WriteFile(overPath, over, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		out, _, err := Export(cfg, ExportOptions{API: n})
		if err != nil {
			t.Fatalf("export %s: %v", n, err)
		}
		path := filepath.Join(dir, n+".openapi.yaml")
		res, err := Import(path, out, Options{FunctionsFile: overPath})
		if err != nil {
			t.Fatalf("import of the export of %s: %v\n%s", n, err, out)
		}
		back, _, err := res.Parse(noEnv)
		if err != nil {
			t.Fatalf("import of the export of %s does not load: %v\n%s", n, err, res.Config)
		}
		if len(back.APIs) != 1 {
			t.Fatalf("%d APIs back", len(back.APIs))
		}
		var got *config.API
		for _, a := range back.APIs {
			got = a
		}
		want := cfg.APIs[n]
		w, g := serve(want), serve(got)
		for k, wr := range w.Routes {
			if gr := g.Routes[k]; wr.Authorizer != nil && gr.Authorizer != nil && !reflect.DeepEqual(*wr.Authorizer, *gr.Authorizer) {
				t.Errorf("API %s route %s: authorizer\nwant %+v\ngot  %+v", n, k, *wr.Authorizer, *gr.Authorizer)
			}
		}
		if !reflect.DeepEqual(w, g) {
			t.Errorf("API %s differs after export and import:\nwant %+v\ngot  %+v\nexport:\n%s\nimport:\n%s", n, w, g, out, res.Config)
		}
	}
}

func TestImportOfExportIsEquivalentForEveryExample(t *testing.T) {
	var files []string
	err := filepath.WalkDir("../examples", func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && (strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml")) {
			files = append(files, p)
		}
		return err
	})
	if err != nil || len(files) == 0 {
		t.Fatalf("no example configs: %v", err)
	}
	for _, f := range files {
		t.Run(f, func(t *testing.T) {
			cfg, _, err := config.Load(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, a := range cfg.APIs {
				// An API's execute-api host is its own hostname on AWS,
				// which the export names by apiId; hosts are not exported.
				a.Hosts = slices.DeleteFunc(a.Hosts, func(h string) bool { return strings.HasSuffix(h, ".execute-api.localhost") })
				if len(a.Hosts) == 0 {
					a.Hosts = nil
				}
			}
			roundTrip(t, cfg)
		})
	}
}

// The imported samples go around too: what import makes, export keeps.
func TestImportOfExportIsEquivalentForImportedSamples(t *testing.T) {
	for _, f := range []string{"petstore-rest.yaml", "http-api.yaml", "swagger-petstore.json", "sam-two-apis.yaml", "sam-rest-auth.yaml", "sam-hello-node.yaml", "cfn-rest.yaml", "sam-definitions.yaml",
		"rest-transform.yaml", "http-api-mapping.yaml", "sam-rest-validate.yaml"} {
		t.Run(f, func(t *testing.T) {
			_, cfg := importFile(t, f, overlay)
			for _, a := range cfg.APIs {
				a.Hosts = nil // hosts are not exported (a custom domain on AWS)
			}
			roundTrip(t, cfg)
		})
	}
}

func TestExportWritesAPIGatewayExtensions(t *testing.T) {
	cfg, _, err := config.Load("../examples/quickstart.yaml")
	if err != nil {
		t.Fatal(err)
	}
	out, _, err := Export(cfg, ExportOptions{API: "shop"})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"openapi: 3.0.1", "x-amazon-apigateway-integration:", "type: http_proxy", "x-amazon-apigateway-api-key-source: HEADER",
		"integration.request.path.orderId: method.request.path.orderId", "default: v1"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("export lacks %q:\n%s", want, out)
		}
	}
	out, notes, err := Export(cfg, ExportOptions{API: "petstore", Dialect: "http"})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"x-amazon-apigateway-importexport-version", "type: aws_proxy", "function:hello/invocations", "payloadFormatVersion: \"2.0\"", "x-amazon-apigateway-any-method"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("export lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(strings.Join(notes, "\n"), "mock") {
		t.Errorf("a mock in an HTTP export is not noted: %v", notes)
	}
	if _, _, err := Export(cfg, ExportOptions{}); err == nil || !strings.Contains(err.Error(), "--api") {
		t.Errorf("two APIs without --api: %v", err)
	}
	if _, _, err := Export(cfg, ExportOptions{API: "petstore", Dialect: "soap"}); err == nil {
		t.Error("dialect soap accepted")
	}
}
