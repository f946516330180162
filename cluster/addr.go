package cluster

import (
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/redis/rueidis"
)

// clientOption turns the configured addresses into a client option: one
// redis:// or rediss:// URL (a single server), one redis-sentinel:// URL
// (hosts separated by commas, the master name as path), or several seed
// addresses of a Redis Cluster. Username and password, when set, win over
// the URL's.
func clientOption(addrs []string, username, password string) (rueidis.ClientOption, error) {
	var opt rueidis.ClientOption
	switch {
	case len(addrs) == 0:
		return opt, fmt.Errorf("cluster: no redis address")
	case len(addrs) == 1 && strings.HasPrefix(addrs[0], "redis-sentinel://"):
		u, err := url.Parse(addrs[0])
		if err != nil {
			return opt, fmt.Errorf("cluster: redis-sentinel URL: %w", err)
		}
		parts := strings.Split(strings.Trim(u.Path, "/"), "/")
		if parts[0] == "" {
			return opt, fmt.Errorf("cluster: redis-sentinel URL %q names no master", addrs[0])
		}
		opt.Sentinel.MasterSet = parts[0]
		for _, h := range strings.Split(u.Host, ",") {
			if _, _, err := net.SplitHostPort(h); err != nil {
				h = net.JoinHostPort(h, "26379")
			}
			opt.InitAddress = append(opt.InitAddress, h)
		}
		if u.User != nil {
			opt.Username = u.User.Username()
			opt.Password, _ = u.User.Password()
		}
	case len(addrs) == 1:
		o, err := rueidis.ParseURL(addrs[0])
		if err != nil {
			return opt, fmt.Errorf("cluster: redis URL: %w", err)
		}
		opt = o
	default:
		for _, a := range addrs {
			if strings.Contains(a, "://") {
				o, err := rueidis.ParseURL(a)
				if err != nil {
					return opt, fmt.Errorf("cluster: seed %q: %w", a, err)
				}
				opt.InitAddress = append(opt.InitAddress, o.InitAddress...)
				if opt.TLSConfig == nil {
					opt.TLSConfig = o.TLSConfig
				}
				if opt.Password == "" {
					opt.Username, opt.Password = o.Username, o.Password
				}
				continue
			}
			opt.InitAddress = append(opt.InitAddress, a)
		}
	}
	if username != "" {
		opt.Username = username
	}
	if password != "" {
		opt.Password = password
	}
	if opt.Sentinel.MasterSet != "" {
		opt.Sentinel.Username, opt.Sentinel.Password = opt.Username, opt.Password
	}
	// Client-side caching would make Redis track keys for us; nothing
	// here reads a key twice without writing it.
	opt.DisableCache = true
	opt.Dialer.Timeout = 2 * time.Second
	opt.ConnWriteTimeout = 2 * time.Second
	return opt, nil
}
