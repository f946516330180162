package server

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// procLog collects a frontdesk process's output.
type procLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *procLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *procLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// buildFrontdesk builds the frontdesk binary once for the test.
func buildFrontdesk(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "frontdesk")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/frontdeskgw/frontdesk/cmd/frontdesk").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// runFrontdesk starts the binary on file with loopback ports the OS picks
// and waits until both listeners are reported; the process is killed at
// the end of the test if still running.
func runFrontdesk(t *testing.T, bin, file string) (*exec.Cmd, *cpServer) {
	t.Helper()
	logs := &procLog{}
	cmd := exec.Command(bin, "serve", "-c", file, "-listen", "127.0.0.1:0", "-admin-listen", "127.0.0.1:0", "-log-format", "json", "-watch=false")
	cmd.Dir = filepath.Dir(file)
	cmd.Env = append(os.Environ(), "CP_TEST_KEY_ID="+cpKeyID, "CP_TEST_SECRET="+cpSecret)
	cmd.Stdout, cmd.Stderr = logs, logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }() //nolint:errcheck // a killed process fails, on purpose
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	c := &cpServer{dir: filepath.Dir(file), file: file}
	for deadline := time.Now().Add(30 * time.Second); c.data == "" || c.admin == ""; {
		select {
		case <-exited:
			t.Fatalf("frontdesk exited at start:\n%s", logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("frontdesk did not report its listeners:\n%s", logs.String())
		}
		sc := bufio.NewScanner(strings.NewReader(logs.String()))
		for sc.Scan() {
			var rec struct{ Msg, Listen string }
			if json.Unmarshal(sc.Bytes(), &rec) == nil {
				switch rec.Msg {
				case "serving":
					c.data = rec.Listen
				case "admin listening":
					c.admin = rec.Listen
				}
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return cmd, c
}

func TestCreatedAPIsSurviveSIGKILLMidWriteAndARestart(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the frontdesk binary")
	}
	bin := buildFrontdesk(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "frontdesk.yaml")
	if err := os.WriteFile(file, []byte(cpConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	up := nameEcho(t, "up")
	cmd, c := runFrontdesk(t, bin, file)
	var api struct{ ApiID string }
	c.must(t, "POST", "/v2/apis", `{"name":"durable","protocolType":"HTTP"}`, &api)
	var in struct{ IntegrationID string }
	c.must(t, "POST", "/v2/apis/"+api.ApiID+"/integrations", `{"integrationType":"HTTP_PROXY","integrationUri":"http://`+up+`/kept","integrationMethod":"GET"}`, &in)
	c.must(t, "POST", "/v2/apis/"+api.ApiID+"/routes", `{"routeKey":"GET /kept","target":"integrations/`+in.IntegrationID+`"}`, nil)
	c.must(t, "POST", "/v2/apis/"+api.ApiID+"/stages", `{"stageName":"prod","autoDeploy":true}`, nil)
	var key struct{ ID string }
	c.must(t, "POST", "/apikeys", `{"name":"kept-key","value":"kept-key-value-0123456789","enabled":true}`, &key)

	// Changes keep coming while the process is killed: every one that
	// was answered must be there after the restart, and the state file
	// must read whole whatever the kill interrupted.
	acked := make(chan string, 100)
	go func() {
		defer close(acked)
		for i := 0; i < 100; i++ {
			a, err := c.send(cpCall{method: "POST", path: "/v2/apis/" + api.ApiID + "/routes",
				body: []byte(`{"routeKey":"GET /r` + strings.Repeat("x", i%5) + string(rune('a'+i%26)) + `/` + time.Now().Format("150405.000000") + `","target":"integrations/` + in.IntegrationID + `"}`)})
			if err != nil || a.status != 201 {
				return // the process is gone
			}
			var r struct{ RouteID string }
			if json.Unmarshal(a.body, &r) == nil {
				acked <- r.RouteID
			}
		}
	}()
	var got []string
	for id := range acked {
		got = append(got, id)
		if len(got) == 5 {
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
		}
	}
	if len(got) < 5 {
		t.Fatalf("only %d changes were answered before the kill", len(got))
	}

	_, c = runFrontdesk(t, bin, file)
	if r := c.get(t, api.ApiID, "/prod/kept"); r.status != 200 || r.body != "up /kept" {
		t.Fatalf("after the restart the created route answers %d %q", r.status, r.body)
	}
	var routes struct{ Items []struct{ RouteID string } }
	c.must(t, "GET", "/v2/apis/"+api.ApiID+"/routes?maxResults=500", "", &routes)
	listed := map[string]bool{}
	for _, r := range routes.Items {
		listed[r.RouteID] = true
	}
	for _, id := range got {
		if !listed[id] {
			t.Fatalf("route %s was created (201) before the kill but is not listed after the restart", id)
		}
	}
	var apis struct {
		Items []struct{ ApiID, Name string }
	}
	c.must(t, "GET", "/v2/apis", "", &apis)
	found := false
	for _, a := range apis.Items {
		found = found || a.ApiID == api.ApiID
	}
	if !found {
		t.Fatalf("get-apis after the restart: %+v", apis.Items)
	}
	var k struct{ Name string }
	c.must(t, "GET", "/apikeys/"+key.ID, "", &k)
	if k.Name != "kept-key" {
		t.Fatalf("API key after the restart: %+v", k)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "*.tmp-*")); len(left) != 0 {
		t.Fatalf("temporary state files left after start-up: %v", left)
	}
}
