package pipeline

import (
	"bytes"
	"fmt"
	"hash/maphash"
	"maps"
	"slices"
	"sort"
	"time"

	"github.com/frontdeskgw/frontdesk/limiter"
	"github.com/frontdeskgw/frontdesk/registry"
)

// KeySpec is one api_keys entry.
type KeySpec struct {
	Name, Value, Plan string
	Enabled           bool
}

// PlanSpec is one usage_plans entry.
type PlanSpec struct {
	Name     string
	Throttle *limiter.Limit
	Quota    *limiter.Quota
	APIs     []string
	// Routes are per key and route throttles, by "api route key".
	Routes map[string]limiter.Limit
}

// CompileKeys builds the key table of a snapshot with state from st,
// resolved in generation g, so that quota counts, usage tallies and
// buckets carry over a reload.
func CompileKeys(st *State, g *registry.Gen, keys []KeySpec, plans []PlanSpec) (*Keys, error) {
	byName := map[string]*Plan{}
	planQuota := map[string]*limiter.Quota{}
	for _, ps := range plans {
		p := &Plan{Name: ps.Name, APIs: map[string]bool{}, Routes: map[string]*limiter.Set{}}
		for _, a := range ps.APIs {
			p.APIs[a] = true
		}
		if ps.Throttle != nil {
			set, err := st.set(g, "plan:"+ps.Name, *ps.Throttle, MaxKeysPerSet)
			if err != nil {
				return nil, fmt.Errorf("usage plan %s: %w", ps.Name, err)
			}
			p.Throttle = set
		}
		for _, r := range slices.Sorted(maps.Keys(ps.Routes)) {
			set, err := st.set(g, "plan-route:"+ps.Name+":"+r, ps.Routes[r], MaxKeysPerSet)
			if err != nil {
				return nil, fmt.Errorf("usage plan %s, route %s: %w", ps.Name, r, err)
			}
			p.Routes[r] = set
		}
		p.HasQuota = ps.Quota != nil
		planQuota[ps.Name] = ps.Quota
		byName[ps.Name] = p
	}
	t := &Keys{seed: maphash.MakeSeed(), byHash: map[uint64][]*Key{}, state: st}
	quotas := map[uint64]limiter.Quota{}
	var ids []uint64
	for _, ks := range keys {
		if ks.Value == "" {
			continue // disabled at load (an unset variable)
		}
		k := &Key{Name: ks.Name, nameBytes: []byte(ks.Name), value: []byte(ks.Value), ID: limiter.KeyString(ks.Name), Enabled: ks.Enabled, Plan: byName[ks.Plan]}
		t.add(k)
		ids = append(ids, k.ID)
		if q := planQuota[ks.Plan]; q != nil {
			quotas[k.ID] = *q
		}
	}
	var err error
	t.quotas, t.usage, err = st.keyState(g, quotas, ids)
	if err != nil {
		return nil, err
	}
	return t, nil
}

// add puts k in the table; a later key with the same value replaces the
// earlier one.
func (k *Keys) add(key *Key) {
	h := maphash.Bytes(k.seed, key.value)
	same := k.byHash[h]
	for i, old := range same {
		if bytes.Equal(old.value, key.value) {
			same[i] = key
			return
		}
	}
	k.byHash[h] = append(same, key)
}

// allKeys returns every key of the table, in no particular order.
func (k *Keys) allKeys() []*Key {
	var all []*Key
	for _, same := range k.byHash {
		all = append(all, same...)
	}
	return all
}

// KeyUsage is one key's figures for the admin /usage report.
type KeyUsage struct {
	Name        string    `json:"name"`
	Plan        string    `json:"plan"`
	Enabled     bool      `json:"enabled"`
	Admitted    uint64    `json:"admitted"`
	Throttled   uint64    `json:"throttled"`
	QuotaUsed   int64     `json:"quotaUsed,omitempty"`
	QuotaLeft   int64     `json:"quotaRemaining,omitempty"`
	QuotaResets time.Time `json:"quotaResets,omitzero"`
}

// Usage reports every key's figures, sorted by name.
func (k *Keys) Usage(now time.Time) []KeyUsage {
	out := make([]KeyUsage, 0, len(k.byHash))
	for _, key := range k.allKeys() {
		u := KeyUsage{Name: key.Name, Enabled: key.Enabled}
		if key.Plan != nil {
			u.Plan = key.Plan.Name
		}
		if c, ok := k.usage.Get(key.ID); ok {
			u.Admitted, u.Throttled = c.Admitted, c.Throttled
		}
		if used, left, reset, ok := k.quotas.Peek(key.ID, now); ok {
			u.QuotaUsed, u.QuotaLeft, u.QuotaResets = used, left, reset
		}
		out = append(out, u)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
