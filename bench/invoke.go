package bench

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/frontdeskgw/frontdesk/internal/jsonstr"
	"github.com/frontdeskgw/frontdesk/lambda"
	"github.com/frontdeskgw/frontdesk/lambda/host"
)

// The Lambda Invoke API path: POST /2015-03-31/functions/{name}/invocations.
var (
	invokePrefix = []byte("/2015-03-31/functions/")
	invokeSuffix = []byte("/invocations")

	hdrFunctionError   = []byte("X-Amz-Function-Error")
	hdrExecutedVersion = []byte("X-Amz-Executed-Version")
	hdrErrorType       = []byte("X-Amzn-Errortype")
	latestVersion      = []byte("$LATEST")
	jsonType           = []byte("application/json")
)

// NewInvokeEndpoint serves the Lambda Invoke API's synchronous call for
// one function, whatever name the path gives: the answer is the
// function's payload with 200, and X-Amz-Function-Error when the function
// failed, as AWS Lambda answers; a failure of the host itself is a 500
// (a timeout a 504) with x-amzn-ErrorType, as a service error. log (nil
// discards) receives the server's own diagnostics.
func NewInvokeEndpoint(fn lambda.Invoker, log *slog.Logger) *fasthttp.Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &fasthttp.Server{
		Handler: func(ctx *fasthttp.RequestCtx) {
			path := ctx.Path()
			if !ctx.IsPost() || !bytes.HasPrefix(path, invokePrefix) || !bytes.HasSuffix(path, invokeSuffix) {
				invokeError(ctx, fasthttp.StatusNotFound, "ResourceNotFoundException", "unknown path")
				return
			}
			res, err := fn.Invoke(context.Background(), ctx.PostBody())
			switch {
			case errors.Is(err, lambda.ErrTimeout):
				invokeError(ctx, fasthttp.StatusGatewayTimeout, "TimeoutException", err.Error())
				return
			case err != nil:
				invokeError(ctx, fasthttp.StatusInternalServerError, "ServiceException", err.Error())
				return
			}
			h := &ctx.Response.Header
			h.SetContentTypeBytes(jsonType)
			h.SetCanonical(hdrExecutedVersion, latestVersion)
			if res.FunctionError != "" {
				h.SetCanonical(hdrFunctionError, []byte(res.FunctionError))
			}
			ctx.Response.SetBodyRaw(res.Payload)
		},
		NoDefaultServerHeader: true,
		NoDefaultDate:         true,
		MaxRequestBodySize:    8 << 20,
		Logger:                slogPrintf{log},
	}
}

func invokeError(ctx *fasthttp.RequestCtx, status int, errType, msg string) {
	ctx.SetStatusCode(status)
	ctx.Response.Header.SetContentTypeBytes(jsonType)
	ctx.Response.Header.SetCanonical(hdrErrorType, []byte(errType))
	b := jsonstr.Append([]byte(`{"Type":"Service","message":`), msg)
	ctx.SetBody(append(b, '}'))
}

type slogPrintf struct{ log *slog.Logger }

func (l slogPrintf) Printf(format string, args ...any) { l.log.Debug(fmt.Sprintf(format, args...)) }

// RunInvokeEndpoint is the `invoke-endpoint` subcommand: it hosts the
// function -command with the local function host (lambda/host) behind a
// Lambda Invoke API endpoint on loopback, prints "listening ADDR" and
// serves until ctx ends.
func RunInvokeEndpoint(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("invoke-endpoint", flag.ContinueOnError)
	fs.SetOutput(stderr)
	command := fs.String("command", "", "the function's executable (an aws-lambda-go bootstrap)")
	concurrency := fs.Int("concurrency", host.DefaultConcurrency, "instances at most")
	timeout := fs.Duration("timeout", 10*time.Second, "function timeout")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *command == "" {
		return errors.New("invoke-endpoint: -command is required")
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	fn, err := host.NewFunction(host.Config{
		Name: strings.TrimSuffix(filepath.Base(*command), filepath.Ext(*command)), Command: []string{*command},
		Concurrency: *concurrency, Timeout: *timeout,
	}, log)
	if err != nil {
		return fmt.Errorf("invoke-endpoint: %w", err)
	}
	defer fn.Close()
	return ServeLoopback(ctx, "invoke-endpoint", NewInvokeEndpoint(fn, log), stdout)
}

// startInvokeEndpoint runs this program's `invoke-endpoint` subcommand
// for a scenario's Endpoint binary, on the CPU of the gateway under test
// (GOMAXPROCS=1 as for frontdesk): the endpoint and its function
// instances are the measured system as much as the gateway is.
func (s *suite) startInvokeEndpoint(ctx context.Context, dir, bin string) (*child, string, error) {
	cmd := s.layout.command(ctx, s.layout.Proxy, []string{"GOMAXPROCS=1"}, s.opt.Self, "invoke-endpoint",
		"-command", s.binPath(bin), "-concurrency", strconv.Itoa(host.DefaultConcurrency))
	return startListening(cmd, "invoke endpoint", filepath.Join(dir, "invoke-endpoint.log"))
}
