// Package importer turns the files AWS users already have into a frontdesk
// config: an OpenAPI 3.0 or Swagger 2.0 document with API Gateway's
// x-amazon-apigateway-* extensions (what the API Gateway exports produce),
// or a SAM / CloudFormation template. The format is detected from the
// content, YAML or JSON. The result is frontdesk.yaml text that
// config.Parse checks like any hand-written file; every line of it knows
// the source line it came from, so a problem is reported at the template's
// file:line, not at a line of a file the user never wrote. Every construct
// the importer does not serve is listed once, with file:line and what is
// ignored (Finding). Export goes the other way: a config's HTTP or REST
// API as OpenAPI 3.0 with the extensions, for aws apigateway
// import-rest-api and aws apigatewayv2 import-api.
//
// It sits on the floor just above config: it produces config and reads
// config's types, and nothing on the request path imports it. It runs at
// start-up, on reload and in the import and export commands only; there
// is no hot path.
package importer
