package console_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/fasthttp/websocket"
	"github.com/valyala/fasthttp"

	"github.com/frontdeskgw/frontdesk/config"
	"github.com/frontdeskgw/frontdesk/internal/browsertest"
	"github.com/frontdeskgw/frontdesk/internal/redistest"
	"github.com/frontdeskgw/frontdesk/internal/servertest"
)

const token = "console-test-token"

// consoleConfig has an HTTP API with a cached route and a keyed route,
// a WebSocket API and an API key on a usage plan: something for every
// part of the console.
func consoleConfig(upstream, wsBackend string) string {
	return fmt.Sprintf(`
admin: {token: %s}
api_keys:
  - {name: alice, value: "alice-key-0123456789abcdef", plan: gold}
usage_plans:
  gold:
    apis: [shop]
    throttle: {rate: 1000, burst: 1000}
    quota: {limit: 100000, period: day}
apis:
  shop:
    integrations:
      up: {type: http_proxy, url: "http://%s"}
    routes:
      "GET /items": {integration: up, cache: {ttl: 300s}}
      "GET /orders/{id}": {integration: up}
      "POST /orders": {integration: up, api_key: true}
  chat:
    type: websocket
    stages: {prod: {}}
    route_selection: "$request.body.action"
    integrations: {be: {type: http, url: "http://%s/events"}}
    routes:
      "$connect": {integration: be}
      "$disconnect": {integration: be}
      "$default": {integration: be}
`, token, upstream, wsBackend)
}

// startHTTP serves h on 127.0.0.1:0 until the test ends.
func startHTTP(t *testing.T, h fasthttp.RequestHandler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &fasthttp.Server{Handler: h}
	go s.Serve(ln)                     //nolint:errcheck // ends at cleanup
	t.Cleanup(func() { s.Shutdown() }) //nolint:errcheck // ours
	return ln.Addr().String()
}

// startFrontdesk serves the config file at path, data plane and admin
// listener on 127.0.0.1:0.
func startFrontdesk(t *testing.T, path string) (data, adm string) {
	t.Helper()
	cfg, _, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	in := servertest.Start(t, cfg)
	return in.Data, in.Admin
}

func adminGet(t *testing.T, url string, v any) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d", url, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

type cacheStats struct {
	Entries int `json:"entries"`
}

// run runs steps in the browser tab and fails the test on error.
func run(t *testing.T, tab context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(tab, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// waitJS waits until the expression is truthy in the page.
func waitJS(t *testing.T, tab context.Context, what, expr string) {
	t.Helper()
	if _, err := chromedp.Run(tab, chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		t.Fatalf("waiting for %s (%s): %v", what, expr, err)
	}
}

// click clicks the element sel finds, as a user's click would (the
// element's click event, handlers and default action).
func click(t *testing.T, tab context.Context, what, sel string) {
	t.Helper()
	expr := fmt.Sprintf(`(() => { const e = document.querySelector(%q); if (!e) return false; e.click(); return true })()`, sel)
	ok, err := chromedp.Run(tab, chromedp.Evaluate[bool](expr))
	if err != nil || !ok {
		t.Fatalf("%s: click %s: found %v, %v", what, sel, ok, err)
	}
}

// typeInto sets the value of the input sel finds and fires its input
// event.
func typeInto(t *testing.T, tab context.Context, what, sel, value string) {
	t.Helper()
	expr := fmt.Sprintf(`(() => { const e = document.querySelector(%q); if (!e) return false; e.value = %q; e.dispatchEvent(new Event("input")); return true })()`, sel, value)
	ok, err := chromedp.Run(tab, chromedp.Evaluate[bool](expr))
	if err != nil || !ok {
		t.Fatalf("%s: type into %s: found %v, %v", what, sel, ok, err)
	}
}

// screenshot saves the page as name.png in $FRONTDESK_SCREENSHOTS, when
// set, for the docs; normal runs write nothing.
func screenshot(t *testing.T, tab context.Context, name string) {
	t.Helper()
	dir := os.Getenv("FRONTDESK_SCREENSHOTS")
	if dir == "" {
		return
	}
	png, err := chromedp.Run(tab, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// The console against a running frontdesk under light load: it lists the
// config's routes, charts their traffic, disconnects a WebSocket client,
// flushes the cache and shows why a reload was refused.
func TestConsoleInTheBrowser(t *testing.T) {
	browser := browsertest.New(t)
	upstream := startHTTP(t, func(ctx *fasthttp.RequestCtx) {
		ctx.SetContentType("application/json")
		if string(ctx.Path()) == "/orders/404" {
			ctx.SetStatusCode(404)
		}
		fmt.Fprintf(ctx, `{"path":%q}`, ctx.Path())
	})
	wsBackend := startHTTP(t, func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString(`{"statusCode":200}`) })
	path := filepath.Join(t.TempDir(), "frontdesk.yaml")
	if err := os.WriteFile(path, []byte(consoleConfig(upstream, wsBackend)), 0o600); err != nil {
		t.Fatal(err)
	}
	data, adm := startFrontdesk(t, path)

	// Light load on two uncached routes, some of it 4xx, until the test
	// ends (bounded in count as well).
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var sent atomic.Int64
	wg.Add(1)
	go func() {
		defer wg.Done()
		client := &http.Client{Timeout: 5 * time.Second}
		for i := 0; i < 20000; i++ {
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
			p := fmt.Sprintf("/orders/%d", i%5)
			if i%7 == 0 {
				p = "/orders/404"
			}
			if resp, err := client.Get(data + p); err == nil {
				io.Copy(io.Discard, resp.Body) //nolint:errcheck // load only
				resp.Body.Close()
				sent.Add(1)
			}
		}
	}()
	t.Cleanup(func() { close(stop); wg.Wait() })

	// Something in the cache, and a WebSocket client.
	for _, p := range []string{"/items?page=1", "/items?page=2", "/items?page=1"} {
		resp, err := http.Get(data + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	var cs cacheStats
	adminGet(t, adm+"/cache/stats", &cs)
	if cs.Entries == 0 {
		t.Fatal("the cached route stored nothing")
	}
	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(data, "http")+"/prod", http.Header{"User-Agent": {"console-test-client"}})
	if err != nil {
		t.Fatalf("websocket dial: %v", err)
	}
	defer ws.Close()
	type frame struct {
		msg string
		err error
	}
	frames := make(chan frame, 16)
	go func() {
		for {
			_, msg, err := ws.ReadMessage()
			frames <- frame{string(msg), err}
			if err != nil {
				return
			}
		}
	}()
	var conns struct {
		APIs map[string]struct {
			Connections []struct {
				ID string `json:"connectionId"`
			} `json:"connections"`
		} `json:"apis"`
	}
	// The bridge lists a connection once $connect has admitted it.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		adminGet(t, adm+"/connections", &conns)
		if len(conns.APIs["chat"].Connections) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("connections after 5s: %+v", conns)
		}
	}
	connID := conns.APIs["chat"].Connections[0].ID

	tab, cancel := chromedp.NewContext(browser)
	defer cancel()
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte("admin:"+token))
	if _, err := chromedp.Call(tab, network.Enable, network.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(tab, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: network.Headers{"Authorization": basic}}); err != nil {
		t.Fatal(err)
	}
	run(t, tab, "open the console", chromedp.EmulateViewport(1366, 900), chromedp.Navigate(adm+"/console/"))

	t.Run("cluster panel stays hidden without cluster mode", func(t *testing.T) {
		waitJS(t, tab, "the first cluster poll", `document.querySelector("#cluster").dataset.polled === "1"`)
		hidden, err := chromedp.Run(tab, chromedp.Evaluate[bool](`document.querySelector("#cluster").hidden && document.querySelector("#nav-cluster").hidden`))
		if err != nil || !hidden {
			t.Fatalf("cluster panel shown without cluster mode (%v)", err)
		}
	})

	t.Run("route table lists the config's routes", func(t *testing.T) {
		waitJS(t, tab, "the route table", `document.querySelectorAll("#route-table tbody tr").length === 3`)
		keys, err := chromedp.Run(tab, chromedp.Evaluate[[]string](`[...document.querySelectorAll("#route-table tbody tr td.route-key")].map(td => td.textContent)`))
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"GET /items", "GET /orders/{id}", "POST /orders"}
		if strings.Join(keys, ",") != strings.Join(want, ",") {
			t.Errorf("route keys %q, want %q", keys, want)
		}
		// Each route's checks: the cached route's TTL, the keyed route's API key.
		checks, err := chromedp.Run(tab, chromedp.Evaluate[[]string](`[...document.querySelectorAll("#route-table tbody tr")].map(tr => tr.children[5].textContent + "|" + tr.children[7].textContent)`))
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{"—|5m0s", "—|—", "API key|—"}; strings.Join(checks, ",") != strings.Join(want, ",") {
			t.Errorf("authorizer|cache columns %q, want %q", checks, want)
		}
		// The search box filters.
		typeInto(t, tab, "search", "#route-search", "orders")
		waitJS(t, tab, "the filter", `[...document.querySelectorAll("#route-table tbody tr")].filter(tr => !tr.hidden).length === 2`)
		typeInto(t, tab, "clear the search", "#route-search", "")
	})

	t.Run("a chart shows non-zero traffic", func(t *testing.T) {
		waitJS(t, tab, "traffic on the all-routes chart", `Number(document.querySelector("#chart-rps").dataset.max) > 0 && document.querySelector("#chart-rps canvas") !== null`)
		// One route's chart: click its row.
		click(t, tab, "select a route", `#route-table tbody tr[data-key="shop $default GET /orders/{id}"]`)
		waitJS(t, tab, "traffic on the route's chart", `document.querySelector("#chart-route").textContent.includes("GET /orders/{id}") && Number(document.querySelector("#chart-rps").dataset.max) > 0`)
		waitJS(t, tab, "4xx rate in the table", `Number(document.querySelector('#route-table tr[data-key="shop $default GET /orders/{id}"] td.r4').textContent) > 0`)
	})

	t.Run("send and disconnect a WebSocket client", func(t *testing.T) {
		row := fmt.Sprintf(`#conn-table tr[data-connection=%q]`, connID)
		waitJS(t, tab, "the connection row", fmt.Sprintf(`document.querySelector(%q) !== null && document.querySelector(%q).textContent.includes("console-test-client")`, row, row))
		if os.Getenv("FRONTDESK_SCREENSHOTS") != "" {
			// A picture for the docs is worth a few more points.
			waitJS(t, tab, "a longer chart", `Number(document.querySelector("#chart-rps").dataset.points) >= 8`)
		}
		screenshot(t, tab, "console")
		typeInto(t, tab, "message", row+" input", "hello from the console")
		click(t, tab, "send", row+` button[data-action="send"]`)
		select {
		case f := <-frames:
			if f.err != nil || f.msg != "hello from the console" {
				t.Fatalf("client got %q, %v; want the console's message", f.msg, f.err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the client got no message within 10s")
		}
		click(t, tab, "disconnect", row+` button[data-action="disconnect"]`)
		select {
		case f := <-frames:
			var ce *websocket.CloseError
			if !errors.As(f.err, &ce) {
				t.Fatalf("client read %q, %v; want a close frame", f.msg, f.err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the client was not closed within 10s")
		}
		waitJS(t, tab, "the row gone", fmt.Sprintf(`document.querySelector(%q) === null`, row))
	})

	t.Run("cache flush empties the cache", func(t *testing.T) {
		waitJS(t, tab, "cache entries shown", `Number(document.querySelector("#cache-entries")?.textContent) > 0`)
		click(t, tab, "flush", "#cache-flush")
		waitJS(t, tab, "flushed", `document.querySelector("#cache-result").textContent === "flushed"`)
		var cs cacheStats
		adminGet(t, adm+"/cache/stats", &cs)
		if cs.Entries != 0 {
			t.Errorf("cache holds %d entries after the flush", cs.Entries)
		}
		waitJS(t, tab, "zero entries shown", `document.querySelector("#cache-entries")?.textContent === "0"`)
	})

	t.Run("a reload with a broken config shows its error", func(t *testing.T) {
		broken := strings.Replace(consoleConfig(upstream, wsBackend), `"POST /orders": {integration: up`, `"POST /orders": {integration: nowhere`, 1)
		if err := os.WriteFile(path, []byte(broken), 0o600); err != nil {
			t.Fatal(err)
		}
		click(t, tab, "reload", "#reload")
		waitJS(t, tab, "the refusal", `document.querySelector("#reload-result").classList.contains("bad") && document.querySelector("#reload-errors li") !== null`)
		errs, err := chromedp.Run(tab, chromedp.Evaluate[[]string](`[...document.querySelectorAll("#reload-errors li")].map(li => li.textContent)`))
		if err != nil {
			t.Fatal(err)
		}
		if len(errs) == 0 || !strings.Contains(errs[0], "frontdesk.yaml:") || !strings.Contains(strings.Join(errs, "\n"), "nowhere") {
			t.Errorf("reload errors shown: %q", errs)
		}
		last, err := chromedp.Run(tab, chromedp.Text("#reload-last"))
		if err != nil || !strings.Contains(last, "FAILED") {
			t.Errorf("last reload shown as %q (%v)", last, err)
		}
		screenshot(t, tab, "console-reload-error")
	})
	if sent.Load() == 0 {
		t.Error("the load sent no request")
	}
}

// clusterConsoleConfig is a member of a test cluster; body tells configs
// apart (a different body, a different config hash).
func clusterConsoleConfig(redis, id, body string) string {
	return fmt.Sprintf(`
admin: {token: %s}
cluster: {redis: "%s", instance_id: "%s", sync_interval: 50ms}
apis:
  shop:
    integrations: {m: {type: mock, body: %s}}
    routes: {"GET /items": {integration: m}}
`, token, redis, id, body)
}

// In cluster mode the console lists the live instances with their config
// hash and last heartbeat, and marks the instance whose config differs
// from this one's (a rolling deploy's straggler).
func TestConsoleShowsClusterInstancesAndMarksAnotherConfig(t *testing.T) {
	browser := browsertest.New(t)
	r := redistest.Start(t)
	// edge-a and edge-b serve one file, as a deploy does, their ids from
	// the environment (paths in the config, such as the control plane's
	// default state file, count in the hash); edge-old serves an older one.
	current := filepath.Join(t.TempDir(), "frontdesk.yaml")
	if err := os.WriteFile(current, []byte(clusterConsoleConfig(r.URL(), "${CONSOLE_TEST_INSTANCE}", "v1")), 0o600); err != nil {
		t.Fatal(err)
	}
	old := filepath.Join(t.TempDir(), "frontdesk.yaml")
	if err := os.WriteFile(old, []byte(clusterConsoleConfig(r.URL(), "${CONSOLE_TEST_INSTANCE}", "v0")), 0o600); err != nil {
		t.Fatal(err)
	}
	var adm string
	for _, m := range []struct{ id, path string }{{"edge-a", current}, {"edge-b", current}, {"edge-old", old}} {
		t.Setenv("CONSOLE_TEST_INSTANCE", m.id)
		_, a := startFrontdesk(t, m.path)
		if m.id == "edge-a" {
			adm = a
		}
	}
	var st struct {
		Self      string
		Instances []struct {
			ID   string
			Info map[string]string
		}
	}
	for deadline := time.Now().Add(10 * time.Second); len(st.Instances) != 3; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("GET /cluster lists %d instances, want 3", len(st.Instances))
		}
		adminGet(t, adm+"/cluster", &st)
	}
	hash := map[string]string{}
	for _, in := range st.Instances {
		hash[in.ID] = in.Info["config_hash"]
	}
	if hash["edge-a"] != hash["edge-b"] || hash["edge-a"] == hash["edge-old"] {
		t.Fatalf("config hashes %v: want edge-a and edge-b alike, edge-old apart", hash)
	}

	tab, cancel := chromedp.NewContext(browser)
	defer cancel()
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte("admin:"+token))
	if _, err := chromedp.Call(tab, network.Enable, network.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(tab, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: network.Headers{"Authorization": basic}}); err != nil {
		t.Fatal(err)
	}
	run(t, tab, "open the console", chromedp.EmulateViewport(1366, 900), chromedp.Navigate(adm+"/console/"))
	waitJS(t, tab, "the cluster panel with three instances",
		`!document.querySelector("#cluster").hidden && !document.querySelector("#nav-cluster").hidden && document.querySelectorAll("#cluster-table tbody tr").length === 3`)
	type row struct {
		ID, Hash, Seen string
		Self, Differs  bool
	}
	rows, err := chromedp.Run(tab, chromedp.Evaluate[[]row](`[...document.querySelectorAll("#cluster-table tbody tr")].map(tr => ({
		ID: tr.dataset.id, Hash: tr.querySelector("td.hash").textContent, Seen: tr.querySelector("td.seen").textContent,
		Self: tr.classList.contains("self"), Differs: tr.classList.contains("differs")}))`))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]row{
		"edge-a":   {ID: "edge-a", Hash: hash["edge-a"], Self: true},
		"edge-b":   {ID: "edge-b", Hash: hash["edge-b"]},
		"edge-old": {ID: "edge-old", Hash: hash["edge-old"] + " ≠", Differs: true},
	}
	for _, got := range rows {
		w, ok := want[got.ID]
		if !ok || got.Hash != w.Hash || got.Self != w.Self || got.Differs != w.Differs || !strings.HasSuffix(got.Seen, "s ago") {
			t.Errorf("cluster row %+v, want %+v and a heartbeat age", got, w)
		}
		delete(want, got.ID)
	}
	if len(want) > 0 {
		t.Errorf("cluster panel lacks %v", want)
	}
	state, err := chromedp.Run(tab, chromedp.Text(chromedp.CSS("#cluster-state")))
	if err != nil || !strings.Contains(state, "3 live") || !strings.Contains(state, "1 on another config") {
		t.Errorf("cluster state %q (%v)", state, err)
	}
	screenshot(t, tab, "console-cluster")
}
