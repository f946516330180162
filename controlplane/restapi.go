package controlplane

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/frontdeskgw/frontdesk/config"
	"github.com/frontdeskgw/frontdesk/importer"
	"github.com/valyala/fasthttp"
	"gopkg.in/yaml.v3"
)

// MaxRestAPIs bounds the REST APIs imported with import-rest-api; each
// keeps its definition (at most MaxDefinition bytes) twice in the state:
// as last imported and as last deployed.
const MaxRestAPIs = 60

// RestAPI is a REST API (apigateway RestApi) imported from a definition.
type RestAPI struct {
	APIKeySource              string            `json:"apiKeySource,omitempty"`
	CreatedDate               epoch             `json:"createdDate"`
	Description               string            `json:"description,omitempty"`
	DisableExecuteAPIEndpoint bool              `json:"disableExecuteApiEndpoint"`
	EndpointConfiguration     *EndpointConfig   `json:"endpointConfiguration,omitempty"`
	ID                        string            `json:"id"`
	Name                      string            `json:"name"`
	RootResourceID            string            `json:"rootResourceId,omitempty"`
	Tags                      map[string]string `json:"tags,omitempty"`
	Version                   string            `json:"version,omitempty"`
	Warnings                  []string          `json:"warnings,omitempty"`
}

// EndpointConfig is a REST API's endpoint types.
type EndpointConfig struct {
	Types []string `json:"types"`
}

// RestStage is a stage of a REST API.
type RestStage struct {
	CreatedDate     epoch             `json:"createdDate"`
	DeploymentID    string            `json:"deploymentId,omitempty"`
	Description     string            `json:"description,omitempty"`
	LastUpdatedDate epoch             `json:"lastUpdatedDate"`
	StageName       string            `json:"stageName"`
	Variables       map[string]string `json:"variables,omitempty"`
}

// RestDeployment is CreateDeployment's answer.
type RestDeployment struct {
	CreatedDate epoch  `json:"createdDate"`
	Description string `json:"description,omitempty"`
	ID          string `json:"id"`
}

// restRecord is an imported REST API. Its definition is kept as sent
// (merged with put-rest-api's merge mode) and is what it serves once
// deployed: the config comes from the importer each time, so the REST
// API is served exactly as the same file imported with frontdesk import.
type restRecord struct {
	API RestAPI `json:"api"`
	// Body is the definition as last imported or put.
	Body string `json:"body"`
	// Deployed is the definition as of the latest deployment; every
	// stage serves it (nil: never deployed).
	Deployed *string `json:"deployed,omitempty"`
	// BasePath is the basepath parameter of the import.
	BasePath string                `json:"basePath,omitempty"`
	Stages   map[string]*RestStage `json:"stages"`
}

func (s *Service) routesRest() {
	r := s.router
	r.GET("/restapis", s.getRestAPIs)
	r.POST("/restapis", s.importRestAPI)
	r.GET("/restapis/{restApiId}", s.getRestAPI)
	r.PUT("/restapis/{restApiId}", s.putRestAPI)
	r.DELETE("/restapis/{restApiId}", s.deleteRestAPI)
	r.POST("/restapis/{restApiId}/deployments", s.createRestDeployment)
	r.GET("/restapis/{restApiId}/stages", s.getRestStages)
	r.GET("/restapis/{restApiId}/stages/{stageName}", s.getRestStage)
	r.DELETE("/restapis/{restApiId}/stages/{stageName}", s.deleteRestStage)
	r.GET("/restapis/{restApiId}/stages/{stageName}/exports/{exportType}", s.getExport)
}

// restConfig is the config of rec's definition body: the REST API the
// importer makes of it, served at {id}.execute-api.localhost with rec's
// stages in the path, as AWS serves a REST API.
func restConfig(rec *restRecord, body string, c *config.Config, cache *importCache) (*config.API, []string, error) {
	im, err := importDefinition([]byte(body), "rest", c, cache)
	if err != nil {
		return nil, nil, err
	}
	a := im.api
	if mode, _ := basePathMode(rec.BasePath); mode != "ignore" {
		rebase(a, mode)
	}
	a.Hosts, a.BasePath = []string{rec.API.ID + HostSuffix}, "/"
	a.Stages = map[string]config.Stage{}
	for name, st := range rec.Stages {
		a.Stages[name] = config.Stage{Variables: st.Variables}
	}
	return a, im.warnings, nil
}

// extendRest adds st's deployed REST APIs to c (with all, every REST API
// with its current definition: the check of a change). A definition that
// no longer fits c (a function it calls left the file) is not served.
func extendRest(c *config.Config, st *State, all bool, cache *importCache) {
	for _, id := range sortedIDs(st.RestAPIs) {
		rec := st.RestAPIs[id]
		body := rec.Body
		if !all {
			if rec.Deployed == nil || len(rec.Stages) == 0 {
				continue
			}
			body = *rec.Deployed
		}
		a, _, err := restConfig(rec, body, c, cache)
		if err != nil {
			continue
		}
		if all && len(a.Stages) == 0 {
			a.Stages = map[string]config.Stage{"check": {}}
		}
		c.APIs[id] = a
	}
}

// restInput reads import-rest-api's and put-rest-api's raw definition
// and query: failonwarnings and the basepath parameter.
func restInput(ctx *fasthttp.RequestCtx) (body []byte, fail bool, basePath string, err error) {
	body = ctx.Request.Body()
	if len(strings.TrimSpace(string(body))) == 0 {
		return nil, false, "", badRequest("The API definition is required as the request body")
	}
	q := ctx.QueryArgs()
	fail = string(q.Peek("failonwarnings")) == "true"
	basePath, err = basePathMode(string(q.Peek("basepath")))
	return body, fail, basePath, err
}

// importRestAPI answers ImportRestApi (POST /restapis?mode=import).
func (s *Service) importRestAPI(ctx *fasthttp.RequestCtx) {
	if string(ctx.QueryArgs().Peek("mode")) != "import" {
		writeError(ctx, notFound("Unsupported operation: CreateRestApi: import a definition with import-rest-api"))
		return
	}
	s.change(ctx, 201, func(st *State, file *config.Config) (any, error) {
		if err := limit(len(st.RestAPIs), MaxRestAPIs, "REST APIs"); err != nil {
			return nil, err
		}
		body, fail, bp, err := restInput(ctx)
		if err != nil {
			return nil, err
		}
		rec := &restRecord{API: RestAPI{ID: s.freeID(st, file), CreatedDate: epoch(now()), APIKeySource: "HEADER",
			EndpointConfiguration: &EndpointConfig{Types: []string{"EDGE"}}, RootResourceID: newID(10)},
			Body: string(body), BasePath: bp, Stages: map[string]*RestStage{}}
		if err := s.define(rec, body, fail, file); err != nil {
			return nil, err
		}
		st.RestAPIs[rec.API.ID] = rec
		return &rec.API, nil
	})
}

// define checks body as rec's definition and takes its name,
// description, version and warnings.
func (s *Service) define(rec *restRecord, body []byte, fail bool, file *config.Config) error {
	im, err := importDefinition(body, "rest", file, s.imports)
	if err != nil {
		return err
	}
	if err := warned(im, fail); err != nil {
		return err
	}
	rec.API.Name, rec.API.Description, rec.API.Version, rec.API.Warnings = im.info.Title, im.info.Description, im.info.Version, im.warnings
	rec.Body = string(body)
	return nil
}

// putRestAPI answers PutRestApi: overwrite replaces the definition,
// merge (the default, as on AWS) adds the new one's paths and methods
// to it, a method of both taking the new one's. Stages serve the change
// after the next create-deployment, as on AWS.
func (s *Service) putRestAPI(ctx *fasthttp.RequestCtx) {
	s.change(ctx, 200, func(st *State, file *config.Config) (any, error) {
		rec, err := s.restAPI(st, ctx)
		if err != nil {
			return nil, err
		}
		body, fail, _, err := restInput(ctx)
		if err != nil {
			return nil, err
		}
		switch mode := string(ctx.QueryArgs().Peek("mode")); mode {
		case "overwrite":
		case "", "merge":
			// The new definition alone first: its problems are reported
			// at its own lines.
			if _, err := importDefinition(body, "rest", file, nil); err != nil {
				return nil, err
			}
			body, err = mergeDefinitions([]byte(rec.Body), body)
			if err != nil {
				return nil, err
			}
		default:
			return nil, badRequest("Invalid mode %q: want merge or overwrite", mode)
		}
		if err := s.define(rec, body, fail, file); err != nil {
			return nil, err
		}
		return &rec.API, nil
	})
}

// mergeDefinitions adds next's paths, methods and components (security
// schemes, definitions) to base's.
func mergeDefinitions(base, next []byte) ([]byte, error) {
	var b, n map[string]any
	if err := yaml.Unmarshal(base, &b); err != nil {
		return nil, badRequest("The stored definition does not read: %v", err)
	}
	if err := yaml.Unmarshal(next, &n); err != nil {
		return nil, badRequest("Invalid API definition: %v", err)
	}
	if (b["swagger"] == nil) != (n["swagger"] == nil) {
		return nil, badRequest("Invalid API definition: merge needs the same format as the API's (OpenAPI 3.0 or Swagger 2.0)")
	}
	mergeMap(b, n, "paths", 2)
	mergeMap(b, n, "components", 2)
	mergeMap(b, n, "definitions", 1)
	mergeMap(b, n, "securityDefinitions", 1)
	for k, v := range n {
		if strings.HasPrefix(k, "x-amazon-apigateway-") {
			b[k] = v
		}
	}
	out, err := yaml.Marshal(b)
	if err != nil {
		return nil, badRequest("The merged definition does not write: %v", err)
	}
	return out, nil
}

// mergeMap merges next[key] into base[key], depth levels deep (paths:
// path, then method).
func mergeMap(base, next map[string]any, key string, depth int) {
	nm, ok := next[key].(map[string]any)
	if !ok {
		return
	}
	bm, ok := base[key].(map[string]any)
	if !ok {
		base[key] = nm
		return
	}
	for k, v := range nm {
		if depth > 1 {
			if _, isMap := v.(map[string]any); isMap {
				if _, had := bm[k].(map[string]any); had {
					mergeMap(bm, nm, k, depth-1)
					continue
				}
			}
		}
		bm[k] = v
	}
}

// restAPI finds the REST API of the path.
func (s *Service) restAPI(st *State, ctx *fasthttp.RequestCtx) (*restRecord, error) {
	id := param(ctx, "restApiId")
	if rec := st.RestAPIs[id]; rec != nil {
		return rec, nil
	}
	if s.fileRESTAPI(s.app.Config(), id) {
		return nil, readOnly("REST API", id, s.app.Config().File)
	}
	return nil, notFound("Invalid API identifier specified %s", id)
}

func (s *Service) getRestAPIs(ctx *fasthttp.RequestCtx) {
	s.read(ctx, func(st *State, file *config.Config) (any, error) {
		var all []*RestAPI
		for name, a := range file.APIs {
			if a.Type == config.APIREST && st.RestAPIs[name] == nil {
				all = append(all, &RestAPI{ID: config.APIID(name), Name: name, CreatedDate: epoch(s.started), Tags: fileTag})
			}
		}
		for _, rec := range st.RestAPIs {
			all = append(all, &rec.API)
		}
		q := ctx.QueryArgs()
		items, next, err := page(all, func(a *RestAPI) string { return a.ID }, string(q.Peek("position")), string(q.Peek("limit")), 25)
		return list[*RestAPI]{Items: items, Position: next}, err
	})
}

func (s *Service) getRestAPI(ctx *fasthttp.RequestCtx) {
	s.read(ctx, func(st *State, file *config.Config) (any, error) {
		id := param(ctx, "restApiId")
		if rec := st.RestAPIs[id]; rec != nil {
			return &rec.API, nil
		}
		for name, a := range file.APIs {
			if a.Type == config.APIREST && config.APIID(name) == id {
				return &RestAPI{ID: id, Name: name, CreatedDate: epoch(s.started), Tags: fileTag}, nil
			}
		}
		return nil, notFound("Invalid API identifier specified %s", id)
	})
}

func (s *Service) deleteRestAPI(ctx *fasthttp.RequestCtx) {
	s.change(ctx, 202, func(st *State, _ *config.Config) (any, error) {
		rec, err := s.restAPI(st, ctx)
		if err != nil {
			return nil, err
		}
		delete(st.RestAPIs, rec.API.ID)
		for _, p := range st.Plans {
			p.APIStages = slices.DeleteFunc(p.APIStages, func(as APIStage) bool { return as.APIID == rec.API.ID })
		}
		return nil, nil
	})
}

// createRestDeployment answers CreateDeployment: the current definition
// becomes the deployed one, and stageName (created when new) points at
// it.
func (s *Service) createRestDeployment(ctx *fasthttp.RequestCtx) {
	s.change(ctx, 201, func(st *State, _ *config.Config) (any, error) {
		rec, err := s.restAPI(st, ctx)
		if err != nil {
			return nil, err
		}
		var in struct {
			StageName        string            `json:"stageName"`
			StageDescription string            `json:"stageDescription"`
			Description      string            `json:"description"`
			Variables        map[string]string `json:"variables"`
		}
		if err := decode(ctx, &in); err != nil {
			return nil, err
		}
		d := &RestDeployment{ID: newID(6), CreatedDate: epoch(now()), Description: in.Description}
		if in.StageName != "" {
			if !stageNameOK(in.StageName) || in.StageName == config.DefaultStage {
				return nil, badRequest("Invalid stage name %q: letters, digits, - and _ only", in.StageName)
			}
			stg := rec.Stages[in.StageName]
			if stg == nil {
				if err := limit(len(rec.Stages), MaxStages, "stages"); err != nil {
					return nil, err
				}
				stg = &RestStage{StageName: in.StageName, CreatedDate: d.CreatedDate, Description: in.StageDescription}
				rec.Stages[in.StageName] = stg
			}
			stg.DeploymentID, stg.LastUpdatedDate = d.ID, d.CreatedDate
			if in.Variables != nil {
				stg.Variables = in.Variables
			}
		}
		body := rec.Body
		rec.Deployed = &body
		return d, nil
	})
}

func (s *Service) getRestStages(ctx *fasthttp.RequestCtx) {
	s.read(ctx, func(st *State, _ *config.Config) (any, error) {
		rec, err := s.restAPI(st, ctx)
		if err != nil {
			return nil, err
		}
		out := struct {
			Item []*RestStage `json:"item"`
		}{Item: []*RestStage{}}
		for _, name := range sortedIDs(rec.Stages) {
			out.Item = append(out.Item, rec.Stages[name])
		}
		return out, nil
	})
}

// restStage finds the stage of the path.
func restStage(rec *restRecord, ctx *fasthttp.RequestCtx) (*RestStage, error) {
	if stg := rec.Stages[param(ctx, "stageName")]; stg != nil {
		return stg, nil
	}
	return nil, notFound("Invalid stage identifier specified")
}

func (s *Service) getRestStage(ctx *fasthttp.RequestCtx) {
	s.read(ctx, func(st *State, _ *config.Config) (any, error) {
		rec, err := s.restAPI(st, ctx)
		if err != nil {
			return nil, err
		}
		return restStage(rec, ctx)
	})
}

func (s *Service) deleteRestStage(ctx *fasthttp.RequestCtx) {
	s.change(ctx, 202, func(st *State, _ *config.Config) (any, error) {
		rec, err := s.restAPI(st, ctx)
		if err != nil {
			return nil, err
		}
		if _, err := restStage(rec, ctx); err != nil {
			return nil, err
		}
		delete(rec.Stages, param(ctx, "stageName"))
		return nil, nil
	})
}

// getExport answers GetExport: the stage's deployed definition as the
// importer's exporter writes it (OpenAPI 3.0 with API Gateway's
// extensions), JSON unless Accept asks for YAML.
func (s *Service) getExport(ctx *fasthttp.RequestCtx) {
	st, file := s.state.Load(), s.app.Config()
	body, ctype, err := s.export(st, file, ctx)
	if err != nil {
		writeError(ctx, err)
		return
	}
	setRequestID(ctx)
	ctx.SetContentType(ctype)
	ext := "json"
	if strings.Contains(ctype, "yaml") {
		ext = "yaml"
	}
	ctx.Response.Header.Set("Content-Disposition", fmt.Sprintf("attachment; filename=\"%s.%s\"", param(ctx, "exportType"), ext))
	ctx.SetBody(body)
}

func (s *Service) export(st *State, file *config.Config, ctx *fasthttp.RequestCtx) ([]byte, string, error) {
	rec, err := s.restAPI(st, ctx)
	if err != nil {
		return nil, "", err
	}
	stg, err := restStage(rec, ctx)
	if err != nil {
		return nil, "", err
	}
	switch param(ctx, "exportType") {
	case "oas30", "swagger":
	default:
		return nil, "", badRequest("Invalid export type %q: want oas30 or swagger", param(ctx, "exportType"))
	}
	if rec.Deployed == nil {
		return nil, "", badRequest("The stage %s has no deployment", stg.StageName)
	}
	only := &restRecord{API: rec.API, BasePath: rec.BasePath, Stages: map[string]*RestStage{stg.StageName: stg}}
	a, _, err := restConfig(only, *rec.Deployed, file, s.imports)
	if err != nil {
		return nil, "", err
	}
	c := &config.Config{APIs: map[string]*config.API{rec.API.ID: a}, Functions: file.Functions}
	text, _, err := importer.Export(c, importer.ExportOptions{API: rec.API.ID, Dialect: "rest"})
	if err != nil {
		return nil, "", fmt.Errorf("export %s: %w", rec.API.ID, err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(text, &doc); err != nil {
		return nil, "", fmt.Errorf("export %s: %w", rec.API.ID, err)
	}
	// The exporter names the API by its config name, the id here: the
	// REST API's own name and endpoint go in instead.
	info, _ := doc["info"].(map[string]any)
	if info == nil {
		info = map[string]any{}
		doc["info"] = info
	}
	info["title"] = rec.API.Name
	if rec.API.Version != "" {
		info["version"] = rec.API.Version
	}
	if rec.API.Description != "" {
		info["description"] = rec.API.Description
	}
	doc["servers"] = []any{map[string]any{"url": s.opts.Endpoint(rec.API.ID+HostSuffix, false) + "/{basePath}",
		"variables": map[string]any{"basePath": map[string]any{"default": stg.StageName}}}}
	if param(ctx, "exportType") == "swagger" {
		doc = swagger2(doc)
	}
	accept := string(ctx.Request.Header.Peek("Accept"))
	if strings.Contains(accept, "yaml") {
		out, err := yaml.Marshal(doc)
		return out, "application/yaml", err
	}
	out, err := json.MarshalIndent(doc, "", "  ")
	return out, "application/json", err
}

// swagger2 rewrites an OpenAPI 3.0 document as the exporter writes it
// (servers, path parameters with a schema, components.securitySchemes)
// in Swagger 2.0's form, as get-export --export-type swagger answers.
func swagger2(doc map[string]any) map[string]any {
	delete(doc, "openapi")
	doc["swagger"] = "2.0"
	if servers, ok := doc["servers"].([]any); ok && len(servers) > 0 {
		if sv, ok := servers[0].(map[string]any); ok {
			raw, _ := sv["url"].(string)
			stage := ""
			if vars, ok := sv["variables"].(map[string]any); ok {
				if bp, ok := vars["basePath"].(map[string]any); ok {
					stage, _ = bp["default"].(string)
				}
			}
			scheme, rest, _ := strings.Cut(raw, "://")
			host, _, _ := strings.Cut(rest, "/")
			doc["host"], doc["schemes"], doc["basePath"] = host, []any{scheme}, "/"+strings.Trim(stage, "/")
		}
	}
	delete(doc, "servers")
	if comps, ok := doc["components"].(map[string]any); ok {
		if sch, ok := comps["securitySchemes"]; ok {
			doc["securityDefinitions"] = sch
		}
		delete(doc, "components")
	}
	paths, _ := doc["paths"].(map[string]any)
	for _, item := range paths {
		ops, _ := item.(map[string]any)
		for _, op := range ops {
			o, _ := op.(map[string]any)
			params, _ := o["parameters"].([]any)
			for _, p := range params {
				pm, _ := p.(map[string]any)
				if sc, ok := pm["schema"].(map[string]any); ok {
					pm["type"] = sc["type"]
					delete(pm, "schema")
				}
			}
		}
	}
	return doc
}
