package cluster

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/redis/rueidis"
)

// The bus carries messages between instances over Redis pub/sub: fire and
// forget, delivered to the instances subscribed at that moment. That is
// what cache invalidations and @connections calls need: an instance that
// is not listening has no cache entry or connection to act on, and the
// caller learns the outcome from the reply channel, not from the bus.
// Streams would keep messages for instances that come later, which
// neither use wants.

// channel is the Redis channel of a bus topic. Pub/sub is cluster-wide in
// Redis Cluster, so no hash tag is needed.
func (c *Cluster) channel(topic string) string { return c.prefix + "bus:" + topic }

// Subscribe calls fn with every message published to topic once the
// subscription is in place (at once when Redis is reachable), by any
// instance (this one included). fn runs on the subscriber's goroutine and
// must not block.
func (c *Cluster) Subscribe(topic string, fn func([]byte)) {
	c.mu.Lock()
	first := len(c.subs) == 0
	c.subs[c.channel(topic)] = fn
	cl := c.client
	resubscribe := c.subRun
	c.mu.Unlock()
	switch {
	case cl != nil && first:
		c.startSubscriber(cl)
	case resubscribe != nil:
		// The running subscription lacks topic: end it, and the
		// subscriber subscribes again to every topic.
		resubscribe()
	}
}

// Publish sends msg to topic's subscribers on every instance.
func (c *Cluster) Publish(ctx context.Context, topic string, msg []byte) error {
	cl := c.conn()
	if cl == nil {
		return fmt.Errorf("publish %s: not connected to redis", topic)
	}
	if err := cl.Do(ctx, cl.B().Publish().Channel(c.channel(topic)).Message(rueidis.BinaryString(msg)).Build()).Error(); err != nil {
		return fmt.Errorf("publish %s: %w", topic, err)
	}
	return nil
}

// startSubscriber keeps one subscription to every topic alive until
// Close, subscribing again after Redis comes back.
func (c *Cluster) startSubscriber(cl rueidis.Client) {
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		fails := 0
		for c.subCtx.Err() == nil {
			run, cancel := context.WithCancel(c.subCtx)
			c.mu.Lock()
			chans := slices.Sorted(maps.Keys(c.subs))
			c.subRun = cancel
			c.mu.Unlock()
			err := cl.Receive(run, cl.B().Subscribe().Channel(chans...).Build(), func(m rueidis.PubSubMessage) {
				c.mu.Lock()
				fn := c.subs[m.Channel]
				c.mu.Unlock()
				if fn != nil {
					fn([]byte(m.Message))
				}
			})
			resubscribed := run.Err() != nil
			cancel()
			if c.subCtx.Err() != nil {
				return
			}
			if resubscribed {
				continue
			}
			fails++
			c.log.Debug("subscription ended; subscribing again", "err", err)
			select {
			case <-c.subCtx.Done():
				return
			case <-time.After(c.backoff(fails)):
			}
		}
	}()
}

// MaxQueuedAnnouncements bounds the messages Announce holds for sending;
// one more is dropped and counted.
const MaxQueuedAnnouncements = 4096

type announcement struct {
	topic string
	msg   []byte
}

// Announce queues msg for topic without waiting: for callers on a request
// path. A full queue drops it (frontdesk_cluster_announcements_dropped_total).
func (c *Cluster) Announce(topic string, msg []byte) {
	select {
	case c.outbox <- announcement{topic, msg}:
	default:
		c.announceDropped.Add(1)
	}
}

func (c *Cluster) announceLoop() {
	defer c.wg.Done()
	for {
		select {
		case <-c.stop:
			return
		case a := <-c.outbox:
			ctx, cancel := context.WithTimeout(context.Background(), c.timeout())
			if err := c.Publish(ctx, a.topic, a.msg); err != nil {
				c.announceDropped.Add(1)
				c.log.Debug("announcement not sent", "topic", a.topic, "err", err)
			}
			cancel()
		}
	}
}
