package invoke

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// isolateNoAWSCredentials leaves the SDK's default chain nothing to find:
// no environment credentials, no files, no container endpoint, and no
// instance-metadata lookup (the test reaches no address but loopback).
func isolateNoAWSCredentials(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("AWS_CONFIG_FILE", dir+"/config")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", dir+"/credentials")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	for _, k := range []string{
		"AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_ACCESS_KEY", "AWS_SECRET_ACCESS_KEY", "AWS_SECRET_KEY", "AWS_SESSION_TOKEN",
		"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
		"AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN",
	} {
		t.Setenv(k, "")
	}
}

// An AWS endpoint with no credentials to sign with is found out when the
// client is built: one warning, then every call fails at once with
// ErrNoCredentials, without a request or a credential lookup.
func TestAWSEndpointWithoutCredentialsWarnsOnceAndFailsFast(t *testing.T) {
	isolateNoAWSCredentials(t)
	var dials atomic.Int32
	var logs logBuffer
	c := newClient(t, Config{
		InvokeURL:    "https://lambda.us-east-1.amazonaws.com",
		FunctionName: "hello",
		Logger:       slog.New(slog.NewTextHandler(&logs, nil)).With("function", "greeter"),
		// Nothing may be dialled; refuse without touching the network.
		Dial: func(string) (net.Conn, error) {
			dials.Add(1)
			return nil, errors.New("dial refused by the test")
		},
	})
	warnings := func() []string {
		var out []string
		for _, l := range strings.Split(logs.String(), "\n") {
			if strings.Contains(l, "level=WARN") {
				out = append(out, l)
			}
		}
		return out
	}
	w := warnings()
	if len(w) != 1 || !strings.Contains(w[0], "function=greeter") || !strings.Contains(w[0], "credentials") {
		t.Fatalf("want one warning naming the function and its missing credentials, got:\n%s", logs.String())
	}
	for i := 0; i < 3; i++ {
		_, err := c.Invoke(context.Background(), []byte(`{}`))
		if !errors.Is(err, ErrNoCredentials) {
			t.Fatalf("call %d: %v, want ErrNoCredentials", i, err)
		}
	}
	if n := dials.Load(); n != 0 {
		t.Errorf("%d dials for calls that cannot be signed", n)
	}
	if w := warnings(); len(w) != 1 {
		t.Errorf("calls logged again:\n%s", logs.String())
	}
}
