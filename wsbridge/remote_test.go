package wsbridge

import (
	"strings"
	"sync"
	"testing"
	"time"
)

// twoBridges links bridges the way the cluster does, in memory: each
// records what it owns, and a call for an id held by the other is run
// there.
type twoBridges struct {
	mu    sync.Mutex
	owner map[string]*Bridge
}

type remoteOf struct {
	l    *twoBridges
	self *Bridge
}

func (r remoteOf) Owned(id string, _ time.Time, _, _ string) {
	r.l.mu.Lock()
	r.l.owner[id] = r.self
	r.l.mu.Unlock()
}

func (r remoteOf) Released(id string) {
	r.l.mu.Lock()
	delete(r.l.owner, id)
	r.l.mu.Unlock()
}

func (r remoteOf) Forward(method, stage, id string, body []byte) (int, string, []byte, bool) {
	r.l.mu.Lock()
	b := r.l.owner[id]
	r.l.mu.Unlock()
	if b == nil || b == r.self {
		return 0, "", nil, false
	}
	st, ct, out := b.ServeForwarded(method, stage, id, body)
	return st, ct, out, true
}

func TestManagementReachesAConnectionHeldByAnotherBridge(t *testing.T) {
	link := &twoBridges{owner: map[string]*Bridge{}}
	a := startGateway(t, Options{})
	b := startGateway(t, Options{})
	a.bridge.SetRemote(remoteOf{link, a.bridge})
	b.bridge.SetRemote(remoteOf{link, b.bridge})
	c, id := dialRegistered(t, a, "/prod", nil)
	waitFor(t, 2*time.Second, "owner recorded", func() bool {
		link.mu.Lock()
		defer link.mu.Unlock()
		return link.owner[id] == a.bridge
	})

	if st, h, _ := httpDo(t, "POST", b.connectionsURL("prod", id), "via b"); st != 200 || h.Get("x-amzn-RequestId") == "" {
		t.Fatalf("POST through b: %d", st)
	}
	if got := readText(t, c, 2*time.Second); got != "via b" {
		t.Fatalf("client on a got %q", got)
	}
	if st, _, body := httpDo(t, "GET", b.connectionsURL("prod", id), ""); st != 200 || !strings.Contains(body, `"connectedAt"`) {
		t.Fatalf("GET through b: %d %s", st, body)
	}
	if st, _, body := httpDo(t, "GET", b.connectionsURL("prod", "no-such-id"), ""); st != 410 || !strings.Contains(body, "Gone") {
		t.Fatalf("unknown id through b: %d %s", st, body)
	}
	if st, _, _ := httpDo(t, "DELETE", b.connectionsURL("prod", id), ""); st != 204 {
		t.Fatalf("DELETE through b: %d", st)
	}
	readClose(t, c, 2*time.Second)
	waitFor(t, 2*time.Second, "released", func() bool {
		link.mu.Lock()
		defer link.mu.Unlock()
		return link.owner[id] == nil
	})
	if st, _, _ := httpDo(t, "POST", b.connectionsURL("prod", id), "late"); st != 410 {
		t.Fatalf("closed connection through b: %d", st)
	}
}
