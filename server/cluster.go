package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"sync"

	"github.com/frontdeskgw/frontdesk/cache"
	"github.com/frontdeskgw/frontdesk/cluster"
	"github.com/frontdeskgw/frontdesk/config"
	"github.com/frontdeskgw/frontdesk/wsbridge"
	"gopkg.in/yaml.v3"
)

// openCluster joins the cluster cfg names (nil without one). The cluster
// block is read once: changing it needs a restart.
func (s *Server) openCluster(cfg *config.Config) (*cluster.Cluster, error) {
	cc := cfg.Cluster
	if !cc.Enabled() {
		return nil, nil
	}
	cl, err := s.newCluster(cfg)
	if err != nil {
		return nil, err
	}
	cl.Subscribe(cacheTopic, func(msg []byte) {
		var m cacheMessage
		if json.Unmarshal(msg, &m) != nil || m.From == cl.InstanceID() {
			return // our own, already done here
		}
		if store := s.clusterCache.Load(); store != nil {
			store.Apply(m.Invalidation)
		}
	})
	return cl, nil
}

// cacheTopic carries cache invalidations between instances.
const cacheTopic = "cache"

type cacheMessage struct {
	From string `json:"from"`
	cache.Invalidation
}

// shareCache makes store's invalidations reach every instance.
func (s *Server) shareCache(store *cache.Store) {
	id := s.cluster.InstanceID()
	store.SetAnnouncer(func(inv cache.Invalidation) {
		b, err := json.Marshal(cacheMessage{From: id, Invalidation: inv})
		if err == nil {
			s.cluster.Announce(cacheTopic, b)
		}
	})
	s.clusterCache.Store(store)
}

func (s *Server) newCluster(cfg *config.Config) (*cluster.Cluster, error) {
	cc := cfg.Cluster
	var hashMu sync.Mutex
	var hashOf *config.Config
	var hash string
	return cluster.New(cluster.Options{
		Addrs: cc.Redis, Username: cc.Username, Password: cc.Password,
		InstanceID: cc.InstanceID, SyncInterval: cc.SyncInterval.D(),
		ThrottlesFailClosed: cc.OnRedisDown.Throttles == config.FailClosed,
		QuotasFailOpen:      cc.OnRedisDown.Quotas == config.FailOpen,
		Log:                 s.log,
		Info: func() map[string]string {
			c := s.cfg.Load()
			if c == nil { // not committed yet
				return nil
			}
			hashMu.Lock()
			defer hashMu.Unlock()
			if c != hashOf {
				hashOf, hash = c, ConfigHash(c)
			}
			return map[string]string{"config_hash": hash, "file": c.File, "listen": c.Server.Listen}
		},
	})
}

// ConfigHash names a config's content: the same file on every instance
// gives the same hash, whatever instance_id and listen addresses each
// sets (often from its environment).
func ConfigHash(c *config.Config) string {
	cp := *c
	cp.Cluster.InstanceID = ""
	cp.Server.Listen, cp.Admin.Listen = "", ""
	cp.File, cp.Lines = "", nil
	b, err := yaml.Marshal(&cp)
	if err != nil {
		return "unknown"
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:6])
}

// ClusterStatus lists the live instances (admin GET /cluster).
func (s *Server) ClusterStatus(ctx context.Context) (any, error) {
	if s.cluster == nil {
		return nil, nil
	}
	return s.cluster.Status(ctx)
}

// ClusterState is the readiness note on the cluster: "" without one.
func (s *Server) ClusterState() string {
	switch {
	case s.cluster == nil:
		return ""
	case s.cluster.Up():
		return "redis up"
	}
	return "redis down: shared state per on_redis_down"
}

// clusterConnections is the connection registry of WebSocket API api in
// cluster mode (nil without).
func (s *Server) clusterConnections(api string) wsbridge.Remote {
	if s.cluster == nil {
		return nil
	}
	return s.cluster.Connections(api)
}

// serveForwarded runs an @connections call another instance forwarded.
func (s *Server) serveForwarded(api, method, stage, id string, body []byte) (int, string, []byte) {
	b := s.bridges.all()[api]
	if b == nil {
		return 410, "application/json", []byte(`{"message":"Gone"}`)
	}
	return b.ServeForwarded(method, stage, id, body)
}
