package layers

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// endsTest reports whether n calls a method that ends the test: Fatal,
// Fatalf, FailNow, Skip, Skipf or SkipNow (whatever the receiver is named).
func endsTest(n ast.Node, helpers map[string]bool, dir string) bool {
	found := false
	ast.Inspect(n, func(m ast.Node) bool {
		c, ok := m.(*ast.CallExpr)
		if !ok || found {
			return !found
		}
		switch f := c.Fun.(type) {
		case *ast.SelectorExpr:
			switch f.Sel.Name {
			case "Fatal", "Fatalf", "FailNow", "Skip", "Skipf", "SkipNow":
				found = true
			}
		case *ast.Ident:
			found = helpers[dir+"."+f.Name]
		}
		return !found
	})
	return found
}

// Test code must not end a test from a goroutine other than the test's
// own: testing.T.FailNow (and so Fatal and Skip) only stops the goroutine
// it runs on, leaving the test running on with a half-done check. Every
// goroutine a test starts is checked, including calls it makes to
// functions of the same package (followed transitively) or to func
// values assigned in it that may end the test.
func TestNoTestEndsFromAGoroutine(t *testing.T) {
	top := root(t)
	fset := token.NewFileSet()
	files := map[string]*ast.File{}
	err := filepath.WalkDir(top, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); path != top && (strings.HasPrefix(n, ".") || n == "testdata" || n == "vendor" || n == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(path, "_test.go") {
			f, err := parser.ParseFile(fset, path, nil, 0)
			if err != nil {
				return err
			}
			files[path] = f
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Functions and func values that may end the test, by package
	// directory, to a fixed point so helpers of helpers count.
	helpers := map[string]bool{}
	for changed := true; changed; {
		changed = false
		for path, f := range files {
			dir := filepath.Dir(path)
			ast.Inspect(f, func(n ast.Node) bool {
				var name string
				var body ast.Node
				switch d := n.(type) {
				case *ast.FuncDecl:
					if d.Body != nil && d.Recv == nil {
						name, body = d.Name.Name, d.Body
					}
				case *ast.AssignStmt:
					if len(d.Lhs) == len(d.Rhs) {
						for i, r := range d.Rhs {
							if fl, ok := r.(*ast.FuncLit); ok {
								if id, ok := d.Lhs[i].(*ast.Ident); ok {
									name, body = id.Name, fl
								}
							}
						}
					}
				}
				if name != "" && !helpers[dir+"."+name] && endsTest(body, helpers, dir) {
					helpers[dir+"."+name] = true
					changed = true
				}
				return true
			})
		}
	}
	for path, f := range files {
		dir := filepath.Dir(path)
		ast.Inspect(f, func(n ast.Node) bool {
			if g, ok := n.(*ast.GoStmt); ok && endsTest(g.Call, helpers, dir) {
				rel, _ := filepath.Rel(top, fset.Position(g.Pos()).Filename)
				t.Errorf("%s:%d: a goroutine may end the test (Fatal, FailNow or Skip); report with Error and return instead",
					rel, fset.Position(g.Pos()).Line)
			}
			return true
		})
	}
}
