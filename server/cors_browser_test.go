package server

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/frontdeskgw/frontdesk/internal/browsertest"
	"github.com/valyala/fasthttp"
)

// pageServer serves a page that fetches url with credentials and writes
// the outcome into the document title.
func pageServer(t *testing.T, url string) string {
	page := fmt.Sprintf(`<!doctype html><title>pending</title><script>
fetch(%q, {credentials: "include", headers: {"Authorization": "Bearer x"}})
  .then(r => r.text()).then(t => { document.title = "read:" + t })
  .catch(e => { document.title = "blocked" });
</script>`, url)
	return "http://" + startServer(t, func(ctx *fasthttp.RequestCtx) {
		ctx.SetContentType("text/html")
		ctx.SetBodyString(page)
	})
}

// A page on an allowed origin reads the answer of frontdesk on another
// origin; a page on any other origin is stopped by the browser.
func TestCORSInTheBrowser(t *testing.T) {
	browser := browsertest.New(t)
	gwAddr := closedPort(t)
	gwURL := "http://" + gwAddr + "/data"
	allowed := pageServer(t, gwURL)
	denied := pageServer(t, gwURL)
	startGatewayOn(t, gwAddr, fmt.Sprintf(`
apis:
  a:
    cors: {allow_origins: [%q], allow_methods: [GET], allow_headers: [authorization], allow_credentials: true}
    integrations: {m: {type: mock, body: secret-data}}
    routes: {"GET /data": {integration: m}}
`, allowed))
	for _, c := range []struct {
		page, want string
	}{
		{allowed, "read:secret-data"},
		{denied, "blocked"},
	} {
		tab, cancel := chromedp.NewContext(browser)
		err := chromedp.Do(tab, chromedp.Navigate(c.page+"/"))
		var title string
		if err == nil {
			title, err = chromedp.Run(tab, chromedp.Poll[string](`document.title !== "pending" && document.title`))
		}
		cancel()
		if err != nil {
			t.Fatalf("%s: %v", c.page, err)
		}
		if !strings.EqualFold(title, c.want) {
			t.Errorf("page on %s: title %q, want %q", c.page, title, c.want)
		}
	}
}
