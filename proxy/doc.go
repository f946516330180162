// Package proxy holds the integrations: the backends a matched route hands
// its request to (an HTTP service, a mock, a Lambda function). Each is
// compiled once per route and stage into a value that implements
// exchange.Integration; the pipeline calls Serve with the request's
// Exchange. Pools shares the upstream connection pools among them.
//
// Hot path: HTTPProxy.Serve copies the request into a pooled upstream
// request, sends it over a keep-alive pool and streams the answer back;
// nothing is allocated per request in steady state.
package proxy
