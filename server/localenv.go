package server

import (
	"bytes"
	"crypto/rand"
	"crypto/tls"
	"encoding/base32"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/frontdeskgw/frontdesk/config"
	"github.com/frontdeskgw/frontdesk/internal/localca"
	"github.com/frontdeskgw/frontdesk/wsbridge"
	"github.com/valyala/fasthttp"
)

// localEnv is what frontdesk gives its local functions so that handlers
// written for AWS can call back into the gateway unchanged: the local CA
// (server.local_tls) in the variables runtimes and SDKs read, and AWS
// credentials that @connections accepts.
type localEnv struct {
	ca *localca.Authority // nil without server.local_tls
	// env is added beneath every local function's own environment.
	env map[string]string
	// accepted are credentials @connections takes besides the configured
	// ones: the pair given to functions, or the one frontdesk inherited.
	accepted []wsbridge.Credential
}

// newLocalEnv loads (or creates) the local CA when server.local_tls is set,
// and decides the functions' credentials from frontdesk's environment
// (lookup) and home directory.
func newLocalEnv(cfg *config.Config, lookup func(string) (string, bool), home string, log *slog.Logger) (*localEnv, error) {
	le := &localEnv{env: map[string]string{}}
	if lt := cfg.Server.LocalTLS; lt != nil {
		dir := lt.StateDir
		if dir == "" {
			var err error
			if dir, err = localca.DefaultDir(); err != nil {
				return nil, fmt.Errorf("server.local_tls: %w", err)
			}
		}
		ca, err := localca.Ensure(dir, time.Now())
		if err != nil {
			return nil, fmt.Errorf("server.local_tls: %w", err)
		}
		if ca.Created {
			log.Info("created the local CA; trust it to call the HTTPS listener from outside local functions", "ca", ca.CAFile)
		}
		le.ca = ca
		// NODE_EXTRA_CA_CERTS adds to Node's roots; the others replace
		// the trust store, so they name the system's roots plus the CA.
		le.env["NODE_EXTRA_CA_CERTS"] = ca.CAFile
		le.env["AWS_CA_BUNDLE"] = ca.BundleFile
		le.env["SSL_CERT_FILE"] = ca.BundleFile
		le.env["REQUESTS_CA_BUNDLE"] = ca.BundleFile
	}
	id, secret := "", ""
	if v, ok := lookup("AWS_ACCESS_KEY_ID"); ok && v != "" {
		id = v
		secret, _ = lookup("AWS_SECRET_ACCESS_KEY")
	}
	switch {
	case id != "" && secret != "":
		// Functions inherit them: @connections takes them too.
		le.accepted = append(le.accepted, wsbridge.Credential{AccessKeyID: id, SecretAccessKey: secret})
	case id != "" || hasSharedAWSConfig(lookup, home):
		// The functions' SDKs find credentials of their own (a profile,
		// SSO); local ones in the environment would shadow them.
	default:
		c := newLocalCredential()
		le.env["AWS_ACCESS_KEY_ID"] = c.AccessKeyID
		le.env["AWS_SECRET_ACCESS_KEY"] = c.SecretAccessKey
		le.env["AWS_SESSION_TOKEN"] = c.sessionToken
		le.accepted = append(le.accepted, c.Credential)
	}
	return le, nil
}

// hasSharedAWSConfig says whether an AWS SDK would find a profile.
func hasSharedAWSConfig(lookup func(string) (string, bool), home string) bool {
	for _, k := range []string{"AWS_PROFILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"} {
		if v, ok := lookup(k); ok && v != "" {
			return true
		}
	}
	if home == "" {
		return false
	}
	for _, f := range []string{"credentials", "config"} {
		if _, err := os.Stat(filepath.Join(home, ".aws", f)); err == nil {
			return true
		}
	}
	return false
}

type localCredential struct {
	wsbridge.Credential
	sessionToken string
}

// newLocalCredential makes a random key pair in the shape of AWS's
// temporary credentials (ASIA…), valid for this process only.
func newLocalCredential() localCredential {
	var b [16 + 30 + 48]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go ≥ 1.24)
	id := base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:16])[:16]
	return localCredential{
		Credential: wsbridge.Credential{
			AccessKeyID:     "ASIA" + id,
			SecretAccessKey: base64.StdEncoding.EncodeToString(b[16:46]),
		},
		sessionToken: base64.StdEncoding.EncodeToString(b[46:]),
	}
}

// localTLSListener wraps ln in TLS with the local CA's certificate.
func (le *localEnv) localTLSListener(ln net.Listener) net.Listener {
	return tls.NewListener(ln, &tls.Config{
		MinVersion:   tls.VersionTLS12,
		NextProtos:   []string{"http/1.1"},
		Certificates: []tls.Certificate{le.ca.Server},
	})
}

// webSocketDomainName is requestContext.domainName of a WebSocket
// connection while server.local_tls is on. On AWS it always names an HTTPS
// endpoint, and handlers build 'https://' + domainName + '/' + stage from
// it: a client that connected over plain HTTP gets the host it used with
// the HTTPS listener's port instead of the plain one, so that URL reaches
// the gateway. Connections made over TLS keep their Host.
func (s *Server) webSocketDomainName(ctx *fasthttp.RequestCtx) []byte {
	host := ctx.Host()
	if ctx.IsTLS() || s.localLn == nil {
		return bytes.Clone(host)
	}
	_, port, err := net.SplitHostPort(s.localLn.Addr().String())
	if err != nil {
		return bytes.Clone(host)
	}
	name := host
	if i := bytes.LastIndexByte(host, ':'); i >= 0 && bytes.IndexByte(host[i:], ']') < 0 {
		name = host[:i]
	}
	out := make([]byte, 0, len(name)+1+len(port))
	return append(append(append(out, name...), ':'), port...)
}
