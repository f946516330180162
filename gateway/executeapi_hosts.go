package gateway

import (
	"fmt"
	"slices"
	"strings"

	"github.com/frontdeskgw/frontdesk/config"
	"github.com/frontdeskgw/frontdesk/router"
)

// ExecuteAPIDomain is the parent of the hosts every API is also served at:
// "{api name}.execute-api.localhost" and "{api id}.execute-api.localhost".
// On AWS each API has its own execute-api hostname, so two APIs that both
// live at "/" there keep their paths here when called at their hosts.
// Names under .localhost are the loopback host (RFC 6761).
const ExecuteAPIDomain = "execute-api.localhost"

// ExecuteAPIHosts are the execute-api hosts of API name, the name's in
// lower case (hosts are compared without case).
func ExecuteAPIHosts(name string) []string {
	return []string{
		strings.ToLower(name) + "." + ExecuteAPIDomain,
		config.APIID(name) + "." + ExecuteAPIDomain,
	}
}

// addExecuteAPIMount mounts API name a second time in t, at its
// execute-api hosts and the root, whatever its hosts and base_path, as
// API Gateway serves an API at its execute-api hostname: stage first,
// then the route's path.
func addExecuteAPIMount(t *router.Table, name string, a *config.API, id int) error {
	stages, def := config.StageNames(a)
	m := router.Mount{BasePath: "/", Stages: stages, DefaultStage: def}
	for _, h := range ExecuteAPIHosts(name) {
		// An API the config already serves at this host's root (as an
		// importer may write it) needs no second mount there.
		if strings.TrimSuffix(a.BasePath, "/") == "" && slices.ContainsFunc(a.Hosts, func(own string) bool { return strings.EqualFold(own, h) }) {
			continue
		}
		m.Hosts = append(m.Hosts, h)
	}
	if len(m.Hosts) == 0 {
		return nil
	}
	if err := t.Add(m, id); err != nil {
		return fmt.Errorf("execute-api hosts %s: %w", strings.Join(m.Hosts, ", "), err)
	}
	return nil
}
