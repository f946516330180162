package gateway

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/frontdeskgw/frontdesk/config"
	"github.com/frontdeskgw/frontdesk/lambda"
	"github.com/frontdeskgw/frontdesk/metrics"
)

// scrapeValue returns the value of the sample named series (family and
// labels, exactly as exposed) in r's scrape, failing when it is absent.
func scrapeValue(t *testing.T, r *metrics.Registry, series string) float64 {
	t.Helper()
	var b bytes.Buffer
	r.WritePrometheus(&b)
	for _, line := range strings.Split(b.String(), "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("%s: %v", line, err)
			}
			return f
		}
	}
	t.Fatalf("no %s in the scrape:\n%s", series, b.String())
	return 0
}

// A remote function's invocations, function errors and durations show in
// a scrape.
func TestRemoteFunctionInvocationsAreScraped(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		// The second call of every two fails in the function.
		if strings.Contains(string(ctx.PostBody()), "fail") {
			ctx.Response.Header.Set("X-Amz-Function-Error", "Unhandled")
			ctx.SetBodyString(`{"errorMessage":"boom","errorType":"Error"}`)
			return
		}
		ctx.SetBodyString(`{"statusCode":200,"body":"hi"}`)
	}}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Shutdown() })

	reg, err := metrics.New(metrics.Options{OmitProcessMetrics: true})
	if err != nil {
		t.Fatal(err)
	}
	fn, err := OpenFunction("greeter", config.Function{InvokeURL: "http://" + ln.Addr().String(), FunctionName: "hello", Timeout: config.Duration(5 * time.Second)},
		FunctionEnv{Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Metrics: reg})
	if err != nil {
		t.Fatal(err)
	}
	defer fn.Close()
	for _, event := range []string{`{}`, `{}`, `{"fail":true}`} {
		if _, err := fn.Invoker.Invoke(context.Background(), []byte(event)); err != nil {
			t.Fatalf("Invoke(%s): %v", event, err)
		}
	}
	for series, want := range map[string]float64{
		`frontdesk_function_invocations_total{function="greeter"}`:            3,
		`frontdesk_function_errors_total{function="greeter",kind="function"}`: 1,
		`frontdesk_function_errors_total{function="greeter",kind="timeout"}`:  0,
		`frontdesk_function_duration_seconds_count{function="greeter"}`:       3,
	} {
		if got := scrapeValue(t, reg, series); got != want {
			t.Errorf("%s = %v, want %v", series, got, want)
		}
	}
}

// A local function reports its instances, queue and cold starts; none
// before its first invocation.
func TestLocalFunctionReportsInstanceFigures(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	reg, err := metrics.New(metrics.Options{OmitProcessMetrics: true})
	if err != nil {
		t.Fatal(err)
	}
	fn, err := OpenFunction("local", config.Function{Command: []string{exe}},
		FunctionEnv{Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Metrics: reg})
	if err != nil {
		t.Fatal(err)
	}
	for _, series := range []string{
		`frontdesk_function_cold_starts_total{function="local"}`,
		`frontdesk_function_instances{function="local"}`,
		`frontdesk_function_queued{function="local"}`,
		`frontdesk_function_invocations_total{function="local"}`,
	} {
		if got := scrapeValue(t, reg, series); got != 0 {
			t.Errorf("%s = %v, want 0", series, got)
		}
	}
	fn.Close()
	var b bytes.Buffer
	reg.WritePrometheus(&b)
	if strings.Contains(b.String(), "frontdesk_function_instances{") {
		t.Error("a closed function still reports its instances")
	}
}

// stubInvoker answers every call with res and err.
type stubInvoker struct {
	res lambda.Result
	err error
}

func (s *stubInvoker) Invoke(context.Context, []byte) (lambda.Result, error) { return s.res, s.err }

// Each way an invocation can fail is counted under its kind.
func TestFunctionErrorsAreCountedByKind(t *testing.T) {
	tests := []struct {
		name string
		inv  stubInvoker
		kind string // "" for a success
	}{
		{"success", stubInvoker{}, ""},
		{"function error result", stubInvoker{res: lambda.Result{FunctionError: "Unhandled"}}, "function"},
		{"function error", stubInvoker{err: fmt.Errorf("invoke f: %w", &lambda.FunctionError{Type: "Handled"})}, "function"},
		{"timeout", stubInvoker{err: fmt.Errorf("invoke f: %w", lambda.ErrTimeout)}, "timeout"},
		{"queue full", stubInvoker{err: errors.New("invoke f: 100 waiting: queue full")}, "other"},
		{"canceled", stubInvoker{err: fmt.Errorf("invoke f: %w", context.Canceled)}, "other"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg, err := metrics.New(metrics.Options{OmitProcessMetrics: true})
			if err != nil {
				t.Fatal(err)
			}
			inv := countInvocations(&tt.inv, reg.Function("f"))
			_, _ = inv.Invoke(context.Background(), nil)
			if got := scrapeValue(t, reg, `frontdesk_function_invocations_total{function="f"}`); got != 1 {
				t.Errorf("invocations = %v, want 1", got)
			}
			for _, kind := range []string{"function", "timeout", "other"} {
				want := 0.0
				if kind == tt.kind {
					want = 1
				}
				series := `frontdesk_function_errors_total{function="f",kind="` + kind + `"}`
				if got := scrapeValue(t, reg, series); got != want {
					t.Errorf("%s = %v, want %v", series, got, want)
				}
			}
		})
	}
}

// Without a registry the invoker is not wrapped.
func TestCountInvocationsWithoutMetricsIsTheInvoker(t *testing.T) {
	var reg *metrics.Registry
	inv := &stubInvoker{}
	if got := countInvocations(inv, reg.Function("f")); got != lambda.Invoker(inv) {
		t.Errorf("countInvocations = %T, want the invoker itself", got)
	}
}

// BenchmarkCountingInvoker is what counting adds to an invocation.
func BenchmarkCountingInvoker(b *testing.B) {
	reg, err := metrics.New(metrics.Options{OmitProcessMetrics: true})
	if err != nil {
		b.Fatal(err)
	}
	inv := countInvocations(&stubInvoker{}, reg.Function("f"))
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		_, _ = inv.Invoke(ctx, nil)
	}
}
