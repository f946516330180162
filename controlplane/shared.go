package controlplane

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// Shared is where instances of a cluster keep one state: every change is
// stored there as a new version, and every instance applies each new
// version it sees.
type Shared interface {
	// Load returns the stored state and its version (0: none yet).
	Load(ctx context.Context) (*State, int64, error)
	// Save stores st as version v+1 if the stored version is still v,
	// and tells the other instances; false when another change came
	// first.
	Save(ctx context.Context, st *State, v int64) (bool, error)
	// Watch calls seen with the versions it learns of until ctx ends.
	Watch(ctx context.Context, seen func(v int64))
}

// sharedDoc is the cluster document that holds the state.
const sharedDoc = "controlplane"

// sharedPoll is how often the version is read besides the cluster's
// announcements, so an announcement lost while Redis reconnects delays a
// change by this much at most.
const sharedPoll = 250 * time.Millisecond

// Documents are versioned documents that every instance of a cluster
// sees (cluster.Cluster's, on Redis).
type Documents interface {
	LoadDoc(ctx context.Context, name string) ([]byte, int64, error)
	SaveDoc(ctx context.Context, name string, doc []byte, v int64) (bool, error)
	DocVersion(ctx context.Context, name string) (int64, error)
	WatchDoc(name string, seen func(v int64))
}

// ClusterShared keeps the state as a document of the cluster
// (cluster.redis).
type ClusterShared struct{ d Documents }

// NewClusterShared keeps the state in d.
func NewClusterShared(d Documents) *ClusterShared { return &ClusterShared{d: d} }

// Load implements Shared.
func (c *ClusterShared) Load(ctx context.Context) (*State, int64, error) {
	raw, v, err := c.d.LoadDoc(ctx, sharedDoc)
	if err != nil {
		return nil, 0, fmt.Errorf("read shared state: %w", err)
	}
	st := newState()
	if raw == nil {
		return st, 0, nil
	}
	if err := json.Unmarshal(raw, st); err != nil {
		return nil, 0, fmt.Errorf("shared state is not valid JSON: %w", err)
	}
	st.fill()
	return st, v, nil
}

// Save implements Shared: the cluster stores it only if no other change
// came since version v.
func (c *ClusterShared) Save(ctx context.Context, st *State, v int64) (bool, error) {
	b, err := json.Marshal(st)
	if err != nil {
		return false, fmt.Errorf("encode shared state: %w", err)
	}
	ok, err := c.d.SaveDoc(ctx, sharedDoc, b, v)
	if err != nil {
		return false, fmt.Errorf("write shared state: %w", err)
	}
	return ok, nil
}

// Watch implements Shared: the cluster's announcements of new versions,
// and a poll of the version.
func (c *ClusterShared) Watch(ctx context.Context, seen func(v int64)) {
	c.d.WatchDoc(sharedDoc, func(v int64) {
		if ctx.Err() == nil {
			seen(v)
		}
	})
	tick := time.NewTicker(sharedPoll)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if v, err := c.d.DocVersion(ctx, sharedDoc); err == nil {
				seen(v)
			}
		}
	}
}
