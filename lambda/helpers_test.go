package lambda

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/valyala/fasthttp"
)

// fixture reads one of aws-lambda-go's events/testdata files. The package's
// directory is found from where its compiled code came from, so the files
// are those of the exact version this module builds with.
func fixture(t *testing.T, name string) []byte {
	t.Helper()
	pc := reflect.ValueOf((*events.APIGatewayProxyStreamingResponse).Read).Pointer()
	file, _ := runtime.FuncForPC(pc).FileLine(pc)
	dir := filepath.Dir(file)
	if !filepath.IsAbs(dir) { // built with -trimpath: module@version/events
		cache := os.Getenv("GOMODCACHE")
		if cache == "" {
			home, _ := os.UserHomeDir()
			cache = filepath.Join(home, "go", "pkg", "mod")
		}
		dir = filepath.Join(cache, dir)
	}
	b, err := os.ReadFile(filepath.Join(dir, "testdata", name))
	if err != nil {
		t.Fatalf("aws-lambda-go fixture not found (the module cache holds it once the test builds): %v", err)
	}
	return b
}

// readRequest parses a recorded HTTP/1.1 request; keepCase disables header
// name normalizing as a server preserving client casing would.
func readRequest(t testing.TB, raw string, keepCase bool) *fasthttp.Request {
	t.Helper()
	req := new(fasthttp.Request)
	if keepCase {
		req.Header.DisableNormalizing()
	}
	raw = strings.ReplaceAll(raw, "\n", "\r\n")
	if err := req.Read(bufio.NewReader(strings.NewReader(raw))); err != nil {
		t.Fatalf("read request: %v", err)
	}
	return req
}

// newRequest builds a request header by header, in order, names kept as
// written.
func newRequest(method, uri string, headers [][2]string, body string) *fasthttp.Request {
	req := new(fasthttp.Request)
	req.Header.DisableNormalizing()
	req.Header.SetMethod(method)
	req.SetRequestURI(uri)
	for _, h := range headers {
		req.Header.Add(h[0], h[1])
	}
	if body != "" {
		req.SetBodyString(body)
	}
	return req
}

func msTime(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

// decode unmarshals an event, failing the test on invalid JSON.
func decode(t *testing.T, event []byte, v any) {
	t.Helper()
	if !json.Valid(event) {
		t.Fatalf("event is not valid JSON:\n%s", event)
	}
	if err := json.Unmarshal(event, v); err != nil {
		t.Fatalf("unmarshal %T: %v\n%s", v, err, event)
	}
}

// decodeMap decodes an event generically, to see null versus absent.
func decodeMap(t *testing.T, event []byte) map[string]any {
	t.Helper()
	var m map[string]any
	decode(t, event, &m)
	return m
}

// diffFields compares two values field by field and reports each leaf that
// differs by its path, which reads better than one big DeepEqual.
func diffFields(t *testing.T, path string, got, want reflect.Value) {
	t.Helper()
	if got.Kind() == reflect.Pointer && !got.IsNil() && !want.IsNil() {
		diffFields(t, path, got.Elem(), want.Elem())
		return
	}
	if got.Kind() == reflect.Struct {
		for i := 0; i < got.NumField(); i++ {
			diffFields(t, path+"."+got.Type().Field(i).Name, got.Field(i), want.Field(i))
		}
		return
	}
	if !reflect.DeepEqual(got.Interface(), want.Interface()) {
		t.Errorf("%s:\n got  %s\n want %s", path, show(got.Interface()), show(want.Interface()))
	}
}

func show(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// member walks a decoded JSON map along keys and reports the value and
// whether the last key was present.
func member(m map[string]any, keys ...string) (any, bool) {
	var cur any = m
	for _, k := range keys {
		obj, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = obj[k]; !ok {
			return nil, false
		}
	}
	return cur, true
}
