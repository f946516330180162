// Command fn is the host package's test function: an aws-lambda-go
// handler whose behaviour is chosen by the event, so one binary exercises
// success, handler errors, panics, timeouts, crashes and output capture.
//
// Event: {"action": "echo|error|panic|sleep|exit|log", "ms": N, "code": N}.
// Environment FN_INIT selects an init behaviour: "exit" exits before
// serving, "initerror" reports to /runtime/init/error and exits, "hang"
// never starts the runtime loop.
package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

type event struct {
	Action string `json:"action"`
	MS     int    `json:"ms"`
	Code   int    `json:"code"`
}

type reply struct {
	PID         int               `json:"pid"`
	RequestID   string            `json:"requestId"`
	FunctionARN string            `json:"functionArn"`
	DeadlineIn  int64             `json:"deadlineInMs"`
	TraceID     string            `json:"traceId"`
	Env         map[string]string `json:"env"`
}

var envKeys = []string{
	"AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_VERSION", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
	"AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME", "_HANDLER", "AWS_REGION",
	"AWS_DEFAULT_REGION", "AWS_EXECUTION_ENV", "LAMBDA_TASK_ROOT", "TZ", "AWS_LAMBDA_RUNTIME_API",
	"GREETING",
}

func handle(ctx context.Context, ev event) (reply, error) {
	switch ev.Action {
	case "error":
		return reply{}, errors.New("handler said no")
	case "panic":
		panic("handler panicked")
	case "sleep":
		time.Sleep(time.Duration(ev.MS) * time.Millisecond)
	case "exit":
		os.Exit(ev.Code)
	case "log":
		fmt.Println("to stdout")
		fmt.Fprintln(os.Stderr, "to stderr")
	}
	r := reply{PID: os.Getpid(), Env: map[string]string{}}
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		r.RequestID = lc.AwsRequestID
		r.FunctionARN = lc.InvokedFunctionArn
	}
	if d, ok := ctx.Deadline(); ok {
		r.DeadlineIn = time.Until(d).Milliseconds()
	}
	if v, ok := ctx.Value("x-amzn-trace-id").(string); ok {
		r.TraceID = v
	}
	for _, k := range envKeys {
		r.Env[k] = os.Getenv(k)
	}
	return r, nil
}

func main() {
	switch os.Getenv("FN_INIT") {
	case "exit":
		os.Exit(3)
	case "initerror":
		url := "http://" + os.Getenv("AWS_LAMBDA_RUNTIME_API") + "/2018-06-01/runtime/init/error"
		resp, err := http.Post(url, "application/json", strings.NewReader(`{"errorMessage":"config missing","errorType":"InitFailed"}`))
		if err == nil {
			resp.Body.Close()
		}
		os.Exit(1)
	case "hang":
		time.Sleep(time.Hour)
	}
	lambda.Start(handle)
}
