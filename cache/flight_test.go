package cache

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestColdKeyMissedByManyIsFetchedOnce(t *testing.T) {
	const callers = 100
	s := newTestStore(t, Config{})
	key := []byte("petstore/prod/GET /pets")
	var fetches atomic.Int32
	fetch := func(dst *Entry) (bool, error) {
		fetches.Add(1)
		time.Sleep(50 * time.Millisecond) // long enough for the others to pile up
		dst.Status = 200
		dst.Body = []byte("the pets")
		dst.Expires = testNow + int64(time.Minute)
		return true, nil
	}

	start := make(chan struct{})
	bodies := make([]string, callers)
	errs := make([]error, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() {
			var e Entry
			<-start
			_, errs[i] = s.GetOrFetch(context.Background(), key, testNow, &e, fetch)
			bodies[i] = string(e.Body)
		})
	}
	close(start)
	wg.Wait()

	if n := fetches.Load(); n != 1 {
		t.Fatalf("origin fetched %d times, want 1", n)
	}
	for i := range callers {
		if errs[i] != nil || bodies[i] != "the pets" {
			t.Fatalf("caller %d got %q, %v", i, bodies[i], errs[i])
		}
	}
	if st := s.Stats(); st.WaitTimeouts != 0 || st.Coalesced == 0 {
		t.Fatalf("stats %+v: want coalesced waiters and no timeouts", st)
	}
}

func TestWaitersAreReleasedAfterMaxWait(t *testing.T) {
	// Long enough that a caller that does not wait returns well inside it
	// even on a loaded machine: the checks compare against MaxWait itself.
	const maxWait = time.Second
	s := newTestStore(t, Config{MaxWait: maxWait})
	h := s.Hash([]byte("k"))
	leader, out, err := s.Flight(context.Background(), h)
	if err != nil || out != Lead {
		t.Fatalf("first Flight = %v, %v; want lead", out, err)
	}
	defer leader.Release() // the leader stays stuck for the whole test

	const waiters = 10
	var wg sync.WaitGroup
	outs := make([]Outcome, waiters)
	began := time.Now()
	for i := range waiters {
		wg.Go(func() { _, outs[i], _ = s.Flight(context.Background(), h) })
	}
	wg.Wait()
	waited := time.Since(began)
	for i, o := range outs {
		if o != Fetch {
			t.Fatalf("waiter %d got %v, want fetch", i, o)
		}
	}
	if waited < maxWait-10*time.Millisecond || waited > 20*maxWait {
		t.Fatalf("waiters returned after %v, want about %v", waited, maxWait)
	}

	// The leader is past MaxWait now, so a newcomer must not wait at all.
	began = time.Now()
	if _, o, _ := s.Flight(context.Background(), h); o != Fetch {
		t.Fatalf("late caller got %v, want fetch", o)
	}
	if d := time.Since(began); d >= maxWait {
		t.Fatalf("late caller waited %v, MaxWait or more", d)
	}
	if n := s.Stats().WaitTimeouts; n != waiters+1 {
		t.Fatalf("WaitTimeouts = %d, want %d", n, waiters+1)
	}
}

func TestLeaderEndingWakesWaiters(t *testing.T) {
	tests := []struct {
		name string
		end  func(s *Store, f *Flight, key []byte)
		want Outcome
	}{
		{"stored entry", func(s *Store, f *Flight, key []byte) {
			if err := f.Set(key, sampleEntry(10, testNow+1)); err != nil {
				t.Errorf("Set: %v", err)
			}
		}, Ready},
		{"released without storing", func(s *Store, f *Flight, key []byte) { f.Release() }, Fetch},
		{"refused entry", func(s *Store, f *Flight, key []byte) {
			if err := f.Set(key, sampleEntry(2*DefaultMaxItemSize, testNow+1)); err == nil {
				t.Error("Set accepted an oversized entry")
			}
		}, Fetch},
		{"entry for another key", func(s *Store, f *Flight, key []byte) {
			if err := f.Set([]byte("other"), sampleEntry(10, testNow+1)); err == nil {
				t.Error("Set accepted a key of another flight")
			}
		}, Fetch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTestStore(t, Config{MaxWait: time.Minute})
			key := []byte("k")
			h := s.Hash(key)
			leader, out, _ := s.Flight(context.Background(), h)
			if out != Lead {
				t.Fatalf("first Flight = %v", out)
			}
			got := make(chan Outcome)
			go func() {
				_, o, _ := s.Flight(context.Background(), h)
				got <- o
			}()
			if !waitForWaiter(s, h) {
				t.Fatal("no caller started waiting")
			}
			tt.end(s, leader, key)
			select {
			case o := <-got:
				if o != tt.want {
					t.Fatalf("waiter got %v, want %v", o, tt.want)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("waiter not woken by the leader")
			}
			leader.Release() // after Set this must be a no-op
			leader.Release()
			if _, o, _ := s.Flight(context.Background(), h); o != Lead {
				t.Fatalf("Flight after the end = %v, want a new lead", o)
			}
		})
	}
}

// waitForWaiter reports, within a few seconds, whether some caller waits on
// the flight of h.
func waitForWaiter(s *Store, h uint64) bool {
	sh := &s.flights[h%flightShards]
	for range 5000 {
		sh.mu.Lock()
		f := sh.m[h]
		waiting := f != nil && f.done != nil
		sh.mu.Unlock()
		if waiting {
			return true
		}
		time.Sleep(time.Millisecond)
	}
	return false
}

func TestPanickingLeaderReleasesWaiters(t *testing.T) {
	s := newTestStore(t, Config{MaxWait: time.Minute})
	key := []byte("k")
	h := s.Hash(key)
	leaderFetching := make(chan struct{})
	leaderDone := make(chan any)
	go func() {
		defer func() { leaderDone <- recover() }()
		var e Entry
		s.GetOrFetch(context.Background(), key, testNow, &e, func(*Entry) (bool, error) {
			close(leaderFetching)
			waitForWaiter(s, h) // panicking earlier only makes the waiter lead
			panic("origin exploded")
		})
	}()
	<-leaderFetching

	var e Entry
	began := time.Now()
	hit, err := s.GetOrFetch(context.Background(), key, testNow, &e, func(dst *Entry) (bool, error) {
		dst.Status, dst.Body, dst.Expires = 200, []byte("own fetch"), testNow+1
		return true, nil
	})
	if err != nil || hit || string(e.Body) != "own fetch" {
		t.Fatalf("waiter got hit=%v body=%q err=%v, want its own fetch", hit, e.Body, err)
	}
	if d := time.Since(began); d > 10*time.Second {
		t.Fatalf("waiter waited %v for a leader that had panicked", d)
	}
	if p := <-leaderDone; p != "origin exploded" {
		t.Fatalf("leader panic = %v, want it propagated", p)
	}
}

func TestFetchErrorIsReturnedAndNotStored(t *testing.T) {
	s := newTestStore(t, Config{})
	boom := errors.New("connection refused")
	var e Entry
	_, err := s.GetOrFetch(context.Background(), []byte("k"), testNow, &e, func(*Entry) (bool, error) { return false, boom })
	if !errors.Is(err, boom) {
		t.Fatalf("error %v does not wrap the fetch error", err)
	}
	if s.Get([]byte("k"), testNow, &e) {
		t.Fatal("a failed fetch left an entry")
	}
	if _, o, _ := s.Flight(context.Background(), s.Hash([]byte("k"))); o != Lead {
		t.Fatalf("flight left open after a failed fetch: got %v", o)
	}
}

func TestUncacheableResponseIsReturnedButNotStored(t *testing.T) {
	s := newTestStore(t, Config{})
	var e Entry
	hit, err := s.GetOrFetch(context.Background(), []byte("k"), testNow, &e, func(dst *Entry) (bool, error) {
		dst.Status, dst.Body = 500, []byte("oops")
		return false, nil
	})
	if hit || err != nil || e.Status != 500 {
		t.Fatalf("GetOrFetch = %v, %v, status %d", hit, err, e.Status)
	}
	if s.Get([]byte("k"), testNow, &e) {
		t.Fatal("uncacheable response was stored")
	}
}

func TestWaiterGivesUpWhenContextEnds(t *testing.T) {
	s := newTestStore(t, Config{MaxWait: time.Minute})
	h := s.Hash([]byte("k"))
	leader, _, _ := s.Flight(context.Background(), h)
	defer leader.Release()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, _, err := s.Flight(ctx, h)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Flight error = %v, want the context's deadline", err)
	}
}

func TestStaleEntryIsServedWhileOneCallerRefreshes(t *testing.T) {
	const grace = 10 * time.Second
	expires := testNow + int64(time.Second)
	tests := []struct {
		name        string
		grace       time.Duration
		now         int64
		wantOK      bool
		wantRefresh bool
	}{
		{"fresh", grace, expires - 1, true, false},
		{"just expired", grace, expires, true, true},
		{"late in grace", grace, expires + int64(grace) - 1, true, true},
		{"past grace", grace, expires + int64(grace), false, false},
		{"stale serving disabled", 0, expires, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTestStore(t, Config{StaleGrace: tt.grace})
			key := []byte("k")
			mustSet(t, s, key, sampleEntry(10, expires))
			var e Entry
			ok, refresh := s.GetStale(key, tt.now, &e)
			if ok != tt.wantOK || (refresh != nil) != tt.wantRefresh {
				t.Fatalf("GetStale = %v, refresh %v; want %v, refresh %v", ok, refresh != nil, tt.wantOK, tt.wantRefresh)
			}
			if !tt.wantRefresh {
				return
			}
			// Only one refresher at a time; the rest serve stale.
			if ok, again := s.GetStale(key, tt.now, &e); !ok || again != nil {
				t.Fatalf("second GetStale = %v, refresh %v; want stale without refresh", ok, again != nil)
			}
			if err := refresh.Set(key, sampleEntry(10, tt.now+int64(time.Minute))); err != nil {
				t.Fatalf("refresh Set: %v", err)
			}
			if ok, again := s.GetStale(key, tt.now, &e); !ok || again != nil || e.Expires <= tt.now {
				t.Fatalf("after refresh GetStale = %v, refresh %v, expires %d; want fresh", ok, again != nil, e.Expires)
			}
			if st := s.Stats(); st.StaleHits != 2 {
				t.Fatalf("StaleHits = %d, want 2", st.StaleHits)
			}
		})
	}
}

func TestReleasedRefreshLetsTheNextCallerRefresh(t *testing.T) {
	s := newTestStore(t, Config{StaleGrace: time.Minute})
	key := []byte("k")
	mustSet(t, s, key, sampleEntry(10, testNow))
	var e Entry
	_, first := s.GetStale(key, testNow, &e)
	first.Release() // the refresh failed
	if _, second := s.GetStale(key, testNow, &e); second == nil {
		t.Fatal("no caller may refresh after the first refresher gave up")
	} else {
		second.Release()
	}
}
