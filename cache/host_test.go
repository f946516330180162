package cache

import (
	"bytes"
	"strings"
	"testing"
)

// The Host of a request to an API that answers any Host is part of its
// key, compared without case; a key with a Host never equals one without.
func TestHostIsPartOfTheKey(t *testing.T) {
	s := newTestStore(t, Config{})
	r := s.Namespace("a", "$default").Route("GET /x")
	var kb KeyBuilder
	key := func(host string, params ...string) []byte {
		kb.Begin(r, []byte("GET"))
		if host != "-" {
			kb.Host([]byte(host))
		}
		for i := 0; i+1 < len(params); i += 2 {
			kb.Param(params[i], []byte(params[i+1]))
		}
		return bytes.Clone(kb.Bytes())
	}
	if bytes.Equal(key("a.example"), key("b.example")) {
		t.Error("two Hosts build one key")
	}
	if !bytes.Equal(key("A.Example:8080"), key("a.example:8080")) {
		t.Error("Hosts differing in case build two keys")
	}
	if bytes.Equal(key("a.example:8080"), key("a.example")) {
		t.Error("the port is part of the Host")
	}
	// Lengths that are ASCII capitals (65 to 90) stay lengths.
	long := strings.Repeat("h", 70)
	if bytes.Equal(key(long), key(strings.Repeat("h", 102))[:len(key(long))]) {
		t.Error("the Host's length was folded as a letter")
	}
	if bytes.Equal(key(""), key("-")) {
		t.Error("an empty Host builds the key of no Host")
	}
	// A Host that spells what a parameter would add cannot forge the key
	// of a request without one.
	if bytes.Equal(key("-", "\x00", "x"), key("", "x")) || bytes.Equal(key("\x01x\x01\x01y"), key("-", "x", "y")) {
		t.Error("a key with a Host equals one without")
	}
}

func TestHostKeyAllocatesNothing(t *testing.T) {
	s := newTestStore(t, Config{})
	r := s.Namespace("a", "$default").Route("GET /x")
	var kb KeyBuilder
	host := []byte("Shop.Example.COM")
	kb.Begin(r, []byte("GET"))
	kb.Host(host)
	if n := testing.AllocsPerRun(100, func() {
		kb.Begin(r, []byte("GET"))
		kb.Host(host)
	}); n != 0 {
		t.Errorf("%v allocations", n)
	}
}
