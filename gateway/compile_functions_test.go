package gateway

import (
	"bytes"
	"log/slog"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/frontdeskgw/frontdesk/config"
)

// syncBuffer is a bytes.Buffer safe for the handler's concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var logKey = regexp.MustCompile(`(?:^| )([A-Za-z_.]+)=`)

// A function's log lines name it once: the logger OpenFunction hands to
// the function host or the Invoke client must not carry an attribute that
// they add themselves.
func TestOpenFunctionLogsEachAttributeOnce(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		fc   config.Function
	}{
		// A reserved variable in env makes the host log a warning as it
		// builds the function, without starting it.
		{"local", config.Function{Command: []string{exe}, Env: map[string]string{"AWS_LAMBDA_FUNCTION_NAME": "x"}}},
		{"remote", config.Function{InvokeURL: "http://127.0.0.1:9", FunctionName: "hello"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf syncBuffer
			fn, err := OpenFunction("hello", tc.fc, FunctionEnv{Log: slog.New(slog.NewTextHandler(&buf, nil))})
			if err != nil {
				t.Fatal(err)
			}
			defer fn.Close()
			out := buf.String()
			if !strings.Contains(out, "function=hello") {
				t.Fatalf("no line names the function:\n%s", out)
			}
			for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
				seen := map[string]bool{}
				for _, m := range logKey.FindAllStringSubmatch(line, -1) {
					if seen[m[1]] {
						t.Errorf("attribute %q repeated: %s", m[1], line)
					}
					seen[m[1]] = true
				}
			}
		})
	}
}
