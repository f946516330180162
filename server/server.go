// Package server runs the data-plane listener: it binds the configured
// address, serves requests through the gateway with fasthttp, and drains
// in-flight requests on shutdown.
package server

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/frontdeskgw/frontdesk/config"
	"github.com/frontdeskgw/frontdesk/gateway"
	"github.com/frontdeskgw/frontdesk/proxy"
	"github.com/valyala/fasthttp"
)

// Server is one running frontdesk data plane.
type Server struct {
	cfg   *config.Config
	log   *slog.Logger
	pools *proxy.Pools
	gw    *gateway.Gateway
	http  *fasthttp.Server
	ln    net.Listener
}

// New compiles cfg and prepares the listener settings; it does not bind.
func New(cfg *config.Config, log *slog.Logger) (*Server, error) {
	pools := &proxy.Pools{}
	snap, err := gateway.Compile(cfg, pools)
	if err != nil {
		return nil, fmt.Errorf("compile config: %w", err)
	}
	s := &Server{cfg: cfg, log: log, pools: pools, gw: gateway.New(snap, log)}
	sc := cfg.Server
	s.http = &fasthttp.Server{
		Handler:               s.gw.Handle,
		ErrorHandler:          s.gw.HandleError,
		Name:                  "frontdesk",
		NoDefaultServerHeader: true,
		ReadTimeout:           sc.ReadTimeout.D(),
		WriteTimeout:          sc.WriteTimeout.D(),
		IdleTimeout:           sc.IdleTimeout.D(),
		// The read buffer holds the request line and headers, so its
		// size is the header limit (AWS: 10,240 bytes).
		ReadBufferSize:     sc.MaxHeaderBytes,
		MaxRequestBodySize: int(sc.MaxBodyBytes),
		Concurrency:        sc.Concurrency,
		CloseOnShutdown:    true,
		Logger:             slogPrinter{log},
	}
	if sc.MaxConns > 0 {
		s.http.Concurrency = sc.MaxConns
	}
	return s, nil
}

// Gateway returns the request path, for reloads and tests.
func (s *Server) Gateway() *gateway.Gateway { return s.gw }

// Listen binds the configured address.
func (s *Server) Listen() error {
	ln, err := net.Listen("tcp", s.cfg.Server.Listen)
	if err != nil {
		return fmt.Errorf("listen %s: %w", s.cfg.Server.Listen, err)
	}
	s.ln = ln
	return nil
}

// UseListener serves on an already bound listener (tests bind :0).
func (s *Server) UseListener(ln net.Listener) { s.ln = ln }

// Addr is the bound address.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Serve blocks serving requests until Shutdown.
func (s *Server) Serve() error {
	s.log.Info("serving", "listen", s.ln.Addr().String())
	return s.http.Serve(s.ln)
}

// Shutdown stops accepting, lets in-flight requests finish until ctx ends,
// then closes what is left.
func (s *Server) Shutdown(ctx context.Context) error {
	start := time.Now()
	err := s.http.ShutdownWithContext(ctx)
	s.log.Info("stopped", "drain", time.Since(start).Round(time.Millisecond).String())
	return err
}

// slogPrinter routes fasthttp's own log lines to slog.
type slogPrinter struct{ log *slog.Logger }

func (p slogPrinter) Printf(format string, args ...any) {
	p.log.Warn(fmt.Sprintf(format, args...), "component", "fasthttp")
}
