package controlplane

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/frontdeskgw/frontdesk/config"
	"gopkg.in/yaml.v3"
)

func TestBasepathModesMoveRoutesUnderTheDefinitionsBasePath(t *testing.T) {
	for _, tc := range []struct {
		mode string
		want []string
	}{
		{"ignore", []string{"$default", "GET /", "GET /pets"}},
		{"prepend", []string{"$default", "GET /api/v1", "GET /api/v1/pets"}},
		{"split", []string{"$default", "GET /v1", "GET /v1/pets"}},
	} {
		a := &config.API{BasePath: "/api", Stages: map[string]config.Stage{"v1": {}},
			Routes: map[string]*config.Route{"$default": {}, "GET /": {}, "GET /pets": {}}}
		rebase(a, tc.mode)
		var got []string
		for k := range a.Routes {
			got = append(got, k)
		}
		sort.Strings(got)
		if strings.Join(got, ",") != strings.Join(tc.want, ",") {
			t.Errorf("basepath=%s: routes %q, want %q", tc.mode, got, tc.want)
		}
	}
	if _, err := basePathMode("sideways"); err == nil {
		t.Error("basepath=sideways was taken")
	}
}

func TestMergeAddsPathsAndMethodsTheNewDefinitionWinsOnBoth(t *testing.T) {
	base := "openapi: 3.0.1\ninfo: {title: a}\npaths:\n  /a: {get: {summary: old}, post: {summary: kept}}\n  /b: {get: {summary: b}}\n"
	next := "openapi: 3.0.1\ninfo: {title: a}\npaths:\n  /a: {get: {summary: new}}\n  /c: {get: {summary: c}}\n"
	out, err := mergeDefinitions([]byte(base), []byte(next))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths map[string]map[string]struct{ Summary string }
	}
	if err := yaml.Unmarshal(out, &doc); err != nil {
		t.Fatal(err)
	}
	p := doc.Paths
	if len(p) != 3 || p["/a"]["get"].Summary != "new" || p["/a"]["post"].Summary != "kept" || p["/b"]["get"].Summary != "b" || p["/c"]["get"].Summary != "c" {
		t.Fatalf("merged paths: %+v", p)
	}
	if _, err := mergeDefinitions([]byte(base), []byte("swagger: '2.0'\ninfo: {title: a}\npaths: {}\n")); err == nil {
		t.Fatal("merging Swagger 2.0 into OpenAPI 3.0 was taken")
	}
}

func TestImportedLambdaRoutesCallTheFilesFunctions(t *testing.T) {
	file, _, err := config.Parse("frontdesk.yaml", []byte("functions:\n  Outside: {invoke_url: 'http://127.0.0.1:1/'}\n"), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	doc := `openapi: 3.0.1
info: {title: fn, version: '1'}
paths:
  /fn:
    get:
      x-amazon-apigateway-integration:
        type: aws_proxy
        httpMethod: POST
        payloadFormatVersion: '2.0'
        uri: arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/arn:aws:lambda:eu-west-1:123456789012:function:Outside/invocations
`
	im, err := importDefinition([]byte(doc), "http", file, nil)
	if err != nil {
		t.Fatal(err)
	}
	rec := recordOf(im.api)
	if len(rec.Routes) != 1 || len(rec.Integrations) != 1 {
		t.Fatalf("routes %d, integrations %d", len(rec.Routes), len(rec.Integrations))
	}
	for _, in := range rec.Integrations {
		if in.IntegrationType != "AWS_PROXY" || in.IntegrationURI != "Outside" || in.PayloadFormatVersion != "2.0" {
			t.Fatalf("integration %+v", in)
		}
	}
	if _, err := importDefinition([]byte(strings.ReplaceAll(doc, "Outside", "Elsewhere")), "http", file, nil); err == nil || !strings.Contains(err.Error(), "Elsewhere") {
		t.Fatalf("a function the file lacks: %v", err)
	}
}

// restDefinition is a REST API definition of n paths, each a mock.
func restDefinition(n int) string {
	var b strings.Builder
	b.WriteString("openapi: 3.0.1\ninfo: {title: big, version: '1'}\npaths:\n")
	for i := range n {
		fmt.Fprintf(&b, "  /p%d/{id}:\n    get:\n      x-amazon-apigateway-integration:\n        type: mock\n"+
			"        requestTemplates: {application/json: '{\"statusCode\": 200}'}\n"+
			"        responses: {default: {statusCode: '200', responseTemplates: {application/json: '{\"n\": %d}'}}}\n", i, i)
	}
	return b.String()
}

// BenchmarkRestConfig is the cost of turning a stored REST API definition
// of 200 paths into config, paid per REST API on each change and reload.
func BenchmarkRestConfig(b *testing.B) {
	body := restDefinition(200)
	rec := &restRecord{API: RestAPI{ID: "abcdefghij"}, Stages: map[string]*RestStage{"prod": {StageName: "prod"}}}
	c := &config.Config{}
	for _, k := range []struct {
		name  string
		cache *importCache
	}{{"uncached", nil}, {"cached", &importCache{}}} {
		b.Run(k.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := restConfig(rec, body, c, k.cache); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
