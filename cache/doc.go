// Package cache is frontdesk's response cache: one size-bounded bigcache
// store shared by every cached route, holding encoded responses (status,
// end-to-end headers, body, absolute expiry and the full logical key) under
// keys built from api, stage, method, route, invalidation generation and the
// route's key parameters.
//
// The package knows nothing of HTTP servers or the configuration file; it is a
// plain API over bytes. The gateway resolves a *RouteSpace per cached route
// once, builds a key per request with a reused KeyBuilder, and calls
// Store.Get.
//
// Hot path: Store.Get on a hit. It hashes the key with xxhash and looks in
// the hot front (hot.go), a small lock-free copy of the entries read most
// recently; a repeated hit is decoded from there into a caller-owned Entry
// and allocates nothing. Only a first hit reads a bigcache shard under its
// read lock, paying the copy bigcache's public Get makes, and puts that
// copy in the front. Misses go through Store.Flight or Store.GetOrFetch, which let
// only one caller per key fetch from the origin while the others wait a
// bounded time.
//
// Invalidation is by generation counters (Store.Flush, Namespace.Flush,
// RouteSpace.Flush): bigcache cannot delete by prefix, so a flush changes the
// generation that is part of every key and the old entries age out of the
// FIFO.
package cache
