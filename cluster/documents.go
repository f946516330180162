package cluster

import (
	"context"
	"fmt"
	"strconv"

	"github.com/redis/rueidis"
)

// Documents are values every instance must agree on, such as the control
// plane's state: one per name, stored with a version, and replaced only
// by a writer that read the latest version (compare and set). Two
// instances changing a document at once never lose a change: the second
// is told to read it again. Documents are small and rarely written; they
// never touch the request path.

// saveDocScript stores ARGV[1] as version ARGV[2]+1 when the stored
// version is still ARGV[2] (0: never stored), atomically.
var saveDocScript = rueidis.NewLuaScript(`
local cur = tonumber(redis.call('GET', KEYS[2]) or '0')
if cur ~= tonumber(ARGV[2]) then return 0 end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('SET', KEYS[2], cur + 1)
return 1`)

// docKeys are a document's value and version keys. They share one hash
// tag, so a Redis Cluster keeps both on the shard the script runs on.
func (c *Cluster) docKeys(name string) (value, version string) {
	k := c.prefix + "doc:{" + name + "}"
	return k, k + ":v"
}

// docTopic is the bus topic that announces a document's new versions.
func docTopic(name string) string { return "doc:" + name }

// ensureConn returns the client, connecting first when the loops have not
// yet (a document is read before Start, while the server builds its
// config).
func (c *Cluster) ensureConn() (rueidis.Client, error) {
	if cl := c.connect(); cl != nil {
		return cl, nil
	}
	return nil, fmt.Errorf("not connected to redis at %v", c.opt.Addrs)
}

// LoadDoc returns document name and its version; version 0 and no value
// when it was never saved.
func (c *Cluster) LoadDoc(ctx context.Context, name string) ([]byte, int64, error) {
	cl, err := c.ensureConn()
	if err != nil {
		return nil, 0, fmt.Errorf("load %s: %w", name, err)
	}
	value, version := c.docKeys(name)
	vals, err := cl.Do(ctx, cl.B().Mget().Key(value, version).Build()).ToArray()
	if err != nil {
		return nil, 0, fmt.Errorf("load %s: %w", name, err)
	}
	raw, err := vals[0].AsBytes()
	if rueidis.IsRedisNil(err) {
		return nil, 0, nil
	} else if err != nil {
		return nil, 0, fmt.Errorf("load %s: %w", name, err)
	}
	v, err := vals[1].AsInt64()
	if err != nil {
		return nil, 0, fmt.Errorf("load %s: version: %w", name, err)
	}
	return raw, v, nil
}

// DocVersion returns document name's version (0: never saved).
func (c *Cluster) DocVersion(ctx context.Context, name string) (int64, error) {
	cl, err := c.ensureConn()
	if err != nil {
		return 0, fmt.Errorf("version of %s: %w", name, err)
	}
	_, version := c.docKeys(name)
	v, err := cl.Do(ctx, cl.B().Get().Key(version).Build()).AsInt64()
	if rueidis.IsRedisNil(err) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("version of %s: %w", name, err)
	}
	return v, nil
}

// SaveDoc stores doc as version v+1 of document name if its stored
// version is still v, and announces the new version to every instance;
// false when another instance saved first.
func (c *Cluster) SaveDoc(ctx context.Context, name string, doc []byte, v int64) (bool, error) {
	cl, err := c.ensureConn()
	if err != nil {
		return false, fmt.Errorf("save %s: %w", name, err)
	}
	value, version := c.docKeys(name)
	ok, err := saveDocScript.Exec(ctx, cl, []string{value, version},
		[]string{rueidis.BinaryString(doc), strconv.FormatInt(v, 10)}).AsInt64()
	if err != nil {
		return false, fmt.Errorf("save %s: %w", name, err)
	}
	if ok == 0 {
		return false, nil
	}
	// Watchers also poll the version, so a lost announcement only delays.
	_ = c.Publish(ctx, docTopic(name), strconv.AppendInt(nil, v+1, 10))
	return true, nil
}

// WatchDoc calls seen with document name's new versions as instances
// announce them, until Close. seen runs on the subscriber's goroutine and
// must not block.
func (c *Cluster) WatchDoc(name string, seen func(v int64)) {
	c.Subscribe(docTopic(name), func(msg []byte) {
		if v, err := strconv.ParseInt(string(msg), 10, 64); err == nil {
			seen(v)
		}
	})
}
