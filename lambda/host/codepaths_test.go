package host

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestCodePathsPicksTheFunctionsOwnFiles(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"bootstrap", "handler.py", "index.js", "app.py", "lib.mjs", "src/svc.py", "pkg/mod.py", "config.json"} {
		p := filepath.Join(dir, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	abs := func(names ...string) []string {
		var out []string
		for _, n := range names {
			out = append(out, filepath.Join(dir, n))
		}
		return out
	}
	for _, tc := range []struct {
		name    string
		command []string
		want    []string
	}{
		{"go bootstrap", []string{"./bootstrap"}, abs("bootstrap")},
		{"python script", []string{"python3", "handler.py"}, abs("handler.py")},
		{"python script after flags", []string{"python3", "-u", "-X", "dev", "handler.py"}, abs("handler.py")},
		{"node script", []string{"node", "index.js"}, abs("index.js")},
		{"absolute script", []string{"node", filepath.Join(dir, "index.js")}, abs("index.js")},
		{"several files, once each", []string{"./bootstrap", "config.json", "./config.json"}, abs("bootstrap", "config.json")},
		{"flag value", []string{"node", "--require=./lib.mjs", "index.js"}, abs("lib.mjs", "index.js")},
		{"python runtime interface client", []string{"python3", "-m", "awslambdaric", "app.handler"}, abs("app.py")},
		{"handler in a directory", []string{"python3", "-m", "awslambdaric", "src/svc.handler"}, abs("src/svc.py")},
		{"dotted python module", []string{"python3", "-m", "awslambdaric", "pkg.mod.handler"}, abs("pkg/mod.py")},
		{"node runtime interface client", []string{"npx", "aws-lambda-ric", "lib.handler"}, abs("lib.mjs")},
		{"interpreter only", []string{"python3"}, nil},
		{"handler module missing", []string{"python3", "-m", "awslambdaric", "gone.handler"}, nil},
		{"directory argument", []string{"node", "src"}, nil},
		{"bare executable name", []string{"bootstrap"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := CodePaths(tc.command, dir); !slices.Equal(got, tc.want) {
				t.Errorf("CodePaths(%q) = %q, want %q", tc.command, got, tc.want)
			}
		})
	}
}
