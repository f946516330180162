package sigv4

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/valyala/fasthttp"
)

// signed is a request the SDK's signer signed for service at, as fasthttp
// reads it.
func signed(t *testing.T, keyID, secret, service string, at time.Time) *fasthttp.Request {
	t.Helper()
	body := []byte(`{"name":"x"}`)
	req, err := http.NewRequest("POST", "http://127.0.0.1:9901/v2/apis", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: keyID, SecretAccessKey: secret},
		req, hex.EncodeToString(sum[:]), service, "eu-west-1", at); err != nil {
		t.Fatal(err)
	}
	var out fasthttp.Request
	out.Header.SetMethod("POST")
	out.SetRequestURI("/v2/apis")
	out.Header.SetHost("127.0.0.1:9901")
	for k, vs := range req.Header {
		for _, v := range vs {
			out.Header.Add(k, v)
		}
	}
	out.SetBody(body)
	return &out
}

func TestVerifyTellsExpiredAndUnknownKeysApart(t *testing.T) {
	v := NewVerifier(map[string]string{"AKIDTEST": "secret"}, "", "apigateway")
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tc := range []struct {
		name string
		req  *fasthttp.Request
		want error // nil: verified; errAny: refused for another reason
	}{
		{"signed now", signed(t, "AKIDTEST", "secret", "apigateway", now), nil},
		{"signed within the skew", signed(t, "AKIDTEST", "secret", "apigateway", now.Add(-4*time.Minute)), nil},
		{"signed too long ago", signed(t, "AKIDTEST", "secret", "apigateway", now.Add(-6*time.Minute)), ErrExpired},
		{"signed too far ahead", signed(t, "AKIDTEST", "secret", "apigateway", now.Add(6*time.Minute)), ErrExpired},
		{"an unknown key", signed(t, "AKIDOTHER", "secret", "apigateway", now), ErrUnknownKey},
		{"another secret", signed(t, "AKIDTEST", "wrong", "apigateway", now), errAny},
		{"another service", signed(t, "AKIDTEST", "secret", "execute-api", now), errAny},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := v.Verify(tc.req, false, now)
			switch {
			case tc.want == nil && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want == errAny && (err == nil || errors.Is(err, ErrExpired) || errors.Is(err, ErrUnknownKey)):
				t.Fatalf("err = %v, want a mismatch", err)
			case tc.want != nil && tc.want != errAny && !errors.Is(err, tc.want):
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

var errAny = errors.New("any refusal")
