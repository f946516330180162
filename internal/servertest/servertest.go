// Package servertest starts a real frontdesk server inside a test of a
// package that serves through it (admin, tracing, the console): the data
// plane and the admin listener on 127.0.0.1 ports the OS picks, serving
// until Stop or the end of the test.
//
// Hot path: none; only tests import it.
package servertest

import (
	"context"
	"io"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/frontdeskgw/frontdesk/config"
	"github.com/frontdeskgw/frontdesk/server"
)

// Instance is a running server and the base URLs of its two listeners.
type Instance struct {
	Server      *server.Server
	Data, Admin string // "http://127.0.0.1:port"

	served chan struct{}
	stop   sync.Once
}

// Start serves cfg, its admin listener moved to 127.0.0.1:0, and returns
// once the server is ready. The test's cleanup stops it.
func Start(tb testing.TB, cfg *config.Config) *Instance {
	tb.Helper()
	cfg.Admin.Listen = "127.0.0.1:0"
	s, err := server.New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		tb.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	aln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		ln.Close()
		tb.Fatal(err)
	}
	s.UseListener(ln)
	s.UseAdminListener(aln)
	in := &Instance{Server: s, Data: "http://" + ln.Addr().String(), Admin: "http://" + aln.Addr().String(), served: make(chan struct{})}
	go func() {
		defer close(in.served)
		s.Serve() //nolint:errcheck // ends at Stop
	}()
	tb.Cleanup(in.Stop)
	deadline := time.Now().Add(5 * time.Second)
	for !s.Ready() {
		if time.Now().After(deadline) {
			tb.Fatal("frontdesk not ready after 5s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	return in
}

// Stop shuts the server down (in-flight requests finish, buffered access
// log lines and spans are written out) and waits for it to end; calling it
// again does nothing.
func (in *Instance) Stop() {
	in.stop.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		in.Server.Shutdown(ctx) //nolint:errcheck // the test's own server
		<-in.served
	})
}
