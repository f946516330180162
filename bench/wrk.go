package bench

import (
	"fmt"
	"strconv"
	"strings"
)

// WrkResult is what the suite reads from wrk's report.
type WrkResult struct {
	RPS       float64          // the Requests/sec line
	Requests  int64            // "N requests in Xs"
	Seconds   float64          // the X of that line
	Non2xx    int64            // "Non-2xx or 3xx responses"
	Errors    map[string]int64 // "Socket errors": connect, read, write, timeout
	P50Us     float64          // from --latency's distribution, when printed
	P99Us     float64
	HasLatDst bool // whether the latency distribution was printed
}

// ParseWrk reads wrk's text report. Only the Requests/sec line is
// required; the others are taken when present.
func ParseWrk(out string) (WrkResult, error) {
	r := WrkResult{Errors: map[string]int64{}}
	haveRPS := false
	for line := range strings.Lines(out) {
		line = strings.TrimSpace(line)
		f := strings.Fields(line)
		switch {
		case strings.HasPrefix(line, "Requests/sec:") && len(f) == 2:
			v, err := strconv.ParseFloat(f[1], 64)
			if err != nil {
				return r, fmt.Errorf("parse wrk Requests/sec %q: %w", f[1], err)
			}
			r.RPS, haveRPS = v, true
		case len(f) >= 4 && f[1] == "requests" && f[2] == "in":
			n, err := strconv.ParseInt(f[0], 10, 64)
			if err != nil {
				return r, fmt.Errorf("parse wrk request count %q: %w", f[0], err)
			}
			r.Requests = n
			secs, err := parseWrkDuration(strings.TrimSuffix(f[3], ","))
			if err != nil {
				return r, err
			}
			r.Seconds = secs / 1e6
		case strings.HasPrefix(line, "Non-2xx or 3xx responses:") && len(f) == 5:
			n, err := strconv.ParseInt(f[4], 10, 64)
			if err != nil {
				return r, fmt.Errorf("parse wrk non-2xx count %q: %w", f[4], err)
			}
			r.Non2xx = n
		case strings.HasPrefix(line, "Socket errors:"):
			// "Socket errors: connect 0, read 12, write 0, timeout 3"
			rest := strings.Fields(strings.ReplaceAll(strings.TrimPrefix(line, "Socket errors:"), ",", ""))
			for i := 0; i+1 < len(rest); i += 2 {
				n, err := strconv.ParseInt(rest[i+1], 10, 64)
				if err != nil {
					return r, fmt.Errorf("parse wrk socket errors %q: %w", line, err)
				}
				if n > 0 {
					r.Errors[rest[i]] = n
				}
			}
		case len(f) == 2 && (f[0] == "50%" || f[0] == "99%"):
			us, err := parseWrkDuration(f[1])
			if err != nil {
				return r, err
			}
			r.HasLatDst = true
			if f[0] == "50%" {
				r.P50Us = us
			} else {
				r.P99Us = us
			}
		}
	}
	if !haveRPS {
		return r, fmt.Errorf("parse wrk: no Requests/sec line in %q", firstLines(out, 3))
	}
	return r, nil
}

// parseWrkDuration turns wrk's "601.00us", "1.10ms", "8.00s", "2.00m"
// into microseconds.
func parseWrkDuration(s string) (float64, error) {
	units := []struct {
		suffix string
		us     float64
	}{{"us", 1}, {"ms", 1e3}, {"s", 1e6}, {"m", 60e6}, {"h", 3600e6}}
	for _, u := range units {
		if num, ok := strings.CutSuffix(s, u.suffix); ok {
			v, err := strconv.ParseFloat(num, 64)
			if err != nil {
				return 0, fmt.Errorf("parse wrk duration %q: %w", s, err)
			}
			return v * u.us, nil
		}
	}
	return 0, fmt.Errorf("parse wrk duration %q: unknown unit", s)
}

func firstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	if len(lines) > n {
		lines = lines[:n]
	}
	return strings.Join(lines, "\n")
}
