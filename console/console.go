// Package console is the admin listener's web console: a page that shows
// the compiled routes with live charts per route, the WebSocket
// connections, API keys, the response cache and the effective config, with
// buttons for the admin API's actions (send, disconnect, flush, reload).
//
// The page, its script and styles, and the vendored charting library
// (uPlot, static/vendor) are embedded in the binary: no CDN, no build step.
// The page reads the admin API's JSON endpoints; the one it adds,
// /stats/routes, is RouteStats read from the Prometheus text the gateway
// already exports, so the console shows exactly what a scrape would.
//
// Hot path: none. Everything here runs on the admin listener, when a
// browser asks.
package console

import (
	"embed"
	"io/fs"
	"mime"
	"path"
	"strings"

	"github.com/valyala/fasthttp"
)

//go:embed static
var static embed.FS

// UPlotVersion is the version of the vendored uPlot files (static/vendor).
const UPlotVersion = "1.6.32"

// asset is one embedded file with its content type.
type asset struct {
	body        []byte
	contentType string
}

// Assets serves the embedded files. It is built once and read only.
type Assets struct{ files map[string]asset }

// NewAssets reads the embedded files into memory (about 70 KiB).
func NewAssets() *Assets {
	a := &Assets{files: map[string]asset{}}
	sub, err := fs.Sub(static, "static")
	if err != nil {
		panic(err) // the embed directive guarantees the directory
	}
	walkErr := fs.WalkDir(sub, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(sub, name)
		if err != nil {
			return err
		}
		a.files[name] = asset{body: b, contentType: contentType(name)}
		return nil
	})
	if walkErr != nil {
		panic(walkErr) // embedded files are always readable
	}
	return a
}

func contentType(name string) string {
	switch path.Ext(name) {
	case ".html":
		return "text/html; charset=utf-8"
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case "", ".LICENSE":
		return "text/plain; charset=utf-8"
	}
	if t := mime.TypeByExtension(path.Ext(name)); t != "" {
		return t
	}
	return "application/octet-stream"
}

// Serve answers with the file name (relative to the console's root; ""
// is the page itself) or a 404.
func (a *Assets) Serve(ctx *fasthttp.RequestCtx, name string) {
	name = strings.TrimPrefix(name, "/")
	if name == "" {
		name = "index.html"
	}
	f, ok := a.files[name]
	if !ok {
		ctx.SetStatusCode(fasthttp.StatusNotFound)
		ctx.SetContentType("text/plain; charset=utf-8")
		ctx.SetBodyString("Not Found\n")
		return
	}
	h := &ctx.Response.Header
	// The page shows secrets' masks, connection ids and buttons that act:
	// no framing (clickjacking), no script or style from anywhere else.
	// uPlot sets element styles from script, which style-src 'self'
	// without 'unsafe-inline' would not block, but its legend uses style
	// attributes in markup it builds.
	h.Set("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-cache")
	ctx.SetContentType(f.contentType)
	ctx.SetBody(f.body)
}
