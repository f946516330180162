package cache

import (
	"bytes"
	"testing"
)

// keyInput is everything that goes into a key.
type keyInput struct {
	api, stage, route, method string
	params                    []param
}

type param struct {
	name, value string
	absent      bool
}

func buildKey(s *Store, kb *KeyBuilder, in keyInput) []byte {
	kb.Begin(s.Namespace(in.api, in.stage).Route(in.route), []byte(in.method))
	for _, p := range in.params {
		if p.absent {
			kb.Absent(p.name)
		} else {
			kb.Param(p.name, []byte(p.value))
		}
	}
	return bytes.Clone(kb.Bytes())
}

func TestKeysOfDifferentRequestsDiffer(t *testing.T) {
	base := keyInput{api: "petstore", stage: "prod", route: "GET /pets", method: "GET",
		params: []param{{name: "query.limit", value: "10"}}}
	with := func(f func(*keyInput)) keyInput {
		in := base
		in.params = append([]param(nil), base.params...)
		f(&in)
		return in
	}
	tests := []struct {
		name string
		a, b keyInput
	}{
		{"api/stage boundary shifted", with(func(k *keyInput) { k.api, k.stage = "pet", "storeprod" }), base},
		{"stage/route boundary shifted", with(func(k *keyInput) { k.stage, k.route = "prodGET", " /pets" }), base},
		{"method differs on an ANY route", with(func(k *keyInput) { k.method = "HEAD" }), base},
		{"parameter value differs", with(func(k *keyInput) { k.params[0].value = "11" }), base},
		{"empty value is not absent", with(func(k *keyInput) { k.params[0].value = "" }),
			with(func(k *keyInput) { k.params[0].absent = true })},
		{"name/value boundary shifted", with(func(k *keyInput) { k.params[0] = param{name: "query.limit1", value: "0"} }), base},
		{"value containing what looks like a second parameter",
			with(func(k *keyInput) { k.params[0].value = "10\x0bheader.accept\x01\x01x" }),
			with(func(k *keyInput) { k.params = append(k.params, param{name: "header.accept", value: "x"}) })},
		{"parameter order matters", with(func(k *keyInput) {
			k.params = []param{{name: "a", value: "1"}, {name: "b", value: "2"}}
		}), with(func(k *keyInput) {
			k.params = []param{{name: "b", value: "2"}, {name: "a", value: "1"}}
		})},
		{"same values under renamed parameters", with(func(k *keyInput) { k.params[0].name = "query.max" }), base},
	}
	s := newTestStore(t, Config{})
	var kb KeyBuilder
	for _, tt := range tests {
		a, b := buildKey(s, &kb, tt.a), buildKey(s, &kb, tt.b)
		if bytes.Equal(a, b) {
			t.Errorf("%s: both requests build key %q", tt.name, a)
		}
	}
}

func TestSameRequestBuildsSameKey(t *testing.T) {
	s := newTestStore(t, Config{})
	in := keyInput{api: "petstore", stage: "prod", route: "GET /pets/{id}", method: "GET",
		params: []param{{name: "path.id", value: "7"}, {name: "header.accept", absent: true}}}
	var kb1, kb2 KeyBuilder
	if a, b := buildKey(s, &kb1, in), buildKey(s, &kb2, in); !bytes.Equal(a, b) {
		t.Fatalf("keys differ: %q vs %q", a, b)
	}
}

func TestFlushInvalidatesItsScopeOnly(t *testing.T) {
	prodPets := keyInput{api: "petstore", stage: "prod", route: "GET /pets", method: "GET"}
	prodPet := keyInput{api: "petstore", stage: "prod", route: "GET /pets/{id}", method: "GET",
		params: []param{{name: "path.id", value: "1"}}}
	devPets := keyInput{api: "petstore", stage: "dev", route: "GET /pets", method: "GET"}
	all := []keyInput{prodPets, prodPet, devPets}

	tests := []struct {
		name    string
		flush   func(*Store) bool
		wantHit []bool // per entry of all
	}{
		{"nothing flushed", func(*Store) bool { return true }, []bool{true, true, true}},
		{"whole store", func(s *Store) bool { return s.Flush() == nil }, []bool{false, false, false}},
		{"one namespace", func(s *Store) bool { return s.FlushNamespace("petstore", "prod") }, []bool{false, false, true}},
		{"one route", func(s *Store) bool { return s.FlushRoute("petstore", "prod", "GET /pets") }, []bool{false, true, true}},
		{"route handle", func(s *Store) bool {
			s.Namespace("petstore", "dev").Route("GET /pets").Flush()
			return true
		}, []bool{true, true, false}},
		{"unknown namespace", func(s *Store) bool { return !s.FlushNamespace("petstore", "beta") }, []bool{true, true, true}},
		{"unknown route", func(s *Store) bool { return !s.FlushRoute("petstore", "prod", "GET /owners") }, []bool{true, true, true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTestStore(t, Config{})
			var kb KeyBuilder
			for _, in := range all {
				mustSet(t, s, buildKey(s, &kb, in), sampleEntry(10, testNow+1))
			}
			if !tt.flush(s) {
				t.Fatal("flush reported an unexpected result")
			}
			for i, in := range all {
				var e Entry
				// Keys are rebuilt after the flush, as each request does.
				if hit := s.Get(buildKey(s, &kb, in), testNow, &e); hit != tt.wantHit[i] {
					t.Errorf("%s %s: hit = %v, want %v", in.stage, in.route, hit, tt.wantHit[i])
				}
			}
		})
	}
}

func TestFetchStartedBeforeFlushIsNotServedAfterIt(t *testing.T) {
	s := newTestStore(t, Config{})
	in := keyInput{api: "petstore", stage: "prod", route: "GET /pets", method: "GET"}
	var kb KeyBuilder
	tests := []struct {
		name  string
		flush func()
	}{
		{"store", func() { s.Flush() }},
		{"namespace", func() { s.FlushNamespace("petstore", "prod") }},
		{"route", func() { s.FlushRoute("petstore", "prod", "GET /pets") }},
	}
	for _, tt := range tests {
		oldKey := buildKey(s, &kb, in) // the fetch began here
		tt.flush()
		mustSet(t, s, oldKey, sampleEntry(10, testNow+1)) // and ended here
		var e Entry
		if s.Get(buildKey(s, &kb, in), testNow, &e) {
			t.Errorf("flush of %s: a response fetched before the flush was served after it", tt.name)
		}
	}
}
