package host

import (
	"log/slog"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
)

// The watcher follows several files in different directories, and keeps
// following a file however it is saved: written in place, replaced by a
// rename over it, moved aside and written anew (vim's backup), or removed
// and created again; touching it is a change too, the way to restart a
// function after editing a file it imports.
func TestWatcherSeesEverySaveStyleOnEachOfSeveralFiles(t *testing.T) {
	saves := []struct {
		name string
		save func(t *testing.T, path, content string)
	}{
		{"write in place", func(t *testing.T, path, content string) {
			writeFile(t, path, content)
		}},
		{"rename over", func(t *testing.T, path, content string) {
			writeFile(t, path+".tmp", content)
			rename(t, path+".tmp", path)
		}},
		{"move aside then create", func(t *testing.T, path, content string) {
			rename(t, path, path+"~")
			writeFile(t, path, content)
		}},
		{"touch", func(t *testing.T, path, _ string) {
			now := time.Now()
			if err := os.Chtimes(path, now, now); err != nil {
				t.Fatal(err)
			}
		}},
		{"remove then create", func(t *testing.T, path, content string) {
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
			writeFile(t, path, content)
		}},
	}
	for _, sv := range saves {
		t.Run(sv.name, func(t *testing.T) {
			root := t.TempDir()
			files := []string{filepath.Join(root, "a", "handler.py"), filepath.Join(root, "b", "lib.js")}
			for _, f := range files {
				if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
					t.Fatal(err)
				}
				writeFile(t, f, "v0")
			}
			var changes atomic.Int64
			w, err := newWatcher(files, func() { changes.Add(1) }, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			defer func() {
				if err := w.close(); err != nil {
					t.Errorf("close: %v", err)
				}
			}()
			// Each file twice: the second save shows the watch outlived
			// the first one's replacement of the file.
			want := int64(0)
			for round := 1; round <= 2; round++ {
				for _, f := range files {
					sv.save(t, f, "v"+string(rune('0'+round)))
					want++
					waitFor(t, func() bool { return changes.Load() >= want }, "change "+f)
				}
			}
		})
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func rename(t *testing.T, from, to string) {
	t.Helper()
	if err := os.Rename(from, to); err != nil {
		t.Fatal(err)
	}
}
