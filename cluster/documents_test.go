package cluster

import (
	"context"
	"testing"
	"time"

	"github.com/frontdeskgw/frontdesk/internal/redistest"
)

// A document changes only for a writer that read its latest version, so
// two instances saving at once never lose a change; the others hear of
// each new version.
func TestDocumentsAreComparedAndSetAcrossInstances(t *testing.T) {
	r := redistest.Start(t)
	a, b := newCluster(t, r.URL(), "a", nil), newCluster(t, r.URL(), "b", nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	heard := make(chan int64, 8)
	b.WatchDoc("state", func(v int64) { heard <- v })

	if doc, v, err := a.LoadDoc(ctx, "state"); err != nil || doc != nil || v != 0 {
		t.Fatalf("a document never saved: %q version %d, %v", doc, v, err)
	}
	if ok, err := a.SaveDoc(ctx, "state", []byte("one"), 0); err != nil || !ok {
		t.Fatalf("first save: %v %v", ok, err)
	}
	// b read version 0 too: its change must not overwrite a's.
	if ok, err := b.SaveDoc(ctx, "state", []byte("two"), 0); err != nil || ok {
		t.Fatalf("a save from a stale version was taken: %v %v", ok, err)
	}
	doc, v, err := b.LoadDoc(ctx, "state")
	if err != nil || string(doc) != "one" || v != 1 {
		t.Fatalf("after the stale save: %q version %d, %v", doc, v, err)
	}
	if ok, err := b.SaveDoc(ctx, "state", []byte("two"), v); err != nil || !ok {
		t.Fatalf("save from the latest version: %v %v", ok, err)
	}
	if v, err := a.DocVersion(ctx, "state"); err != nil || v != 2 {
		t.Fatalf("version after two saves: %d, %v", v, err)
	}
	for want := int64(2); ; {
		select {
		case v := <-heard:
			if v == want {
				return
			}
		case <-ctx.Done():
			t.Fatalf("b never heard of version %d", want)
		}
	}
}
