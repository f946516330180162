package importer

import (
	"strings"
	"testing"
)

// plainDoc has no extension that tells an HTTP API from a REST API, so
// the importer would read it as REST.
const plainDoc = `openapi: 3.0.1
info: {title: plain, version: '1'}
paths:
  /fn:
    get:
      x-amazon-apigateway-integration:
        type: aws_proxy
        httpMethod: POST
        uri: arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/arn:aws:lambda:eu-west-1:123456789012:function:Outside/invocations
`

func TestDialectOptionReadsTheDocumentAsTheAskedKindOfAPI(t *testing.T) {
	have := func(n string) bool { return n == "Outside" }
	for _, dialect := range []string{"http", "rest"} {
		res, err := Import("body", []byte(plainDoc), Options{Dialect: dialect, HaveFunction: have})
		if err != nil {
			t.Fatalf("%s: %v", dialect, err)
		}
		if !strings.Contains(string(res.Config), "type: "+dialect) {
			t.Fatalf("dialect %s: the API is not of that type:\n%s", dialect, res.Config)
		}
	}
}

func TestHaveFunctionLetsRoutesCallFunctionsDefinedElsewhere(t *testing.T) {
	_, err := Import("body", []byte(plainDoc), Options{Dialect: "http"})
	if err == nil || !strings.Contains(err.Error(), `"Outside" has no functions: entry`) {
		t.Fatalf("without HaveFunction: %v", err)
	}
	res, err := Import("body", []byte(plainDoc), Options{Dialect: "http", HaveFunction: func(n string) bool { return n == "Outside" }})
	if err != nil {
		t.Fatalf("with HaveFunction: %v", err)
	}
	if !strings.Contains(string(res.Config), "function: Outside") {
		t.Fatalf("the route does not call Outside:\n%s", res.Config)
	}
}
