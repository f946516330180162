// Package localca is frontdesk's local certificate authority: on first
// use it creates a CA in a state directory and, signed by it, a server
// certificate for localhost, *.localhost, *.execute-api.localhost,
// 127.0.0.1 and ::1, so that local functions can reach the gateway over
// HTTPS (https://{api}.execute-api.localhost:port/stage, as handlers build
// their @connections endpoint) and trust it through the CA file alone.
//
// Files in the directory: ca.pem and ca-key.pem (the CA, kept across
// runs; the key is 0600), server.pem and server-key.pem (renewed when
// missing, not signed by the CA, lacking a name, or within 30 days of its
// end), and ca-bundle.pem (the system's roots plus the CA, rewritten at
// every start, for variables such as SSL_CERT_FILE that replace the trust
// store instead of adding to it).
//
// Hot path: none; Ensure runs at start-up.
package localca

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// Names are the DNS names of the server certificate.
var Names = []string{"localhost", "*.localhost", "*.execute-api.localhost"}

// IPs are the addresses of the server certificate.
var IPs = []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}

const (
	caValidity     = 10 * 365 * 24 * time.Hour
	serverValidity = 397 * 24 * time.Hour // the longest clients accept
	renewBefore    = 30 * 24 * time.Hour
)

// systemBundles are where Linux distributions and BSDs keep the system's
// roots as one PEM file (the list crypto/x509 reads too).
var systemBundles = []string{
	"/etc/ssl/certs/ca-certificates.crt",
	"/etc/pki/tls/certs/ca-bundle.crt",
	"/etc/ssl/ca-bundle.pem",
	"/etc/pki/tls/cacert.pem",
	"/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
	"/etc/ssl/cert.pem",
	"/usr/local/etc/ssl/cert.pem",
}

// Authority is a loaded local CA and its server certificate.
type Authority struct {
	// Dir holds the files.
	Dir string
	// CAFile is the CA certificate alone (NODE_EXTRA_CA_CERTS).
	CAFile string
	// BundleFile is the system's roots plus the CA (SSL_CERT_FILE,
	// AWS_CA_BUNDLE).
	BundleFile string
	// Server is the certificate the HTTPS listener serves.
	Server tls.Certificate
	// Created reports that this call created the CA.
	Created bool
}

// DefaultDir is $XDG_STATE_HOME/frontdesk, else ~/.local/state/frontdesk.
func DefaultDir() (string, error) {
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "frontdesk"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("local CA directory: %w", err)
	}
	return filepath.Join(home, ".local", "state", "frontdesk"), nil
}

// Ensure loads the CA in dir, creating it on first use, and a valid server
// certificate signed by it.
func Ensure(dir string, now time.Time) (*Authority, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("local CA: %w", err)
	}
	a := &Authority{Dir: dir, CAFile: filepath.Join(dir, "ca.pem"), BundleFile: filepath.Join(dir, "ca-bundle.pem")}
	caKeyFile := filepath.Join(dir, "ca-key.pem")
	caCert, caKey, err := load(a.CAFile, caKeyFile)
	if errors.Is(err, os.ErrNotExist) {
		caCert, caKey, err = createCA(a.CAFile, caKeyFile, now)
		a.Created = true
	}
	if err != nil {
		return nil, fmt.Errorf("local CA %s: %w", dir, err)
	}
	srvFile, srvKeyFile := filepath.Join(dir, "server.pem"), filepath.Join(dir, "server-key.pem")
	srv, srvKey, err := load(srvFile, srvKeyFile)
	if err != nil || !serverUsable(srv, caCert, now) {
		if srv, srvKey, err = createServer(srvFile, srvKeyFile, caCert, caKey, now); err != nil {
			return nil, fmt.Errorf("local CA %s: server certificate: %w", dir, err)
		}
	}
	a.Server = tls.Certificate{Certificate: [][]byte{srv.Raw, caCert.Raw}, PrivateKey: srvKey, Leaf: srv}
	if err := writeBundle(a.BundleFile, caCert); err != nil {
		return nil, fmt.Errorf("local CA %s: %w", dir, err)
	}
	return a, nil
}

func load(certFile, keyFile string) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	cb, err := os.ReadFile(certFile)
	if err != nil {
		return nil, nil, err
	}
	kb, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, nil, err
	}
	cp, _ := pem.Decode(cb)
	kp, _ := pem.Decode(kb)
	if cp == nil || kp == nil {
		return nil, nil, fmt.Errorf("%s or %s is not PEM", certFile, keyFile)
	}
	cert, err := x509.ParseCertificate(cp.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", certFile, err)
	}
	key, err := x509.ParseECPrivateKey(kp.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", keyFile, err)
	}
	return cert, key, nil
}

func serial() (*big.Int, error) {
	return rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
}

func createCA(certFile, keyFile string, now time.Time) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	sn, err := serial()
	if err != nil {
		return nil, nil, err
	}
	host, _ := os.Hostname()
	tmpl := &x509.Certificate{
		SerialNumber:          sn,
		Subject:               pkix.Name{Organization: []string{"frontdesk local CA"}, CommonName: "frontdesk local CA " + host},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(caValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	return writePair(certFile, keyFile, tmpl, tmpl, key, key)
}

func createServer(certFile, keyFile string, ca *x509.Certificate, caKey *ecdsa.PrivateKey, now time.Time) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	sn, err := serial()
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: sn,
		Subject:      pkix.Name{Organization: []string{"frontdesk local CA"}, CommonName: "localhost"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(serverValidity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     Names,
		IPAddresses:  IPs,
	}
	return writePair(certFile, keyFile, tmpl, ca, key, caKey)
}

func writePair(certFile, keyFile string, tmpl, parent *x509.Certificate, key, signer *ecdsa.PrivateKey) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, signer)
	if err != nil {
		return nil, nil, err
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	if err := writeFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		return nil, nil, err
	}
	if err := writeFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	return cert, key, err
}

// serverUsable says whether srv is signed by ca, names every name and
// address, and stays valid for renewBefore.
func serverUsable(srv, ca *x509.Certificate, now time.Time) bool {
	if srv.CheckSignatureFrom(ca) != nil || now.Add(renewBefore).After(srv.NotAfter) || now.Before(srv.NotBefore) {
		return false
	}
	for _, n := range Names {
		if !slices.Contains(srv.DNSNames, n) {
			return false
		}
	}
	for _, ip := range IPs {
		if !slices.ContainsFunc(srv.IPAddresses, ip.Equal) {
			return false
		}
	}
	return true
}

// writeBundle writes the first system bundle found, then the CA.
func writeBundle(file string, ca *x509.Certificate) error {
	var b bytes.Buffer
	for _, p := range systemBundles {
		if sys, err := os.ReadFile(p); err == nil && len(sys) > 0 {
			b.Write(sys)
			if sys[len(sys)-1] != '\n' {
				b.WriteByte('\n')
			}
			break
		}
	}
	if err := pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: ca.Raw}); err != nil {
		return err
	}
	return writeFile(file, b.Bytes(), 0o644)
}

// writeFile replaces file through a temporary file and a rename, so that a
// reader never sees half a file.
func writeFile(file string, data []byte, perm os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(file), filepath.Base(file)+".*")
	if err != nil {
		return err
	}
	_, werr := tmp.Write(data)
	cerr := tmp.Close()
	if werr == nil && cerr == nil {
		if werr = os.Chmod(tmp.Name(), perm); werr == nil {
			werr = os.Rename(tmp.Name(), file)
		}
	}
	if err := errors.Join(werr, cerr); err != nil {
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("write %s: %w", file, err)
	}
	return nil
}
