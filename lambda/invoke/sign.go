package invoke

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"time"

	"github.com/valyala/fasthttp"
)

// sign adds the SigV4 headers (Authorization, X-Amz-Date and, for
// temporary credentials, X-Amz-Security-Token) to req. The SDK signer works
// on net/http requests, so a minimal one mirroring req's signed parts is
// built: method, escaped path, host, the headers set by Invoke and the
// content length.
func (c *Client) sign(ctx context.Context, req *fasthttp.Request, payload []byte) error {
	creds, err := c.creds.Retrieve(ctx)
	if err != nil {
		return fmt.Errorf("invoke %s: retrieve AWS credentials: %w", c.name, err)
	}
	sum := sha256.Sum256(payload)
	u := *c.sigURL // the signer writes RawQuery; keep the template intact
	hreq := &http.Request{
		Method:        http.MethodPost,
		URL:           &u,
		Host:          u.Host,
		ContentLength: int64(len(payload)),
		Header: http.Header{
			"Content-Type":          {contentTypeJSON},
			"X-Amz-Invocation-Type": {invocationType},
		},
	}
	if err := c.signer.SignHTTP(ctx, creds, hreq, hex.EncodeToString(sum[:]), "lambda", c.region, time.Now()); err != nil {
		return fmt.Errorf("invoke %s: sign request: %w", c.name, err)
	}
	for _, h := range []string{"Authorization", "X-Amz-Date", "X-Amz-Security-Token"} {
		if v := hreq.Header.Get(h); v != "" {
			req.Header.Set(h, v)
		}
	}
	return nil
}
