package controlplane

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// loadState reads the state file at path; a missing file is an empty
// state. Temporary files a crash left beside it are removed: the rename
// that would have made one the state never happened.
func loadState(path string) (*State, error) {
	st := newState()
	if path == "" {
		return st, nil
	}
	if left, _ := filepath.Glob(path + ".tmp-*"); len(left) > 0 {
		for _, f := range left {
			_ = os.Remove(f)
		}
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read control plane state: %w", err)
	}
	if err := json.Unmarshal(b, st); err != nil {
		return nil, fmt.Errorf("control plane state %s is not valid JSON: %w", path, err)
	}
	if st.Version != stateVersion {
		return nil, fmt.Errorf("control plane state %s has version %d, this frontdesk reads %d", path, st.Version, stateVersion)
	}
	st.fill()
	return st, nil
}

// saveState replaces the state file at path with st so that, whenever
// the process dies, the file holds either the old state or the new one
// whole: the new state goes to a temporary file in the same directory,
// which is synced, then renamed over the old one, and the directory is
// synced so the rename itself survives a power loss.
func saveState(path string, st *State) error {
	if path == "" {
		return nil
	}
	b, err := json.MarshalIndent(st, "", " ")
	if err != nil {
		return fmt.Errorf("encode control plane state: %w", err)
	}
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write control plane state: %w", err)
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			_ = os.Remove(tmp)
		}
	}()
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("write control plane state: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("sync control plane state: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write control plane state: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("replace control plane state: %w", err)
	}
	ok = true
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync state directory: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync state directory: %w", err)
	}
	return nil
}
