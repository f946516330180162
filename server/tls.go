package server

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync/atomic"

	"github.com/frontdeskgw/frontdesk/config"
)

// certificates holds the served certificates; a reload swaps them, and new
// handshakes pick them up while established connections keep theirs.
type certificates struct {
	set atomic.Pointer[[]tls.Certificate]
}

// load reads every PEM pair of server.tls.
func (c *certificates) load(t *config.TLS) error {
	var pairs []config.TLSCert
	if t.Cert != "" || t.Key != "" {
		pairs = append(pairs, config.TLSCert{Cert: t.Cert, Key: t.Key})
	}
	pairs = append(pairs, t.Certs...)
	if len(pairs) == 0 {
		return errors.New("server.tls: no certificate (set cert and key, or certs)")
	}
	certs := make([]tls.Certificate, 0, len(pairs))
	for _, p := range pairs {
		crt, err := tls.LoadX509KeyPair(p.Cert, p.Key)
		if err != nil {
			return fmt.Errorf("server.tls: load %s / %s: %w", p.Cert, p.Key, err)
		}
		certs = append(certs, crt)
	}
	c.set.Store(&certs)
	return nil
}

// config is the listener's TLS configuration: TLS 1.2 and later, the
// certificate chosen by SNI (the first one when none matches).
func (c *certificates) config() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		NextProtos: []string{"http/1.1"},
		GetCertificate: func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
			certs := *c.set.Load()
			for i := range certs {
				if hello.SupportsCertificate(&certs[i]) == nil {
					return &certs[i], nil
				}
			}
			return &certs[0], nil
		},
	}
}

// tlsListener wraps ln when server.tls is set.
func (s *Server) tlsListener(ln net.Listener) net.Listener {
	if s.certs == nil {
		return ln
	}
	return tls.NewListener(ln, s.certs.config())
}
