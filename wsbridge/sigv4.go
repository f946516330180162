package wsbridge

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
	sigV4Algorithm = "AWS4-HMAC-SHA256"
	sigV4Service   = "execute-api"
	amzDateLayout  = "20060102T150405Z"
	// maxClockSkew is how far X-Amz-Date may be from our clock, as AWS
	// allows.
	maxClockSkew = 5 * time.Minute
)

// sigv4Verifier checks SigV4 header signatures by signing the same
// request again with the SDK's signer and the configured secret, so the
// canonicalisation is exactly the one AWS clients use.
type sigv4Verifier struct {
	secrets map[string]string // access key id -> secret
	region  string            // "" accepts any region
	signer  *v4.Signer
}

func newSigV4Verifier(secrets map[string]string, region string) *sigv4Verifier {
	return &sigv4Verifier{secrets: secrets, region: region, signer: v4.NewSigner()}
}

// authHeader is a parsed Authorization header.
type authHeader struct {
	accessKeyID   string
	date          string // yyyymmdd of the credential scope
	region        string
	service       string
	signedHeaders string
	signature     string
}

func parseAuthorization(h string) (authHeader, error) {
	var a authHeader
	rest, ok := strings.CutPrefix(h, sigV4Algorithm+" ")
	if !ok {
		return a, errors.New("not an " + sigV4Algorithm + " authorization")
	}
	var credential string
	for part := range strings.SplitSeq(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "Credential":
			credential = v
		case "SignedHeaders":
			a.signedHeaders = v
		case "Signature":
			a.signature = v
		}
	}
	scope := strings.Split(credential, "/")
	if len(scope) != 5 || scope[4] != "aws4_request" {
		return a, fmt.Errorf("malformed credential scope %q", credential)
	}
	a.accessKeyID, a.date, a.region, a.service = scope[0], scope[1], scope[2], scope[3]
	if a.signedHeaders == "" || a.signature == "" {
		return a, errors.New("authorization lacks SignedHeaders or Signature")
	}
	return a, nil
}

// verify checks req's signature at time now.
func (v *sigv4Verifier) verify(req *fasthttp.Request, tls bool, now time.Time) error {
	a, err := parseAuthorization(string(req.Header.Peek("Authorization")))
	if err != nil {
		return err
	}
	if a.service != sigV4Service {
		return fmt.Errorf("signed for service %q, want %q", a.service, sigV4Service)
	}
	if v.region != "" && a.region != v.region {
		return fmt.Errorf("signed for region %q, want %q", a.region, v.region)
	}
	secret, ok := v.secrets[a.accessKeyID]
	if !ok {
		return fmt.Errorf("unknown access key id %q", a.accessKeyID)
	}
	signedAt, err := time.Parse(amzDateLayout, string(req.Header.Peek("X-Amz-Date")))
	if err != nil {
		return fmt.Errorf("X-Amz-Date: %w", err)
	}
	if d := now.Sub(signedAt); d > maxClockSkew || d < -maxClockSkew {
		return fmt.Errorf("signature time %s is more than %s from now", signedAt.Format(time.RFC3339), maxClockSkew)
	}
	if signedAt.Format("20060102") != a.date {
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
	for name := range strings.SplitSeq(a.signedHeaders, ";") {
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
	creds := aws.Credentials{AccessKeyID: a.accessKeyID, SecretAccessKey: secret}
	if err := v.signer.SignHTTP(context.Background(), creds, hr, payloadHash, sigV4Service, a.region, signedAt); err != nil {
		return fmt.Errorf("re-signing: %w", err)
	}
	want, err := parseAuthorization(hr.Header.Get("Authorization"))
	if err != nil {
		return fmt.Errorf("re-signing: %w", err)
	}
	if want.signedHeaders != a.signedHeaders {
		return fmt.Errorf("signed headers %q, expected %q", a.signedHeaders, want.signedHeaders)
	}
	if subtle.ConstantTimeCompare([]byte(want.signature), []byte(a.signature)) != 1 {
		return errors.New("signature does not match")
	}
	return nil
}
