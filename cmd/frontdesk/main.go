// Command frontdesk is a self-hosted API gateway with Amazon API Gateway's
// model: HTTP, REST and WebSocket APIs described in one YAML file.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"text/tabwriter"

	"github.com/frontdeskgw/frontdesk/config"
	"github.com/frontdeskgw/frontdesk/gateway"
	"github.com/frontdeskgw/frontdesk/importer"
	"github.com/frontdeskgw/frontdesk/server"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

const usage = `frontdesk — a self-hosted API gateway with Amazon API Gateway's model.

Usage:
  frontdesk <command> [flags]

Commands:
  serve      serve the APIs of a config file
  validate   check a config file and list every problem with its line
  routes     print the compiled route table (host, stage, route key, integration)
  import     print the frontdesk config for an OpenAPI, Swagger or SAM/CloudFormation file
  export     write an API of a config as OpenAPI 3.0 with API Gateway's extensions
  cluster    cluster status: the live instances sharing the config's Redis, with their config hash
  version    print the version

serve, validate, routes and import read frontdesk.yaml, an OpenAPI 3.0 or
Swagger 2.0 document with x-amazon-apigateway-* extensions, or a SAM /
CloudFormation template: the format is detected from the content.

Run "frontdesk <command> --help" for the flags of a command.
The config format is described in docs/config.md, importing in docs/import.md.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "serve":
		return serve(args[1:], stdout, stderr)
	case "validate":
		return validate(args[1:], stdout, stderr)
	case "routes":
		return routes(args[1:], stdout, stderr)
	case "import":
		return importCmd(args[1:], stdout, stderr)
	case "export":
		return exportCmd(args[1:], stdout, stderr)
	case "cluster":
		return clusterCmd(args[1:], stdout, stderr)
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, "frontdesk", buildVersion())
		return 0
	case "help", "-h", "--help", "-help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "frontdesk: unknown command %q\n\n%s", args[0], usage)
	return 2
}

func buildVersion() string {
	if version != "dev" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return version
}

type common struct {
	fs        *flag.FlagSet
	config    *string
	logFormat *string
	logLevel  *string
	overrides multiFlag
	functions *string
}

// multiFlag collects a flag given several times.
type multiFlag []string

func (m *multiFlag) String() string     { return fmt.Sprint(*m) }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// importFlags adds the flags that matter when the file is an OpenAPI
// document or a SAM template.
func (c *common) importFlags() {
	c.fs.Var(&c.overrides, "parameter-overrides", "a SAM/CloudFormation parameter value K=V (repeat the flag, or give several separated by spaces)")
	c.functions = c.fs.String("functions", "", "a YAML file whose functions: block says where each Lambda function runs (may also hold api_keys: and usage_plans:)")
}

// parse parses flags given before and after the one positional argument
// (frontdesk import FILE --functions f.yaml), which it returns.
func (c *common) parse(args []string) (string, error) {
	if err := c.fs.Parse(args); err != nil {
		return "", err
	}
	rest := c.fs.Args()
	if len(rest) == 0 {
		return "", nil
	}
	pos := rest[0]
	if err := c.fs.Parse(rest[1:]); err != nil {
		return "", err
	}
	if extra := c.fs.Args(); len(extra) > 0 {
		return "", fmt.Errorf("unexpected arguments %v", extra)
	}
	return pos, nil
}

func (c *common) importOptions() (importer.Options, error) {
	o := importer.Options{}
	if c.functions != nil {
		o.FunctionsFile = *c.functions
	}
	if len(c.overrides) > 0 {
		p, err := importer.ParseOverrides(c.overrides)
		if err != nil {
			return o, err
		}
		o.Parameters = p
	}
	return o, nil
}

func newFlags(name, summary string, stderr io.Writer) common {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := common{fs: fs}
	c.config = fs.String("c", "./frontdesk.yaml", "config file")
	fs.StringVar(c.config, "config", "./frontdesk.yaml", "config file (same as -c)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: frontdesk %s [flags]\n\n%s\n\nFlags:\n", name, summary)
		fs.PrintDefaults()
	}
	return c
}

func (c *common) logFlags() {
	c.logFormat = c.fs.String("log-format", "text", "log format: text or json")
	c.logLevel = c.fs.String("log-level", "info", "log level: debug, info, warn or error")
}

func (c *common) logger(w io.Writer) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(*c.logLevel)); err != nil {
		return nil, fmt.Errorf("-log-level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: lvl}
	switch *c.logFormat {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("-log-format: want text or json, got %q", *c.logFormat)
}

// load reads the config (or imports the OpenAPI document or template),
// printing problems; ok is false when it is invalid.
func load(path string, o importer.Options, stderr io.Writer) (*config.Config, []config.Problem, bool) {
	cfg, warnings, err := importer.Load(path, o)
	if err != nil {
		var list config.Errors
		if errors.As(err, &list) {
			fmt.Fprintf(stderr, "%s: %d problem(s):\n", path, len(list))
			for _, p := range list {
				fmt.Fprintln(stderr, "  "+p.String())
			}
		} else {
			fmt.Fprintln(stderr, err)
		}
		return nil, nil, false
	}
	return cfg, warnings, true
}

func validate(args []string, stdout, stderr io.Writer) int {
	c := newFlags("validate [FILE]", "Check a config file, OpenAPI document or SAM template (FILE or -c). Exit status 0\nwhen it is valid, 1 with the list of problems (each with file:line and key) when it\nis not. Constructs of an imported file that are not served are listed as warnings.", stderr)
	c.importFlags()
	file, err := c.parse(args)
	if err != nil {
		return flagExitMsg(err, stderr)
	}
	if file != "" {
		*c.config = file
	}
	o, err := c.importOptions()
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	cfg, warnings, ok := load(*c.config, o, stderr)
	if !ok {
		return 1
	}
	for _, w := range warnings {
		fmt.Fprintln(stderr, "warning: "+w.String())
	}
	if _, err := gateway.Compile(cfg, gateway.Deps{}); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", *c.config, err)
		return 1
	}
	noun := "APIs"
	if len(cfg.APIs) == 1 {
		noun = "API"
	}
	fmt.Fprintf(stdout, "%s: valid (%d %s)\n", *c.config, len(cfg.APIs), noun)
	return 0
}

func routes(args []string, stdout, stderr io.Writer) int {
	c := newFlags("routes", "Print the compiled route table: API, type, hosts, base path, stage, route key, integration.", stderr)
	c.importFlags()
	if err := c.fs.Parse(args); err != nil {
		return flagExit(err)
	}
	o, err := c.importOptions()
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	cfg, _, ok := load(*c.config, o, stderr)
	if !ok {
		return 1
	}
	snap, err := gateway.Compile(cfg, gateway.Deps{})
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", *c.config, err)
		return 1
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "API\tID\tTYPE\tHOSTS\tBASE PATH\tSTAGE\tROUTE KEY\tINTEGRATION")
	for _, r := range snap.Routes() {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.API, r.APIID, r.Type, r.Hosts, r.BasePath, r.Stage, r.RouteKey, r.Integration)
	}
	tw.Flush()
	return 0
}

func serve(args []string, stdout, stderr io.Writer) int {
	c := newFlags("serve", "Serve the APIs of a config file until SIGTERM or SIGINT, then drain in-flight\nrequests for server.shutdown_grace and exit 0. SIGHUP, a change of the config file\n(-watch) and POST /reload on the admin listener reload the config without dropping\na request; a config that fails validation is refused and the old one keeps serving.\nThe admin listener also serves the control plane that \"aws apigatewayv2\" and\n\"aws apigateway\" speak (docs/control-plane.md); what it creates is kept in admin.state_file.", stderr)
	c.logFlags()
	listen := c.fs.String("listen", "", "override server.listen (host:port)")
	adminListen := c.fs.String("admin-listen", "", "override admin.listen (host:port)")
	localTLSListen := c.fs.String("local-tls-listen", "", "override server.local_tls.listen (host:port), turning the HTTPS listener with the local CA on when the config has none (docs/functions.md)")
	c.importFlags()
	watch := c.fs.Bool("watch", true, "reload when the config file changes, and restart local function instances when their code changes: the executable or script files, see docs/functions.md (SIGHUP and POST /reload always reload)")
	if err := c.fs.Parse(args); err != nil {
		return flagExit(err)
	}
	log, err := c.logger(stderr)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	o, err := c.importOptions()
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	cfg, warnings, ok := load(*c.config, o, stderr)
	if !ok {
		return 1
	}
	for _, w := range warnings {
		log.Warn(w.Msg, "file", w.File, "line", w.Line, "key", w.Key)
	}
	// The flags win over every config read, at start and on reload, so a
	// reload does not see them as listener changes.
	override := func(cfg *config.Config) {
		if *listen != "" {
			cfg.Server.Listen = *listen
		}
		if *adminListen != "" {
			cfg.Admin.Listen = *adminListen
		}
		if *localTLSListen != "" {
			if cfg.Server.LocalTLS == nil {
				cfg.Server.LocalTLS = &config.LocalTLS{}
			}
			cfg.Server.LocalTLS.Listen = *localTLSListen
		}
	}
	override(cfg)
	reload := func(path string, extend func(*config.Config)) (*config.Config, []config.Problem, error) {
		cfg, warnings, err := importer.LoadWith(path, o, extend)
		if err == nil {
			override(cfg)
		}
		return cfg, warnings, err
	}
	// Signals are caught before the listener opens: a SIGHUP that comes as
	// soon as the port answers reloads once started instead of ending the
	// process (Go's default for an uncaught SIGHUP).
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	srv, err := server.New(cfg, log, server.Options{WatchFunctions: *watch, Load: reload})
	if err != nil {
		log.Error("start", "err", err)
		return 1
	}
	if err := srv.Listen(); err != nil {
		log.Error("start", "err", err)
		return 1
	}
	if *watch {
		if err := srv.Watch(ctx); err != nil {
			log.Warn("config file not watched", "err", err)
		}
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve() }()
	for running := true; running; {
		select {
		case err := <-done:
			if err != nil {
				log.Error("serve", "err", err)
				return 1
			}
			return 0
		case <-hup:
			srv.ReopenAccessLog()
			_ = srv.Reload() // logged by Reload
		case <-ctx.Done():
			running = false
		}
	}
	stop()
	log.Info("shutting down", "grace", cfg.Server.ShutdownGrace.D().String())
	sctx, cancel := context.WithTimeout(context.Background(), cfg.Server.ShutdownGrace.D())
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("shutdown grace ran out; closed remaining connections", "err", err)
	}
	<-done
	return 0
}

func flagExitMsg(err error, stderr io.Writer) int {
	if !errors.Is(err, flag.ErrHelp) && err != nil && !strings.HasPrefix(err.Error(), "flag") {
		fmt.Fprintln(stderr, err)
	}
	return flagExit(err)
}

func importCmd(args []string, stdout, stderr io.Writer) int {
	c := newFlags("import FILE", "Print the frontdesk config equivalent to FILE: an OpenAPI 3.0 or Swagger 2.0 document\nwith x-amazon-apigateway-* extensions (aws apigateway get-export, aws apigatewayv2\nexport-api) or a SAM / CloudFormation template. Each entry is commented with its\nsource line. Constructs that are not served are listed on stderr, once each, with\nfile:line and what is ignored. Exit status 1, with file:line, when FILE cannot be\nimported. Usage: frontdesk import template.yaml > frontdesk.yaml", stderr)
	c.importFlags()
	file, err := c.parse(args)
	if err != nil {
		return flagExitMsg(err, stderr)
	}
	if file == "" {
		// -c FILE works too, when given.
		c.fs.Visit(func(f *flag.Flag) {
			if f.Name == "c" || f.Name == "config" {
				file = *c.config
			}
		})
	}
	if file == "" {
		c.fs.Usage()
		return 2
	}
	o, err := c.importOptions()
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	data, err := os.ReadFile(file)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	res, err := importer.Import(file, data, o)
	if err == nil {
		// What import prints must be a config that loads.
		_, _, err = res.Parse(nil)
	}
	if err != nil {
		printProblems(file, err, stderr)
		return 1
	}
	for _, f := range res.Findings {
		fmt.Fprintln(stderr, "note: "+f.String())
	}
	stdout.Write(res.Config)
	return 0
}

func printProblems(file string, err error, stderr io.Writer) {
	var list config.Errors
	if errors.As(err, &list) {
		fmt.Fprintf(stderr, "%s: %d problem(s):\n", file, len(list))
		for _, p := range list {
			fmt.Fprintln(stderr, "  "+p.String())
		}
		return
	}
	fmt.Fprintln(stderr, err)
}

func exportCmd(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "openapi" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help") {
			args = []string{"openapi", "--help"}
		} else {
			fmt.Fprintln(stderr, "Usage: frontdesk export openapi [--api NAME] [--dialect http|rest] -c frontdesk.yaml")
			return 2
		}
	}
	c := newFlags("export openapi", "Write an HTTP or REST API of the config as OpenAPI 3.0 with the x-amazon-apigateway-*\nextensions, for aws apigatewayv2 import-api (--dialect http) or aws apigateway\nimport-rest-api (--dialect rest). What OpenAPI cannot carry (usage plans, throttles,\ncaches, where functions run) is listed on stderr.", stderr)
	c.importFlags()
	apiName := c.fs.String("api", "", "the API to export (needed when the config has several)")
	dialect := c.fs.String("dialect", "", "http or rest (default: the API's own type)")
	if err := c.fs.Parse(args[1:]); err != nil {
		return flagExit(err)
	}
	o, err := c.importOptions()
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	cfg, _, ok := load(*c.config, o, stderr)
	if !ok {
		return 1
	}
	out, notes, err := importer.Export(cfg, importer.ExportOptions{API: *apiName, Dialect: *dialect})
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	for _, n := range notes {
		fmt.Fprintln(stderr, "note: "+n)
	}
	stdout.Write(out)
	return 0
}

func flagExit(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	return 2
}
