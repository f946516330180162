// Package cluster makes several frontdesk instances act as one gateway by
// sharing state through Redis (or Valkey): throttle spend, exact quota
// counters, the list of live instances, and (through Bus) messages between
// instances. It knows nothing of HTTP or configuration: the server hands it
// addresses and options, and the limiter structures it reconciles.
//
// Hot path: none. Requests never wait for Redis. limiter.Set counts its
// spend into a limiter.SpendLog and limiter.Quotas spends units reserved
// ahead of time; the loops here drain, charge, reserve and give back in
// the background, every sync interval or when a reservation runs low.
// docs/cluster.md has the design, the consistency of each kind of state,
// the keys and the failure modes.
package cluster
