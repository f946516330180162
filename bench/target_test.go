package bench

import (
	"strings"
	"testing"
)

func TestParseTarget(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Target
		err  string // part of the error; empty: no error
	}{
		{in: "kong=http://127.0.0.1:8000/small", want: Target{Name: "kong", URL: "http://127.0.0.1:8000/small", Addr: "127.0.0.1:8000", Host: "127.0.0.1:8000", Path: "/small"}},
		{in: "envoy=http://127.0.0.1:10000/small?x=1,4242", want: Target{Name: "envoy", URL: "http://127.0.0.1:10000/small?x=1", Addr: "127.0.0.1:10000", Host: "127.0.0.1:10000", Path: "/small?x=1", PID: 4242}},
		{in: "mine=http://localhost", want: Target{Name: "mine", URL: "http://localhost", Addr: "localhost:80", Host: "localhost", Path: "/"}},
		{in: "tls.gw=https://gw.example:8443/a, 17", want: Target{Name: "tls.gw", URL: "https://gw.example:8443/a", Addr: "gw.example:8443", Host: "gw.example:8443", Path: "/a", TLS: true, PID: 17}},
		{in: "v6=https://[::1]/", want: Target{Name: "v6", URL: "https://[::1]/", Addr: "[::1]:443", Host: "[::1]", Path: "/", TLS: true}},
		{in: "http://127.0.0.1:8000", err: "want name=url"},
		{in: "=http://127.0.0.1:8000", err: "name"},
		{in: "bad name=http://127.0.0.1:8000", err: "name"},
		{in: "k=ftp://127.0.0.1/", err: "scheme"},
		{in: "k=127.0.0.1:8000", err: "k=127.0.0.1:8000"},
		{in: "k=localhost:8000/x", err: "scheme"},
		{in: "k=http:///path", err: "no host"},
		{in: "k=http://127.0.0.1:8000,abc", err: "pid"},
		{in: "k=http://127.0.0.1:8000,0", err: "pid"},
		{in: "k=http://127.0.0.1:8000,-3", err: "pid"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseTarget(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got %+v, %v; want an error about %q", got, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestTargetsJoinThePlainProxyGroup(t *testing.T) {
	kong, err := ParseTarget("kong=http://127.0.0.1:8000/small,99")
	if err != nil {
		t.Fatal(err)
	}
	all, err := AddTargets(Scenarios(), []Target{kong})
	if err != nil {
		t.Fatal(err)
	}
	sc := all[len(all)-1]
	if sc.Name != "kong" || sc.Proxy != External || sc.Group != "small" || sc.Reference != "nginx" || sc.Path != "/small" || sc.Target == nil || sc.Target.PID != 99 {
		t.Errorf("target scenario %+v", sc)
	}
	order := RoundOrder(all, []int{2, 3, len(all) - 1}, 0) // nginx, frontdesk-proxy, kong
	if len(order) != 3 {
		t.Fatalf("order %v", order)
	}
	if _, err := AddTargets(Scenarios(), []Target{{Name: "nginx"}}); err == nil {
		t.Error("a target named nginx was accepted")
	}
	if args := targetLoadArgs(&Target{Host: "gw.example:8443", TLS: true}); strings.Join(args, " ") != "-host gw.example:8443 -tls -tls-server-name gw.example" {
		t.Errorf("load args %q", args)
	}
}

func TestPeerConfigsProxyToTheUpstream(t *testing.T) {
	d := peerData{Dir: "/run/x", Listen: "127.0.0.1:8081", Port: "8081", Upstream: "127.0.0.1:9000"}
	for _, tc := range []struct {
		name string
		conf string
		want []string
	}{
		{"haproxy", must(renderPeer(haproxyTemplate, d)), []string{"nbthread 1", "bind 127.0.0.1:8081", "server up 127.0.0.1:9000", "http-reuse always"}},
		{"caddy", must(renderPeer(caddyTemplate, d)), []string{"admin off", ":8081 {", "bind 127.0.0.1", "reverse_proxy 127.0.0.1:9000"}},
	} {
		for _, w := range tc.want {
			if !strings.Contains(tc.conf, w) {
				t.Errorf("%s config lacks %q:\n%s", tc.name, w, tc.conf)
			}
		}
	}
}

func must(s string, err error) string {
	if err != nil {
		panic(err)
	}
	return s
}
