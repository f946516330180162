package limiter

import (
	"cmp"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// DefaultMaxKeys is the key bound of a Set when none is given.
const DefaultMaxKeys = 100_000

const (
	maxShards = 64
	// minShardKeys keeps small Sets from being split so finely that one
	// busy shard evicts while its neighbours sit empty.
	minShardKeys = 64
	// evictDivisor: a full shard frees 1/evictDivisor of its capacity at
	// once, so the O(table) sweep is paid once per that many inserts.
	evictDivisor = 16
	// sampleSize is how many debts are read to estimate the eviction
	// threshold; enough to place a 1/16 quantile within a few percent.
	sampleSize = 64
	// minSlots is a new shard's table size; tables double from here.
	minSlots = 16
	// cacheLine is padded to twice the usual 64 bytes because adjacent-line
	// prefetch makes neighbouring lines contend too.
	cacheLine = 128
)

// slot is one table entry. key 0 marks an empty slot; Set.Allow maps a
// caller's key 0 to 1, a collision no likelier than any other 64-bit one.
//
// Under the read lock tat is only touched atomically (decide). Under the
// write lock no reader runs and the lock orders every earlier atomic access
// before it, so eviction and resizing read and copy slots plainly, which
// keeps their full-table scans cheap.
type slot struct {
	key uint64
	tat int64
}

// slotBytes is the table cost of one slot.
const slotBytes = int(unsafe.Sizeof(slot{}))

type shardState struct {
	// mu is read-locked to look up and update existing keys (the TAT is
	// atomic, so readers may update it concurrently); it is write-locked to
	// insert, evict or grow, which move slots.
	mu       sync.RWMutex
	slots    []slot // linear probing; len(slots) > count always
	count    int
	capacity int // most keys this shard holds
	maxSlots int // table size at which load is at most 3/4 with capacity keys
}

type shard struct {
	shardState
	_ [cacheLine - unsafe.Sizeof(shardState{})%cacheLine]byte
}

// shardBytes is the fixed cost of one shard.
const shardBytes = int(unsafe.Sizeof(shard{}))

// Set is a bounded collection of token buckets, one per key, all with the
// same Limit. A key that has not been seen, or whose bucket was evicted,
// starts with a full bucket. It is safe for concurrent use.
type Set struct {
	p      params
	mask   uint64
	shards []shard
	// spend is the cluster hook (shared.go): nil on a single instance.
	spend atomic.Pointer[SpendLog]
}

// NewSet returns a Set holding at most maxKeys buckets (DefaultMaxKeys when
// maxKeys is 0).
func NewSet(l Limit, maxKeys int) (*Set, error) {
	p, err := l.params()
	if err != nil {
		return nil, fmt.Errorf("new set: %w", err)
	}
	if maxKeys == 0 {
		maxKeys = DefaultMaxKeys
	}
	if maxKeys < 1 {
		return nil, fmt.Errorf("new set: max keys %d: must be at least 1", maxKeys)
	}
	n := 1
	for n < maxShards && n*2*minShardKeys <= maxKeys {
		n *= 2
	}
	s := &Set{p: p, mask: uint64(n - 1), shards: make([]shard, n)}
	for i := range s.shards {
		sh := &s.shards[i]
		sh.capacity = maxKeys / n
		if i < maxKeys%n {
			sh.capacity++
		}
		sh.maxSlots = tableSize((4*sh.capacity + 2) / 3)
		sh.slots = make([]slot, minSlots)
	}
	return s, nil
}

// Allow takes one token from key's bucket at now (unix nanoseconds).
func (s *Set) Allow(key uint64, now int64) Decision {
	// The cluster seam (shared.go) is read once, here; nil on a single
	// instance, which then pays this load and two nil checks.
	l := s.spend.Load()
	if l != nil && l.closed.Load() {
		return Decision{Limit: s.p.burst, Reset: time.Duration(s.p.tau), RetryAfter: time.Duration(s.p.interval)}
	}
	if key == 0 {
		key = 1
	}
	sh := &s.shards[key&s.mask]
	sh.mu.RLock()
	if e := sh.find(key); e != nil {
		d := s.p.decide(&e.tat, now)
		sh.mu.RUnlock()
		if l != nil && d.Allowed {
			l.add(key)
		}
		return d
	}
	sh.mu.RUnlock()

	sh.mu.Lock()
	e := sh.find(key) // another request may have inserted it meanwhile
	if e == nil {
		e = sh.insert(key, now)
	}
	d := s.p.decide(&e.tat, now)
	sh.mu.Unlock()
	if l != nil && d.Allowed {
		l.add(key)
	}
	return d
}

// Len reports how many buckets the Set holds.
func (s *Set) Len() int {
	n := 0
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.RLock()
		n += sh.count
		sh.mu.RUnlock()
	}
	return n
}

// MaxBytes is the most heap the Set's shards and tables take once full,
// for capacity planning; the Set value itself adds under 100 bytes. See
// docs/limiter.md.
func (s *Set) MaxBytes() int {
	n := len(s.shards) * shardBytes
	for i := range s.shards {
		n += s.shards[i].maxSlots * slotBytes
	}
	return n
}

// tableSize rounds a slot count up to what the Go allocator would hand out
// for it anyway, so the table uses that memory (as a lower load factor)
// instead of wasting it: power-of-two sizes up to 32 KiB are exact size
// classes, and larger objects take whole 8 KiB pages.
func tableSize(slots int) int {
	const pageSlots = 8192 / slotBytes
	if slots*slotBytes > 32<<10 {
		return (slots + pageSlots - 1) / pageSlots * pageSlots
	}
	n := minSlots
	for n < slots {
		n *= 2
	}
	return n
}

// home is key's preferred slot in a table of n. It uses the key's high bits
// because the low bits chose the shard and are the same for all its keys.
func home(key uint64, n int) int {
	hi, _ := bits.Mul64(key, uint64(n))
	return int(hi)
}

// find returns key's slot or nil. The caller holds mu, read or write.
func (sh *shard) find(key uint64) *slot {
	s := sh.slots
	for i := home(key, len(s)); ; {
		switch s[i].key {
		case key:
			return &s[i]
		case 0:
			return nil
		}
		if i++; i == len(s) {
			i = 0
		}
	}
}

// insert adds key with a full bucket and returns its slot, making room
// first. The caller holds mu for writing and knows key is absent.
func (sh *shard) insert(key uint64, now int64) *slot {
	if sh.count >= sh.capacity {
		sh.evict(now, key)
	}
	if n := len(sh.slots); (sh.count+1)*4 > n*3 && n < sh.maxSlots {
		sh.resize(min(2*n, sh.maxSlots))
	}
	sh.count++
	return sh.place(key, 0)
}

// place puts key in the first free slot from its home.
func (sh *shard) place(key uint64, tat int64) *slot {
	s := sh.slots
	i := home(key, len(s))
	for s[i].key != 0 {
		if i++; i == len(s) {
			i = 0
		}
	}
	s[i] = slot{key: key, tat: tat}
	return &s[i]
}

func (sh *shard) resize(n int) {
	old := sh.slots
	sh.slots = make([]slot, n)
	for i := range old {
		if k := old[i].key; k != 0 {
			sh.place(k, old[i].tat)
		}
	}
}

// deleteAt empties slot i and shifts later entries of its probe run back,
// so lookups never need tombstones.
func (sh *shard) deleteAt(i int) {
	s := sh.slots
	n := len(s)
	sh.count--
	for {
		s[i].key = 0
		j := i
		for {
			if j++; j == n {
				j = 0
			}
			k := s[j].key
			if k == 0 {
				return
			}
			// The entry at j may fill the hole at i unless its home lies
			// cyclically in (i, j]: then it would sit before its home.
			h := home(k, n)
			if i <= j && (h <= i || h > j) || i > j && h <= i && h > j {
				s[i] = s[j]
				i = j
				break
			}
		}
	}
}

// victim orders buckets for eviction: least debt (TAT − now, how far from
// full) first, idle buckets all counting as zero; ties are broken by a rank
// drawn from key bits that do not decide the key's slot.
type victim struct {
	debt int64
	rank uint64
}

func (a victim) cmp(b victim) int {
	if a.debt != b.debt {
		return cmp.Compare(a.debt, b.debt)
	}
	return cmp.Compare(a.rank, b.rank)
}

func (sh *shard) victim(i int, now int64, seed uint64) victim {
	return victim{
		debt: max(0, sh.slots[i].tat-now),
		// home uses the key's high bits; rotated, the low ones rank.
		rank: bits.RotateLeft64(sh.slots[i].key, 32) ^ seed,
	}
}

// evict frees about capacity/evictDivisor slots, and at least one, so that
// its scan of the table is paid once per that many inserts. It drops the
// buckets with the least debt: idle ones (full again) cost nothing to
// forget, so when there are enough of them all go; otherwise, forgetting a
// small debt admits the fewest extra requests, and a heavily throttled
// client keeps its bucket. The cut-off comes from a sample. Victims are
// spread over the whole table: clearing one stretch at a time would leave
// the rest to fill into long probe runs.
func (sh *shard) evict(now int64, seed uint64) {
	target := max(1, sh.capacity/evictDivisor)
	s := sh.slots

	var buf [sampleSize]victim
	sample := buf[:0]
	for i, seen := home(seed, len(s)), 0; seen < len(s) && len(sample) < sampleSize; seen++ {
		if s[i].key != 0 {
			sample = append(sample, sh.victim(i, now, seed))
		}
		if i++; i == len(s) {
			i = 0
		}
	}
	slices.SortFunc(sample, victim.cmp)
	cut := sample[min(len(sample)-1, target*len(sample)/sh.count)]
	if cut.debt == 0 {
		cut.rank = math.MaxUint64
	}

	// The cut is a sampled entry's own, so at least one slot is freed.
	for i := 0; i < len(s); {
		if s[i].key != 0 && sh.victim(i, now, seed).cmp(cut) <= 0 {
			// Look at i again: deleteAt may have moved an entry into it.
			// Entries only move backwards within their run, so one the
			// scan has not reached lands on i or ahead of it, and none is
			// skipped; one it has passed may be judged twice, alike.
			sh.deleteAt(i)
			continue
		}
		i++
	}
}
