package config

import (
	"strings"
	"testing"
	"time"
)

const clusterAPI = `apis:
  a:
    integrations: {m: {type: mock}}
    routes: {$default: {integration: m}}
`

// Without a cluster block nothing is defaulted: single-instance configs
// stay exactly as they were.
func TestClusterAbsentLeavesEverythingUnset(t *testing.T) {
	c, _, err := Parse("f.yaml", []byte(clusterAPI), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Cluster.Enabled() || c.Cluster.InstanceID != "" || c.Cluster.SyncInterval != 0 || c.Cluster.OnRedisDown != (ClusterOnDown{}) {
		t.Errorf("cluster defaulted without a cluster block: %+v", c.Cluster)
	}
}

func TestClusterDefaultsAndPasswordFromEnvironment(t *testing.T) {
	src := "cluster:\n  redis: redis://127.0.0.1:6379/0\n  password: ${REDIS_PASSWORD}\n" + clusterAPI
	c, _, err := Parse("f.yaml", []byte(src), env(map[string]string{"REDIS_PASSWORD": "s3cret"}))
	if err != nil {
		t.Fatal(err)
	}
	cl := c.Cluster
	if cl.Password != "s3cret" {
		t.Errorf("password = %q, want it from the environment", cl.Password)
	}
	if !strings.Contains(cl.InstanceID, "-") || cl.SyncInterval.D() != 100*time.Millisecond ||
		cl.OnRedisDown.Throttles != FailOpen || cl.OnRedisDown.Quotas != FailClosed {
		t.Errorf("defaults not applied: %+v", cl)
	}
}

func TestClusterAddressForms(t *testing.T) {
	for _, tc := range []struct {
		name, redis, wantErr string
	}{
		{"single server", `"redis://10.0.0.1:6379/2"`, ""},
		{"tls", `"rediss://user:pw@redis.example:6380"`, ""},
		{"sentinel", `"redis-sentinel://10.0.0.1:26379,10.0.0.2:26379/mymaster"`, ""},
		{"cluster seeds", `["10.0.0.1:7000", "10.0.0.2:7000", "redis://10.0.0.3:7000"]`, ""},
		{"sentinel without master", `"redis-sentinel://10.0.0.1:26379"`, "f.yaml:2: cluster.redis: redis-sentinel URL needs the master name"},
		{"wrong scheme", `"http://10.0.0.1:6379"`, "f.yaml:2: cluster.redis: want scheme redis"},
		{"bare address alone", `"10.0.0.1:6379"`, "f.yaml:2: cluster.redis: want a redis://"},
		{"bad seed", `["10.0.0.1:7000", "nohost"]`, "cluster.redis[1]: want host:port"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := "cluster:\n  redis: " + tc.redis + "\n" + clusterAPI
			_, _, err := Parse("f.yaml", []byte(src), env(nil))
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("want valid, got %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("want error containing %q, got %v", tc.wantErr, err)
			}
		})
	}
}

func TestClusterBoundsAreCheckedWithTheirLines(t *testing.T) {
	for _, tc := range []struct {
		name, block, wantErr string
	}{
		{"interval too short", "  redis: redis://h:1\n  sync_interval: 1ms\n", "f.yaml:3: cluster.sync_interval: between 10ms and 10s"},
		{"interval too long", "  redis: redis://h:1\n  sync_interval: 1m\n", "f.yaml:3: cluster.sync_interval: between 10ms and 10s"},
		{"bad policy", "  redis: redis://h:1\n  on_redis_down:\n    quotas: maybe\n", "f.yaml:4: cluster.on_redis_down.quotas: want fail_open or fail_closed"},
		{"instance id with brace", "  redis: redis://h:1\n  instance_id: \"a{b}\"\n", "f.yaml:3: cluster.instance_id"},
		{"keys without redis", "  sync_interval: 1s\n", "cluster.redis: required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := "cluster:\n" + tc.block + clusterAPI
			_, _, err := Parse("f.yaml", []byte(src), env(nil))
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("want error containing %q, got %v", tc.wantErr, err)
			}
		})
	}
}
