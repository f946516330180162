package server

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/frontdeskgw/frontdesk/config"
	"github.com/frontdeskgw/frontdesk/controlplane"
)

// openControlPlane builds the control plane (the admin listener mounts it)
// and, when it has created something, returns cfg with that added (the
// file re-read with the state on top). State that no longer fits the file
// (a function it names was removed, say) is kept but not served, and said.
func (s *Server) openControlPlane(cfg *config.Config) (*config.Config, error) {
	opts := controlplane.Options{StateFile: cfg.Admin.StateFile, Credentials: cfg.Admin.Credentials,
		Endpoint: s.endpoint, Log: s.log.With("component", "controlplane")}
	if s.cluster != nil {
		opts.Shared = controlplane.NewClusterShared(s.cluster)
	}
	cp, err := controlplane.New(opts)
	if err != nil {
		return nil, fmt.Errorf("control plane: %w", err)
	}
	cp.Bind(s)
	s.cp = cp
	if opts.Shared != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := cp.Pull(ctx)
		cancel()
		if err != nil {
			// The state file holds this instance's last copy; Follow
			// catches up once the shared state can be read.
			s.log.Error("the control plane's shared state could not be read: serving the local copy", "redis", cfg.Cluster.Redis, "err", err)
		}
		ctx, stop := context.WithCancel(context.Background())
		s.stopFollow = stop
		go cp.Follow(ctx)
	}
	if cp.Empty() {
		return cfg, nil
	}
	withState, _, err := s.load(cfg.File, cp.Extend)
	if err != nil {
		s.log.Error("the control plane's state does not fit the config file: serving the file alone until a change fits", "state_file", cfg.Admin.StateFile, "err", err)
		return cfg, nil
	}
	// The listeners are the ones asked for (flags may have overridden
	// the file's).
	withState.Server, withState.Admin = cfg.Server, cfg.Admin
	return withState, nil
}

// extend is what reloads add to the file: the control plane's state.
func (s *Server) extend() func(*config.Config) {
	if s.cp == nil {
		return nil
	}
	return s.cp.Extend
}

// Apply serves the config file extended by extend, as a reload does, once
// persist has kept the change: the control plane's changes come here.
func (s *Server) Apply(extend func(*config.Config), persist func() error) error {
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	old := s.cfg.Load()
	cfg, _, err := s.load(old.File, extend)
	if err != nil {
		return err
	}
	// A change of the control plane changes APIs, keys and plans only:
	// the listener settings in use stay (flags may have set them).
	cfg.Server, cfg.Admin = old.Server, old.Admin
	n, err := s.prepare(cfg)
	if err != nil {
		return err
	}
	if err := persist(); err != nil {
		n.pending.Abort()
		return err
	}
	s.commit(n)
	s.dropGoneRoutes(n.snap)
	s.dropGoneFunctions(cfg)
	s.reloads.Add(1)
	s.metrics.RecordReload(true, time.Now())
	s.log.Info("control plane change applied", "apis", len(cfg.APIs))
	return nil
}

// Config is the config in use.
func (s *Server) Config() *config.Config { return s.cfg.Load() }

// endpoint is the data-plane URL clients reach host on ("" : the
// listener's own address).
func (s *Server) endpoint(host string, websocket bool) string {
	scheme := "http"
	if websocket {
		scheme = "ws"
	}
	if s.certs != nil {
		scheme += "s"
	}
	addr := s.cfg.Load().Server.Listen
	if s.ln != nil {
		addr = s.ln.Addr().String()
	}
	h, port, err := net.SplitHostPort(addr)
	if err != nil {
		return scheme + "://" + addr
	}
	if host == "" {
		host = h
		if ip := net.ParseIP(h); ip != nil && ip.IsUnspecified() {
			host = "localhost"
		}
	}
	return scheme + "://" + net.JoinHostPort(host, port)
}
