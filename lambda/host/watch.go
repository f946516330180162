package host

import (
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
)

// watchQuiet is how long a watched file must stay unchanged before the
// change is acted on: a build writes the executable in many chunks, and an
// instance started from a half-written file would fail to exec.
const watchQuiet = 150 * time.Millisecond

// watcher calls onChange when any of its files is written, created,
// renamed, removed or has its attributes changed: the last is how a
// touch (or chmod +x) shows, the way to restart a function after changing
// a file it imports but that is not watched. It watches the parent
// directories, not the files: builds and editors commonly replace the file
// (new inode), which would silently end a watch on the file itself.
type watcher struct {
	fsw      *fsnotify.Watcher
	files    map[string]bool
	onChange func()
	log      *slog.Logger
	done     chan struct{}
	wg       sync.WaitGroup
}

func newWatcher(paths []string, onChange func(), log *slog.Logger) (*watcher, error) {
	fsw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("create watcher: %w", err)
	}
	w := &watcher{fsw: fsw, files: map[string]bool{}, onChange: onChange, log: log, done: make(chan struct{})}
	dirs := map[string]bool{}
	for _, p := range paths {
		abs, err := filepath.Abs(p)
		if err != nil {
			_ = fsw.Close()
			return nil, fmt.Errorf("watch %s: %w", p, err)
		}
		w.files[abs] = true
		dir := filepath.Dir(abs)
		if dirs[dir] {
			continue
		}
		dirs[dir] = true
		if err := fsw.Add(dir); err != nil {
			_ = fsw.Close()
			return nil, fmt.Errorf("watch %s: %w", dir, err)
		}
	}
	w.wg.Add(1)
	go w.loop()
	return w, nil
}

func (w *watcher) loop() {
	defer w.wg.Done()
	var quiet *time.Timer
	var fire <-chan time.Time
	for {
		select {
		case ev, ok := <-w.fsw.Events:
			if !ok {
				return
			}
			if !w.files[filepath.Clean(ev.Name)] || !ev.Op.Has(fsnotify.Write|fsnotify.Create|fsnotify.Rename|fsnotify.Remove|fsnotify.Chmod) {
				continue
			}
			w.log.Debug("watched file changed", "file", ev.Name, "op", ev.Op.String())
			if quiet == nil {
				quiet = time.NewTimer(watchQuiet)
			} else {
				quiet.Reset(watchQuiet)
			}
			fire = quiet.C
		case <-fire:
			fire = nil
			w.onChange()
		case err, ok := <-w.fsw.Errors:
			if !ok {
				return
			}
			w.log.Warn("file watcher error", "error", err)
		case <-w.done:
			return
		}
	}
}

func (w *watcher) close() error {
	close(w.done)
	err := w.fsw.Close()
	w.wg.Wait()
	if err != nil {
		return fmt.Errorf("close watcher: %w", err)
	}
	return nil
}
