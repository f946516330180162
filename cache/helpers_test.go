package cache

import (
	"bytes"
	"fmt"
	"testing"
	"time"
)

// testNow is a fixed clock reading; tests pass explicit times so expiry is
// exact and independent of the machine's speed.
const testNow = int64(1_700_000_000) * int64(time.Second)

func newTestStore(t testing.TB, cfg Config) *Store {
	t.Helper()
	if cfg.MaxSize == 0 {
		cfg.MaxSize = 8 * mib
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// mustSet stores e under key and fails the test if the store refuses it.
func mustSet(t testing.TB, s *Store, key []byte, e *Entry) {
	t.Helper()
	if err := s.Set(key, e); err != nil {
		t.Fatalf("Set: %v", err)
	}
}

// constHasher sends every key to the same hash, turning each pair of keys
// into a collision.
type constHasher struct{}

func (constHasher) Sum64(string) uint64 { return 42 }

// sampleEntry is a typical cacheable JSON response: six headers and a body of
// bodyLen bytes.
func sampleEntry(bodyLen int, expires int64) *Entry {
	e := &Entry{Status: 200, Expires: expires, Body: bytes.Repeat([]byte("x"), bodyLen)}
	e.AddHeader([]byte("Content-Type"), []byte("application/json"))
	e.AddHeader([]byte("Cache-Control"), []byte("max-age=300"))
	e.AddHeader([]byte("ETag"), []byte(`"33a64df551425fcc55e4d42a148795d9f25f89d4"`))
	e.AddHeader([]byte("Last-Modified"), []byte("Wed, 21 Oct 2015 07:28:00 GMT"))
	e.AddHeader([]byte("Vary"), []byte("Accept-Encoding"))
	e.AddHeader([]byte("X-Request-Id"), []byte("c0ffee00-1234-5678-9abc-def012345678"))
	return e
}

// sameEntry reports how got differs from want, or "" if it does not.
func sameEntry(got, want *Entry) string {
	if got.Status != want.Status {
		return fmt.Sprintf("status %d, want %d", got.Status, want.Status)
	}
	if got.Expires != want.Expires {
		return fmt.Sprintf("expires %d, want %d", got.Expires, want.Expires)
	}
	if !bytes.Equal(got.Body, want.Body) {
		return fmt.Sprintf("body %.40q, want %.40q", got.Body, want.Body)
	}
	var wantHeaders []Header
	for _, h := range want.Headers {
		if !hopByHop(h.Name) {
			wantHeaders = append(wantHeaders, h)
		}
	}
	if len(got.Headers) != len(wantHeaders) {
		return fmt.Sprintf("%d headers, want %d", len(got.Headers), len(wantHeaders))
	}
	for i, h := range wantHeaders {
		g := got.Headers[i]
		if !bytes.Equal(g.Name, h.Name) || !bytes.Equal(g.Value, h.Value) {
			return fmt.Sprintf("header %d is %q: %q, want %q: %q", i, g.Name, g.Value, h.Name, h.Value)
		}
	}
	return ""
}
