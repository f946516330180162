package server

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"time"

	"github.com/frontdeskgw/frontdesk/admin"
	"github.com/frontdeskgw/frontdesk/config"
	"github.com/frontdeskgw/frontdesk/gateway"
	"github.com/fsnotify/fsnotify"
	"gopkg.in/yaml.v3"
)

// Reload reads the config file again and, when it is valid, swaps in a new
// snapshot: requests that start afterwards use it, requests in flight finish
// on the old one. An invalid file is refused (the error is a config.Errors
// listing every problem) and the old config keeps serving. Listener settings
// (server.*, admin.*) need a restart; a change to them is logged.
func (s *Server) Reload() error {
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	old := s.cfg.Load()
	cfg, warnings, err := s.load(old.File, s.extend())
	if err == nil {
		var n *next
		if n, err = s.prepare(cfg); err == nil {
			s.commit(n)
			s.dropGoneRoutes(n.snap)
			s.dropGoneFunctions(cfg)
			s.reloadCertificates(cfg)
			s.reopenAccessLog(cfg.AccessLog)
			if terr := s.applyTracing(cfg.Tracing); terr != nil {
				s.log.Error("tracing: keeping the previous tracer", "err", terr)
			}
		}
	}
	s.reloads.Add(1)
	now := time.Now()
	s.metrics.RecordReload(err == nil, now)
	last := &admin.ReloadResult{At: now, OK: err == nil}
	if err != nil {
		last.Errors = admin.Problems(err)
	}
	s.lastReload.Store(last)
	if err != nil {
		s.log.Error("reload refused; the previous config keeps serving", "file", old.File, "err", err)
		return err
	}
	for _, w := range warnings {
		s.log.Warn(w.Msg, "file", w.File, "line", w.Line, "key", w.Key)
	}
	if !reflect.DeepEqual(listenerSettings(old.Server), listenerSettings(cfg.Server)) || !reflect.DeepEqual(old.Admin, cfg.Admin) {
		s.log.Warn("server.* and admin.* changes apply at the next restart (TLS certificates excepted)")
	}
	if !reflect.DeepEqual(old.Cluster, cfg.Cluster) {
		s.log.Warn("cluster.* changes apply at the next restart")
	}
	s.log.Info("reloaded", "file", cfg.File, "apis", len(cfg.APIs))
	return nil
}

func listenerSettings(s config.Server) config.Server {
	s.TLS = nil
	return s
}

// next is a compiled config ready to swap in: its snapshot and the
// pending generation of the long-lived resources prepared for it.
type next struct {
	cfg     *config.Config
	snap    *gateway.Snapshot
	pending *gateway.Pending
}

// prepare builds everything cfg needs without changing what serves now; on
// failure what it started is stopped again and every registry is as it
// was.
func (s *Server) prepare(cfg *config.Config) (*next, error) {
	if err := s.ensureCache(cfg); err != nil {
		return nil, err
	}
	p := s.reg.Begin()
	snap, err := gateway.Compile(cfg, s.deps(cfg, p))
	if err != nil {
		p.Abort()
		return nil, fmt.Errorf("compile config: %w", err)
	}
	return &next{cfg: cfg, snap: snap, pending: p}, nil
}

// commit makes n the config in use: requests that start from now on are
// served by its snapshot, and the registries keep what it uses and
// release the rest.
func (s *Server) commit(n *next) {
	if s.gw == nil {
		s.gw = gateway.New(n.snap, s.log)
	} else {
		s.gw.Swap(n.snap)
	}
	s.cfg.Store(n.cfg)
	n.pending.Commit()
	for name, b := range s.bridges.all() {
		s.metrics.API(name).SetWebSocketSource(webSocketStats(b))
	}
}

// LastReload is the outcome of the last reload, or of the start-up load
// before any; the admin listener's /reload/last and console show it.
func (s *Server) LastReload() admin.ReloadResult { return *s.lastReload.Load() }

// Reloads is the number of reloads tried; /metrics has their results.
func (s *Server) Reloads() int64 { return s.reloads.Load() }

// Watch reloads when the config file changes, until ctx ends. It watches
// the directory, so editors that replace the file are seen too, and waits
// for writes to settle before reloading.
func (s *Server) Watch(ctx context.Context) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("watch config: %w", err)
	}
	path, err := filepath.Abs(s.cfg.Load().File)
	if err != nil {
		w.Close()
		return fmt.Errorf("watch config: %w", err)
	}
	if err := w.Add(filepath.Dir(path)); err != nil {
		w.Close()
		return fmt.Errorf("watch %s: %w", filepath.Dir(path), err)
	}
	go func() {
		defer w.Close()
		const settle = 200 * time.Millisecond
		timer := time.NewTimer(time.Hour)
		timer.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case ev, ok := <-w.Events:
				if !ok {
					return
				}
				if p, _ := filepath.Abs(ev.Name); p == path && ev.Op&(fsnotify.Write|fsnotify.Create|fsnotify.Rename) != 0 {
					timer.Reset(settle)
				}
			case err, ok := <-w.Errors:
				if !ok {
					return
				}
				s.log.Warn("config watch", "err", err)
			case <-timer.C:
				if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
					continue // mid-replace; the create event follows
				}
				_ = s.Reload()
			}
		}
	}()
	return nil
}

// EffectiveConfig is the config in use as YAML, with secrets masked.
func (s *Server) EffectiveConfig() ([]byte, error) {
	c := *s.cfg.Load()
	c.Admin.Token = mask(c.Admin.Token)
	creds := make([]config.Credential, len(c.Admin.Credentials))
	for i, cr := range c.Admin.Credentials {
		creds[i] = config.Credential{AccessKeyID: cr.AccessKeyID, SecretAccessKey: mask(cr.SecretAccessKey)}
	}
	c.Admin.Credentials = creds
	keys := make([]config.APIKey, len(c.APIKeys))
	for i, k := range c.APIKeys {
		k.Value = mask(k.Value)
		keys[i] = k
	}
	c.APIKeys = keys
	if len(c.Tracing.Headers) > 0 {
		h := make(map[string]string, len(c.Tracing.Headers))
		for k, v := range c.Tracing.Headers {
			h[k] = mask(v)
		}
		c.Tracing.Headers = h
	}
	apis := make(map[string]*config.API, len(c.APIs))
	for name, a := range c.APIs {
		cp := *a
		if a.Management != nil {
			m := *a.Management
			m.Credentials = make([]config.Credential, len(a.Management.Credentials))
			for i, cr := range a.Management.Credentials {
				m.Credentials[i] = config.Credential{AccessKeyID: cr.AccessKeyID, SecretAccessKey: mask(cr.SecretAccessKey)}
			}
			cp.Management = &m
		}
		apis[name] = &cp
	}
	c.APIs = apis
	return yaml.Marshal(&c)
}

// mask keeps the first four characters of a secret.
func mask(s string) string {
	if s == "" {
		return ""
	}
	if len(s) <= 4 {
		return "****"
	}
	return s[:4] + "****"
}

// dropGoneRoutes removes the metric series of routes (on each stage) the
// new snapshot no longer has, so a config that churns routes does not grow /metrics forever.
func (s *Server) dropGoneRoutes(snap *gateway.Snapshot) {
	keep := snap.MetricRoutes()
	for _, r := range s.metrics.Routes() {
		if !keep[r] {
			s.metrics.UnregisterRoute(r.API, r.Stage, r.Route)
		}
	}
}

// dropGoneFunctions removes the metric series of functions the new config
// no longer has. Their instances keep serving old requests for a while,
// uncounted.
func (s *Server) dropGoneFunctions(cfg *config.Config) {
	for _, name := range s.metrics.Functions() {
		if _, ok := cfg.Functions[name]; !ok {
			s.metrics.UnregisterFunction(name)
		}
	}
}

// reopenAccessLog applies a changed access_log section; the old logger is
// closed (and flushed) once requests in flight have had time to log.
func (s *Server) reopenAccessLog(cfg config.AccessLog) {
	if cfg == s.accessCfg {
		return
	}
	l, err := s.openAccessLog(cfg)
	if err != nil {
		s.log.Error("access_log not changed", "err", err)
		return
	}
	old := s.gw.AccessLog()
	s.gw.SetAccessLog(l)
	if old != nil {
		time.AfterFunc(5*time.Second, func() { _ = old.Close() })
	}
}

// ReopenAccessLog reopens the access log file (after log rotation moved
// it); serve does it on SIGHUP.
func (s *Server) ReopenAccessLog() {
	if err := s.gw.AccessLog().Reopen(); err != nil {
		s.log.Error("reopen access log", "err", err)
	}
}

// reloadCertificates reads server.tls again, so renewed certificates are
// served without a restart. Turning TLS on or off needs a restart.
func (s *Server) reloadCertificates(cfg *config.Config) {
	switch {
	case s.certs == nil && cfg.Server.TLS == nil:
	case s.certs == nil || cfg.Server.TLS == nil:
		s.log.Warn("turning server.tls on or off applies at the next restart")
	default:
		if err := s.certs.load(cfg.Server.TLS); err != nil {
			s.log.Error("certificates not reloaded; the previous ones keep serving", "err", err)
		}
	}
}
