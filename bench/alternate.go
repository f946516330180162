package bench

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"time"
)

// A round measures each scenario in a window of its own, one after the
// other. On a shared host the CPU one request costs moves by up to a
// fifth between two windows a few seconds apart, and a ratio taken from
// two such windows moves with it. So after the rounds, each pair the
// budget compares is measured again with both sides running at once and
// the load going to one side, then the other, in short slices (AB, BA,
// AB, …); each side's CPU time and responses are summed over its slices.
// Both sides then see the same stretch of the machine, its drifts cancel
// in the ratio, and the idle side costs nothing while the other is
// measured. The pair's ratio is the median of its slice pairs' ratios,
// and the budget judges the pair on it (bench/README.md, "Budget").

// Alternation's defaults: slices per side, each slice's measured window,
// and the load before each window (the processes stay warm between
// slices; the load generator's new connections need the warm-up).
const (
	DefaultAlternations = 8
	DefaultSlice        = time.Second
	sliceWarmup         = 300 * time.Millisecond
)

// Side is one side of an alternated pair, summed over its slices.
type Side struct {
	Responses          int64     `json:"responses"`
	CPUTicks           uint64    `json:"cpu_ticks"`
	BackendTicks       uint64    `json:"backend_cpu_ticks"`
	CPUUsPerReq        float64   `json:"cpu_us_per_req"`
	BackendCPUUsPerReq float64   `json:"backend_cpu_us_per_req"`
	Slices             []float64 `json:"slice_cpu_us_per_req"` // each slice's gateway CPU µs per response
	SlicesBackend      []float64 `json:"slice_backend_cpu_us_per_req"`
}

// cpu is the side's CPU per request, with the backend's when withBackend.
func (sd *Side) cpu(withBackend bool) float64 {
	if withBackend {
		return sd.CPUUsPerReq + sd.BackendCPUUsPerReq
	}
	return sd.CPUUsPerReq
}

func (sd *Side) slice(i int, withBackend bool) float64 {
	if withBackend {
		return sd.Slices[i] + sd.SlicesBackend[i]
	}
	return sd.Slices[i]
}

// Alternated is one pair measured in alternating slices.
type Alternated struct {
	Scenario  string  `json:"scenario"`
	Reference string  `json:"reference"`
	Slices    int     `json:"slices"` // per side
	SliceS    float64 `json:"slice_s"`
	Measured  Side    `json:"measured"`
	Ref       Side    `json:"reference_side"`
	Err       string  `json:"error,omitempty"`
}

// Ratio is the median of the slice pairs' ratios of CPU per request:
// a burst of other work on the host inflates a slice or two, which the
// median leaves out where a ratio of sums would not.
func (a *Alternated) Ratio(withBackend bool) float64 {
	r := a.SliceRatios(withBackend)
	if a.Err != "" || len(r) == 0 {
		return 0
	}
	return median(r)
}

// SliceRatios are the ratios of each pair of slices, AB or BA, in order.
func (a *Alternated) SliceRatios(withBackend bool) []float64 {
	n := min(len(a.Measured.Slices), len(a.Ref.Slices))
	out := make([]float64, 0, n)
	for i := range n {
		if ref := a.Ref.slice(i, withBackend); ref > 0 {
			out = append(out, a.Measured.slice(i, withBackend)/ref)
		}
	}
	return out
}

// Alternation returns the pair's alternated measurement, or nil.
func (r *Report) Alternation(scenario, reference string) *Alternated {
	for i := range r.Alternated {
		if a := &r.Alternated[i]; a.Scenario == scenario && a.Reference == reference {
			return a
		}
	}
	return nil
}

// sliceable reports whether a scenario can be measured in slices: a
// process the suite starts, loaded by its own HTTP load generator (a
// WebSocket scenario's connections take longer to open than a slice).
func sliceable(s Scenario) bool {
	return s.Target == nil && s.generator() == Loadgen
}

// AlternatedPairs are the budget's pairs that this run can alternate:
// each once, both sides measured in the rounds.
func AlternatedPairs(rep *Report, scenarios []Scenario) [][2]Scenario {
	return budgetPairs(scenarios, func(s Scenario) bool {
		r := rep.Scenario(s.Name)
		return sliceable(s) && r != nil && r.Median != nil
	})
}

// budgetPairs are the pairs (scenario, reference) the budget compares,
// each once, among scenarios whose both sides keep accepts.
func budgetPairs(scenarios []Scenario, keep func(Scenario) bool) [][2]Scenario {
	byName := map[string]Scenario{}
	for _, sc := range scenarios {
		if keep(sc) {
			byName[sc.Name] = sc
		}
	}
	var out [][2]Scenario
	seen := map[[2]string]bool{}
	for _, b := range Budgets() {
		key := [2]string{b.Scenario, b.Reference}
		m, okM := byName[b.Scenario]
		ref, okR := byName[b.Reference]
		if b.Reference == "" || seen[key] || !okM || !okR {
			continue
		}
		seen[key] = true
		out = append(out, [2]Scenario{m, ref})
	}
	return out
}

// alternate measures m against ref in n slices each.
func (s *suite) alternate(ctx context.Context, m, ref Scenario, n int, slice time.Duration) Alternated {
	a := Alternated{Scenario: m.Name, Reference: ref.Name, Slices: n, SliceS: slice.Seconds()}
	if err := s.alternateInto(ctx, &a, m, ref, n, slice); err != nil {
		a.Err = err.Error()
	}
	return a
}

func (s *suite) alternateInto(ctx context.Context, a *Alternated, m, ref Scenario, n int, slice time.Duration) error {
	var st [2]*setup
	for k, sc := range [2]Scenario{m, ref} {
		var err error
		st[k], err = s.start(ctx, sc, filepath.Join(s.dir, sc.Name+"-alternated-with-"+[2]Scenario{ref, m}[k].Name))
		if err != nil {
			return fmt.Errorf("%s: %w", sc.Name, err)
		}
		defer st[k].stop()
	}
	return s.runSlices(ctx, a, n, func(k int, rd *Round) error {
		if err := s.drive(ctx, st[k], sliceWarmup, slice, rd); err != nil {
			return fmt.Errorf("%s: %w", st[k].sc.Name, err)
		}
		return nil
	})
}

// runSlices runs n slices on each side (0: measured, 1: reference) in the
// order AB, BA, AB, …, so that neither side always goes first, and sums
// each side's figures.
func (s *suite) runSlices(ctx context.Context, a *Alternated, n int, slice func(side int, rd *Round) error) error {
	sides := [2]*Side{&a.Measured, &a.Ref}
	for i := range n {
		order := [2]int{0, 1}
		if i%2 == 1 {
			order = [2]int{1, 0}
		}
		for _, k := range order {
			if err := ctx.Err(); err != nil {
				return err
			}
			var rd Round
			if err := slice(k, &rd); err != nil {
				return fmt.Errorf("slice %d: %w", i+1, err)
			}
			sd := sides[k]
			sd.Responses += rd.Load.Responses
			sd.CPUTicks += rd.CPUTicks
			sd.BackendTicks += rd.BackendTicks
			sd.Slices = append(sd.Slices, rd.CPUUsPerReq)
			sd.SlicesBackend = append(sd.SlicesBackend, rd.BackendCPUUsPerReq)
		}
	}
	for _, sd := range sides {
		sd.CPUUsPerReq = s.usPerReq(sd.CPUTicks, sd.Responses)
		sd.BackendCPUUsPerReq = s.usPerReq(sd.BackendTicks, sd.Responses)
	}
	return nil
}

// alternationTime is what alternating the budget's pairs among
// opt.Scenarios takes: each slice with its warm-up and the start of its
// load generator, and each pair's processes started once.
func alternationTime(opt Options) time.Duration {
	if opt.Alternations <= 0 || opt.Slice <= 0 {
		return 0
	}
	pairs := budgetPairs(opt.Scenarios, func(s Scenario) bool { return sliceable(s) && s.Unavailable == "" })
	perPair := time.Duration(2*opt.Alternations)*(opt.Slice+sliceWarmup+runOverhead) + 4*runOverhead
	return time.Duration(len(pairs)) * perPair
}

// alternationHeading introduces the alternated pairs in both reports.
func (r *Report) alternationHeading() string {
	return fmt.Sprintf("Pairs measured again with both sides running, the load moved from one to the other every %gs (%d slices each, AB BA …):",
		r.Settings.SliceS, r.Settings.Alternations)
}

// alternationLine is the progress line of one alternated pair.
func alternationLine(a *Alternated) string {
	if a.Err != "" {
		return fmt.Sprintf("alternated %s with %s failed: %s", a.Scenario, a.Reference, a.Err)
	}
	spread := ""
	if r := a.SliceRatios(false); len(r) > 0 {
		spread = fmt.Sprintf(" (slice pairs %.2f–%.2f×)", slices.Min(r), slices.Max(r))
	}
	return fmt.Sprintf("alternated %-20s with %-16s %d×%gs: %6.2f vs %6.2f µs CPU/req, median slice pair %.2f×%s",
		a.Scenario, a.Reference, a.Slices, a.SliceS, a.Measured.CPUUsPerReq, a.Ref.CPUUsPerReq, a.Ratio(false), spread)
}
