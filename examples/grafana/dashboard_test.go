// Package grafana holds the Grafana dashboard for frontdesk's Prometheus
// metrics (frontdesk.json); its test keeps the dashboard and
// docs/observability.md in step.
package grafana

import (
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

var family = regexp.MustCompile(`frontdesk_[a-z_]+`)

// documented lists the metric families docs/observability.md describes.
func documented(t *testing.T) map[string]bool {
	t.Helper()
	b, err := os.ReadFile("../../docs/observability.md")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, m := range regexp.MustCompile("`(frontdesk_[a-z_]+)`").FindAllStringSubmatch(string(b), -1) {
		out[m[1]] = true
	}
	return out
}

type panel struct {
	ID      int    `json:"id"`
	Type    string `json:"type"`
	Title   string `json:"title"`
	GridPos struct {
		H, W, X, Y int
	} `json:"gridPos"`
	Targets []struct {
		Expr string `json:"expr"`
	} `json:"targets"`
}

// Every family the dashboard queries exists (is documented), every
// documented family is on the dashboard, and panels fit Grafana's 24
// columns with distinct ids.
func TestDashboardQueriesFrontdesksMetrics(t *testing.T) {
	b, err := os.ReadFile("frontdesk.json")
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Title  string  `json:"title"`
		UID    string  `json:"uid"`
		Panels []panel `json:"panels"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("frontdesk.json: %v", err)
	}
	docs := documented(t)
	used := map[string]bool{}
	ids := map[int]bool{}
	for _, p := range d.Panels {
		if ids[p.ID] {
			t.Errorf("panel id %d twice", p.ID)
		}
		ids[p.ID] = true
		if p.GridPos.X+p.GridPos.W > 24 || p.GridPos.W == 0 {
			t.Errorf("panel %q: gridPos %+v", p.Title, p.GridPos)
		}
		if p.Type != "row" && len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			for _, name := range family.FindAllString(tg.Expr, -1) {
				for _, suffix := range []string{"_bucket", "_sum", "_count"} {
					if base, ok := strings.CutSuffix(name, suffix); ok && docs[base] {
						name = base
					}
				}
				used[name] = true
				if !docs[name] {
					t.Errorf("panel %q queries %s, which docs/observability.md does not describe", p.Title, name)
				}
			}
		}
	}
	var missing []string
	for name := range docs {
		if !used[name] {
			missing = append(missing, name)
		}
	}
	slices.Sort(missing)
	if len(missing) > 0 {
		t.Errorf("families not on the dashboard: %v", missing)
	}
	if d.Title == "" || d.UID == "" {
		t.Errorf("title %q uid %q", d.Title, d.UID)
	}
}
