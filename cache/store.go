package cache

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/allegro/bigcache/v3"
	"github.com/cespare/xxhash/v2"
)

// Limits that mirror Amazon API Gateway's cache, so a route configured for
// AWS behaves the same here.
const (
	// DefaultTTL is the route TTL when a route enables caching without one.
	DefaultTTL = 300 * time.Second
	// MaxTTL is the longest route TTL; 0 disables caching for the route.
	MaxTTL = 3600 * time.Second
	// DefaultMaxItemSize is the largest cacheable encoded entry.
	DefaultMaxItemSize = 1 << 20
	// DefaultMaxWait bounds how long a miss waits for another caller's fetch.
	DefaultMaxWait = 5 * time.Second
	// DefaultCleanWindow is how often bigcache sweeps entries older than its
	// life window.
	DefaultCleanWindow = time.Minute
)

const (
	mib = 1 << 20
	// slotLen is the size of the bigcache key: the 8-byte hash of the
	// logical key. The logical key itself lives inside the entry.
	slotLen = 8
	// bigcacheOverhead is what bigcache adds around a value in its queue:
	// timestamp, hash, key length, the slot key and a varint block size.
	bigcacheOverhead = 8 + 8 + 2 + slotLen + 5
	// itemsPerShard is how many largest-size items a derived shard must hold,
	// so storing one evicts at most 1/8 of a shard and the per-shard buffers
	// bigcache keeps (one largest entry each) stay within 1/8 of MaxSize.
	itemsPerShard = 8
	maxShards     = 256
	statStripes   = 16
)

// ErrTooLarge is returned (wrapped) by Set for an entry over the item cap.
var ErrTooLarge = errors.New("entry exceeds the cache item size limit")

// Hasher maps a logical key to 64 bits. It has bigcache's Hasher method set.
// Implementations must not retain the string, which may alias a reused
// buffer.
type Hasher interface {
	Sum64(string) uint64
}

// Config sizes and tunes a Store. Only MaxSize is required.
type Config struct {
	// MaxSize bounds the bytes bigcache holds for entries (cache.max_size).
	// bigcache counts in whole MiB, so it is rounded down to a MiB multiple
	// and must be at least 1 MiB.
	MaxSize int64
	// MaxItemSize is the largest encoded entry (key, headers, body and 21
	// bytes of framing plus 6 per header) Set accepts. 0 means
	// DefaultMaxItemSize, lowered if needed to fit half a shard of a small
	// store; an explicit value that does not fit is an error.
	MaxItemSize int
	// StaleGrace is how long past expiry GetStale may still serve an entry
	// while one caller refreshes it. 0 disables stale serving.
	StaleGrace time.Duration
	// MaxWait bounds how long Flight waiters wait, counted from when the
	// leader started. 0 means DefaultMaxWait.
	MaxWait time.Duration
	// CleanWindow is the interval of bigcache's sweep of entries older than
	// MaxTTL+StaleGrace. 0 means DefaultCleanWindow.
	CleanWindow time.Duration
	// Shards is the number of bigcache shards, a power of two. 0 derives it
	// from MaxSize and MaxItemSize (see docs/cache.md).
	Shards int
	// Hasher hashes logical keys. nil means xxhash.
	Hasher Hasher
}

// Store is the shared response cache. It is safe for concurrent use.
type Store struct {
	bc       *bigcache.BigCache
	hasher   Hasher // nil: call xxhash directly, avoiding an interface call
	maxItem  int
	grace    int64 // StaleGrace in nanoseconds
	maxWait  time.Duration
	maxBytes int64
	shards   int

	// gen is the store-wide generation, bumped by Flush so that a fetch
	// that began before the flush stores under a key nobody asks for.
	gen atomic.Uint64

	nsMu       sync.Mutex
	namespaces map[nsName]*Namespace

	flights [flightShards]flightShard

	// bufs holds encode buffers for Set; bigcache copies what it stores.
	bufs sync.Pool

	stripes [statStripes]hitStripe
	events  eventCounters

	// hot serves repeated hits without bigcache's copy.
	hot *hotFront

	// live is the bytes of the entries bigcache holds, kept by sizes.
	live liveBytes

	// announce hears invalidations made here (cluster mode; nil alone).
	announce atomic.Pointer[announcerBox]
}

// liveBytes counts the bytes of live entries. bigcache reports only what
// it has allocated, and it replaces an entry without a callback, so the
// size of every stored slot is kept here to subtract on overwrite. The
// maps hold one small value per entry bigcache holds, so they are bounded
// by max_size over the smallest entry.
type liveBytes struct {
	total   atomic.Int64
	stripes [liveStripes]liveStripe
}

type liveStripe struct {
	mu    sync.Mutex
	sizes map[uint64]uint32
	_     [64 - 8 - 8]byte
}

const liveStripes = 64

func (l *liveBytes) init() {
	for i := range l.stripes {
		l.stripes[i].sizes = make(map[uint64]uint32)
	}
}

// set records that slot h now holds an entry of n bytes.
func (l *liveBytes) set(h uint64, n int) {
	st := &l.stripes[h%liveStripes]
	st.mu.Lock()
	old := st.sizes[h]
	st.sizes[h] = uint32(n)
	st.mu.Unlock()
	l.total.Add(int64(n) - int64(old))
}

// remove records that slot h no longer holds an entry.
func (l *liveBytes) remove(h uint64) {
	st := &l.stripes[h%liveStripes]
	st.mu.Lock()
	old, ok := st.sizes[h]
	delete(st.sizes, h)
	st.mu.Unlock()
	if ok {
		l.total.Add(-int64(old))
	}
}

func (l *liveBytes) clear() {
	for i := range l.stripes {
		st := &l.stripes[i]
		st.mu.Lock()
		var n int64
		for _, v := range st.sizes {
			n += int64(v)
		}
		clear(st.sizes)
		st.mu.Unlock()
		l.total.Add(-n)
	}
}

func (l *liveBytes) load() int64 { return max(l.total.Load(), 0) }

// hitStripe spreads the per-lookup counters over cache lines so cores
// counting different keys do not contend on one line.
type hitStripe struct {
	hits, misses, stale atomic.Uint64
	_                   [64 - 3*8]byte
}

type eventCounters struct {
	sets, rejected, evictions, deletes, collisions, coalesced, waitTimeouts atomic.Uint64
}

// New creates a Store from cfg. Close it to stop bigcache's sweeper.
func New(cfg Config) (*Store, error) {
	explicitItem := cfg.MaxItemSize != 0
	if !explicitItem {
		cfg.MaxItemSize = DefaultMaxItemSize
	}
	if cfg.MaxWait == 0 {
		cfg.MaxWait = DefaultMaxWait
	}
	if cfg.CleanWindow == 0 {
		cfg.CleanWindow = DefaultCleanWindow
	}
	switch {
	case cfg.MaxSize < mib:
		return nil, fmt.Errorf("cache: max size %d bytes is below the 1 MiB minimum", cfg.MaxSize)
	case cfg.MaxItemSize < fixedEntrySize:
		return nil, fmt.Errorf("cache: max item size %d is below the %d-byte entry framing", cfg.MaxItemSize, fixedEntrySize)
	case cfg.StaleGrace < 0 || cfg.MaxWait < 0 || cfg.CleanWindow < 0:
		return nil, fmt.Errorf("cache: negative duration in config (stale grace %v, max wait %v, clean window %v)",
			cfg.StaleGrace, cfg.MaxWait, cfg.CleanWindow)
	}
	mbs := int(cfg.MaxSize / mib)
	maxBytes := int64(mbs) * mib
	shards := cfg.Shards
	if shards == 0 {
		shards = deriveShards(maxBytes, cfg.MaxItemSize)
	}
	if shards < 1 || shards&(shards-1) != 0 {
		return nil, fmt.Errorf("cache: shard count %d is not a power of two", shards)
	}
	// bigcache can always place an entry smaller than half a shard (even
	// while the shard's queue is still growing); larger ones may be refused.
	// A default cap shrinks to fit a small store; an explicit one is an error.
	shardBytes := maxBytes / int64(shards)
	if fit := int(shardBytes/2) - bigcacheOverhead - 1; cfg.MaxItemSize > fit && !explicitItem {
		cfg.MaxItemSize = fit
	}
	if int64(cfg.MaxItemSize+bigcacheOverhead) >= shardBytes/2 {
		return nil, fmt.Errorf("cache: max item size %d does not fit half of a %d-byte shard (max size %d, %d shards)",
			cfg.MaxItemSize, shardBytes, maxBytes, shards)
	}

	s := &Store{
		hasher:     cfg.Hasher,
		maxItem:    cfg.MaxItemSize,
		grace:      int64(cfg.StaleGrace),
		maxWait:    cfg.MaxWait,
		maxBytes:   maxBytes,
		hot:        newHotFront(maxBytes, cfg.MaxItemSize),
		shards:     shards,
		namespaces: make(map[nsName]*Namespace),
	}
	s.bufs.New = func() any {
		b := make([]byte, 0, 4096)
		return &b
	}
	for i := range s.flights {
		s.flights[i].m = make(map[uint64]*Flight)
	}
	s.live.init()

	bc, err := bigcache.New(context.Background(), bigcache.Config{
		Shards: shards,
		// Entries carry their own expiry; the life window is only the
		// outer bound after which bigcache reclaims them unread.
		LifeWindow:  MaxTTL + cfg.StaleGrace,
		CleanWindow: cfg.CleanWindow,
		// These two size each shard's queue at its final capacity
		// (HardMaxCacheSize/Shards) from the start: a queue that grows
		// doubles by copying, leaving the old array as garbage, which
		// would push the process far past max_size. Untouched pages of
		// the array cost no resident memory until entries fill them.
		MaxEntriesInWindow: shards * minEntriesPerShard,
		MaxEntrySize:       int(maxBytes) / shards / minEntriesPerShard,
		HardMaxCacheSize:   mbs,
		Hasher:             slotHasher{},
		Logger:             nopLogger{},
		OnRemoveWithReason: s.removed,
		// bigcache copies key and value for every callback, so deletes
		// (Delete accounts for them itself) are left out; capacity
		// evictions and the sweeper's life-window removals, neither on a
		// request's path, must reach the live byte count.
	}.OnRemoveFilterSet(bigcache.NoSpace, bigcache.Expired))
	if err != nil {
		return nil, fmt.Errorf("cache: create bigcache (%d MiB, %d shards): %w", mbs, shards, err)
	}
	s.bc = bc
	return s, nil
}

// removed is bigcache's callback for an entry it dropped for space or age.
func (s *Store) removed(slot string, _ []byte, reason bigcache.RemoveReason) {
	if reason == bigcache.NoSpace {
		s.events.evictions.Add(1)
	}
	s.live.remove(slotHasher{}.Sum64(slot))
}

// deriveShards picks the largest power of two up to maxShards for which
// every shard holds itemsPerShard items of maxItem bytes.
func deriveShards(maxBytes int64, maxItem int) int {
	n := 1
	for n < maxShards && maxBytes/int64(2*n) >= int64(itemsPerShard)*int64(maxItem+bigcacheOverhead) {
		n *= 2
	}
	return n
}

// Close stops bigcache's background sweeper. The store must not be used
// afterwards.
func (s *Store) Close() error {
	if err := s.bc.Close(); err != nil {
		return fmt.Errorf("cache: close: %w", err)
	}
	return nil
}

// Hash returns the hash of a logical key: the value Flight and the store's
// slot selection use.
func (s *Store) Hash(key []byte) uint64 {
	if s.hasher == nil {
		return xxhash.Sum64(key)
	}
	return s.hasher.Sum64(unsafe.String(unsafe.SliceData(key), len(key)))
}

// Get looks key up at time now (Unix nanoseconds) and, on a fresh hit, fills
// dst and returns true. Expired entries, absent keys and entries stored under
// a different key with the same hash are misses; on a miss the contents of
// dst are unspecified.
func (s *Store) Get(key []byte, now int64, dst *Entry) bool {
	h := s.Hash(key)
	st := &s.stripes[h%statStripes]
	if s.read(key, h, dst) && now < dst.Expires {
		st.hits.Add(1)
		return true
	}
	st.misses.Add(1)
	return false
}

// read decodes the entry stored for key into dst regardless of expiry.
func (s *Store) read(key []byte, h uint64, dst *Entry) bool {
	if e := s.hot.get(h); e != nil && decodeEntry(e.raw, key, dst) == decodeOK {
		return true
	}
	epoch := s.hot.epoch(h)
	binary.LittleEndian.PutUint64(dst.slot[:], h)
	// bigcache wants a string key. This one aliases dst.slot without a copy:
	// bigcache only hashes and compares it during the call and copies what it
	// keeps, so the string never outlives the bytes it points at.
	v, err := s.bc.Get(unsafe.String(&dst.slot[0], slotLen))
	if err != nil {
		return false
	}
	switch decodeEntry(v, key, dst) {
	case decodeOK:
		// v is this read's own copy and nothing writes to it: the front
		// may share it with later readers.
		s.hot.put(h, v, epoch)
		return true
	case decodeOtherKey:
		s.events.collisions.Add(1)
	}
	return false
}

// Set stores e under key, replacing any previous entry. It refuses, with an
// error wrapping ErrTooLarge, an entry whose encoding exceeds the item cap.
// e is copied; hop-by-hop headers are dropped. The caller sets e.Expires;
// whatever it says, bigcache reclaims the entry MaxTTL+StaleGrace after Set.
func (s *Store) Set(key []byte, e *Entry) error {
	n, err := encodedSize(key, e)
	if err != nil {
		s.events.rejected.Add(1)
		return fmt.Errorf("cache: set: %w", err)
	}
	if n > s.maxItem {
		s.events.rejected.Add(1)
		return fmt.Errorf("cache: set: entry of %d bytes over the %d-byte item cap: %w", n, s.maxItem, ErrTooLarge)
	}
	h := s.Hash(key)
	s.hot.drop(h)
	bp := s.bufs.Get().(*[]byte)
	b := binary.LittleEndian.AppendUint64((*bp)[:0], h)
	b = appendEntry(b, key, e)
	// The slot key aliases the pooled buffer; bigcache copies key and value
	// into its queue before Set returns.
	err = s.bc.Set(unsafe.String(&b[0], slotLen), b[slotLen:])
	s.hot.drop(h) // again: a read may have fetched the old value meanwhile
	*bp = b
	s.bufs.Put(bp)
	if err != nil {
		s.events.rejected.Add(1)
		return fmt.Errorf("cache: set %d-byte entry: %w", n, err)
	}
	s.live.set(h, n+bigcacheOverhead)
	s.events.sets.Add(1)
	return nil
}

// Delete removes the entry for key and reports whether there was one. The
// slot is addressed by hash, so an entry of another key with the same hash
// (odds about 2^-64 per pair) would be dropped too, costing one refetch.
func (s *Store) Delete(key []byte) bool {
	var slot [slotLen]byte
	h := s.Hash(key)
	s.hot.drop(h)
	binary.LittleEndian.PutUint64(slot[:], h)
	if s.bc.Delete(string(slot[:])) != nil {
		return false
	}
	s.live.remove(h)
	s.events.deletes.Add(1)
	return true
}

// Flush empties the whole store. It also advances the store generation, so a
// fetch that started before the flush stores under a key no later request
// builds.
func (s *Store) Flush() error {
	err := s.flushAll()
	s.announceInv(Invalidation{Kind: InvalidateAll})
	return err
}

func (s *Store) flushAll() error {
	s.gen.Add(1)
	s.hot.clear()
	err := s.bc.Reset()
	// bigcache drops the entries without callbacks.
	s.live.clear()
	if err != nil {
		return fmt.Errorf("cache: flush: %w", err)
	}
	return nil
}

// Stats is a snapshot of the store's counters, for /metrics and the admin
// /cache/stats endpoint.
type Stats struct {
	// Hits and Misses count Get and GetStale lookups. A stale entry served
	// by GetStale counts as a StaleHit, not a Hit.
	Hits      uint64 `json:"hits"`
	Misses    uint64 `json:"misses"`
	StaleHits uint64 `json:"stale_hits"`
	// Sets counts stored entries; Rejected counts refused ones (over the item
	// cap or not representable).
	Sets     uint64 `json:"sets"`
	Rejected uint64 `json:"rejected"`
	// Evictions counts entries bigcache dropped to make room (FIFO per shard).
	Evictions uint64 `json:"evictions"`
	Deletes   uint64 `json:"deletes"`
	// Collisions counts reads that found another key with the same hash.
	Collisions uint64 `json:"collisions"`
	// Coalesced counts misses answered by another caller's fetch;
	// WaitTimeouts counts waiters sent to fetch on their own after MaxWait.
	Coalesced    uint64 `json:"coalesced"`
	WaitTimeouts uint64 `json:"wait_timeouts"`
	// Entries is the number of entries held, including expired ones not yet
	// overwritten or swept.
	Entries int `json:"entries"`
	// Bytes is what the live entries take: each encoded entry plus
	// bigcache's framing, counted as Set stores them and as overwrites,
	// deletes, evictions and sweeps remove them. Expired entries not yet
	// swept still count.
	Bytes int64 `json:"bytes"`
	// CapacityBytes is what bigcache has allocated for its queues: they
	// grow on demand and are then reused, so this is memory held.
	CapacityBytes int64 `json:"capacity_bytes"`
	MaxBytes      int64 `json:"max_bytes"`
	Shards        int   `json:"shards"`
}

// Stats returns current counters. It visits every shard, so it is meant for
// scrapes, not per request.
func (s *Store) Stats() Stats {
	st := Stats{
		Sets:          s.events.sets.Load(),
		Rejected:      s.events.rejected.Load(),
		Evictions:     s.events.evictions.Load(),
		Deletes:       s.events.deletes.Load(),
		Collisions:    s.events.collisions.Load(),
		Coalesced:     s.events.coalesced.Load(),
		WaitTimeouts:  s.events.waitTimeouts.Load(),
		Entries:       s.bc.Len(),
		Bytes:         s.live.load(),
		CapacityBytes: int64(s.bc.Capacity()),
		MaxBytes:      s.maxBytes,
		Shards:        s.shards,
	}
	for i := range s.stripes {
		st.Hits += s.stripes[i].hits.Load()
		st.Misses += s.stripes[i].misses.Load()
		st.StaleHits += s.stripes[i].stale.Load()
	}
	return st
}

// slotHasher is bigcache's Hasher. Slot keys are already xxhash digests of
// the logical key, so it decodes them instead of hashing them a second time.
type slotHasher struct{}

func (slotHasher) Sum64(k string) uint64 {
	if len(k) != slotLen {
		return xxhash.Sum64String(k)
	}
	return uint64(k[0]) | uint64(k[1])<<8 | uint64(k[2])<<16 | uint64(k[3])<<24 |
		uint64(k[4])<<32 | uint64(k[5])<<40 | uint64(k[6])<<48 | uint64(k[7])<<56
}

// nopLogger keeps bigcache from writing to stdout; the store reports through
// Stats instead.
type nopLogger struct{}

func (nopLogger) Printf(string, ...any) {}

// minEntriesPerShard is bigcache's floor on a shard's initial entry
// count; with it the initial queue is exactly a shard's share of max_size.
const minEntriesPerShard = 10

// MaxItemSize is the largest entry Set accepts, in bytes.
func (s *Store) MaxItemSize() int { return s.maxItem }
