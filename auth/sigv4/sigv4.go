// Package sigv4 verifies AWS Signature Version 4 header signatures: the
// @connections endpoint of WebSocket APIs and the control plane accept
// requests that AWS clients (the CLI, the SDKs) sign with configured
// credentials.
//
// Hot path: none; it runs on management calls only.
package sigv4

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/valyala/fasthttp"
)

const (
	// Algorithm opens every SigV4 Authorization header.
	Algorithm     = "AWS4-HMAC-SHA256"
	amzDateLayout = "20060102T150405Z"
	// MaxClockSkew is how far X-Amz-Date may be from our clock, as AWS
	// allows.
	MaxClockSkew = 5 * time.Minute
)

// Errors a caller maps to AWS's answers: a signature too old or too far
// ahead (AWS: "Signature expired"), an access key id no credential has
// (AWS: UnrecognizedClientException). Every other refusal is a signature
// that does not match.
var (
	ErrExpired    = errors.New("signature expired")
	ErrUnknownKey = errors.New("unknown access key id")
)

// Verifier checks SigV4 header signatures by signing the same request
// again with the SDK's signer and the configured secret, so the
// canonicalisation is exactly the one AWS clients use.
type Verifier struct {
	secrets map[string]string // access key id -> secret
	region  string            // "" accepts any region
	service string
	signer  *v4.Signer
}

// NewVerifier accepts requests signed for service with one of secrets
// (access key id to secret access key), in region ("" accepts any).
func NewVerifier(secrets map[string]string, region, service string) *Verifier {
	return &Verifier{secrets: secrets, region: region, service: service, signer: v4.NewSigner()}
}

// Authorization is a parsed Authorization header.
type Authorization struct {
	AccessKeyID   string
	Date          string // yyyymmdd of the credential scope
	Region        string
	Service       string
	SignedHeaders string
	Signature     string
}

// ParseAuthorization splits a SigV4 Authorization header into its parts.
func ParseAuthorization(h string) (Authorization, error) {
	var a Authorization
	rest, ok := strings.CutPrefix(h, Algorithm+" ")
	if !ok {
		return a, errors.New("not an " + Algorithm + " authorization")
	}
	var credential string
	for part := range strings.SplitSeq(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "Credential":
			credential = v
		case "SignedHeaders":
			a.SignedHeaders = v
		case "Signature":
			a.Signature = v
		}
	}
	scope := strings.Split(credential, "/")
	if len(scope) != 5 || scope[4] != "aws4_request" {
		return a, fmt.Errorf("malformed credential scope %q", credential)
	}
	a.AccessKeyID, a.Date, a.Region, a.Service = scope[0], scope[1], scope[2], scope[3]
	if a.SignedHeaders == "" || a.Signature == "" {
		return a, errors.New("authorization lacks SignedHeaders or Signature")
	}
	return a, nil
}

// Verify checks req's signature at time now; tls says how it arrived.
func (v *Verifier) Verify(req *fasthttp.Request, tls bool, now time.Time) error {
	a, err := ParseAuthorization(string(req.Header.Peek("Authorization")))
	if err != nil {
		return err
	}
	if a.Service != v.service {
		return fmt.Errorf("signed for service %q, want %q", a.Service, v.service)
	}
	if v.region != "" && a.Region != v.region {
		return fmt.Errorf("signed for region %q, want %q", a.Region, v.region)
	}
	secret, ok := v.secrets[a.AccessKeyID]
	if !ok {
		return fmt.Errorf("%w %q", ErrUnknownKey, a.AccessKeyID)
	}
	signedAt, err := time.Parse(amzDateLayout, string(req.Header.Peek("X-Amz-Date")))
	if err != nil {
		return fmt.Errorf("X-Amz-Date: %w", err)
	}
	if d := now.Sub(signedAt); d > MaxClockSkew || d < -MaxClockSkew {
		return fmt.Errorf("%w: signature time %s is more than %s from now %s", ErrExpired, signedAt.Format(amzDateLayout), MaxClockSkew, now.UTC().Format(amzDateLayout))
	}
	if signedAt.Format("20060102") != a.Date {
		return errors.New("credential scope date differs from X-Amz-Date")
	}

	body := req.Body()
	sum := sha256.Sum256(body)
	payloadHash := hex.EncodeToString(sum[:])
	if h := req.Header.Peek("X-Amz-Content-Sha256"); len(h) > 0 && string(h) != payloadHash {
		return errors.New("X-Amz-Content-Sha256 does not match the body")
	}

	// Rebuild the request from the headers the client signed, with the
	// path exactly as sent: the signer escapes it once more, as it did on
	// the client.
	host := string(req.Header.Host())
	scheme := "http"
	if tls {
		scheme = "https"
	}
	hr := &http.Request{
		Method: string(req.Header.Method()),
		URL: &url.URL{
			Scheme:   scheme,
			Host:     host,
			Opaque:   "//" + host + string(req.URI().PathOriginal()),
			RawQuery: string(req.URI().QueryString()),
		},
		Host:   host,
		Header: make(http.Header),
	}
	for name := range strings.SplitSeq(a.SignedHeaders, ";") {
		switch name {
		case "host":
		case "content-length":
			hr.ContentLength = int64(len(body))
		default:
			values := req.Header.PeekAll(name)
			if len(values) == 0 {
				return fmt.Errorf("signed header %q is missing", name)
			}
			for _, val := range values {
				hr.Header.Add(name, string(val))
			}
		}
	}
	creds := aws.Credentials{AccessKeyID: a.AccessKeyID, SecretAccessKey: secret}
	if err := v.signer.SignHTTP(context.Background(), creds, hr, payloadHash, v.service, a.Region, signedAt); err != nil {
		return fmt.Errorf("re-signing: %w", err)
	}
	want, err := ParseAuthorization(hr.Header.Get("Authorization"))
	if err != nil {
		return fmt.Errorf("re-signing: %w", err)
	}
	if want.SignedHeaders != a.SignedHeaders {
		return fmt.Errorf("signed headers %q, expected %q", a.SignedHeaders, want.SignedHeaders)
	}
	if subtle.ConstantTimeCompare([]byte(want.Signature), []byte(a.Signature)) != 1 {
		return errors.New("signature does not match")
	}
	return nil
}
