package tracing

import (
	"encoding/hex"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

func TestParseTraceparent(t *testing.T) {
	cases := []struct {
		name, v         string
		ok, sampled     bool
		trace, parentID string
	}{
		{"sampled", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", true, true, "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"},
		{"not sampled", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", true, false, "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"},
		{"a later version with more fields", "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra", true, true, "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"},
		{"version 00 with more fields", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra", false, false, "", ""},
		{"version ff", "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", false, false, "", ""},
		{"zero trace id", "00-00000000000000000000000000000000-00f067aa0ba902b7-01", false, false, "", ""},
		{"zero parent", "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", false, false, "", ""},
		{"upper case", "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", false, false, "", ""},
		{"short", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7", false, false, "", ""},
		{"not hex", "00-4bf92f3577b34da6a3ce929d0e0e47zz-00f067aa0ba902b7-01", false, false, "", ""},
		{"empty", "", false, false, "", ""},
	}
	for _, c := range cases {
		in, ok := parseTraceparent([]byte(c.v))
		if ok != c.ok {
			t.Errorf("%s: ok %v, want %v", c.name, ok, c.ok)
			continue
		}
		if ok && (in.sampled != c.sampled || in.traceID.String() != c.trace || in.parent.String() != c.parentID) {
			t.Errorf("%s: %+v", c.name, in)
		}
	}
}

func TestParseXRay(t *testing.T) {
	cases := []struct {
		name, v                    string
		ok, hasParent, decided, on bool
		trace                      string
	}{
		{"full", "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1", true, true, true, true, "5759e988bd862e3fe1be46a994272793"},
		{"any order, spaces", "Sampled=0; Parent=53995c3f42cd8ad8; Root=1-5759e988-bd862e3fe1be46a994272793", true, true, true, false, "5759e988bd862e3fe1be46a994272793"},
		{"root only", "Root=1-5759e988-bd862e3fe1be46a994272793", true, false, false, false, "5759e988bd862e3fe1be46a994272793"},
		{"sampled ?", "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=?", true, false, false, false, "5759e988bd862e3fe1be46a994272793"},
		{"self field kept out", "Self=1-67891234-12456789abcdef012345678;Root=1-5759e988-bd862e3fe1be46a994272793", true, false, false, false, "5759e988bd862e3fe1be46a994272793"},
		{"no root", "Parent=53995c3f42cd8ad8;Sampled=1", false, false, false, false, ""},
		{"bad root", "Root=2-5759e988-bd862e3fe1be46a994272793", false, false, false, false, ""},
	}
	for _, c := range cases {
		in, ok := parseXRay([]byte(c.v))
		if ok != c.ok {
			t.Errorf("%s: ok %v, want %v", c.name, ok, c.ok)
			continue
		}
		if ok && (in.hasParent != c.hasParent || in.decided != c.decided || in.sampled != c.on || in.traceID.String() != c.trace) {
			t.Errorf("%s: %+v", c.name, in)
		}
	}
}

// The ratio rule keeps about ratio of random traces.
func TestRatioSampledKeepsTheRatio(t *testing.T) {
	for _, ratio := range []float64{0.01, 0.5} {
		bound, kept := sampleBound(ratio), 0
		const n = 100000
		for range n {
			if ratioSampled(randomTraceID(), bound) {
				kept++
			}
		}
		if got := float64(kept) / n; got < ratio*0.8 || got > ratio*1.2 {
			t.Errorf("ratio %v kept %v", ratio, got)
		}
	}
}

// newRequestCtx is a request as fasthttp hands it to the gateway.
func newRequestCtx(headers ...string) *fasthttp.RequestCtx {
	var req fasthttp.Request
	req.SetRequestURI("/items/1")
	req.Header.SetHost("api.example")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	ctx := &fasthttp.RequestCtx{}
	ctx.Init(&req, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1234}, nil)
	return ctx
}

// A request that is not sampled costs no allocation: its context is
// continued and passed on without the SDK.
func BenchmarkUnsampledRequest(b *testing.B) {
	tr, err := New(Config{Endpoint: "http://127.0.0.1:9/v1/traces", SampleRatio: 0}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { tr.Shutdown(b.Context()) }) //nolint:errcheck // nothing queued
	ctx := newRequestCtx("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	var up fasthttp.RequestHeader
	start := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		r := tr.Start(ctx, start)
		r.StartUpstream(&up).End(200, nil)
		r.End(200, Route{})
	}
}

func TestUnsampledRequestAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	res := testing.Benchmark(BenchmarkUnsampledRequest)
	if a := res.AllocsPerOp(); a != 0 {
		t.Errorf("%d allocs per unsampled request, want 0", a)
	}
}

func TestEncodeHexMatchesTheStandardEncoding(t *testing.T) {
	src := make([]byte, 256)
	for i := range src {
		src[i] = byte(i)
	}
	got := make([]byte, 2*len(src))
	encodeHex(got, src)
	if want := hex.EncodeToString(src); string(got) != want {
		t.Fatalf("encodeHex = %s, want %s", got, want)
	}
}
