package registry

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// res is a test resource: the name and spec it was opened for.
type res struct{ name, spec string }

// tracked is a Set of res that records what it opens, activates, releases
// and discards.
type tracked struct {
	*Set[string, string, *res]
	opened, activated, released, discarded []string
}

func newTracked(lastWins bool) *tracked {
	t := &tracked{}
	t.Set = NewSet("test", Hooks[string, string, *res]{
		Open: func(_ *Gen, name, spec string) (*res, error) {
			if spec == "broken" {
				return nil, errors.New("cannot open")
			}
			t.opened = append(t.opened, name+"@"+spec)
			return &res{name, spec}, nil
		},
		Activate: func(r *res) { t.activated = append(t.activated, r.name+"@"+r.spec) },
		Release:  func(r *res) { t.released = append(t.released, r.name+"@"+r.spec) },
		Discard:  func(r *res) { t.discarded = append(t.discarded, r.name+"@"+r.spec) },
		LastWins: lastWins,
	})
	return t
}

func (t *tracked) reset() { t.opened, t.activated, t.released, t.discarded = nil, nil, nil, nil }

// live renders the live entries as sorted name@spec.
func (t *tracked) live() string {
	var out []string
	for name, r := range t.Live() {
		out = append(out, name+"@"+r.spec)
	}
	slices.Sort(out)
	return strings.Join(out, ",")
}

func sorted(s []string) string {
	s = slices.Clone(s)
	slices.Sort(s)
	return strings.Join(s, ",")
}

// prepare asks t for every name=spec in want, in a new generation.
func prepare(t *testing.T, set *tracked, want ...string) (*Gen, error) {
	t.Helper()
	g := NewGen()
	set.Join(g)
	for _, w := range want {
		name, spec, _ := strings.Cut(w, "=")
		if _, err := set.Get(g, name, spec); err != nil {
			g.Abort()
			return nil, err
		}
	}
	return g, nil
}

// A generation that is aborted leaves the live set untouched and discards
// only what it opened; a committed one keeps unchanged entries, releases
// the replaced and the removed ones and activates what it opened.
func TestGenerationPreparesThenCommitsOrAborts(t *testing.T) {
	s := newTracked(false)
	g, err := prepare(t, s, "a=1", "b=1")
	if err != nil {
		t.Fatal(err)
	}
	if s.Len() != 0 {
		t.Fatalf("prepared entries live before commit: %s", s.live())
	}
	g.Commit()
	if s.live() != "a@1,b@1" || len(s.released) != 0 || sorted(s.activated) != "a@1,b@1" {
		t.Fatalf("first commit: live %s, released %v, activated %v", s.live(), s.released, s.activated)
	}

	// A failing prepare discards what it opened and changes nothing live.
	s.reset()
	if _, err := prepare(t, s, "a=2", "c=broken"); err == nil {
		t.Fatal("broken entry accepted")
	}
	if s.live() != "a@1,b@1" || sorted(s.discarded) != "a@2" || len(s.released) != 0 {
		t.Fatalf("after a failed prepare: live %s, discarded %v, released %v", s.live(), s.discarded, s.released)
	}

	// A prepared but aborted generation: the same.
	s.reset()
	g, _ = prepare(t, s, "a=3")
	g.Abort()
	g.Commit() // after Abort: nothing
	if s.live() != "a@1,b@1" || sorted(s.discarded) != "a@3" || len(s.released) != 0 {
		t.Fatalf("after abort: live %s, discarded %v, released %v", s.live(), s.discarded, s.released)
	}

	// Commit: b unchanged stays, a changes, c is new; the old a is
	// released, the new a and c activated, b neither.
	s.reset()
	g, _ = prepare(t, s, "a=4", "b=1", "c=1")
	g.Commit()
	if s.live() != "a@4,b@1,c@1" || sorted(s.opened) != "a@4,c@1" || sorted(s.released) != "a@1" ||
		sorted(s.activated) != "a@4,c@1" || len(s.discarded) != 0 {
		t.Fatalf("commit: live %s, opened %v, released %v, activated %v, discarded %v",
			s.live(), s.opened, s.released, s.activated, s.discarded)
	}

	// A generation that asks for nothing releases everything.
	s.reset()
	g, _ = prepare(t, s)
	g.Commit()
	if s.Len() != 0 || sorted(s.released) != "a@4,b@1,c@1" {
		t.Fatalf("empty commit: live %s, released %v", s.live(), s.released)
	}
}

// An entry asked for twice in one generation is opened once; with another
// spec the second ask is an error, unless the Set lets the last one win.
func TestKeyAskedTwiceInOneGeneration(t *testing.T) {
	s := newTracked(false)
	g := NewGen()
	r1, _ := s.Get(g, "a", "1")
	r2, _ := s.Get(g, "a", "1")
	if r1 != r2 || len(s.opened) != 1 {
		t.Fatalf("same spec twice: %p %p, opened %v", r1, r2, s.opened)
	}
	if _, err := s.Get(g, "a", "2"); err == nil {
		t.Fatal("another spec for the same key accepted")
	}
	g.Abort()

	s = newTracked(true)
	g = NewGen()
	s.Get(g, "a", "1")
	s.Get(g, "a", "2")
	g.Commit()
	if s.live() != "a@2" || sorted(s.discarded) != "a@1" {
		t.Fatalf("last wins: live %s, discarded %v", s.live(), s.discarded)
	}
}

// A dry generation, a nil Set and a Set without Open resolve nothing:
// they answer the zero resource, check specs, and record what was asked.
func TestDryGenerationOpensNothing(t *testing.T) {
	s := newTracked(false)
	g := DryGen()
	s.Join(g)
	if r, err := s.Get(g, "a", "1"); r != nil || err != nil {
		t.Fatalf("dry get: %v %v", r, err)
	}
	var none *Set[string, checked, int]
	if _, err := none.Get(g, "b", checked("bad")); err == nil {
		t.Fatal("a spec's Check did not run")
	}
	if _, err := NewSet("no open", Hooks[string, checked, int]{}).Get(g, "c", "fine"); err != nil {
		t.Fatal(err)
	}
	g.Commit()
	if len(s.opened) != 0 || s.Len() != 0 {
		t.Fatalf("dry generation opened %v, live %s", s.opened, s.live())
	}
	needs := g.Needs()
	want := []Need{{"a", "1"}, {"b", checked("bad")}, {"c", checked("fine")}}
	if !slices.Equal(needs, want) {
		t.Fatalf("needs %v, want %v", needs, want)
	}
}

type checked string

func (c checked) Check() error {
	if c == "bad" {
		return errors.New("bad spec")
	}
	return nil
}

// Close discards every live entry, and a generation prepared before it
// can no longer commit over it.
func TestCloseDiscardsEverythingLive(t *testing.T) {
	s := newTracked(false)
	g, _ := prepare(t, s, "a=1")
	g.Commit()
	stale, _ := prepare(t, s, "a=1", "b=1")
	s.Close()
	if s.Len() != 0 || sorted(s.discarded) != "a@1" {
		t.Fatalf("close: live %s, discarded %v", s.live(), s.discarded)
	}
	defer func() {
		if recover() == nil {
			t.Error("a generation prepared before Close committed")
		}
	}()
	stale.Commit()
}

// An Open may ask another Set of the same generation for what its
// resource depends on, and Current for the state to carry over.
func TestOpenAsksOtherSetsAndCarriesStateOver(t *testing.T) {
	base := newTracked(false)
	type dep struct{ base *res }
	uses := NewSet("uses", Hooks[string, string, dep]{
		Open: func(g *Gen, key, spec string) (dep, error) {
			r, err := base.Get(g, key, spec)
			return dep{r}, err
		},
	})
	g := NewGen()
	base.Join(g)
	uses.Join(g)
	d, err := uses.Get(g, "a", "1")
	if err != nil || d.base == nil || d.base.spec != "1" {
		t.Fatalf("dependent open: %+v %v", d, err)
	}
	g.Commit()
	if base.live() != "a@1" || uses.Len() != 1 {
		t.Fatalf("after commit: base %s, uses %d", base.live(), uses.Len())
	}

	var counter *Set[string, int, *int]
	counter = NewSet("counter", Hooks[string, int, *int]{
		Open: func(_ *Gen, key string, limit int) (*int, error) {
			n := new(int)
			if cur, ok := counter.Current(key); ok {
				*n = *cur
			}
			return n, nil
		},
	})
	g = NewGen()
	n, _ := counter.Get(g, "k", 1)
	g.Commit()
	*n = 7
	g = NewGen()
	m, _ := counter.Get(g, "k", 2) // changed spec: a new counter, the count carried over
	g.Commit()
	if m == n || *m != 7 {
		t.Fatalf("carried over: %p %p %d", n, m, *m)
	}
}

// A Set with Replace hands a replaced entry over to its successor instead
// of releasing the one and activating the other.
func TestReplaceHandsOver(t *testing.T) {
	s := newTracked(false)
	var handed []string
	s.hooks.Replace = func(old, r *res) { handed = append(handed, old.spec+">"+r.spec) }
	g, _ := prepare(t, s, "a=1", "b=1")
	g.Commit()
	s.reset()
	g, _ = prepare(t, s, "a=2")
	g.Commit()
	if strings.Join(handed, ",") != "1>2" || sorted(s.released) != "b@1" || len(s.activated) != 0 {
		t.Fatalf("handed %v, released %v, activated %v", handed, s.released, s.activated)
	}
}
