package wsbridge

import (
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/frontdeskgw/frontdesk/internal/testdeps"
)

// TestAWSCLIManagesConnections drives @connections with the real AWS CLI
// (botocore's signer and endpoint handling), when it is installed.
func TestAWSCLIManagesConnections(t *testing.T) {
	cli := testdeps.Require(t, "aws")
	if testing.Short() {
		t.Skip("starts the AWS CLI several times")
	}
	g := startGateway(t, Options{Credentials: []Credential{{AccessKeyID: testAK, SecretAccessKey: testSK}}})
	c, id := dialRegistered(t, g, "/prod", nil)
	run := func(secret string, args ...string) (string, error) {
		cmd := exec.Command(cli, append([]string{"apigatewaymanagementapi", "--endpoint-url", "http://" + g.addr + "/prod", "--output", "json"}, args...)...)
		// Only these AWS settings: none from the machine's profile.
		for _, kv := range os.Environ() {
			if !strings.HasPrefix(kv, "AWS_") {
				cmd.Env = append(cmd.Env, kv)
			}
		}
		cmd.Env = append(cmd.Env,
			"AWS_ACCESS_KEY_ID="+testAK, "AWS_SECRET_ACCESS_KEY="+secret, "AWS_DEFAULT_REGION=eu-west-1",
			"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null",
			"AWS_EC2_METADATA_DISABLED=true", "AWS_MAX_ATTEMPTS=1")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}

	if out, err := run(testSK, "post-to-connection", "--connection-id", id, "--data", "from the cli"); err != nil {
		t.Fatalf("post-to-connection: %v\n%s", err, out)
	}
	if got := readText(t, c, 5*time.Second); got != "from the cli" {
		t.Fatalf("client got %q", got)
	}
	out, err := run(testSK, "get-connection", "--connection-id", id)
	if err != nil {
		t.Fatalf("get-connection: %v\n%s", err, out)
	}
	var info struct {
		ConnectedAt string
		Identity    struct{ SourceIp string }
	}
	if err := json.Unmarshal([]byte(out), &info); err != nil || info.Identity.SourceIp != "127.0.0.1" || info.ConnectedAt == "" {
		t.Fatalf("get-connection output %s (%v)", out, err)
	}
	if out, err := run("wrong-secret", "post-to-connection", "--connection-id", id, "--data", "x"); err == nil || !strings.Contains(out, "ForbiddenException") {
		t.Fatalf("wrong secret: err=%v\n%s", err, out)
	}
	if out, err := run(testSK, "delete-connection", "--connection-id", id); err != nil {
		t.Fatalf("delete-connection: %v\n%s", err, out)
	}
	if ce := readClose(t, c, 5*time.Second); ce.Code != 1000 {
		t.Fatalf("close %d", ce.Code)
	}
	if out, err := run(testSK, "get-connection", "--connection-id", id); err == nil || !strings.Contains(out, "GoneException") {
		t.Fatalf("get after delete: err=%v\n%s", err, out)
	}
}
