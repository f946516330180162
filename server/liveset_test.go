package server

import (
	"errors"
	"sort"
	"testing"
)

// A prepared set that is aborted leaves the live one untouched and stops
// only what it started; a committed one keeps unchanged entries and hands
// back the replaced ones.
func TestLiveSetPreparesThenCommitsOrAborts(t *testing.T) {
	var s liveSet[string, string]
	started := map[string]int{}
	var stopped []string
	start := func(name, cfg string) (string, error) {
		if cfg == "broken" {
			return "", errors.New("cannot start")
		}
		started[name]++
		return name + "@" + cfg, nil
	}
	stop := func(r string) { stopped = append(stopped, r) }

	p, err := s.prepare(map[string]string{"a": "1", "b": "1"}, start, stop)
	if err != nil {
		t.Fatal(err)
	}
	if replaced := p.commit(); len(replaced) != 0 {
		t.Fatalf("first commit replaced %v", replaced)
	}

	// A failing prepare stops what it started and changes nothing live.
	if _, err := s.prepare(map[string]string{"a": "2", "c": "broken"}, start, stop); err == nil {
		t.Fatal("broken entry accepted")
	}
	if got := s.all(); got["a"] != "a@1" || got["b"] != "b@1" || len(got) != 2 {
		t.Fatalf("live after a failed prepare: %v", got)
	}

	// A prepared but aborted plan: the same.
	p, _ = s.prepare(map[string]string{"a": "3"}, start, stop)
	p.abort(stop)
	if got := s.all(); got["a"] != "a@1" {
		t.Fatalf("live after abort: %v", got)
	}

	// Commit: b unchanged stays, a changes, c is new; the old a is
	// replaced.
	stopped = nil
	p, _ = s.prepare(map[string]string{"a": "4", "b": "1", "c": "1"}, start, stop)
	replaced := p.commit()
	sort.Strings(replaced)
	if len(replaced) != 1 || replaced[0] != "a@1" || len(stopped) != 0 {
		t.Fatalf("replaced %v, stopped %v", replaced, stopped)
	}
	if got := s.all(); got["a"] != "a@4" || got["b"] != "b@1" || got["c"] != "c@1" || started["b"] != 1 {
		t.Fatalf("live after commit: %v (b started %d times)", got, started["b"])
	}
}
