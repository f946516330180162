package cache

import (
	"fmt"
	"sync"
	"testing"
)

// The hot front serves repeated hits, and never an entry that a Set,
// Delete or Flush has replaced.
func TestHotFrontNeverServesReplacedEntries(t *testing.T) {
	s := newTestStore(t, Config{})
	key := []byte("k")
	set := func(body string) {
		t.Helper()
		mustSet(t, s, key, &Entry{Status: 200, Expires: testNow + 1, Body: []byte(body)})
	}
	get := func() (string, bool) {
		var e Entry
		ok := s.Get(key, testNow, &e)
		return string(e.Body), ok
	}
	set("first")
	get() // now in the front
	if b, ok := get(); !ok || b != "first" || s.hot.get(s.Hash(key)) == nil {
		t.Fatalf("repeated hit: %q %v, in front: %v", b, ok, s.hot.get(s.Hash(key)) != nil)
	}
	set("second")
	if b, _ := get(); b != "second" {
		t.Fatalf("after Set: %q", b)
	}
	s.Delete(key)
	if _, ok := get(); ok {
		t.Fatal("hit after Delete")
	}
	set("third")
	get()
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	if _, ok := get(); ok {
		t.Fatal("hit after Flush")
	}
}

func TestHotFrontStaysWithinItsBudget(t *testing.T) {
	s := newTestStore(t, Config{MaxSize: 8 << 20})
	body := make([]byte, 4000)
	for i := 0; i < 2000; i++ {
		k := []byte(fmt.Sprint("k", i))
		mustSet(t, s, k, &Entry{Status: 200, Expires: testNow + 1, Body: body})
		var e Entry
		s.Get(k, testNow, &e)
	}
	if b := s.hot.bytes.Load(); b > s.hot.budget || b <= 0 {
		t.Fatalf("front holds %d bytes, budget %d", b, s.hot.budget)
	}
}

// Readers and writers of one key race; every read returns one of the
// bodies written, and the last write wins once writes stop.
func TestHotFrontUnderConcurrentSetAndGet(t *testing.T) {
	s := newTestStore(t, Config{})
	key := []byte("k")
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < 500; i++ {
				if w == 0 {
					s.Set(key, &Entry{Status: 200, Expires: testNow + 1, Body: []byte(fmt.Sprint("v", i))})
					continue
				}
				var e Entry
				if s.Get(key, testNow, &e) && (len(e.Body) < 2 || e.Body[0] != 'v') {
					t.Errorf("read %q", e.Body)
				}
			}
		}(w)
	}
	wg.Wait()
	var e Entry
	if !s.Get(key, testNow, &e) || string(e.Body) != "v499" {
		t.Fatalf("after the writes: %q", e.Body)
	}
}
