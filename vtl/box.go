package vtl

import "unsafe"

// Boxing without allocation. Putting a string, float64 or int64 into an
// interface makes Go allocate a copy on the heap; an evaluation makes
// many such values (every JSON member of the body, every parameter,
// context and stage variable it reads), and those allocations were most
// of its cost. An evaluation's values never outlive it (the output is
// copied into the caller's buffer, overrides are cloned), so they are
// stored in the evaluation's pooled arena instead, and the interface is
// built pointing at the arena's copy, the layout Go itself gives an
// interface holding a non-pointer value. A slab block, once handed out,
// is never written again until the arena is reset after the evaluation.

// eface is the layout of an interface value: its type word and a
// pointer to the value.
type eface struct{ typ, data unsafe.Pointer }

func typeWord(v any) unsafe.Pointer { return (*eface)(unsafe.Pointer(&v)).typ }

var (
	stringType  = typeWord("")
	float64Type = typeWord(float64(0))
	int64Type   = typeWord(int64(0))
)

func boxed(typ, data unsafe.Pointer) any {
	var v any
	e := (*eface)(unsafe.Pointer(&v))
	e.typ, e.data = typ, data
	return v
}

// slab hands out stable pointers to values; blocks are replaced, never
// grown in place, so pointers handed out stay valid.
type slab[T any] struct{ items []T }

func (sl *slab[T]) put(v T) unsafe.Pointer {
	if len(sl.items) == cap(sl.items) {
		sl.items = make([]T, 0, max(16, 2*cap(sl.items)))
	}
	sl.items = append(sl.items, v)
	return unsafe.Pointer(&sl.items[len(sl.items)-1])
}

func (sl *slab[T]) reset() {
	clear(sl.items)
	sl.items = sl.items[:0]
}

// boxString is any(v) for the evaluation's lifetime.
func (a *arena) boxString(v string) any {
	if v == "" {
		return ""
	}
	return boxed(stringType, a.strs.put(v))
}

// boxFloat is any(v) for the evaluation's lifetime.
func (a *arena) boxFloat(v float64) any {
	return boxed(float64Type, a.floats.put(v))
}

// boxInt is any(v) for the evaluation's lifetime.
func (a *arena) boxInt(v int64) any {
	if v >= 0 && v < 256 {
		return v // Go boxes small numbers without allocating
	}
	return boxed(int64Type, a.ints.put(v))
}
