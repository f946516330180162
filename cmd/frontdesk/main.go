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
	"syscall"
	"text/tabwriter"

	"github.com/frontdeskgw/frontdesk/config"
	"github.com/frontdeskgw/frontdesk/gateway"
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
  cluster    cluster status: the live instances sharing the config's Redis, with their config hash
  version    print the version

Run "frontdesk <command> --help" for the flags of a command.
The config format is described in docs/config.md.
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

// load reads the config, printing problems; ok is false when it is invalid.
func load(path string, stderr io.Writer) (*config.Config, []config.Problem, bool) {
	cfg, warnings, err := config.Load(path)
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
	c := newFlags("validate", "Check a config file. Exit status 0 when it is valid, 1 with the list of problems\n(each with file:line and key) when it is not.", stderr)
	if err := c.fs.Parse(args); err != nil {
		return flagExit(err)
	}
	cfg, warnings, ok := load(*c.config, stderr)
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
	if err := c.fs.Parse(args); err != nil {
		return flagExit(err)
	}
	cfg, _, ok := load(*c.config, stderr)
	if !ok {
		return 1
	}
	snap, err := gateway.Compile(cfg, gateway.Deps{})
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", *c.config, err)
		return 1
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "API\tTYPE\tHOSTS\tBASE PATH\tSTAGE\tROUTE KEY\tINTEGRATION")
	for _, r := range snap.Routes() {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.API, r.Type, r.Hosts, r.BasePath, r.Stage, r.RouteKey, r.Integration)
	}
	tw.Flush()
	return 0
}

func serve(args []string, stdout, stderr io.Writer) int {
	c := newFlags("serve", "Serve the APIs of a config file until SIGTERM or SIGINT, then drain in-flight\nrequests for server.shutdown_grace and exit 0. SIGHUP, a change of the config file\n(-watch) and POST /reload on the admin listener reload the config without dropping\na request; a config that fails validation is refused and the old one keeps serving.", stderr)
	c.logFlags()
	listen := c.fs.String("listen", "", "override server.listen (host:port)")
	adminListen := c.fs.String("admin-listen", "", "override admin.listen (host:port)")
	watch := c.fs.Bool("watch", true, "reload when the config file changes, and restart local function instances when their code changes: the executable or script files, see docs/functions.md (SIGHUP and POST /reload always reload)")
	if err := c.fs.Parse(args); err != nil {
		return flagExit(err)
	}
	log, err := c.logger(stderr)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	cfg, warnings, ok := load(*c.config, stderr)
	if !ok {
		return 1
	}
	for _, w := range warnings {
		log.Warn(w.Msg, "file", w.File, "line", w.Line, "key", w.Key)
	}
	if *listen != "" {
		cfg.Server.Listen = *listen
	}
	if *adminListen != "" {
		cfg.Admin.Listen = *adminListen
	}
	srv, err := server.New(cfg, log, server.Options{WatchFunctions: *watch})
	if err != nil {
		log.Error("start", "err", err)
		return 1
	}
	if err := srv.Listen(); err != nil {
		log.Error("start", "err", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
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

func flagExit(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	return 2
}
