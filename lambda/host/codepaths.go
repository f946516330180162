package host

import (
	"os"
	"path/filepath"
	"strings"
)

// handlerExts are the source files a runtime interface client's handler
// module may be, in the order tried: Python, then Node.js.
var handlerExts = []string{".py", ".js", ".mjs", ".cjs"}

// CodePaths returns the files of a function's own code among command, for
// Config.WatchPaths, resolving relative names against dir ("" is the
// current directory):
//
//   - command[0] when it is a path (contains a slash) to a regular file,
//     e.g. ./bootstrap; a bare name found in PATH (python3, node) is an
//     installed interpreter, not the function's code;
//   - each later argument naming a regular file, e.g. handler.py in
//     ["python3", "handler.py"]; for "-flag=value" the value counts, other
//     flags are skipped;
//   - each later argument that names no file but reads as a handler,
//     "module.function" (app.handler, src/app.handler, pkg.mod.handler), as
//     runtime interface clients take it: the first of module.py, .js, .mjs,
//     .cjs that exists, with the module's dots also tried as directories.
//
// It returns nil when nothing matches, which leaves the host watching the
// executable.
func CodePaths(command []string, dir string) []string {
	var out []string
	seen := map[string]bool{}
	add := func(name string) bool {
		p := name
		if !filepath.IsAbs(p) && dir != "" {
			p = filepath.Join(dir, p)
		}
		abs, err := filepath.Abs(p)
		if err != nil {
			return false
		}
		if st, err := os.Stat(abs); err != nil || !st.Mode().IsRegular() {
			return false
		}
		if !seen[abs] {
			seen[abs] = true
			out = append(out, abs)
		}
		return true
	}
	if len(command) == 0 {
		return nil
	}
	if strings.ContainsRune(command[0], '/') || strings.ContainsRune(command[0], filepath.Separator) {
		add(command[0])
	}
	for _, arg := range command[1:] {
		if strings.HasPrefix(arg, "-") {
			_, value, ok := strings.Cut(arg, "=")
			if !ok {
				continue
			}
			arg = value
		}
		if arg == "" || add(arg) {
			continue
		}
		dot := strings.LastIndexByte(arg, '.')
		if dot <= 0 || dot == len(arg)-1 {
			continue
		}
		module := arg[:dot]
		candidates := []string{module}
		if dotted := strings.ReplaceAll(module, ".", string(filepath.Separator)); dotted != module {
			candidates = append(candidates, dotted)
		}
		func() {
			for _, m := range candidates {
				for _, ext := range handlerExts {
					if add(m + ext) {
						return
					}
				}
			}
		}()
	}
	return out
}
