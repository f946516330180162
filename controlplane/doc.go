// Package controlplane serves the management API that the AWS CLI's
// `apigatewayv2` and `apigateway` commands and the AWS SDKs speak (REST
// and JSON, SigV4-signed for the service "apigateway"): HTTP and WebSocket
// APIs with their routes, integrations (a WebSocket API's with mapping
// templates and integration responses), stages, deployments and
// authorizers, and API keys and usage plans, created, changed and deleted
// while frontdesk serves. OpenAPI definitions come in through the
// importer: import-api makes an HTTP API's records of one, and
// import-rest-api keeps a REST API's definition, which the importer turns
// into config whenever the served config is rebuilt (get-export writes it
// back through the exporter).
//
// A change is never applied by this package itself. Every call that
// changes something builds the next State, turns it into the same config
// structs frontdesk.yaml gives (Extend), has the config package check the
// file and the addition together by the file's rules, and hands the result
// to an Applier (the server), which compiles it, writes the state file
// through the persist callback and swaps the snapshot in like a reload: no
// request is dropped, and a refused change leaves everything as it was.
// APIs, keys and plans of the config file are listed too, read-only.
//
// It sits above config and importer (it produces config) and below
// admin's listener, which mounts Handler; it imports no part of the
// request path.
//
// Hot path: none. Created APIs are served by the gateway from the config
// this package produces, exactly as if they were in the file.
package controlplane
