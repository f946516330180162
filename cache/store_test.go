package cache

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestNewValidatesConfig(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{"max size below 1 MiB", Config{MaxSize: 1000}, "below the 1 MiB minimum"},
		{"shards not a power of two", Config{MaxSize: 64 * mib, Shards: 3}, "not a power of two"},
		{"explicit item cap too big for a shard", Config{MaxSize: 8 * mib, Shards: 8, MaxItemSize: mib}, "does not fit half"},
		{"item cap below framing", Config{MaxSize: 8 * mib, MaxItemSize: 4}, "below the"},
		{"negative grace", Config{MaxSize: 8 * mib, StaleGrace: -time.Second}, "negative duration"},
		{"default item cap shrinks to fit a small store", Config{MaxSize: mib}, ""},
		{"spec default size", Config{MaxSize: 256 * mib}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := New(tt.cfg)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				s.Close()
				return
			}
			if err == nil {
				s.Close()
				t.Fatalf("New accepted %+v", tt.cfg)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %q does not mention %q", err, tt.wantErr)
			}
		})
	}
}

func TestShardCountKeepsEightLargestItemsPerShard(t *testing.T) {
	tests := []struct {
		maxSize int64
		maxItem int
		want    int
	}{
		{mib, DefaultMaxItemSize, 1},
		{8 * mib, DefaultMaxItemSize, 1},
		{16 * mib, DefaultMaxItemSize, 1},
		{32 * mib, DefaultMaxItemSize, 2},
		{256 * mib, DefaultMaxItemSize, 16},
		{1 << 30, DefaultMaxItemSize, 64},
		{1 << 30, 16 << 10, 256},
	}
	for _, tt := range tests {
		if got := deriveShards(tt.maxSize, tt.maxItem); got != tt.want {
			t.Errorf("deriveShards(%d MiB, %d) = %d, want %d", tt.maxSize/mib, tt.maxItem, got, tt.want)
		}
	}
}

func TestCollidingKeysNeverServeEachOther(t *testing.T) {
	s := newTestStore(t, Config{Hasher: constHasher{}})
	a, b := []byte("petstore/prod/GET /pets?limit=1"), []byte("petstore/prod/GET /pets?limit=2")
	if s.Hash(a) != s.Hash(b) {
		t.Fatal("test hasher did not force a collision")
	}
	ea := &Entry{Status: 200, Expires: testNow + 1, Body: []byte("response A")}
	eb := &Entry{Status: 200, Expires: testNow + 1, Body: []byte("response B")}
	if err := s.Set(a, ea); err != nil {
		t.Fatalf("Set a: %v", err)
	}
	var got Entry
	if !s.Get(a, testNow, &got) || string(got.Body) != "response A" {
		t.Fatalf("Get a = %q before the collision", got.Body)
	}
	if s.Get(b, testNow, &got) {
		t.Fatalf("Get b served %q, which was stored under a", got.Body)
	}
	if err := s.Set(b, eb); err != nil {
		t.Fatalf("Set b: %v", err)
	}
	if s.Get(a, testNow, &got) {
		t.Fatalf("Get a served %q, which was stored under b", got.Body)
	}
	if ok, _ := s.GetStale(a, testNow, &got); ok {
		t.Fatalf("GetStale a served %q, which was stored under b", got.Body)
	}
	if !s.Get(b, testNow, &got) || string(got.Body) != "response B" {
		t.Fatalf("Get b = %q", got.Body)
	}
	if c := s.Stats().Collisions; c != 3 {
		t.Fatalf("Collisions = %d, want 3", c)
	}
}

func TestEntryIsFreshUntilItsExpiry(t *testing.T) {
	ttl := int64(30 * time.Second)
	tests := []struct {
		name string
		now  int64
		hit  bool
	}{
		{"just stored", testNow, true},
		{"one nanosecond before expiry", testNow + ttl - 1, true},
		{"at expiry", testNow + ttl, false},
		{"long after expiry", testNow + 10*ttl, false},
	}
	s := newTestStore(t, Config{})
	mustSet(t, s, []byte("k"), sampleEntry(10, testNow+ttl))
	for _, tt := range tests {
		var e Entry
		if got := s.Get([]byte("k"), tt.now, &e); got != tt.hit {
			t.Errorf("%s: Get = %v, want %v", tt.name, got, tt.hit)
		}
	}
}

func TestItemCapRefusesLargeEntries(t *testing.T) {
	const limit = 4096
	key := []byte("k")
	tests := []struct {
		name    string
		bodyLen int
		wantErr bool
	}{
		{"well under the cap", 100, false},
		{"exactly at the cap", limit - fixedEntrySize - len(key), false},
		{"one byte over the cap", limit - fixedEntrySize - len(key) + 1, true},
		{"far over the cap", 10 * limit, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTestStore(t, Config{MaxItemSize: limit})
			err := s.Set(key, &Entry{Status: 200, Expires: testNow + 1, Body: make([]byte, tt.bodyLen)})
			if tt.wantErr != (err != nil) {
				t.Fatalf("Set error = %v, want error %v", err, tt.wantErr)
			}
			var e Entry
			if hit := s.Get(key, testNow, &e); hit == tt.wantErr {
				t.Fatalf("Get hit = %v after Set error %v", hit, err)
			}
			if !tt.wantErr {
				return
			}
			if !errors.Is(err, ErrTooLarge) {
				t.Fatalf("error %v does not wrap ErrTooLarge", err)
			}
			if r := s.Stats().Rejected; r != 1 {
				t.Fatalf("Rejected = %d, want 1", r)
			}
		})
	}
}

func TestSetRefusesUnrepresentableEntries(t *testing.T) {
	tests := []struct {
		name  string
		entry *Entry
	}{
		{"negative status", &Entry{Status: -1}},
		{"status over 16 bits", &Entry{Status: 70000}},
		{"header name over 64 KiB", &Entry{Status: 200, Headers: []Header{{Name: make([]byte, 70000)}}}},
	}
	s := newTestStore(t, Config{})
	for _, tt := range tests {
		if err := s.Set([]byte("k"), tt.entry); err == nil {
			t.Errorf("%s: Set accepted it", tt.name)
		}
	}
}

func TestSetReplacesPreviousEntry(t *testing.T) {
	s := newTestStore(t, Config{})
	for _, body := range []string{"first", "second"} {
		mustSet(t, s, []byte("k"), &Entry{Status: 200, Expires: testNow + 1, Body: []byte(body)})
	}
	var e Entry
	if !s.Get([]byte("k"), testNow, &e) || string(e.Body) != "second" {
		t.Fatalf("Get = %q, want second", e.Body)
	}
	if n := s.Stats().Entries; n != 1 {
		t.Fatalf("Entries = %d, want 1", n)
	}
}

func TestDeleteRemovesOnlyThatKey(t *testing.T) {
	s := newTestStore(t, Config{})
	for _, k := range []string{"a", "b"} {
		mustSet(t, s, []byte(k), sampleEntry(10, testNow+1))
	}
	if !s.Delete([]byte("a")) {
		t.Fatal("Delete of a stored key reported nothing deleted")
	}
	if s.Delete([]byte("a")) {
		t.Fatal("second Delete reported a deletion")
	}
	var e Entry
	if s.Get([]byte("a"), testNow, &e) {
		t.Fatal("deleted key still served")
	}
	if !s.Get([]byte("b"), testNow, &e) {
		t.Fatal("Delete of a removed b")
	}
}

func TestStatsCountLookups(t *testing.T) {
	s := newTestStore(t, Config{})
	mustSet(t, s, []byte("k"), sampleEntry(10, testNow+1))
	var e Entry
	s.Get([]byte("k"), testNow, &e)
	s.Get([]byte("k"), testNow, &e)
	s.Get([]byte("k"), testNow+1, &e)
	s.Get([]byte("absent"), testNow, &e)
	st := s.Stats()
	if st.Hits != 2 || st.Misses != 2 || st.Sets != 1 || st.Entries != 1 {
		t.Fatalf("stats %+v, want 2 hits, 2 misses, 1 set, 1 entry", st)
	}
	if st.MaxBytes != 8*mib || st.Bytes <= 0 || st.Bytes > st.MaxBytes {
		t.Fatalf("bytes %d of max %d", st.Bytes, st.MaxBytes)
	}
}

func TestConcurrentUseNeverServesAnotherKeysResponse(t *testing.T) {
	// A tiny store and colliding hashes make slots change hands constantly.
	tests := []struct {
		name   string
		hasher Hasher
	}{
		{"xxhash", nil},
		{"every key colliding", constHasher{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTestStore(t, Config{MaxSize: mib, Hasher: tt.hasher})
			var wg sync.WaitGroup
			for w := range 4 {
				wg.Go(func() {
					var e Entry
					body := make([]byte, 2000)
					for i := range 2000 {
						key := []byte(fmt.Sprintf("key-%d", (i*7+w)%50))
						switch i % 10 {
						case 0:
							s.Delete(key)
						case 1:
							if w == 0 && i%500 == 1 {
								s.Flush()
							}
						case 2, 3, 4:
							// The body names its key, so a wrong response is visible.
							b := append(append(body[:0], key...), make([]byte, i%len(body))...)
							if err := s.Set(key, &Entry{Status: 200, Expires: testNow + 1, Body: b}); err != nil {
								t.Errorf("Set: %v", err)
								return
							}
						default:
							if s.Get(key, testNow, &e) && !bytes.HasPrefix(e.Body, key) {
								t.Errorf("Get %s served %.12q", key, e.Body)
								return
							}
						}
					}
				})
			}
			wg.Wait()
		})
	}
}

func TestStatsBytesCountLiveEntriesNotCapacity(t *testing.T) {
	s := newTestStore(t, Config{})
	if st := s.Stats(); st.Bytes != 0 || st.Entries != 0 || st.CapacityBytes <= 0 {
		t.Fatalf("empty store: bytes %d entries %d capacity %d, want 0, 0 and its capacity", st.Bytes, st.Entries, st.CapacityBytes)
	}
	const n = 100
	e := sampleEntry(1000, testNow+1)
	size, err := encodedSize([]byte("key-000"), e)
	if err != nil {
		t.Fatal(err)
	}
	per := int64(size + bigcacheOverhead)
	for i := range n {
		mustSet(t, s, fmt.Appendf(nil, "key-%03d", i), e)
	}
	st := s.Stats()
	if st.Entries != n || st.Bytes != n*per {
		t.Fatalf("after %d sets of %d bytes: entries %d bytes %d, want %d", n, per, st.Entries, st.Bytes, n*per)
	}

	// Overwriting an entry replaces its bytes; deleting one removes them.
	mustSet(t, s, []byte("key-000"), e)
	if !s.Delete([]byte("key-001")) {
		t.Fatal("Delete found nothing")
	}
	if st := s.Stats(); st.Bytes != (n-1)*per {
		t.Fatalf("after an overwrite and a delete: bytes %d, want %d", st.Bytes, (n-1)*per)
	}
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.Bytes != 0 {
		t.Fatalf("after Flush: bytes %d, want 0", st.Bytes)
	}
}

func TestStatsBytesDropWithEvictions(t *testing.T) {
	s := newTestStore(t, Config{MaxSize: mib, Shards: 1})
	e := sampleEntry(10_000, testNow+1)
	for i := range 500 { // about 5 MiB into a 1 MiB store
		mustSet(t, s, fmt.Appendf(nil, "key-%03d", i), e)
	}
	st := s.Stats()
	if st.Evictions == 0 {
		t.Fatal("no evictions: the test does not fill the store")
	}
	size, _ := encodedSize([]byte("key-000"), e)
	if want := int64(st.Entries) * int64(size+bigcacheOverhead); st.Bytes != want || st.Bytes > st.MaxBytes {
		t.Fatalf("bytes %d, want %d for %d live entries (max %d)", st.Bytes, want, st.Entries, st.MaxBytes)
	}
}
