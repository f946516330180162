package host

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// bundled holds the runtime loops frontdesk ships for interpreted
// runtimes: standard library only, so a handler needs nothing installed
// but its interpreter.
//
//go:embed runtime/bootstrap.py runtime/bootstrap.mjs
var bundled embed.FS

// Runtime clients (Runtime.Client).
const (
	ClientBundled  = "bundled"
	ClientOfficial = "official"
)

// Runtime says what a function written for a Lambda managed runtime runs
// on: SAM's Runtime, Handler and CodeUri.
type Runtime struct {
	// Name is the runtime identifier: python3.x, nodejsN.x, provided.al2,
	// provided.al2023, provided or go1.x.
	Name string
	// Handler is _HANDLER: "module.function" for Python and Node.js; for
	// go1.x the executable's name; ignored by provided runtimes.
	Handler string
	// CodeDir is the function's code: working directory and
	// LAMBDA_TASK_ROOT.
	CodeDir string
	// Client is ClientBundled (default) or ClientOfficial: the runtime
	// interface client the user installed (awslambdaric, aws-lambda-ric).
	Client string
	// CacheDir receives the bundled loops and built Go executables.
	CacheDir string
	// Function names the build directory of a Go function.
	Function string
	// Log receives build output (nil discards).
	Log *slog.Logger
}

// Launch is how to start a Runtime: the fields of Config it decides.
type Launch struct {
	Command      []string
	Handler      string
	Dir          string
	ExecutionEnv string
	RuntimeDir   string
	// Env holds defaults beneath the configured environment
	// (PYTHONUNBUFFERED, so that print lines reach the log at once).
	Env map[string]string
	// WatchPaths are the function's own code files.
	WatchPaths []string
	// Build, when set, compiles the executable: before the first
	// instance and again before the first instance after a code change.
	Build func(context.Context) error
}

// maxWatchedSources bounds the Go source files watched for a function
// built from source.
const maxWatchedSources = 1000

// Resolve decides how to run rt. It installs the bundled loop into
// rt.CacheDir when one is needed and checks that the interpreter or the
// official client can be found; it builds nothing (Launch.Build does).
func Resolve(rt Runtime) (Launch, error) {
	dir, err := filepath.Abs(rt.CodeDir)
	if err != nil {
		return Launch{}, fmt.Errorf("code_uri: %w", err)
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return Launch{}, fmt.Errorf("code_uri %s: not a directory", rt.CodeDir)
	}
	l := Launch{Handler: rt.Handler, Dir: dir, ExecutionEnv: "AWS_Lambda_" + rt.Name}
	client := rt.Client
	if client == "" {
		client = ClientBundled
	}
	switch family := RuntimeFamily(rt.Name); family {
	case "python", "nodejs":
		if client != ClientBundled && client != ClientOfficial {
			return Launch{}, fmt.Errorf("runtime_client %q: want bundled or official", client)
		}
		if l.RuntimeDir, err = InstallBundled(rt.CacheDir); err != nil {
			return Launch{}, err
		}
		if family == "python" {
			err = l.python(rt.Name, client)
		} else {
			err = l.node(client)
		}
		if err != nil {
			return Launch{}, err
		}
		// The handler names a module; the interpreter is not the code.
		l.WatchPaths = CodePaths([]string{"runtime", rt.Handler}, dir)
	case "provided":
		if err := l.provided(rt); err != nil {
			return Launch{}, err
		}
	default:
		return Launch{}, fmt.Errorf("runtime %q: frontdesk runs python3.x, nodejs*, provided.al2, provided.al2023 and go1.x", rt.Name)
	}
	return l, nil
}

// RuntimeFamily is "python", "nodejs" or "provided" (go1.x runs like
// provided) for the runtimes frontdesk runs, else "".
func RuntimeFamily(name string) string {
	switch {
	case name == "python3" || strings.HasPrefix(name, "python3."):
		return "python"
	case strings.HasPrefix(name, "nodejs"):
		return "nodejs"
	case name == "provided" || name == "provided.al2" || name == "provided.al2023" || name == "go1.x":
		return "provided"
	}
	return ""
}

// python runs the handler under the version the runtime names when that
// interpreter is installed (python3.12), else under python3.
func (l *Launch) python(name, client string) error {
	exe := ""
	for _, candidate := range []string{name, "python3"} {
		if p, err := exec.LookPath(candidate); err == nil && runs(p) {
			exe = p
			break
		}
	}
	if exe == "" {
		return fmt.Errorf("runtime %s: no working %s or python3 in PATH", name, name)
	}
	l.Env = map[string]string{"PYTHONUNBUFFERED": "1"}
	if client == ClientBundled {
		l.Command = []string{exe, filepath.Join(l.RuntimeDir, "bootstrap.py")}
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, exe, "-c", "import awslambdaric").CombinedOutput(); err != nil {
		return fmt.Errorf("runtime_client official: %s cannot import awslambdaric (pip install awslambdaric): %s", exe, bytes.TrimSpace(out))
	}
	l.Command = []string{exe, "-m", "awslambdaric", l.Handler}
	return nil
}

// node runs the bundled loop, or aws-lambda-ric from the function's
// node_modules, else from PATH.
func (l *Launch) node(client string) error {
	if client == ClientBundled {
		exe, err := exec.LookPath("node")
		if err != nil {
			return errors.New("runtime nodejs: no node in PATH")
		}
		l.Command = []string{exe, filepath.Join(l.RuntimeDir, "bootstrap.mjs")}
		return nil
	}
	ric := filepath.Join(l.Dir, "node_modules", ".bin", "aws-lambda-ric")
	if _, err := os.Stat(ric); err != nil {
		if ric, err = exec.LookPath("aws-lambda-ric"); err != nil {
			return errors.New("runtime_client official: aws-lambda-ric is neither in code_uri's node_modules nor in PATH (npm install aws-lambda-ric)")
		}
	}
	l.Command = []string{ric, l.Handler}
	return nil
}

// provided runs code_uri's bootstrap (go1.x: the executable the handler
// names, else bootstrap). With no executable but Go source in code_uri,
// the executable is built into the cache with go build.
func (l *Launch) provided(rt Runtime) error {
	names := []string{"bootstrap"}
	if rt.Name == "go1.x" && rt.Handler != "" && !strings.ContainsAny(rt.Handler, `/\`) {
		names = []string{rt.Handler, "bootstrap"}
	}
	for _, n := range names {
		p := filepath.Join(l.Dir, n)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			l.Command = []string{p}
			l.WatchPaths = []string{p}
			if l.Handler == "" {
				l.Handler = n
			}
			return nil
		}
	}
	sources := goSources(l.Dir)
	if len(sources) == 0 {
		return fmt.Errorf("runtime %s: code_uri %s has no %s and no Go source to build it from", rt.Name, rt.CodeDir, names[0])
	}
	goExe, err := exec.LookPath("go")
	if err != nil {
		return fmt.Errorf("runtime %s: code_uri %s has only Go source and no go toolchain is in PATH", rt.Name, rt.CodeDir)
	}
	sum := sha256.Sum256([]byte(l.Dir))
	out := filepath.Join(rt.CacheDir, "build", safeName(rt.Function)+"-"+hex.EncodeToString(sum[:6]), "bootstrap")
	l.Command = []string{out}
	l.WatchPaths = sources
	if l.Handler == "" {
		l.Handler = "bootstrap"
	}
	log := rt.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	dir := l.Dir
	l.Build = func(ctx context.Context) error {
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			return fmt.Errorf("go build: %w", err)
		}
		start := time.Now()
		log.Info("building function from Go source", "dir", dir)
		cmd := exec.CommandContext(ctx, goExe, "build", "-o", out, ".")
		cmd.Dir = dir
		b, err := cmd.CombinedOutput()
		if err != nil {
			log.Error("go build failed", "dir", dir, "output", string(b))
			return fmt.Errorf("go build in %s: %w: %s", dir, err, bytes.TrimSpace(b))
		}
		log.Info("built function from Go source", "dir", dir, "binary", out, "took", time.Since(start).Round(time.Millisecond).String())
		return nil
	}
	return nil
}

// goSources lists go.mod, go.sum and the .go files under dir (not in
// testdata, vendor or hidden directories), at most maxWatchedSources.
func goSources(dir string) []string {
	var out []string
	hasGo := false
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || len(out) >= maxWatchedSources {
			return filepath.SkipDir
		}
		name := d.Name()
		if d.IsDir() {
			if p != dir && (name == "testdata" || name == "vendor" || name == "node_modules" || strings.HasPrefix(name, ".")) {
				return filepath.SkipDir
			}
			return nil
		}
		switch {
		case strings.HasSuffix(name, ".go") && !strings.HasSuffix(name, "_test.go"):
			hasGo = true
			out = append(out, p)
		case name == "go.mod" || name == "go.sum":
			out = append(out, p)
		}
		return nil
	})
	if !hasGo {
		return nil
	}
	return out
}

func safeName(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			b[i] = '_'
		}
	}
	if len(b) == 0 {
		return "function"
	}
	return string(b)
}

// InstallBundled writes the bundled runtime loops into a directory of
// cacheDir named after their content, so that frontdesk versions never
// share one, and returns it. Files already there are kept; a new one is
// written beside and renamed into place, so concurrent starts agree.
func InstallBundled(cacheDir string) (string, error) {
	if cacheDir == "" {
		return "", errors.New("runtime cache directory is not set")
	}
	h := sha256.New()
	entries, err := fs.ReadDir(bundled, "runtime")
	if err != nil {
		return "", fmt.Errorf("bundled runtimes: %w", err)
	}
	files := map[string][]byte{}
	for _, e := range entries {
		b, err := bundled.ReadFile("runtime/" + e.Name())
		if err != nil {
			return "", fmt.Errorf("bundled runtimes: %w", err)
		}
		files[e.Name()] = b
		h.Write([]byte(e.Name()))
		h.Write(b)
	}
	dir := filepath.Join(cacheDir, "runtime", hex.EncodeToString(h.Sum(nil)[:8]))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("bundled runtimes: %w", err)
	}
	for name, b := range files {
		p := filepath.Join(dir, name)
		if old, err := os.ReadFile(p); err == nil && bytes.Equal(old, b) {
			continue
		}
		tmp, err := os.CreateTemp(dir, name+".*")
		if err != nil {
			return "", fmt.Errorf("bundled runtimes: %w", err)
		}
		_, werr := tmp.Write(b)
		cerr := tmp.Close()
		if werr == nil && cerr == nil {
			werr = os.Rename(tmp.Name(), p)
		}
		if werr != nil || cerr != nil {
			_ = os.Remove(tmp.Name())
			return "", fmt.Errorf("bundled runtimes: write %s: %w", p, errors.Join(werr, cerr))
		}
	}
	return dir, nil
}

// DefaultCacheDir is where frontdesk keeps the bundled runtime loops and
// built functions: $XDG_CACHE_HOME/frontdesk (os.UserCacheDir), else a
// directory under the system's temporary directory.
func DefaultCacheDir() string {
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "frontdesk")
	}
	return filepath.Join(os.TempDir(), "frontdesk-cache")
}

// runs says whether the interpreter at p starts: a version manager's shim
// (pyenv) is in PATH for versions that are not installed.
func runs(p string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return exec.CommandContext(ctx, p, "-c", "pass").Run() == nil
}
