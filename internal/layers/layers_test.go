package layers

import (
	"go/build"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/frontdeskgw/frontdesk/"

// root is the module root, two levels above this package.
func root(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// modulePackages lists every package directory of the module that holds
// non-test Go files, relative to the root; bench/ and examples/ are tools.
func modulePackages(t *testing.T, top string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(top, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(top, path)
		rel = filepath.ToSlash(rel)
		switch {
		case rel == ".":
			return nil
		case strings.HasPrefix(d.Name(), "."), d.Name() == "testdata", rel == "bench", rel == "examples":
			return filepath.SkipDir
		}
		if _, err := build.ImportDir(path, 0); err == nil {
			out = append(out, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestEveryPackageHasAFloor(t *testing.T) {
	floor := floorOf()
	for _, p := range modulePackages(t, root(t)) {
		if _, ok := floor[p]; !ok {
			t.Errorf("package %s has no floor: add it to layers.Floors and to the table in docs/architecture.md", p)
		}
	}
}

func TestNoPackageImportsAPackageAboveIt(t *testing.T) {
	top := root(t)
	floor := floorOf()
	for _, p := range modulePackages(t, top) {
		pkg, err := build.ImportDir(filepath.Join(top, p), 0)
		if err != nil {
			t.Fatal(err)
		}
		from, ok := floor[p]
		if !ok {
			continue // reported by TestEveryPackageHasAFloor
		}
		for _, imp := range pkg.Imports {
			dep, ok := strings.CutPrefix(imp, module)
			if !ok {
				continue
			}
			to, known := floor[dep]
			switch {
			case !known:
				t.Errorf("%s imports %s, which has no floor", p, dep)
			case to > from, to == from && !Floors[from].Peers:
				t.Errorf("%s (floor %q) imports %s (floor %q): a package may import only packages below it",
					p, Floors[from].Name, dep, Floors[to].Name)
			}
		}
	}
}

func TestTheFloorsNameEachPackageOnce(t *testing.T) {
	var seen []string
	for _, f := range Floors {
		for _, p := range f.Packages {
			if slices.Contains(seen, p) {
				t.Errorf("package %s is on two floors", p)
			}
			seen = append(seen, p)
		}
	}
}

func floorOf() map[string]int {
	out := map[string]int{}
	for i, f := range Floors {
		for _, p := range f.Packages {
			out[p] = i
		}
	}
	return out
}
