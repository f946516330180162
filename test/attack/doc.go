// Package attack is frontdesk's attack suite. Its tests build the frontdesk
// binary, run it as a subprocess on loopback ports the OS picks, put a raw
// recording origin behind it that misbehaves on purpose, and attack both
// listeners with hostile clients over real TCP: request smuggling and
// framing tricks, path and header tricks, slow and greedy clients, bodies
// over every limit, upstream faults, authentication tricks, the admin
// listener and garbage bytes. After every case a well-behaved client on
// another connection must get its own answer, the process must still be
// alive, and the origin must never have seen a request outside its route.
//
// `go test ./test/attack/` runs the quick mode (small counts, part of
// `make test`); `make attack` sets FRONTDESK_ATTACK=soak for the large
// counts and prints a summary table. docs/security.md describes the suite.
package attack
