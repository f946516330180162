package lambda

// spanIndex is an open-addressing hash table of span numbers. It stores a
// part of each key's hash and nothing else: callers confirm a match by
// comparing the spans' bytes, so colliding keys cost a probe, never a wrong
// answer. Its memory is kept across parses, so steady-state parsing does not
// allocate; its size is at most twice the number of header values a result
// may have (MaxHeaderValues).
type spanIndex struct {
	slots []indexSlot
	used  int
}

type indexSlot struct {
	hash uint32
	span int32 // span number + 1; 0 marks an empty slot
}

// indexHint is how many entries an index over the JSON object raw can
// receive: each member takes at least 6 bytes (`"a":1,`), and only members
// that became header values are entered.
func indexHint(raw []byte) int { return min(len(raw)/6, MaxHeaderValues) }

// reset empties x, sized for n entries at most half full.
func (x *spanIndex) reset(n int) {
	size := 8
	for size < 2*n {
		size *= 2
	}
	if cap(x.slots) < size {
		x.slots = make([]indexSlot, size)
	} else {
		x.slots = x.slots[:size]
		clear(x.slots)
	}
	x.used = 0
}

// find returns the entry with hash h that match accepts (-1 if none), and
// the slot where that entry is or would go.
func (x *spanIndex) find(h uint64, match func(n int) bool) (n, slot int) {
	mask := len(x.slots) - 1
	for i := int(uint32(h)) & mask; ; i = (i + 1) & mask {
		s := x.slots[i]
		if s.span == 0 {
			return -1, i
		}
		if s.hash == uint32(h) && match(int(s.span-1)) {
			return int(s.span - 1), i
		}
	}
}

// get is find without the slot.
func (x *spanIndex) get(h uint64, match func(n int) bool) int {
	n, _ := x.find(h, match)
	return n
}

// put stores span n in slot, as returned by find with no put since.
func (x *spanIndex) put(slot int, h uint64, n int) {
	if x.slots[slot].span == 0 {
		x.used++
	}
	x.slots[slot] = indexSlot{hash: uint32(h), span: int32(n + 1)}
	if 2*x.used > len(x.slots) {
		x.grow()
	}
}

// grow doubles the table. Callers size it with reset, so this only runs if
// a hint was short; it keeps probing from ever meeting a full table.
func (x *spanIndex) grow() {
	old := x.slots
	x.slots = make([]indexSlot, 2*len(old))
	mask := len(x.slots) - 1
	for _, s := range old {
		if s.span == 0 {
			continue
		}
		i := int(s.hash) & mask
		for x.slots[i].span != 0 {
			i = (i + 1) & mask
		}
		x.slots[i] = s
	}
}
