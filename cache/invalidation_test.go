package cache

import (
	"testing"
)

// Two stores stand for two instances: what one announces, the other
// applies to its own copy of the entry, whatever its flush generations.
func TestAnnouncedEntryInvalidationEvictsTheOtherStoresCopy(t *testing.T) {
	a := newTestStore(t, Config{})
	b := newTestStore(t, Config{})
	var heard []Invalidation
	a.SetAnnouncer(func(inv Invalidation) { heard = append(heard, inv) })
	b.Namespace("api", "prod").Flush() // b's generations differ from a's
	var ka, kb KeyBuilder
	ka.Begin(a.Namespace("api", "prod").Route("GET /x"), []byte("GET"))
	ka.Param("q", []byte("1"))
	kb.Begin(b.Namespace("api", "prod").Route("GET /x"), []byte("GET"))
	kb.Param("q", []byte("1"))
	e := &Entry{Status: 200, Body: []byte("v"), Expires: testNow + 1e12}
	mustSet(t, a, ka.Bytes(), e)
	mustSet(t, b, kb.Bytes(), e)

	a.Announce(ka.Bytes())
	if len(heard) != 1 || heard[0].Kind != InvalidateEntry {
		t.Fatalf("announced %+v", heard)
	}
	b.Apply(heard[0])
	var got Entry
	if b.Get(kb.Bytes(), testNow, &got) {
		t.Fatal("the other store kept its copy")
	}
	if !a.Get(ka.Bytes(), testNow, &got) {
		t.Fatal("the announcing store lost its own entry")
	}
}

func TestFlushesAreAnnouncedAndAppliedWithoutEcho(t *testing.T) {
	a := newTestStore(t, Config{})
	b := newTestStore(t, Config{})
	var fromA, fromB []Invalidation
	a.SetAnnouncer(func(inv Invalidation) { fromA = append(fromA, inv) })
	b.SetAnnouncer(func(inv Invalidation) { fromB = append(fromB, inv) })
	a.Namespace("api", "prod").Route("GET /x")
	b.Namespace("api", "prod").Route("GET /x")
	if !a.FlushRoute("api", "prod", "GET /x") || !a.FlushNamespace("api", "prod") || a.Flush() != nil {
		t.Fatal("flush failed")
	}
	want := []InvalidationKind{InvalidateRoute, InvalidateNamespace, InvalidateAll}
	if len(fromA) != 3 {
		t.Fatalf("announced %+v", fromA)
	}
	for i, inv := range fromA {
		if inv.Kind != want[i] {
			t.Fatalf("announcement %d: %+v", i, inv)
		}
		genBefore := b.Namespace("api", "prod").Route("GET /x").generation()
		b.Apply(inv)
		if b.Namespace("api", "prod").Route("GET /x").generation() == genBefore {
			t.Fatalf("applying %+v changed nothing", inv)
		}
	}
	if len(fromB) != 0 {
		t.Fatalf("applying announced again: %+v", fromB)
	}
}
