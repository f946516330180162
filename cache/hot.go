package cache

import "sync/atomic"

// hotFront keeps the entries read most recently, as the values bigcache
// copied out for them, so that a repeated hit is served without asking
// bigcache again: bigcache's Get copies every entry it returns, which is an
// allocation per hit. A slot holds one entry, chosen by key hash; a value
// in a slot is never written again, so readers share it without locks.
//
// The front is bounded by bytes (hotShare of max_size) and by entry size
// (hotMaxEntry); it is a copy of what bigcache holds, not a second store:
// Set, Delete and Flush clear what they replace.
type hotFront struct {
	slots [hotSlots]atomic.Pointer[hotEntry]
	// epochs count the drops of each slot: a value read from bigcache
	// before a Set of its key must not come back into the front after it.
	epochs [hotSlots]atomic.Uint32
	bytes  atomic.Int64
	budget int64
	maxLen int
}

type hotEntry struct {
	hash uint64
	raw  []byte // an encoded entry (with its full key), immutable
}

const (
	hotSlots    = 4096
	hotShare    = 16 // the front holds at most max_size/hotShare bytes
	hotMaxEntry = 64 << 10
)

func newHotFront(maxBytes int64, maxItem int) *hotFront {
	return &hotFront{budget: maxBytes / hotShare, maxLen: min(maxItem, hotMaxEntry)}
}

func (f *hotFront) get(h uint64) *hotEntry {
	e := f.slots[h%hotSlots].Load()
	if e == nil || e.hash != h {
		return nil
	}
	return e
}

// epoch is read before asking bigcache, and given to put.
func (f *hotFront) epoch(h uint64) uint32 { return f.epochs[h%hotSlots].Load() }

// put keeps raw (which the caller never writes again) for hash h, when it
// is small enough, the budget allows, and no drop of the slot happened
// since epoch was read.
func (f *hotFront) put(h uint64, raw []byte, epoch uint32) {
	if len(raw) > f.maxLen || f.bytes.Load()+int64(len(raw)) > f.budget {
		return
	}
	slot := &f.slots[h%hotSlots]
	old := slot.Load()
	if f.epochs[h%hotSlots].Load() != epoch || !slot.CompareAndSwap(old, &hotEntry{hash: h, raw: raw}) {
		return
	}
	f.bytes.Add(int64(len(raw)))
	if old != nil {
		f.bytes.Add(-int64(len(old.raw)))
	}
}

// drop forgets the entry of hash h and keeps values read before now out.
func (f *hotFront) drop(h uint64) {
	f.epochs[h%hotSlots].Add(1)
	slot := &f.slots[h%hotSlots]
	if old := slot.Load(); old != nil && old.hash == h && slot.CompareAndSwap(old, nil) {
		f.bytes.Add(-int64(len(old.raw)))
	}
}

// clear forgets everything.
func (f *hotFront) clear() {
	for i := range f.slots {
		f.epochs[i].Add(1)
		if old := f.slots[i].Swap(nil); old != nil {
			f.bytes.Add(-int64(len(old.raw)))
		}
	}
}
