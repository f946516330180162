package lambda

// spanIndex finds header spans by a key in constant time, so that results
// with many headers parse in linear time. An index over a few entries is a
// list searched by comparison, which for the headers of ordinary results
// beats hashing them; a larger one is an open-addressing hash table. The
// table stores part of each key's hash and the span number, nothing else:
// callers confirm a match by comparing the spans' bytes, so colliding keys
// cost a probe, never a wrong answer. An index keeps its memory across
// parses, so steady-state parsing does not allocate; its size is at most
// four times the number of header values a result may have
// (MaxHeaderValues), 8 bytes each.
type spanIndex struct {
	slots  []indexSlot
	used   int
	hashed bool
}

type indexSlot struct {
	hash uint32
	span int32 // span number + 1; 0 marks an empty slot
}

// linearEntries is the largest index searched by comparison. It bounds the
// comparisons one lookup makes, as in the event builders' header grouping.
const linearEntries = 32

// indexHint is how many entries an index over the JSON object raw can
// receive: each member takes at least 6 bytes (`"a":1,`), and only members
// that become header values are entered.
func indexHint(raw []byte) int { return min(len(raw)/6, MaxHeaderValues) }

// reset empties x for up to n entries.
func (x *spanIndex) reset(n int) {
	x.used = 0
	x.hashed = n > linearEntries
	size := linearEntries
	for x.hashed && size < 2*n {
		size *= 2
	}
	if cap(x.slots) < size {
		x.slots = make([]indexSlot, size)
		return
	}
	x.slots = x.slots[:size]
	if x.hashed {
		clear(x.slots)
	}
}

// probe is where an entry is, or would go.
type probe struct {
	slot int
	hash uint32
}

// find returns the newest entry that match accepts (-1 if none) and its
// probe for put. hash gives the key's hash; a list index does not call it.
func (x *spanIndex) find(hash func() uint64, match func(n int) bool) (int, probe) {
	if !x.hashed {
		for i := x.used - 1; i >= 0; i-- {
			if n := int(x.slots[i].span - 1); match(n) {
				return n, probe{slot: i}
			}
		}
		return -1, probe{slot: x.used}
	}
	h := uint32(hash())
	mask := len(x.slots) - 1
	for i := int(h) & mask; ; i = (i + 1) & mask {
		s := x.slots[i]
		if s.span == 0 {
			return -1, probe{i, h}
		}
		if s.hash == h && match(int(s.span-1)) {
			return int(s.span - 1), probe{i, h}
		}
	}
}

// get is find without the probe.
func (x *spanIndex) get(hash func() uint64, match func(n int) bool) int {
	n, _ := x.find(hash, match)
	return n
}

// add enters span n so that lookups of its key find it rather than an
// older entry. A list index just appends it, without comparing; a hash
// table replaces the entry match accepts.
func (x *spanIndex) add(hash func() uint64, match func(n int) bool, n int) {
	if !x.hashed {
		x.put(probe{slot: x.used}, n)
		return
	}
	_, at := x.find(hash, match)
	x.put(at, n)
}

// put stores span n at p, as returned by find with no put since: it
// replaces the entry found there or adds one.
func (x *spanIndex) put(p probe, n int) {
	if !x.hashed {
		if p.slot == x.used {
			if x.used == len(x.slots) {
				// More entries than reset was told of; never the case
				// with indexHint, and still correct.
				x.slots = append(x.slots, indexSlot{})
			}
			x.used++
		}
		x.slots[p.slot] = indexSlot{span: int32(n + 1)}
		return
	}
	if x.slots[p.slot].span == 0 {
		x.used++
	}
	x.slots[p.slot] = indexSlot{hash: p.hash, span: int32(n + 1)}
	if 2*x.used > len(x.slots) {
		x.grow()
	}
}

// grow doubles a hash table whose hint was short (never the case with
// indexHint), so probing never meets a full table.
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
