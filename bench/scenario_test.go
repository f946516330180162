package bench

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/frontdeskgw/frontdesk/config"
)

func TestScenarioNamesAreUniqueAndReferencesExist(t *testing.T) {
	names := map[string]Scenario{}
	for _, s := range Scenarios() {
		if _, dup := names[s.Name]; dup {
			t.Errorf("scenario %s twice", s.Name)
		}
		names[s.Name] = s
	}
	for _, s := range Scenarios() {
		if s.Reference == "" {
			continue
		}
		ref, ok := names[s.Reference]
		if !ok || (ref.Proxy != Nginx && ref.Proxy != WSFloor) {
			t.Errorf("%s: reference %q is not an nginx or floor scenario", s.Name, s.Reference)
		}
	}
	for _, b := range Budgets() {
		if _, ok := names[b.Scenario]; !ok {
			t.Errorf("budget %q names unknown scenario %s", b.Name, b.Scenario)
		}
	}
}

func TestEveryFrontdeskScenarioConfigLoads(t *testing.T) {
	dir := t.TempDir()
	cert, err := WriteCertificate(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range Scenarios() {
		if s.Proxy != Frontdesk {
			continue
		}
		t.Run(s.Name, func(t *testing.T) {
			bins := map[string]string{}
			for name := range s.Builds {
				// A local function's command must exist to validate.
				p := filepath.Join(dir, name)
				if err := os.WriteFile(p, []byte("#!/bin/sh\n"), 0o755); err != nil {
					t.Fatal(err)
				}
				bins[name] = p
			}
			cfg, err := FrontdeskConfig(s, ConfigData{Upstream: "127.0.0.1:9", Dir: dir, Bins: bins, Redis: "redis://127.0.0.1:9/0", Endpoint: "127.0.0.1:9", Cert: cert})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(cfg, "# generated") || !strings.Contains(cfg, "\nserver:\n") {
				t.Errorf("config lacks the generated server block:\n%s", cfg)
			}
			if _, _, err := config.Parse(s.Name+".yaml", []byte(cfg), func(string) (string, bool) { return "", false }); err != nil {
				t.Errorf("config does not load: %v\n%s", err, cfg)
			}
		})
	}
}

func TestConfigTemplateWithUnknownFieldFails(t *testing.T) {
	_, err := FrontdeskConfig(Scenario{Name: "bad", Config: "x: {{.Nope}}"}, ConfigData{})
	if err == nil || !strings.Contains(err.Error(), "scenario bad") {
		t.Fatalf("err = %v, want a render error naming the scenario", err)
	}
}

func TestSelectScenarios(t *testing.T) {
	all := Scenarios()
	for _, tc := range []struct {
		name, list string
		want       []string
		err        string
	}{
		{name: "empty selects all", list: "", want: namesOf(all)},
		{name: "keeps report order", list: "frontdesk-proxy, direct", want: []string{"direct", "frontdesk-proxy"}},
		{name: "unknown is an error", list: "direct,nope", err: "unknown scenario(s) nope"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := SelectScenarios(all, tc.list)
			if wantErr(t, err, tc.err) {
				return
			}
			if err != nil || !reflect.DeepEqual(namesOf(got), tc.want) {
				t.Errorf("got %v, %v; want %v", namesOf(got), err, tc.want)
			}
		})
	}
}

func namesOf(ss []Scenario) []string {
	var out []string
	for _, s := range ss {
		out = append(out, s.Name)
	}
	return out
}

func TestRotateStartsEachRoundOneLater(t *testing.T) {
	list := []int{0, 1, 2}
	for r, want := range [][]int{{0, 1, 2}, {1, 2, 0}, {2, 0, 1}, {0, 1, 2}} {
		if got := Rotate(list, r); !reflect.DeepEqual(got, want) {
			t.Errorf("round %d: %v, want %v", r, got, want)
		}
	}
	if Rotate([]int(nil), 2) != nil {
		t.Error("rotating nothing gives nothing")
	}
}

func TestNginxConfKeepsEverythingInTheScratchDir(t *testing.T) {
	dir := t.TempDir()
	conf, err := NginxConf(nginxData{Dir: dir, Listen: "127.0.0.1:18080", Upstream: "127.0.0.1:19000"})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"daemon off;", "master_process off;", "pid " + dir + "/nginx.pid;", "error_log " + dir + "/nginx-error.log",
		"access_log off;", "proxy_temp_path " + dir, "client_body_temp_path " + dir,
		"keepalive 64;", "proxy_http_version 1.1;", `proxy_set_header Connection "";`,
		"listen 127.0.0.1:18080;", "server 127.0.0.1:19000;",
	} {
		if !strings.Contains(conf, want) {
			t.Errorf("nginx.conf lacks %q", want)
		}
	}
	nginx, err := exec.LookPath("nginx")
	if err != nil {
		t.Skip("nginx not installed: config not tried")
	}
	path := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(nginx, "-t", "-p", dir+"/", "-c", path, "-e", filepath.Join(dir, "err.log")).CombinedOutput(); err != nil {
		t.Errorf("nginx -t: %v\n%s", err, out)
	}
}

func TestNotYetSupportedPicksWarnings(t *testing.T) {
	out := "warning: line 5: access_log: not yet supported: accepted and ignored\nwarning: line 9: x: deprecated\n"
	got := NotYetSupported(out)
	if want := []string{"line 5: access_log: not yet supported: accepted and ignored"}; !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestServingAddrReadsFrontdeskLog(t *testing.T) {
	for line, want := range map[string]string{
		`{"time":"t","level":"INFO","msg":"serving","listen":"127.0.0.1:4242"}`: "127.0.0.1:4242",
		`{"level":"WARN","msg":"not yet supported","key":"cache"}`:              "",
		`time=t level=INFO msg=serving listen=127.0.0.1:1`:                      "",
	} {
		got, ok := servingAddr(line)
		if got != want || ok != (want != "") {
			t.Errorf("servingAddr(%s) = %q, %v; want %q", line, got, ok, want)
		}
	}
}

func TestCPULayoutPinsProxyAlone(t *testing.T) {
	for _, tc := range []struct {
		name        string
		taskset     string
		cpus        []int
		proxy, load string
	}{
		{"two cpus", "/usr/bin/taskset", []int{0, 1}, "0", "1"},
		{"four cpus", "/usr/bin/taskset", []int{2, 3, 4, 5}, "2", "3,4,5"},
		{"one cpu", "/usr/bin/taskset", []int{0}, "", ""},
		{"no taskset", "", []int{0, 1}, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := NewCPULayout(tc.taskset, tc.cpus)
			if l.Proxy != tc.proxy || l.Load != tc.load || l.Note == "" {
				t.Errorf("got %+v, want proxy %q load %q and a note", l, tc.proxy, tc.load)
			}
		})
	}
	cpus, err := ParseCPUs(FormatCPUs([]int{0, 3, 7}))
	if err != nil || !reflect.DeepEqual(cpus, []int{0, 3, 7}) {
		t.Errorf("cpu list round trip: %v, %v", cpus, err)
	}
	if _, err := ParseCPUs("0,x"); err == nil {
		t.Error("a bad cpu list must be an error")
	}
}

func TestUpstreamAnswersSmallAndLargeBodies(t *testing.T) {
	h := UpstreamHandler()
	for path, size := range map[string]int{SmallPath: len(SmallBody), LargePath: LargeSize, "/anything": len(SmallBody)} {
		ctx := newRequestCtx(path)
		h(ctx)
		if ctx.Response.StatusCode() != 200 || len(ctx.Response.Body()) != size {
			t.Errorf("%s: status %d, %d bytes; want 200 and %d", path, ctx.Response.StatusCode(), len(ctx.Response.Body()), size)
		}
	}
	if n := len(SmallBody); n < 90 || n > 110 {
		t.Errorf("small body is %d bytes, want about 100", n)
	}
}

func TestRoundOrderKeepsGroupsTogetherAndAlternatesThem(t *testing.T) {
	sc := []Scenario{
		{Name: "direct", Group: "direct"}, {Name: "direct-wrk", Group: "direct"},
		{Name: "nginx", Group: "small"}, {Name: "frontdesk-proxy", Group: "small"},
		{Name: "mock"}, {Name: "lambda"},
	}
	all := []int{0, 1, 2, 3, 4, 5}
	for _, tc := range []struct {
		name     string
		runnable []int
		round    int
		want     []string
	}{
		{"first round in list order", all, 0, []string{"direct", "direct-wrk", "nginx", "frontdesk-proxy", "mock", "lambda"}},
		{"second round rotates groups and members", all, 1, []string{"frontdesk-proxy", "nginx", "mock", "lambda", "direct-wrk", "direct"}},
		{"a lone member of a group", []int{0, 2, 3}, 1, []string{"frontdesk-proxy", "nginx", "direct"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, i := range RoundOrder(sc, tc.runnable, tc.round) {
				got = append(got, sc[i].Name)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}
