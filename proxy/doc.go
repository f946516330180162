// Package proxy holds the integrations: the backends a matched route hands
// its request to (an HTTP service, a mock, a Lambda function). Each is
// compiled once per route and stage into a value that implements
// exchange.Integration; the pipeline calls Serve with the request's
// Exchange. Pools is the registry of upstream connection pools, one per
// origin shared among them, and of their health checks: an integration
// resolves its origins through Pools.In in a reload's pending generation,
// and a committed generation retires the pools it no longer names.
//
// Hot path: HTTPProxy.Serve copies the request into a pooled upstream
// request, sends it over a keep-alive pool and streams the answer back;
// nothing is allocated per request in steady state.
package proxy
