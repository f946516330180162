package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/frontdeskgw/frontdesk/bench"
	"github.com/frontdeskgw/frontdesk/bench/loadgen"
)

// runWSLoad is the WebSocket load generator child: like runLoad, it prints
// "measure" and "stop" as the window opens and closes, then the result as
// one JSON line.
func runWSLoad(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("wsload", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg loadgen.WSConfig
	fs.StringVar(&cfg.Addr, "addr", "", "host:port to load")
	fs.StringVar(&cfg.Path, "path", bench.WSStage, "WebSocket path (the stage)")
	fs.StringVar(&cfg.Mode, "mode", loadgen.ModeEcho, "echo or broadcast")
	fs.IntVar(&cfg.Conns, "conns", 64, "WebSocket connections")
	fs.IntVar(&cfg.Posters, "posters", 64, "@connections senders (broadcast)")
	fs.Int64Var(&cfg.MaxMessages, "max-messages", 0, "stop sending after this many messages or POSTs (0: only the time bounds the run)")
	fs.DurationVar(&cfg.Warmup, "warmup", time.Second, "load before the window")
	fs.DurationVar(&cfg.Duration, "duration", 8*time.Second, "measured window")
	fs.DurationVar(&cfg.Timeout, "timeout", 10*time.Second, "per exchange")
	if err := fs.Parse(args); err != nil {
		return err
	}
	return report(stdout, func(onMeasure, onStop func()) (any, error) {
		cfg.OnMeasure, cfg.OnStop = onMeasure, onStop
		return loadgen.RunWS(cfg)
	})
}

// runWSFloor serves the WebSocket floor on loopback until SIGTERM, after
// printing "listening ADDR".
func runWSFloor(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("wsfloor", flag.ContinueOnError)
	fs.SetOutput(stderr)
	backend := fs.String("backend", "", "host:port of the upstream messages are POSTed to")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *backend == "" {
		return fmt.Errorf("wsfloor: -backend is required")
	}
	ln, err := bench.ListenLoopback()
	if err != nil {
		return err
	}
	srv := bench.NewWSFloor(*backend).Server()
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	fmt.Fprintf(stdout, "listening %s\n", ln.Addr())
	select {
	case err := <-done:
		return fmt.Errorf("ws floor: %w", err)
	case <-ctx.Done():
	}
	// Hijacked WebSocket connections are not the server's to wait for:
	// closing the listener is enough, the process ends next.
	return ln.Close()
}
