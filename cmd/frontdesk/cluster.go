package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"text/tabwriter"
	"time"

	"github.com/frontdeskgw/frontdesk/cluster"
	"github.com/frontdeskgw/frontdesk/importer"
	"github.com/frontdeskgw/frontdesk/server"
)

// clusterCmd runs "frontdesk cluster status": it reads the config's
// cluster block, asks Redis for the live instances and marks those whose
// config differs from the file's (an instance a rolling deploy missed).
func clusterCmd(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "status" {
		fmt.Fprint(stderr, "Usage: frontdesk cluster status [-c frontdesk.yaml]\n\nList the live instances of the cluster the config's cluster.redis names,\nwith the hash of the config each runs; a * marks a hash other than this file's.\n")
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
			return 0
		}
		return 2
	}
	c := newFlags("cluster status", "List the live instances of the cluster the config's cluster.redis names, with\nthe hash of the config each runs; a * marks a hash other than this file's.", stderr)
	if err := c.fs.Parse(args[1:]); err != nil {
		return flagExit(err)
	}
	cfg, _, ok := load(*c.config, importer.Options{}, stderr)
	if !ok {
		return 1
	}
	cc := cfg.Cluster
	if !cc.Enabled() {
		fmt.Fprintf(stderr, "%s: no cluster.redis: this config runs a single instance\n", *c.config)
		return 1
	}
	cl, err := cluster.New(cluster.Options{Addrs: cc.Redis, Username: cc.Username, Password: cc.Password,
		InstanceID: "frontdesk-cli", Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	defer cl.Close()
	if err := cl.Connect(); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := cl.Status(ctx)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	mine := server.ConfigHash(cfg)
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "INSTANCE\tCONFIG HASH\tLISTEN\tSTARTED\tLAST SEEN")
	stale := 0
	for _, in := range st.Instances {
		mark := ""
		if in.Info["config_hash"] != mine {
			mark, stale = " *", stale+1
		}
		fmt.Fprintf(tw, "%s\t%s%s\t%s\t%s\t%s\n", in.ID, in.Info["config_hash"], mark, in.Info["listen"], in.Info["started"], in.Info["seen"])
	}
	tw.Flush()
	fmt.Fprintf(stdout, "%d live instance(s); this file's config hash is %s", len(st.Instances), mine)
	if stale > 0 {
		fmt.Fprintf(stdout, "; %d run another config (*)", stale)
	}
	fmt.Fprintln(stdout)
	return 0
}
