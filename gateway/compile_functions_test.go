package gateway

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/frontdeskgw/frontdesk/config"
	"github.com/frontdeskgw/frontdesk/lambda/invoke"
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

// A remote function on an AWS endpoint with no credentials to sign with
// is reported when it is opened (start-up, reload), by its config name,
// and its calls fail at once with invoke.ErrNoCredentials.
func TestOpenFunctionWarnsOfAWSEndpointWithoutCredentials(t *testing.T) {
	// Nothing for the SDK's default chain to find, and no
	// instance-metadata lookup: the test reaches no address.
	dir := t.TempDir()
	t.Setenv("AWS_CONFIG_FILE", dir+"/config")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", dir+"/credentials")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	for _, k := range []string{
		"AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_ACCESS_KEY", "AWS_SECRET_ACCESS_KEY", "AWS_SECRET_KEY", "AWS_SESSION_TOKEN",
		"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN",
	} {
		t.Setenv(k, "")
	}
	var buf syncBuffer
	fn, err := OpenFunction("greeter", config.Function{InvokeURL: "https://lambda.eu-west-1.amazonaws.com", FunctionName: "hello"},
		FunctionEnv{Log: slog.New(slog.NewTextHandler(&buf, nil))})
	if err != nil {
		t.Fatalf("OpenFunction: %v (one function without credentials must not stop the rest)", err)
	}
	defer fn.Close()
	var warnings []string
	for _, l := range strings.Split(buf.String(), "\n") {
		if strings.Contains(l, "level=WARN") {
			warnings = append(warnings, l)
		}
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "function=greeter") || !strings.Contains(warnings[0], "no AWS credentials") {
		t.Fatalf("want one warning naming function greeter, got:\n%s", buf.String())
	}
	if _, err := fn.Invoker.Invoke(context.Background(), []byte(`{}`)); !errors.Is(err, invoke.ErrNoCredentials) {
		t.Errorf("call: %v, want invoke.ErrNoCredentials", err)
	}
}
