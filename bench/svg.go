package bench

import (
	"fmt"
	"strings"
)

// Chart geometry, in SVG user units.
const (
	chartWidth  = 780
	labelWidth  = 170
	barArea     = 470
	rowHeight   = 24
	barHeight   = 16
	panelTitle  = 34
	panelGap    = 18
	chartMargin = 16
)

// barColors tells the proxies apart in the chart.
var barColors = map[ProxyKind]string{Direct: "#8c8c8c", Nginx: "#2e8b57", Frontdesk: "#3366cc", otherProxies: "#d9822b"}

// otherProxies is the legend's name for every proxy without a colour of
// its own (HAProxy, Caddy, Varnish, a -target).
const otherProxies ProxyKind = "other"

type bar struct {
	label string
	value float64
	text  string
	color string
}

// SVG draws requests/s and CPU µs per request of every measured scenario
// as two panels of horizontal bars.
func (r *Report) SVG() string {
	var rps, cpu []bar
	for _, s := range r.Scenarios {
		if s.Median == nil {
			continue
		}
		c, ok := barColors[s.Proxy]
		if !ok {
			c = barColors[otherProxies]
		}
		rps = append(rps, bar{s.Name, s.Median.RPS(), fmt.Sprintf("%.0f", s.Median.RPS()), c})
		cpu = append(cpu, bar{s.Name, s.Median.CPUUsPerReq, fmt.Sprintf("%.2f µs", s.Median.CPUUsPerReq), c})
	}
	panelH := func(n int) int { return panelTitle + max(n, 1)*rowHeight + panelGap }
	height := 2*chartMargin + 2*panelH(len(rps)) + rowHeight
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n",
		chartWidth, height, chartWidth, height)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="#ffffff"/>`+"\n", chartWidth, height)
	y := chartMargin
	y = drawPanel(&b, y, "Requests per second (median round)", rps)
	y = drawPanel(&b, y, "CPU µs per request of the proxy process (upstream for direct)", cpu)
	drawLegend(&b, y)
	b.WriteString("</svg>\n")
	return b.String()
}

func drawPanel(b *strings.Builder, y int, title string, bars []bar) int {
	fmt.Fprintf(b, `<text x="%d" y="%d" font-size="14" font-weight="bold">%s</text>`+"\n", chartMargin, y+20, xmlEscape(title))
	y += panelTitle
	if len(bars) == 0 {
		fmt.Fprintf(b, `<text x="%d" y="%d" fill="#666666">nothing measured</text>`+"\n", labelWidth, y+barHeight-3)
		return y + rowHeight + panelGap
	}
	top := 0.0
	for _, v := range bars {
		top = max(top, v.value)
	}
	for _, v := range bars {
		w := 0.0
		if top > 0 {
			w = v.value / top * barArea
		}
		fmt.Fprintf(b, `<text x="%d" y="%d" text-anchor="end">%s</text>`+"\n", labelWidth-8, y+barHeight-3, xmlEscape(v.label))
		fmt.Fprintf(b, `<rect x="%d" y="%d" width="%.1f" height="%d" fill="%s"/>`+"\n", labelWidth, y, w, barHeight, v.color)
		fmt.Fprintf(b, `<text x="%.1f" y="%d">%s</text>`+"\n", float64(labelWidth)+w+6, y+barHeight-3, xmlEscape(v.text))
		y += rowHeight
	}
	return y + panelGap
}

func drawLegend(b *strings.Builder, y int) {
	x := labelWidth
	for _, k := range []ProxyKind{Direct, Nginx, Frontdesk, otherProxies} {
		fmt.Fprintf(b, `<rect x="%d" y="%d" width="12" height="12" fill="%s"/>`+"\n", x, y, barColors[k])
		fmt.Fprintf(b, `<text x="%d" y="%d">%s</text>`+"\n", x+16, y+11, k)
		x += 110
	}
}

var xmlReplacer = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&apos;")

func xmlEscape(s string) string { return xmlReplacer.Replace(s) }
