package bench

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/frontdeskgw/frontdesk/internal/testdeps"
	"github.com/valyala/fasthttp"
)

func TestVarnishVCLCachesTheUpstreamForTheTTL(t *testing.T) {
	for _, tc := range []struct {
		upstream string
		want     []string
		err      bool
	}{
		{upstream: "127.0.0.1:19000", want: []string{"vcl 4.1;", `.host = "127.0.0.1";`, `.port = "19000";`, "set beresp.ttl = 300s;", `set resp.http.X-Cache = "HIT";`}},
		{upstream: "[::1]:8080", want: []string{`.host = "::1";`, `.port = "8080";`}},
		{upstream: "no-port", err: true},
	} {
		t.Run(tc.upstream, func(t *testing.T) {
			vcl, err := VarnishVCL(tc.upstream)
			if tc.err {
				if err == nil {
					t.Fatalf("VCL for %q rendered:\n%s", tc.upstream, vcl)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(vcl, "vcl 4.1;\n") {
				t.Errorf("a VCL must start with its version line:\n%s", vcl)
			}
			for _, w := range tc.want {
				if !strings.Contains(vcl, w) {
					t.Errorf("VCL lacks %q:\n%s", w, vcl)
				}
			}
		})
	}
	args := strings.Join(varnishArgs("/usr/sbin/varnishd", "/run/x", "127.0.0.1:8081", "/run/x/varnish.vcl"), " ")
	for _, w := range []string{"/usr/sbin/varnishd -F ", "-n /run/x/varnish", "-a 127.0.0.1:8081", "-f /run/x/varnish.vcl", "-j none", "-T none", "-s malloc,64m"} {
		if !strings.Contains(args, w) {
			t.Errorf("varnishd args %q lack %q", args, w)
		}
	}
}

func TestVarnishVersionReadsTheFirstLine(t *testing.T) {
	for out, want := range map[string]string{
		"varnishd (varnish-7.1.1 revision 7cee1c581bead20e88d101ab3d72afb29f14d87a)\nCopyright (c) 2006 Verdens Gang AS\n": "varnish-7.1.1",
		"varnishd (varnish-trunk)\n": "varnish-trunk",
		"something else":             "something else",
	} {
		if got := varnishVersion(out); got != want {
			t.Errorf("varnishVersion(%q) = %q, want %q", out, got, want)
		}
	}
}

func TestCacheHitScenariosWaitForAHit(t *testing.T) {
	want := map[string]string{"frontdesk-cache-hit": "X-Cache", "nginx-cache-hit": "X-Cache-Status", "varnish-cache-hit": "X-Cache"}
	for _, s := range Scenarios() {
		if !strings.HasSuffix(s.Name, cacheHitSuffix) {
			continue
		}
		name, ok := want[s.Name]
		if !ok {
			t.Errorf("unexpected cache-hit scenario %s", s.Name)
			continue
		}
		delete(want, s.Name)
		if s.HitHeader == nil || s.HitHeader.Name != name || s.Group != "memory" || s.Path != SmallPath {
			t.Errorf("%s: hit header %+v, group %q, path %q; want %s, memory, %s", s.Name, s.HitHeader, s.Group, s.Path, name, SmallPath)
		}
		if s.Proxy != Frontdesk && s.Reference != "nginx" {
			t.Errorf("%s: reference %q, want nginx (its proxy cost)", s.Name, s.Reference)
		}
	}
	for n := range want {
		t.Errorf("no scenario %s", n)
	}
	for _, tc := range []struct {
		got  string
		want bool
	}{{"HIT", true}, {"hit", true}, {" HIT ", true}, {"MISS", false}, {"", false}, {"HIT, MISS", false}} {
		if got := hasHitHeader(varnishCacheHit().HitHeader, []byte(tc.got)); got != tc.want {
			t.Errorf("hasHitHeader(%q) = %v, want %v", tc.got, got, tc.want)
		}
	}
}

// countingUpstream serves the suite's upstream on loopback and counts the
// requests that reach it.
func countingUpstream(t *testing.T) (string, *atomic.Int64) {
	t.Helper()
	ln, err := ListenLoopback()
	if err != nil {
		t.Fatal(err)
	}
	var n atomic.Int64
	h := UpstreamHandler()
	srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) { n.Add(1); h(ctx) }}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Shutdown() })
	return ln.Addr().String(), &n
}

// TestCachePeersAnswerEveryRequestFromTheCache starts nginx and varnishd
// as the suite does, waits for the hit the probe requires, and then sends
// more requests: none may reach the upstream.
func TestCachePeersAnswerEveryRequestFromTheCache(t *testing.T) {
	if testing.Short() {
		t.Skip("starts nginx and varnishd")
	}
	for _, tc := range []struct {
		sc      Scenario
		program string
	}{
		{nginxCacheHit(), "nginx"},
		{varnishCacheHit(), "varnishd"},
	} {
		t.Run(tc.sc.Name, func(t *testing.T) {
			path := testdeps.Require(t, tc.program)
			upstream, requests := countingUpstream(t)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			dir := t.TempDir()
			s := &suite{opt: Options{Tools: Tools{Nginx: path, Varnishd: path}}}
			var c *child
			var addr string
			var err error
			if tc.sc.Proxy == Nginx {
				c, addr, err = s.startNginx(ctx, dir, tc.sc, upstream)
			} else {
				c, addr, err = s.startPeer(ctx, dir, tc.sc, upstream)
			}
			if err != nil {
				t.Fatal(err)
			}
			defer c.stop(5 * time.Second)
			if err := probe(ctx, addr, tc.sc, c, nil); err != nil {
				t.Fatal(err)
			}
			filled := requests.Load()
			if filled < 1 {
				t.Fatalf("the upstream saw %d requests, want the one that filled the cache", filled)
			}
			client := &fasthttp.Client{}
			for i := range 20 {
				status, body, err := client.GetTimeout(nil, "http://"+addr+SmallPath, 2*time.Second)
				if err != nil || status != 200 || string(body) != SmallBody {
					t.Fatalf("request %d: %v, status %d, body %q", i, err, status, body)
				}
			}
			if n := requests.Load(); n != filled {
				t.Errorf("the upstream saw %d requests after the hit, want none: not every request was a hit", n-filled)
			}
			if tc.sc.Proxy == Varnish && len(descendants(c.pid())) == 0 {
				// The cache child serves; its CPU time is the scenario's
				// only if it is below the process the suite measures.
				t.Errorf("varnishd (pid %d) has no child process", c.pid())
			}
			conf := filepath.Join(dir, "nginx.conf")
			if tc.sc.Proxy == Varnish {
				conf = filepath.Join(dir, "varnish.vcl")
			}
			if _, err := os.Stat(conf); err != nil {
				t.Errorf("config not in the scratch directory: %v", err)
			}
		})
	}
}

func TestVarnishScenarioRunsOnlyWhereVarnishdIs(t *testing.T) {
	ctx := context.Background()
	without := &suite{opt: Options{Tools: Tools{Nginx: "/usr/sbin/nginx"}}}
	if st, reason := without.preflight(ctx, varnishCacheHit(), nil); st != Skipped || reason != "varnishd not installed" {
		t.Errorf("without varnishd: %s %q, want skipped, varnishd not installed", st, reason)
	}
	if !slices.Contains(without.opt.Tools.Missing(), "varnishd") {
		t.Errorf("missing tools %v do not name varnishd", without.opt.Tools.Missing())
	}
	with := &suite{opt: Options{Tools: Tools{Varnishd: "/usr/sbin/varnishd"}}}
	if st, reason := with.preflight(ctx, varnishCacheHit(), nil); st != Measured {
		t.Errorf("with varnishd: %s %q, want measured", st, reason)
	}
	if slices.Contains(with.opt.Tools.Missing(), "varnishd") {
		t.Error("an installed varnishd is reported missing")
	}
}
