package lambdaauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/frontdeskgw/frontdesk/auth"
	"github.com/frontdeskgw/frontdesk/lambda"
)

// errSaidUnauthorized and errSaidForbidden are behind the 401/403 an
// authorizer asks for outside a policy.
var (
	errSaidUnauthorized = errors.New("lambdaauth: authorizer answered Unauthorized")
	errSaidForbidden    = errors.New("lambdaauth: authorizer answered Forbidden")
	errTimedOut         = errors.New("lambdaauth: authorizer timed out")
)

// invokeFunction calls a Lambda function. A function error whose message is
// exactly "Unauthorized" is the documented way for an authorizer to ask
// for a 401; any other function error is a 500.
func (a *Authorizer) invokeFunction(inv lambda.Invoker) func(context.Context, []byte) ([]byte, error) {
	return func(ctx context.Context, payload []byte) ([]byte, error) {
		res, err := inv.Invoke(ctx, payload)
		if err != nil {
			if errors.Is(err, lambda.ErrTimeout) || errors.Is(err, context.DeadlineExceeded) {
				return nil, fmt.Errorf("%w after %v (%s): %w", errTimedOut, a.timeout, a.name, err)
			}
			return nil, fmt.Errorf("lambdaauth %s: invoke: %w", a.name, err)
		}
		if res.FunctionError != "" {
			var doc struct {
				ErrorMessage string `json:"errorMessage"`
			}
			if json.Unmarshal(res.Payload, &doc) == nil && doc.ErrorMessage == auth.MessageUnauthorized {
				return nil, auth.Unauthorized("", errSaidUnauthorized)
			}
			return nil, fmt.Errorf("lambdaauth %s: function error %s: %.200s", a.name, res.FunctionError, res.Payload)
		}
		return res.Payload, nil
	}
}

// postURL calls an HTTP authorizer: the payload as a JSON POST, bounded by
// the invocation deadline.
func (a *Authorizer) postURL(client auth.Doer, url string) func(context.Context, []byte) ([]byte, error) {
	return func(ctx context.Context, payload []byte) ([]byte, error) {
		timeout := a.timeout
		if dl, ok := ctx.Deadline(); ok {
			timeout = min(timeout, time.Until(dl))
		}
		req := fasthttp.AcquireRequest()
		resp := fasthttp.AcquireResponse()
		defer fasthttp.ReleaseRequest(req)
		defer fasthttp.ReleaseResponse(resp)
		req.SetRequestURI(url)
		req.Header.SetMethod(fasthttp.MethodPost)
		req.Header.SetContentType("application/json")
		req.SetBodyRaw(payload)
		if err := client.DoTimeout(req, resp, timeout); err != nil {
			if errors.Is(err, fasthttp.ErrTimeout) {
				return nil, fmt.Errorf("%w after %v (%s): %w", errTimedOut, a.timeout, a.name, err)
			}
			return nil, fmt.Errorf("lambdaauth %s: POST %s: %w", a.name, url, err)
		}
		switch sc := resp.StatusCode(); {
		case sc >= 200 && sc < 300:
			return append([]byte(nil), resp.Body()...), nil
		case sc == fasthttp.StatusUnauthorized:
			return nil, auth.Unauthorized("", errSaidUnauthorized)
		case sc == fasthttp.StatusForbidden:
			return nil, auth.Forbidden("", errSaidForbidden)
		default:
			return nil, fmt.Errorf("lambdaauth %s: POST %s: status %d", a.name, url, sc)
		}
	}
}
