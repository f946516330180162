package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/frontdeskgw/frontdesk/cluster"
	"github.com/frontdeskgw/frontdesk/internal/redistest"
	"github.com/frontdeskgw/frontdesk/internal/testdeps"
)

func clusterWSConfig(backend string) string {
	return `
cluster:
  redis: "{{REDIS}}"
  instance_id: "{{ID}}"
  sync_interval: 50ms
` + wsConfig(backend)
}

// registryOwner is the owner named by a connection's registry entry.
func registryOwner(v string) string {
	var e struct {
		O string `json:"o"`
	}
	if json.Unmarshal([]byte(v), &e) != nil {
		return ""
	}
	return e.O
}

// awsManage runs the AWS CLI's apigatewaymanagementapi against endpoint,
// with only the AWS settings given here.
func awsManage(t *testing.T, cli, endpoint string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(cli, append([]string{"apigatewaymanagementapi", "--endpoint-url", endpoint, "--output", "json"}, args...)...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "AWS_ACCESS_KEY_ID=AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY=secret", "AWS_DEFAULT_REGION=eu-west-1",
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_EC2_METADATA_DISABLED=true", "AWS_MAX_ATTEMPTS=1")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// A WebSocket client on instance A receives what the AWS CLI posts through
// instance B; get-connection through C describes it; once A is gone, B
// answers 410 for the id.
func TestClusterConnectionsReachTheOwningInstance(t *testing.T) {
	cli := testdeps.Require(t, "aws")
	r := redistest.Start(t)
	be := startEventLog(t)
	src := clusterWSConfig(be.addr)
	a := startInstance(t, r, "edge-a", src)
	b := startInstance(t, r, "edge-b", src)
	c := startInstance(t, r, "edge-c", src)

	ws, resp, err := websocket.DefaultDialer.Dial("ws://"+a.base+"/prod", nil)
	if err != nil {
		t.Fatalf("dial A: %v (%v)", err, resp)
	}
	defer ws.Close()
	// The client may see the upgrade before A has registered it.
	deadline := time.Now().Add(5 * time.Second)
	list := a.s.Bridge("chat").ListConnections()
	for len(list) != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("A holds %d connections", len(list))
		}
		time.Sleep(10 * time.Millisecond)
		list = a.s.Bridge("chat").ListConnections()
	}
	id := list[0].ID
	for {
		v, _ := r.Do("GET", "fd:ws:{chat:"+id+"}")
		if registryOwner(v) == "edge-a" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("registry entry for %s: %q", id, v)
		}
		time.Sleep(10 * time.Millisecond)
	}

	if out, err := awsManage(t, cli, "http://"+b.base+"/prod", "post-to-connection", "--connection-id", id, "--data", "via B"); err != nil {
		t.Fatalf("post-to-connection through B: %v\n%s", err, out)
	}
	ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, msg, err := ws.ReadMessage(); err != nil || string(msg) != "via B" {
		t.Fatalf("client on A got %q %v", msg, err)
	}
	out, err := awsManage(t, cli, "http://"+c.base+"/prod", "get-connection", "--connection-id", id)
	if err != nil {
		t.Fatalf("get-connection through C: %v\n%s", err, out)
	}
	var info struct {
		ConnectedAt string
		Identity    struct{ SourceIp string }
	}
	if err := json.Unmarshal([]byte(out), &info); err != nil || info.ConnectedAt == "" || info.Identity.SourceIp != "127.0.0.1" {
		t.Fatalf("get-connection through C: %s (%v)", out, err)
	}
	if res := do(t, "POST", "http://"+b.base+"/prod/@connections/no-such-id", strings.NewReader("x")); res.status != 410 {
		t.Fatalf("unknown id through B: %d %s", res.status, res.body)
	}

	a.stop()
	deadline = time.Now().Add(20 * time.Second) // well within the registry TTL plus a forward timeout
	for {
		res := do(t, "POST", "http://"+b.base+"/prod/@connections/"+id, strings.NewReader("late"))
		if res.status == 410 && strings.Contains(res.body, "Gone") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after A stopped, B answers %d %s", res.status, res.body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if out, err := awsManage(t, cli, "http://"+c.base+"/prod", "get-connection", "--connection-id", id); err == nil || !strings.Contains(out, "GoneException") {
		t.Fatalf("get-connection after A stopped: err=%v\n%s", err, out)
	}
}

// An instance that crashes (a real frontdesk process, SIGKILLed) leaves no
// ghost connections: while it lives, another instance delivers to and
// describes its connection; once it is killed, the other instance answers
// 410 GoneException for the id (raw POST and GET, and the AWS CLI's
// get-connection) within the registry TTL, and the entry is gone from
// Redis by then.
func TestClusterConnectionsOfAKilledInstanceAnswerGoneWithinTheTTL(t *testing.T) {
	cli := testdeps.Require(t, "aws")
	r := redistest.Start(t)
	be := startEventLog(t)
	src := clusterWSConfig(be.addr)
	file := filepath.Join(t.TempDir(), "frontdesk.yaml")
	writeFile(t, file, strings.NewReplacer("{{REDIS}}", r.URL(), "{{ID}}", "edge-a").Replace(src))
	procA, a := runFrontdesk(t, buildFrontdesk(t), file)
	b := startInstance(t, r, "edge-b", src)

	ws, resp, err := websocket.DefaultDialer.Dial("ws://"+a.data+"/prod", http.Header{"User-Agent": {"ghost-test/1.0"}})
	if err != nil {
		t.Fatalf("dial A: %v (%v)", err, resp)
	}
	defer ws.Close()
	// A is another process: its connection's id is read from the registry.
	var id string
	for deadline := time.Now().Add(10 * time.Second); id == ""; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("A's connection never reached the registry")
		}
		keys, err := r.DoArray("KEYS", "fd:ws:*")
		if err != nil || len(keys) != 1 {
			continue
		}
		if v, _ := r.Do("GET", keys[0]); registryOwner(v) == "edge-a" {
			id = strings.TrimSuffix(strings.TrimPrefix(keys[0], "fd:ws:{chat:"), "}")
		}
	}
	conn := "http://" + b.base + "/prod/@connections/" + id

	// Not gone before the owner is: B reaches the connection on A.
	if res := do(t, "POST", conn, strings.NewReader("before")); res.status != 200 {
		t.Fatalf("POST through B while A lives: %d %s", res.status, res.body)
	}
	ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, msg, err := ws.ReadMessage(); err != nil || string(msg) != "before" {
		t.Fatalf("client on A got %q %v", msg, err)
	}
	if out, err := awsManage(t, cli, "http://"+b.base+"/prod", "get-connection", "--connection-id", id); err != nil || !strings.Contains(out, "ConnectedAt") {
		t.Fatalf("get-connection through B while A lives: %v\n%s", err, out)
	}

	// A slow owner (frozen with SIGSTOP, its heartbeat still fresh) is not
	// a gone one: B describes the connection from the registry.
	if err := procA.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	res := do(t, "GET", conn, nil)
	procA.Process.Signal(syscall.SIGCONT) //nolint:errcheck // killed next anyway
	var desc struct {
		ConnectedAt string
		Identity    struct{ SourceIp, UserAgent string }
	}
	if res.status != 200 || json.Unmarshal([]byte(res.body), &desc) != nil || desc.ConnectedAt == "" ||
		desc.Identity.SourceIp != "127.0.0.1" || desc.Identity.UserAgent != "ghost-test/1.0" {
		t.Fatalf("GET through B while A is frozen: %d %s", res.status, res.body)
	}

	if err := procA.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	// The client sees its connection drop: A is gone.
	ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, _, err := ws.ReadMessage(); err == nil {
		t.Fatal("client on A still connected after A was killed")
	}

	// B answers 410 for the id: at first after a forward times out, at the
	// latest once the entry expires.
	for _, method := range []string{"POST", "GET"} {
		for {
			res := do(t, method, conn, strings.NewReader("late"))
			if res.status == 410 && strings.Contains(res.body, "Gone") {
				clusterReport(t, "@connections "+method+" through B for a connection on SIGKILLed A", fmt.Sprintf("410 GoneException %v after the kill", time.Since(killed).Round(time.Millisecond)), fmt.Sprintf("≤ %v (registry TTL)", cluster.ConnTTL))
				break
			}
			if time.Since(killed) > cluster.ConnTTL {
				t.Fatalf("%s through B %v after A was killed: %d %s, want 410 within %v", method, time.Since(killed), res.status, res.body, cluster.ConnTTL)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	// No ghost: the entry A can no longer refresh expires within the TTL.
	for {
		if v, err := r.Do("EXISTS", "fd:ws:{chat:"+id+"}"); err == nil && v == ":0" {
			clusterReport(t, "registry entry of A's connection", fmt.Sprintf("gone %v after the kill", time.Since(killed).Round(time.Millisecond)), fmt.Sprintf("≤ %v", cluster.ConnTTL))
			break
		}
		if time.Since(killed) > cluster.ConnTTL+time.Second {
			t.Fatalf("registry entry of %s still there %v after its owner was killed", id, time.Since(killed))
		}
		time.Sleep(50 * time.Millisecond)
	}
	out, err := awsManage(t, cli, "http://"+b.base+"/prod", "get-connection", "--connection-id", id)
	if err == nil || !strings.Contains(out, "GoneException") {
		t.Fatalf("get-connection through B after A was killed: err=%v\n%s", err, out)
	}
	if out, err := awsManage(t, cli, "http://"+b.base+"/prod", "post-to-connection", "--connection-id", id, "--data", "late"); err == nil || !strings.Contains(out, "GoneException") {
		t.Fatalf("post-to-connection through B after A was killed: err=%v\n%s", err, out)
	}
}
