package gateway

import (
	"fmt"
	"sort"
	"strings"

	"github.com/frontdeskgw/frontdesk/apierror"
	"github.com/frontdeskgw/frontdesk/config"
	"github.com/frontdeskgw/frontdesk/lambda"
	"github.com/frontdeskgw/frontdesk/proxy"
	"github.com/frontdeskgw/frontdesk/router"
	"github.com/frontdeskgw/frontdesk/upstream"
)

// Snapshot is one compiled config: everything the request path reads,
// immutable once built and swapped in whole.
type Snapshot struct {
	table router.Table
	apis  []*api
}

type api struct {
	name     string
	hosts    string
	basePath string
	typ      string
	dialect  apierror.Dialect
	tree     *router.Tree
	routes   []*route
	// stages[i] is Mount.Stages[i]; def is the $default stage or nil.
	stages []*stage
	def    *stage
}

type route struct {
	key    string
	params []string
}

type stage struct {
	name string
	// integrations[i] serves routes[i] on this stage, described by
	// infos[i].
	integrations []proxy.Integration
	infos        []*proxy.Route
	integNames   []string
}

// Deps are the long-lived resources a snapshot uses; they outlive it, so
// that a reload keeps connections, warm functions and counters.
type Deps struct {
	Pools *proxy.Pools
	// Functions are the invokers of the config's functions by name; nil
	// when the snapshot will not serve (validate, routes).
	Functions map[string]lambda.Invoker
}

// Compile turns a checked config into a Snapshot. pools are reused from the
// previous snapshot so that upstream connections survive a reload.
func Compile(c *config.Config, deps Deps) (*Snapshot, error) {
	s := &Snapshot{}
	names := make([]string, 0, len(c.APIs))
	for n, a := range c.APIs {
		if a.Type == "websocket" {
			continue
		}
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		a, err := compileAPI(name, c.APIs[name], deps)
		if err != nil {
			return nil, fmt.Errorf("api %s: %w", name, err)
		}
		stageNames, hasDef := config.StageNames(c.APIs[name])
		m := router.Mount{Hosts: c.APIs[name].Hosts, BasePath: c.APIs[name].BasePath, Stages: stageNames, DefaultStage: hasDef}
		if err := s.table.Add(m, len(s.apis)); err != nil {
			return nil, fmt.Errorf("api %s: %w", name, err)
		}
		s.apis = append(s.apis, a)
	}
	return s, nil
}

func compileAPI(name string, ca *config.API, deps Deps) (*api, error) {
	a := &api{name: name, typ: ca.Type, tree: router.NewTree(), hosts: "*", basePath: ca.BasePath}
	if len(ca.Hosts) > 0 {
		a.hosts = strings.Join(ca.Hosts, ",")
	}
	if ca.Type == "rest" {
		a.dialect = apierror.REST
	}
	keys := make([]string, 0, len(ca.Routes))
	for k := range ca.Routes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for i, k := range keys {
		parsed, err := router.ParseKey(k)
		if err != nil {
			return nil, err
		}
		if err := a.tree.Add(parsed, i, k); err != nil {
			return nil, fmt.Errorf("route %q: %w", k, err)
		}
		a.routes = append(a.routes, &route{key: k, params: parsed.ParamNames()})
	}
	stageNames, hasDef := config.StageNames(ca)
	build := func(sn string) (*stage, error) {
		st := &stage{name: sn}
		vars := ca.Stages[sn].Variables
		varList := stageVarList(vars)
		for _, k := range keys {
			r := ca.Routes[k]
			in, err := compileIntegration(ca, ca.Integrations[r.Integration], vars, deps)
			if err != nil {
				return nil, fmt.Errorf("stage %s, route %q: %w", sn, k, err)
			}
			st.integrations = append(st.integrations, in)
			st.integNames = append(st.integNames, r.Integration)
			info := &proxy.Route{APIID: name, Stage: sn, NamedStage: sn != config.DefaultStage, RouteKey: k, StageVariables: varList}
			if _, path, ok := strings.Cut(k, " "); ok {
				info.Resource = path
			}
			st.infos = append(st.infos, info)
		}
		return st, nil
	}
	for _, sn := range stageNames {
		st, err := build(sn)
		if err != nil {
			return nil, err
		}
		a.stages = append(a.stages, st)
	}
	if hasDef {
		st, err := build(config.DefaultStage)
		if err != nil {
			return nil, err
		}
		a.def = st
	}
	return a, nil
}

func stageVarList(vars map[string]string) []lambda.Param {
	names := make([]string, 0, len(vars))
	for k := range vars {
		names = append(names, k)
	}
	sort.Strings(names)
	out := make([]lambda.Param, 0, len(names))
	for _, k := range names {
		out = append(out, lambda.Param{Name: k, Value: []byte(vars[k])})
	}
	return out
}

func compileIntegration(ca *config.API, in *config.Integration, vars map[string]string, deps Deps) (proxy.Integration, error) {
	pools := deps.Pools
	switch in.Type {
	case "http_proxy":
		u, missing := config.SubstituteStageVars(in.URL, vars)
		if missing != "" {
			return nil, fmt.Errorf("url: no stage variable %q", missing)
		}
		up := proxy.Upstream{URL: u, Targets: in.Targets, Retries: in.Retries, Timeout: in.Timeout.D()}
		if in.Balance == "least_conn" {
			up.Policy = upstream.LeastConn
		}
		if hc := in.HealthCheck; hc != nil {
			up.HealthPath, up.HealthInterval = hc.Path, hc.Interval.D()
			if up.HealthInterval == 0 {
				up.HealthInterval = config.DefaultHealthInterval
			}
		}
		return proxy.NewHTTPProxy(pools, up)
	case "mock":
		return proxy.NewMock(in.Status, in.Headers, in.Body), nil
	case "lambda":
		format := in.PayloadFormat
		if format == "" {
			format = "2.0"
			if ca.Type == "rest" {
				format = "1.0"
			}
		}
		var inv lambda.Invoker
		if deps.Functions != nil {
			inv = deps.Functions[in.Function]
			if inv == nil {
				return nil, fmt.Errorf("function %q is not running", in.Function)
			}
		}
		return proxy.NewLambda(inv, format, ca.Type == "rest", in.Timeout.D()), nil
	default:
		return unsupported{}, nil
	}
}

// unsupported answers routes whose integration type is accepted by the
// config but not implemented; config.Load warns about them at start-up.
type unsupported struct{}

func (unsupported) Serve(ex *proxy.Exchange) { ex.Fail(apierror.NotImplemented) }

// RouteInfo is one row of the compiled route table.
type RouteInfo struct {
	API         string `json:"api"`
	Type        string `json:"type"`
	Hosts       string `json:"hosts"`
	BasePath    string `json:"basePath"`
	Stage       string `json:"stage"`
	RouteKey    string `json:"routeKey"`
	Integration string `json:"integration"`
}

// Routes lists the compiled table, for `frontdesk routes` and the admin API.
func (s *Snapshot) Routes() []RouteInfo {
	var out []RouteInfo
	for _, a := range s.apis {
		stages := append([]*stage(nil), a.stages...)
		if a.def != nil {
			stages = append(stages, a.def)
		}
		for _, st := range stages {
			for i, r := range a.routes {
				out = append(out, RouteInfo{API: a.name, Type: a.typ, Hosts: a.hosts, BasePath: a.basePath, Stage: st.name, RouteKey: r.key, Integration: st.integNames[i]})
			}
		}
	}
	return out
}
