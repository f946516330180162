package bench

import (
	"fmt"
	"math"
	"sort"
	"strings"
)

// MakeVerdict is the run in one paragraph: in each group of scenarios run
// side by side with more than one kind of proxy, which was cheapest in
// CPU per request and by how much — set against how far the rounds of the
// two scenarios compared spread, so a margin smaller than the spread is
// not called a win —, the vendor matrix cell by cell, and how noisy the
// machine was.
func (r *Report) MakeVerdict() string {
	var sentences []string
	for _, g := range r.comparisonGroups() {
		sentences = append(sentences, groupVerdict(g))
	}
	if m := r.matrixVerdict(); m != "" {
		sentences = append(sentences, m)
	}
	if len(sentences) == 0 {
		sentences = append(sentences, "No two proxies were measured side by side in this run, so there is nobody to compare"+r.missingPeers()+".")
	}
	sentences = append(sentences, r.noiseVerdict())
	return strings.Join(sentences, " ")
}

// comparisonGroups are the groups, in report order, whose measured
// scenarios (CPU read) span more than one kind of proxy, each sorted by
// CPU per request.
func (r *Report) comparisonGroups() [][]*ScenarioResult {
	var order []string
	byGroup := map[string][]*ScenarioResult{}
	for i := range r.Scenarios {
		s := &r.Scenarios[i]
		// The matrix's cells differ in what they do, not only in who
		// does it: matrixVerdict compares them cell by cell.
		if !s.cpuMeasured() || s.Proxy == Direct || s.Matrix != nil {
			continue
		}
		g := s.Group
		if g == "" {
			g = s.Name
		}
		if _, ok := byGroup[g]; !ok {
			order = append(order, g)
		}
		byGroup[g] = append(byGroup[g], s)
	}
	var out [][]*ScenarioResult
	for _, g := range order {
		list := byGroup[g]
		kinds := map[ProxyKind]bool{}
		for _, s := range list {
			kinds[s.Proxy] = true
		}
		if len(kinds) < 2 {
			continue
		}
		sort.SliceStable(list, func(i, j int) bool { return list[i].Median.CPUUsPerReq < list[j].Median.CPUUsPerReq })
		out = append(out, list)
	}
	return out
}

// groupVerdict says who was cheapest in one group and by how much.
func groupVerdict(g []*ScenarioResult) string {
	best, next := g[0], g[1]
	b, n := best.Median.CPUUsPerReq, next.Median.CPUUsPerReq
	margin := 1 - b/n
	spread := max(cpuSpread(best), cpuSpread(next))
	var s strings.Builder
	fmt.Fprintf(&s, "%s was the cheapest per request at %.2f µs of CPU, %.0f%% below %s (%.2f µs)", best.Name, b, margin*100, next.Name, n)
	if len(g) > 2 {
		var rest []string
		for _, o := range g[2:] {
			rest = append(rest, fmt.Sprintf("%s %.2f×", o.Name, o.Median.CPUUsPerReq/b))
		}
		fmt.Fprintf(&s, "; then %s", strings.Join(rest, ", "))
	}
	switch {
	case spread <= 0:
		s.WriteString(" (one round each: no spread to judge the margin by).")
	case margin < spread:
		fmt.Fprintf(&s, ", within the %.0f%% their rounds spread over, so not a clear lead.", spread*100)
	default:
		fmt.Fprintf(&s, ", beyond the %.0f%% their rounds spread over.", spread*100)
	}
	return s.String()
}

// cpuSpread is how far a scenario's rounds spread in CPU per request:
// (max − min) ÷ the median round's figure; 0 with fewer than two rounds.
func cpuSpread(s *ScenarioResult) float64 {
	lo, hi, n := math.Inf(1), math.Inf(-1), 0
	for _, r := range s.Rounds {
		if !r.succeeded() || r.CPUUsPerReq <= 0 {
			continue
		}
		lo, hi, n = min(lo, r.CPUUsPerReq), max(hi, r.CPUUsPerReq), n+1
	}
	if n < 2 || s.Median.CPUUsPerReq <= 0 {
		return 0
	}
	return (hi - lo) / s.Median.CPUUsPerReq
}

// noiseVerdict says how busy the machine was with other work across
// every round: the mean, the worst round, and whether the median rounds
// crossed the line past which the report flags them.
func (r *Report) noiseVerdict() string {
	var sum, worst float64
	var worstAt string
	n, flagged := 0, 0
	for _, s := range r.Scenarios {
		for _, rd := range s.Rounds {
			if !rd.succeeded() || rd.CPUNotMeasured {
				continue
			}
			sum += rd.OtherCPU
			n++
			if rd.OtherCPU > worst || worstAt == "" {
				worst, worstAt = rd.OtherCPU, fmt.Sprintf("%s, round %d", s.Name, rd.Round)
			}
		}
		if s.Median != nil && s.Median.Noisy() {
			flagged++
		}
	}
	if n == 0 {
		return "No round succeeded, so the machine's noise was not measured."
	}
	mean := sum / float64(n)
	switch {
	case flagged > 0:
		return fmt.Sprintf("The machine was noisy: other work took %.0f%% of a CPU on average and %.0f%% at worst (%s); %d median round(s) ran above %.0f%%, so rerun on a quieter machine or with more -rounds before trusting these margins.",
			mean*100, worst*100, worstAt, flagged, noisyLoad*100)
	case worst > noisyLoad:
		return fmt.Sprintf("The machine was mostly quiet: other work took %.0f%% of a CPU on average, %.0f%% at worst (%s), which no median round reached.",
			mean*100, worst*100, worstAt)
	}
	return fmt.Sprintf("The machine was quiet: other work took %.0f%% of a CPU on average and %.0f%% at worst (%s).", mean*100, worst*100, worstAt)
}

// missingPeers names the proxies that were not installed, as the reason
// for nothing to compare.
func (r *Report) missingPeers() string {
	var peers []string
	for _, m := range r.Missing {
		switch m {
		case "nginx", "haproxy", "caddy", "varnishd":
			peers = append(peers, m)
		}
	}
	if len(peers) == 0 {
		return ""
	}
	return " (not installed: " + strings.Join(peers, ", ") + ")"
}
