// Package invoke calls Lambda functions through the Lambda Invoke API
// (POST /2015-03-31/functions/{name}/invocations) and implements
// lambda.Invoker for remote functions: AWS Lambda itself (SigV4 signed),
// aws-lambda-rie, `sam local start-lambda`, LocalStack and other emulators.
//
// Its job is to turn one synchronous invocation into a lambda.Result and to
// classify failures the same way whatever endpoint answers: function errors
// (X-Amz-Function-Error, or the error-document body shape for emulators
// that do not send the header), timeouts (lambda.ErrTimeout) and service
// errors (*ServiceError).
//
// Hot path: Client.Invoke. It uses pooled fasthttp requests and responses
// over a keep-alive fasthttp.HostClient, sends the caller's payload without
// copying it, and parses the body only when it looks like an error
// document; the one allocation per call is the copy of the response payload
// handed back to the caller. Signed calls additionally build a net/http
// request for the SDK signer.
package invoke

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/valyala/fasthttp"

	"github.com/frontdeskgw/frontdesk/lambda"
)

// Defaults applied by New to zero Config fields.
const (
	// DefaultTimeout matches the HTTP API integration timeout (30 s): a
	// remote function that has not answered by then cannot be served anyway.
	DefaultTimeout = 30 * time.Second
	// DefaultMaxConns bounds the keep-alive pool to one endpoint.
	DefaultMaxConns = 64
	// DefaultMaxResponseBytes is the synchronous Invoke response limit of
	// AWS Lambda (6 MB) plus headroom for emulators that do not enforce it.
	DefaultMaxResponseBytes = 8 << 20
)

// Config describes one remote function.
type Config struct {
	// InvokeURL is the endpoint base, "http://host:port" or
	// "https://host"; a path, if any, is ignored.
	InvokeURL string
	// FunctionName is the name put in the invoke path: a name, "name:qualifier",
	// or an ARN. aws-lambda-rie only answers to "function".
	FunctionName string
	// Timeout bounds one invocation end to end (default DefaultTimeout).
	Timeout time.Duration
	// Region is the SigV4 signing region. Empty means: taken from an AWS
	// endpoint host (lambda.<region>.amazonaws.com), else from the AWS
	// environment (AWS_REGION / shared config).
	Region string
	// Credentials, when set, turn signing on for any endpoint. When nil,
	// requests to AWS endpoints are signed with the SDK default chain
	// (environment, shared files, SSO, IMDS...), other endpoints are not
	// signed.
	Credentials aws.CredentialsProvider
	// MaxConns bounds open connections to the endpoint (default
	// DefaultMaxConns). Calls beyond it wait for a free connection within
	// their timeout.
	MaxConns int
	// MaxResponseBytes caps the response body (default
	// DefaultMaxResponseBytes); a larger one is the function error
	// Function.ResponseSizeTooLarge, as AWS reports results over its
	// limit.
	MaxResponseBytes int
	// Dial optionally replaces the TCP dialer, for example to reach the
	// endpoint through a tunnel or a Unix socket.
	Dial fasthttp.DialFunc
	// Logger receives the client's setup (endpoint, whether and where
	// calls are signed); nil discards it. Call failures are returned, not
	// logged.
	Logger *slog.Logger
}

// ErrNoCredentials is returned by every call of a client whose calls must
// be signed (an AWS endpoint) when the SDK's default credential chain
// found no credentials as the client was built: the calls fail at once
// instead of each searching the chain again (instance metadata included).
var ErrNoCredentials = errors.New("no AWS credentials to sign with")

// ServiceError is an Invoke API failure that is not the function's own:
// an HTTP 4xx/5xx answer such as ResourceNotFoundException (404) or
// TooManyRequestsException (429).
type ServiceError struct {
	// Status is the HTTP status code.
	Status int
	// Type is the error code from x-amzn-ErrorType (or the emulator's
	// Error-Type header), without the ":http://..." suffix AWS may add; it
	// is empty when the endpoint sent none.
	Type string
	// Message is the body's Message/message field, else the body text
	// (truncated).
	Message string
}

func (e *ServiceError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "lambda invoke: HTTP %d", e.Status)
	if e.Type != "" {
		b.WriteString(" ")
		b.WriteString(e.Type)
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	return b.String()
}

var _ lambda.Invoker = (*Client)(nil)

// Client invokes one function. It is safe for concurrent use.
type Client struct {
	name    string
	uri     string   // full request URI, path already escaped
	sigURL  *url.URL // the same URI for the signer; copied per call
	timeout time.Duration
	hc      *fasthttp.HostClient
	log     *slog.Logger

	// signing is on when creds is non-nil.
	creds aws.CredentialsProvider
	// credErr, when set, fails every call: the default chain found no
	// credentials when the client was built.
	credErr error
	signer  *v4.Signer
	region  string
}

// New validates cfg and builds a Client. When the calls are to be signed
// and no Credentials are given, the SDK's default credential chain is
// loaded here, once, and asked for credentials: if it finds none, New
// logs a warning and succeeds, and every call returns ErrNoCredentials;
// otherwise each call reads the cached credentials.
func New(ctx context.Context, cfg Config) (*Client, error) {
	if cfg.FunctionName == "" {
		return nil, errors.New("invoke: function_name is required")
	}
	u, err := url.Parse(cfg.InvokeURL)
	if err != nil {
		return nil, fmt.Errorf("invoke %s: parse invoke_url: %w", cfg.FunctionName, err)
	}
	var isTLS bool
	switch u.Scheme {
	case "http":
	case "https":
		isTLS = true
	default:
		return nil, fmt.Errorf("invoke %s: invoke_url %q: scheme must be http or https", cfg.FunctionName, cfg.InvokeURL)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("invoke %s: invoke_url %q has no host", cfg.FunctionName, cfg.InvokeURL)
	}
	addr := u.Host
	if u.Port() == "" {
		port := "80"
		if isTLS {
			port = "443"
		}
		addr = net.JoinHostPort(u.Hostname(), port)
	}

	c := &Client{
		name:    cfg.FunctionName,
		timeout: cfg.Timeout,
		log:     cfg.Logger,
	}
	if c.timeout <= 0 {
		c.timeout = DefaultTimeout
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	maxConns := cfg.MaxConns
	if maxConns <= 0 {
		maxConns = DefaultMaxConns
	}
	maxBody := cfg.MaxResponseBytes
	if maxBody <= 0 {
		maxBody = DefaultMaxResponseBytes
	}

	// Escape every byte outside the unreserved set, as the AWS SDKs do for
	// the FunctionName label: ARNs and qualifiers carry ':'.
	escapedPath := "/2015-03-31/functions/" + escapeLabel(cfg.FunctionName) + "/invocations"
	// The signer drops a default port from the Host it signs; send the
	// same Host so the signature matches.
	host := u.Host
	if p := u.Port(); (p == "80" && !isTLS) || (p == "443" && isTLS) {
		host = strings.TrimSuffix(host, ":"+p)
	}
	c.uri = u.Scheme + "://" + host + escapedPath
	c.sigURL = &url.URL{
		Scheme:  u.Scheme,
		Host:    host,
		Path:    "/2015-03-31/functions/" + cfg.FunctionName + "/invocations",
		RawPath: escapedPath,
	}

	c.hc = &fasthttp.HostClient{
		Addr:                   addr,
		Name:                   "frontdesk",
		IsTLS:                  isTLS,
		Dial:                   cfg.Dial,
		MaxConns:               maxConns,
		MaxConnWaitTimeout:     c.timeout,
		MaxResponseBodySize:    maxBody,
		DisablePathNormalizing: true,
	}

	awsRegion, awsHost := awsEndpointRegion(u.Hostname())
	if cfg.Credentials == nil && !awsHost {
		c.log.Info("remote function", "function_name", c.name, "endpoint", c.uri, "signed", false)
		return c, nil
	}
	region := cfg.Region
	if region == "" {
		region = awsRegion
	}
	creds := cfg.Credentials
	if creds == nil || region == "" {
		opts := []func(*config.LoadOptions) error{}
		if region != "" {
			opts = append(opts, config.WithRegion(region))
		}
		if creds != nil {
			opts = append(opts, config.WithCredentialsProvider(creds))
		}
		awsCfg, err := config.LoadDefaultConfig(ctx, opts...)
		if err != nil {
			return nil, fmt.Errorf("invoke %s: load AWS configuration: %w", cfg.FunctionName, err)
		}
		if region == "" {
			region = awsCfg.Region
		}
		if creds == nil {
			creds = awsCfg.Credentials
		}
	}
	if region == "" {
		return nil, fmt.Errorf("invoke %s: SigV4 signing needs a region: set region or AWS_REGION", cfg.FunctionName)
	}
	if creds == nil {
		return nil, fmt.Errorf("invoke %s: SigV4 signing needs credentials and the AWS default chain found none", cfg.FunctionName)
	}
	if _, cached := creds.(*aws.CredentialsCache); !cached {
		// Providers such as STS or SSO are slow; cache so a call costs a
		// lock and a copy, not a round trip.
		creds = aws.NewCredentialsCache(creds)
	}
	c.creds = creds
	c.region = region
	c.signer = v4.NewSigner()
	c.log.Info("remote function", "function_name", c.name, "endpoint", c.uri, "signed", true, "region", region)
	if cfg.Credentials == nil {
		// The chain is lazy: without this lookup the first call would
		// search it (up to the instance-metadata probe, about a second)
		// and fail, and so would every call after it. Found out here, the
		// function is reported once and its calls fail at once; the
		// others start as usual.
		if _, err := creds.Retrieve(ctx); err != nil {
			c.credErr = fmt.Errorf("invoke %s: %w: %w", cfg.FunctionName, ErrNoCredentials, err)
			c.log.Warn("remote function has no AWS credentials: every call fails with 500 until credentials are provided (environment, shared files, SSO, container or instance role) and the function is reopened by a restart or a change to its config",
				"function_name", c.name, "endpoint", c.uri, "err", err)
		}
	}
	return c, nil
}

// Close drops idle keep-alive connections. The Client stays usable.
func (c *Client) Close() {
	c.hc.CloseIdleConnections()
}

// Signed reports whether calls are SigV4 signed.
func (c *Client) Signed() bool { return c.creds != nil }

var (
	headerFunctionError = []byte("X-Amz-Function-Error")
	headerErrorType     = []byte("X-Amzn-Errortype")
	headerRIEErrorType  = []byte("Error-Type")
)

// responseSizeTooLarge is the error document AWS Lambda returns for a
// result over its limit.
var responseSizeTooLarge = `{"errorMessage":"Response payload size exceeded maximum allowed payload size (` +
	strconv.Itoa(lambda.MaxResultBytes) + ` bytes).","errorType":"Function.ResponseSizeTooLarge"}`

// The headers Invoke sends besides Host; sign signs the same values.
const (
	contentTypeJSON = "application/json"
	invocationType  = "RequestResponse"
)

// Invoke sends payload as a RequestResponse invocation. A function error is
// a Result with FunctionError set and a nil error; a timeout is an error
// wrapping lambda.ErrTimeout; an Invoke API failure is a *ServiceError.
// The payload is not retained after Invoke returns.
func (c *Client) Invoke(ctx context.Context, payload []byte) (lambda.Result, error) {
	if c.credErr != nil {
		return lambda.Result{}, c.credErr
	}
	if err := ctx.Err(); err != nil {
		return lambda.Result{}, fmt.Errorf("invoke %s: %w", c.name, err)
	}
	// fasthttp cannot be interrupted, so the caller's deadline is folded
	// into the call's own; a bare cancellation only stops a call that has
	// not started.
	deadline := time.Now().Add(c.timeout)
	ctxDeadline := false
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline, ctxDeadline = d, true
	}

	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)

	req.Header.SetMethod(fasthttp.MethodPost)
	req.SetRequestURI(c.uri)
	req.Header.SetContentType(contentTypeJSON)
	req.Header.Set("X-Amz-Invocation-Type", invocationType)
	req.SetBodyRaw(payload)
	if c.creds != nil {
		if err := c.sign(ctx, req, payload); err != nil {
			return lambda.Result{}, err
		}
	}

	if err := c.hc.DoDeadline(req, resp, deadline); err != nil {
		if errors.Is(err, fasthttp.ErrBodyTooLarge) {
			// Only an endpoint that does not enforce Lambda's limit sends
			// this; AWS would have returned this function error instead.
			return lambda.Result{Payload: []byte(responseSizeTooLarge), FunctionError: "Unhandled"}, nil
		}
		if errors.Is(err, fasthttp.ErrTimeout) || errors.Is(err, fasthttp.ErrDialTimeout) || isNetTimeout(err) {
			if ctxDeadline {
				return lambda.Result{}, fmt.Errorf("invoke %s: %w: %w", c.name, lambda.ErrTimeout, context.DeadlineExceeded)
			}
			return lambda.Result{}, fmt.Errorf("invoke %s: no answer within %s: %w", c.name, c.timeout, lambda.ErrTimeout)
		}
		return lambda.Result{}, fmt.Errorf("invoke %s: %w", c.name, err)
	}
	return c.classify(resp)
}

// classify maps an Invoke API response to a Result or an error.
func (c *Client) classify(resp *fasthttp.Response) (lambda.Result, error) {
	status := resp.StatusCode()
	body := resp.Body()

	if status >= 400 {
		errType := resp.Header.PeekBytes(headerErrorType)
		if len(errType) == 0 {
			errType = resp.Header.PeekBytes(headerRIEErrorType)
		}
		// aws-lambda-rie answers an init failure with 502 and the runtime's
		// error document: that is the function failing, not the service.
		if len(errType) == 0 && isErrorDocument(body) {
			return lambda.Result{Payload: clone(body), FunctionError: "Unhandled"}, nil
		}
		return lambda.Result{}, newServiceError(status, errType, body)
	}

	if fe := resp.Header.PeekBytes(headerFunctionError); len(fe) > 0 {
		return lambda.Result{Payload: clone(body), FunctionError: string(fe)}, nil
	}
	if isRIETimeout(body) {
		return lambda.Result{}, fmt.Errorf("invoke %s: %s: %w", c.name, strings.TrimSpace(string(body)), lambda.ErrTimeout)
	}
	if isErrorDocument(body) {
		return lambda.Result{Payload: clone(body), FunctionError: "Unhandled"}, nil
	}
	return lambda.Result{Payload: clone(body)}, nil
}

func clone(b []byte) []byte {
	if len(b) == 0 {
		return []byte{}
	}
	out := make([]byte, len(b))
	copy(out, b)
	return out
}

func isNetTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// awsEndpointRegion recognises AWS Lambda endpoint hosts
// (lambda.<region>.amazonaws.com, lambda-fips.<region>.amazonaws.com, the
// .amazonaws.com.cn partition and dual-stack api.aws) and returns the
// region in them.
func awsEndpointRegion(host string) (region string, ok bool) {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	var rest string
	switch {
	case strings.HasPrefix(host, "lambda."):
		rest = host[len("lambda."):]
	case strings.HasPrefix(host, "lambda-fips."):
		rest = host[len("lambda-fips."):]
	default:
		return "", false
	}
	for _, suffix := range []string{".amazonaws.com", ".amazonaws.com.cn", ".api.aws"} {
		if r, found := strings.CutSuffix(rest, suffix); found && r != "" && !strings.Contains(r, ".") {
			return r, true
		}
	}
	return "", false
}

// escapeLabel percent-encodes every byte outside RFC 3986's unreserved set.
func escapeLabel(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if ch >= 'A' && ch <= 'Z' || ch >= 'a' && ch <= 'z' || ch >= '0' && ch <= '9' ||
			ch == '-' || ch == '_' || ch == '.' || ch == '~' {
			b.WriteByte(ch)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[ch>>4])
		b.WriteByte(hex[ch&0xf])
	}
	return b.String()
}
