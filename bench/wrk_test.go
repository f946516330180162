package bench

import "testing"

const wrkReport = `Running 8s test @ http://127.0.0.1:43211/small
  1 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   620.47us  150.10us   5.23ms   80.12%
    Req/Sec   103.41k     4.21k  110.00k    72.00%
  Latency Distribution
     50%  601.00us
     75%  680.00us
     90%  790.00us
     99%    1.10ms
  823456 requests in 8.00s, 150.12MB read
  Socket errors: connect 0, read 12, write 0, timeout 3
  Non-2xx or 3xx responses: 7
Requests/sec: 102932.00
Transfer/sec:     18.77MB
`

func TestParseWrk(t *testing.T) {
	for _, tc := range []struct {
		name  string
		in    string
		check func(t *testing.T, r WrkResult)
		err   string
	}{
		{
			name: "full report with latency distribution",
			in:   wrkReport,
			check: func(t *testing.T, r WrkResult) {
				if r.RPS != 102932 || r.Requests != 823456 || r.Seconds != 8 || r.Non2xx != 7 {
					t.Errorf("rps %.0f requests %d seconds %.2f non-2xx %d", r.RPS, r.Requests, r.Seconds, r.Non2xx)
				}
				if !r.HasLatDst || r.P50Us != 601 || r.P99Us != 1100 {
					t.Errorf("latency distribution %v p50 %.1f p99 %.1f", r.HasLatDst, r.P50Us, r.P99Us)
				}
				if r.Errors["read"] != 12 || r.Errors["timeout"] != 3 || len(r.Errors) != 2 {
					t.Errorf("errors %v, want read 12 and timeout 3 only", r.Errors)
				}
			},
		},
		{
			name: "short report without errors or distribution",
			in:   "Running 1s test @ http://x/\n  10 requests in 1.00s, 1KB read\nRequests/sec:     10.00\nTransfer/sec: 1KB\n",
			check: func(t *testing.T, r WrkResult) {
				if r.RPS != 10 || r.Requests != 10 || r.HasLatDst || r.Non2xx != 0 || len(r.Errors) != 0 {
					t.Errorf("got %+v", r)
				}
			},
		},
		{name: "no requests line", in: "unable to connect to 127.0.0.1:1 Connection refused\n", err: "no Requests/sec"},
		{name: "bad number", in: "Requests/sec: fast\n", err: "Requests/sec"},
		{name: "bad unit", in: "  Latency Distribution\n     50%  601.00q\nRequests/sec: 1\n", err: "unknown unit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := ParseWrk(tc.in)
			if wantErr(t, err, tc.err) {
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, r)
		})
	}
}

func TestParseWrkDurationUnits(t *testing.T) {
	for in, want := range map[string]float64{"601.00us": 601, "1.10ms": 1100, "8.00s": 8e6, "2.00m": 120e6} {
		got, err := parseWrkDuration(in)
		if err != nil || got != want {
			t.Errorf("parseWrkDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
}
