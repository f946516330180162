package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/frontdeskgw/frontdesk/config"
)

// scriptRuntime is an interpreted runtime the test can run: the script
// speaks the Runtime API itself, answers {"answer": ANSWER}, and on the
// event "hold" first creates the started file, then waits for the release
// file.
type scriptRuntime struct {
	interpreter string
	file        string
	source      func(answer, started, release string) string
}

const pythonRuntime = `import json, os, time, urllib.request
ANSWER = %q
STARTED = %q
RELEASE = %q
api = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime/invocation/"
http = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback only, whatever http_proxy says
while True:
    with http.open(api + "next") as r:
        rid = r.headers["Lambda-Runtime-Aws-Request-Id"]
        event = json.loads(r.read())
    if event == "hold":
        open(STARTED, "w").close()
        deadline = time.time() + 20
        while not os.path.exists(RELEASE) and time.time() < deadline:
            time.sleep(0.01)
    body = json.dumps({"answer": ANSWER}).encode()
    http.open(urllib.request.Request(api + rid + "/response", data=body, method="POST")).close()
`

const shellRuntime = `ANSWER='%s'
STARTED='%s'
RELEASE='%s'
api="http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime/invocation"
hdrs="$(mktemp)"
trap 'rm -f "$hdrs"' EXIT
while :; do
  event="$(curl -sS --noproxy '*' -D "$hdrs" "$api/next")" || exit 1
  rid="$(tr -d '\r' < "$hdrs" | sed -n 's/^[Ll]ambda-[Rr]untime-[Aa]ws-[Rr]equest-[Ii]d: *//p')"
  if [ "$event" = '"hold"' ]; then
    : > "$STARTED"
    n=0
    while [ ! -e "$RELEASE" ] && [ $n -lt 2000 ]; do sleep 0.01; n=$((n+1)); done
  fi
  curl -sS --noproxy '*' -o /dev/null -X POST --data "{\"answer\":\"$ANSWER\"}" "$api/$rid/response" || exit 1
done
`

// pickScriptRuntime prefers python3 and falls back to sh with curl; with
// neither the test cannot show what it is for, so it fails.
func pickScriptRuntime(t *testing.T) scriptRuntime {
	t.Helper()
	if _, err := exec.LookPath("python3"); err == nil {
		return scriptRuntime{interpreter: "python3", file: "handler.py", source: func(a, s, r string) string {
			return fmt.Sprintf(pythonRuntime, a, s, r)
		}}
	}
	_, errSh := exec.LookPath("sh")
	_, errCurl := exec.LookPath("curl")
	if errSh == nil && errCurl == nil {
		return scriptRuntime{interpreter: "sh", file: "handler.sh", source: func(a, s, r string) string {
			return fmt.Sprintf(shellRuntime, a, s, r)
		}}
	}
	t.Fatalf("no interpreted runtime to test with: need python3, or sh and curl, in PATH")
	return scriptRuntime{}
}

// writeReplacing saves content the way editors and build tools do: write
// a temporary file beside it, then rename it over the original.
func writeReplacing(t *testing.T, path, content string) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

type scriptAnswer struct {
	answer string
	err    error
}

func invokeScript(fn *Function, event string) scriptAnswer {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := fn.Invoker.Invoke(ctx, []byte(event))
	if err != nil {
		return scriptAnswer{err: err}
	}
	if res.FunctionError != "" {
		return scriptAnswer{err: fmt.Errorf("function error %s: %s", res.FunctionError, res.Payload)}
	}
	var doc struct {
		Answer string `json:"answer"`
	}
	if err := json.Unmarshal(res.Payload, &doc); err != nil {
		return scriptAnswer{err: fmt.Errorf("decode %s: %w", res.Payload, err)}
	}
	return scriptAnswer{answer: doc.Answer}
}

// With watching on, editing an interpreted function's script restarts its
// instances: new invocations get the new code, while one that was running
// during the edit finishes on the old code.
func TestScriptChangeRestartsInterpretedFunction(t *testing.T) {
	rt := pickScriptRuntime(t)
	dir := t.TempDir()
	script := filepath.Join(dir, rt.file)
	started := filepath.Join(dir, "started")
	release := filepath.Join(dir, "release")
	writeReplacing(t, script, rt.source("old", started, release))

	fn, err := OpenFunction("scripted", config.Function{
		Command:     []string{rt.interpreter, script},
		Concurrency: 2,
		Timeout:     config.Duration(30 * time.Second),
	}, FunctionEnv{Watch: true, Log: slog.New(slog.NewTextHandler(testLogWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatalf("OpenFunction: %v", err)
	}
	defer fn.Close()

	// One instance holds an invocation through the change; the other
	// stays warm and idle, so only a restart makes it run the new code.
	held := make(chan scriptAnswer, 1)
	go func() { held <- invokeScript(fn, `"hold"`) }()
	defer func() { _ = os.WriteFile(release, nil, 0o644) }() // never leave the instance waiting
	waitForFile(t, started, held)
	if got := invokeScript(fn, `{}`); got.err != nil || got.answer != "old" {
		t.Fatalf("invocation on the second instance = %+v, want answer old", got)
	}

	writeReplacing(t, script, rt.source("new", started, release))

	deadline := time.Now().Add(10 * time.Second)
	for attempts := 0; ; attempts++ {
		got := invokeScript(fn, `{}`)
		if got.err != nil {
			t.Fatalf("invocation after the change: %v", got.err)
		}
		if got.answer == "new" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %d invocations over 10s the function still answers %q: the script change did not restart it", attempts+1, got.answer)
		}
		time.Sleep(20 * time.Millisecond)
	}

	if err := os.WriteFile(release, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if got := <-held; got.err != nil || got.answer != "old" {
		t.Errorf("invocation in flight during the change = %+v, want it completed with answer old", got)
	}
}

// waitForFile waits until path exists, or fails early if the held
// invocation already ended.
func waitForFile(t *testing.T, path string, held <-chan scriptAnswer) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(path); err == nil {
			return
		}
		select {
		case got := <-held:
			t.Fatalf("held invocation ended before it started holding: %+v", got)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", path)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

type testLogWriter struct{ t *testing.T }

func (w testLogWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}
