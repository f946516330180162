// Command upstream is a small demo backend for the quick start and the
// tests: it echoes what it received as JSON, and can answer slowly or with a
// large body.
//
//	GET /anything          {"method":..,"path":..,"query":..,"headers":{..},"body":..}
//	GET /slow?ms=200       waits, then echoes
//	GET /big?mib=32        streams that many MiB of bytes
//	GET /healthz           ok
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"log"
	"os"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"
)

func main() {
	addr := flag.String("listen", "127.0.0.1:9000", "address to listen on")
	name := flag.String("name", "demo-upstream", "name reported in each answer")
	flag.Parse()
	log.SetOutput(os.Stderr)
	log.Printf("demo upstream %s listening on %s", *name, *addr)
	if err := fasthttp.ListenAndServe(*addr, Handler(*name)); err != nil {
		log.Fatal(err)
	}
}

// Handler answers the demo routes.
func Handler(name string) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		switch string(ctx.Path()) {
		case "/healthz":
			ctx.SetBodyString("ok")
			return
		case "/big":
			mib, _ := strconv.Atoi(string(ctx.QueryArgs().Peek("mib")))
			streamBig(ctx, mib)
			return
		case "/slow":
			ms, _ := strconv.Atoi(string(ctx.QueryArgs().Peek("ms")))
			time.Sleep(time.Duration(ms) * time.Millisecond)
		}
		echo(ctx, name)
	}
}

func echo(ctx *fasthttp.RequestCtx, name string) {
	headers := map[string]string{}
	for k, v := range ctx.Request.Header.All() {
		if prev, ok := headers[string(k)]; ok {
			headers[string(k)] = prev + ", " + string(v)
			continue
		}
		headers[string(k)] = string(v)
	}
	out := map[string]any{
		"upstream": name,
		"method":   string(ctx.Method()),
		"path":     string(ctx.Request.URI().PathOriginal()),
		"query":    string(ctx.URI().QueryString()),
		"headers":  headers,
		"body":     string(ctx.Request.Body()),
	}
	ctx.SetContentType("application/json")
	ctx.Response.Header.Set("Connection", "keep-alive")
	ctx.Response.Header.Set("Keep-Alive", "timeout=5")
	ctx.Response.Header.Set("X-Upstream", name)
	_ = json.NewEncoder(ctx).Encode(out)
}

func streamBig(ctx *fasthttp.RequestCtx, mib int) {
	size := mib << 20
	ctx.SetContentType("application/octet-stream")
	chunk := make([]byte, 64<<10)
	for i := range chunk {
		chunk[i] = byte('a' + i%26)
	}
	ctx.SetBodyStreamWriter(func(w *bufio.Writer) {
		for sent := 0; sent < size; sent += len(chunk) {
			n := min(len(chunk), size-sent)
			if _, err := w.Write(chunk[:n]); err != nil {
				return
			}
			if err := w.Flush(); err != nil {
				return
			}
		}
	})
	ctx.Response.Header.SetContentLength(size)
}
