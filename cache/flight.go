package cache

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

const flightShards = 64

// flightShard holds the fetches in progress for a slice of key hashes, so
// unrelated misses do not serialise on one lock.
type flightShard struct {
	mu sync.Mutex
	m  map[uint64]*Flight
}

// Outcome tells a caller of Flight what to do next.
type Outcome uint8

const (
	// Lead: the caller is the only one fetching this key. It must end the
	// flight with Flight.Set or Flight.Release, on every path; defer Release.
	Lead Outcome = iota + 1
	// Ready: the leader stored the entry; read the store again. If the entry
	// is gone already (evicted, or expired by then), fetch without waiting.
	Ready
	// Fetch: the leader released without storing, or did not finish within
	// the store's MaxWait; fetch on your own, without waiting any longer.
	Fetch
)

func (o Outcome) String() string {
	switch o {
	case Lead:
		return "lead"
	case Ready:
		return "ready"
	case Fetch:
		return "fetch"
	}
	return fmt.Sprintf("Outcome(%d)", uint8(o))
}

// Flight is a leader's hold on one key's fetch. Only the leader gets one.
type Flight struct {
	s     *Store
	hash  uint64
	start time.Time

	// Guarded by the flight shard's mutex.
	done     chan struct{} // made by the first waiter; uncontended flights never need one
	released bool
	filled   bool // written before done is closed, read by waiters after
}

// Flight joins the fetch for the key with hash keyHash (see Store.Hash). The
// first caller becomes the leader (Lead, with a *Flight to end). Later
// callers wait until the leader ends the flight, or until MaxWait has passed
// since the leader started, and get Ready or Fetch with a nil *Flight. A
// caller that arrives when the leader has already run past MaxWait does not
// wait at all. The error is non-nil (and the Outcome zero) only if ctx ends
// during the wait.
//
// A leader that never ends its flight leaves it registered: later callers
// then each wait out the rest of MaxWait and fetch on their own. Ending it is
// the leader's duty on every path, panics included; defer Release.
//
// Between a miss and Flight another leader may have finished, so a new
// leader should read the store once more before fetching; GetOrFetch does.
func (s *Store) Flight(ctx context.Context, keyHash uint64) (*Flight, Outcome, error) {
	sh := &s.flights[keyHash%flightShards]
	sh.mu.Lock()
	f := sh.m[keyHash]
	if f == nil {
		f = &Flight{s: s, hash: keyHash, start: time.Now()}
		sh.m[keyHash] = f
		sh.mu.Unlock()
		return f, Lead, nil
	}
	wait := s.maxWait - time.Since(f.start)
	if wait <= 0 {
		sh.mu.Unlock()
		s.events.waitTimeouts.Add(1)
		return nil, Fetch, nil
	}
	if f.done == nil {
		f.done = make(chan struct{})
	}
	done := f.done
	sh.mu.Unlock()

	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-done:
		if f.filled {
			s.events.coalesced.Add(1)
			return nil, Ready, nil
		}
		return nil, Fetch, nil
	case <-t.C:
		s.events.waitTimeouts.Add(1)
		return nil, Fetch, nil
	case <-ctx.Done():
		return nil, 0, fmt.Errorf("cache: waiting for the fetch of key %#x: %w", keyHash, ctx.Err())
	}
}

// tryLead makes the caller leader of keyHash if no flight is in progress, and
// returns nil otherwise. Stale serving uses it so that only one caller
// refreshes while the rest keep serving the stale entry without waiting.
func (s *Store) tryLead(keyHash uint64) *Flight {
	sh := &s.flights[keyHash%flightShards]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.m[keyHash] != nil {
		return nil
	}
	f := &Flight{s: s, hash: keyHash, start: time.Now()}
	sh.m[keyHash] = f
	return f
}

// Set stores e under key and ends the flight, waking waiters with Ready, or
// with Fetch if the store refused the entry. key must be the key the flight
// was opened for.
func (f *Flight) Set(key []byte, e *Entry) error {
	if h := f.s.Hash(key); h != f.hash {
		f.end(false)
		return fmt.Errorf("cache: flight of key %#x given a key hashing to %#x", f.hash, h)
	}
	err := f.s.Set(key, e)
	f.end(err == nil)
	return err
}

// Release ends the flight without storing (fetch failed, panicked, or the
// response is not cacheable); waiters are told to fetch on their own.
// Release after Set, a second Release, and Release on nil do nothing, so it
// can always be deferred.
func (f *Flight) Release() {
	if f != nil {
		f.end(false)
	}
}

func (f *Flight) end(filled bool) {
	sh := &f.s.flights[f.hash%flightShards]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if f.released {
		return
	}
	f.released = true
	f.filled = filled
	if sh.m[f.hash] == f {
		delete(sh.m, f.hash)
	}
	if f.done != nil {
		close(f.done)
	}
}

// GetStale is Get with stale-while-revalidate. A fresh entry returns
// (true, nil). An entry expired less than StaleGrace ago is also returned
// (true), and the first such caller while no fetch of the key is in progress
// also gets refresh, a *Flight it must end with Set or Release after
// refetching; the others serve the stale entry without waiting. Anything
// older, or absent, is a miss (false, nil). A refresh that runs after the
// request has finished must keep its own copy of key, since a KeyBuilder's
// buffer is reused by the next request.
func (s *Store) GetStale(key []byte, now int64, dst *Entry) (ok bool, refresh *Flight) {
	h := s.Hash(key)
	st := &s.stripes[h%statStripes]
	if !s.read(key, h, dst) {
		st.misses.Add(1)
		return false, nil
	}
	if now < dst.Expires {
		st.hits.Add(1)
		return true, nil
	}
	if now-dst.Expires >= s.grace {
		st.misses.Add(1)
		return false, nil
	}
	st.stale.Add(1)
	return true, s.tryLead(h)
}

// FetchFunc fills dst from the origin and reports whether dst may be stored.
// dst has been Reset; the function sets Expires when it returns true.
type FetchFunc func(dst *Entry) (cacheable bool, err error)

// GetOrFetch returns the entry for key, from the store if it holds a fresh
// one (hit true), or else from fetch, with concurrent misses for the same key
// coalesced behind a single fetch: the leader fetches and stores, the others
// wait at most MaxWait and re-read the store, falling back to their own fetch
// if the leader failed, did not store, or was too slow.
//
// Errors come from fetch or from ctx ending during the wait. An entry that
// the store refuses (too large) is still returned to the caller; the refusal
// shows in Stats as Rejected. A panic in fetch propagates after the flight
// has been released.
func (s *Store) GetOrFetch(ctx context.Context, key []byte, now int64, dst *Entry, fetch FetchFunc) (hit bool, err error) {
	if s.Get(key, now, dst) {
		return true, nil
	}
	h := s.Hash(key)
	f, out, err := s.Flight(ctx, h)
	if err != nil {
		return false, err
	}
	switch out {
	case Lead:
		defer f.Release()
		// A leader that finished between our miss and our flight has stored
		// the entry already; fetching again would defeat the coalescing.
		if s.read(key, h, dst) && now < dst.Expires {
			s.events.coalesced.Add(1)
			return true, nil
		}
	case Ready:
		if s.read(key, h, dst) && now < dst.Expires {
			return true, nil
		}
	}

	dst.Reset()
	cacheable, err := fetch(dst)
	if err != nil {
		return false, fmt.Errorf("cache: fetch: %w", err)
	}
	if !cacheable {
		return false, nil
	}
	// Only a leader holds a flight; Flight hands the others nil.
	if f != nil {
		err = f.Set(key, dst)
	} else {
		err = s.Set(key, dst)
	}
	// A refused entry is still a good response; Set counted the refusal.
	if err != nil && !errors.Is(err, ErrTooLarge) && !errors.Is(err, errMalformed) {
		return false, err
	}
	return false, nil
}
