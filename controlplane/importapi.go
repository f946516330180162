package controlplane

import (
	"crypto/sha256"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/frontdeskgw/frontdesk/config"
	"github.com/frontdeskgw/frontdesk/importer"
	"github.com/valyala/fasthttp"
	"gopkg.in/yaml.v3"
)

// MaxDefinition bounds an imported OpenAPI or Swagger document, as AWS
// bounds an import's body; the state keeps REST API definitions whole,
// so this also bounds what one REST API adds to the state file.
const MaxDefinition = 1 << 20

// definitionName is the file name an imported body's problems are
// reported at: the CLI sends the document, not its file name.
const definitionName = "body"

// noEnv resolves no ${VAR}: a definition sent over the network must not
// read the server's environment (it could export it again).
func noEnv(string) (string, bool) { return "", false }

// imported is a definition read by the importer and checked by the
// config's rules: the one API it holds, its info and what is not served
// as AWS would (the import's warnings).
type imported struct {
	api      *config.API
	info     docInfo
	warnings []string
}

// docInfo is a definition's info object.
type docInfo struct {
	Title       string `yaml:"title"`
	Description string `yaml:"description"`
	Version     string `yaml:"version"`
}

// importDefinition reads body as an API of dialect ("http" or "rest"),
// with the Lambda functions of the config c. The error is a
// BadRequestException naming the definition's line.
func importDefinition(body []byte, dialect string, c *config.Config, cache *importCache) (*imported, error) {
	if len(body) > MaxDefinition {
		return nil, badRequest("The API definition is %d bytes: at most %d are accepted", len(body), MaxDefinition)
	}
	have := func(name string) bool { _, ok := c.Functions[name]; return ok }
	key := cacheKey(dialect, body)
	res := cache.get(key)
	if res == nil {
		var err error
		res, err = importer.Import(definitionName, body, importer.Options{Dialect: dialect, Lookup: noEnv, HaveFunction: have})
		if err != nil {
			return nil, badRequest("Invalid API definition: %v", err)
		}
	}
	if res.Format != importer.FormatOpenAPI3 && res.Format != importer.FormatSwagger2 {
		return nil, badRequest("Invalid API definition: want an OpenAPI 3.0 or Swagger 2.0 document, got %s", res.Format)
	}
	cfg, warns, err := res.ParseWith(noEnv, func(ic *config.Config) {
		// Routes may call the functions the running config defines.
		for _, a := range ic.APIs {
			for _, in := range a.Integrations {
				if in == nil || in.Function == "" {
					continue
				}
				if f, ok := c.Functions[in.Function]; ok {
					if ic.Functions == nil {
						ic.Functions = map[string]config.Function{}
					}
					ic.Functions[in.Function] = f
				}
			}
		}
	})
	if err != nil {
		return nil, badRequest("Invalid API definition: %v", err)
	}
	if len(cfg.APIs) != 1 {
		return nil, badRequest("Invalid API definition: it holds %d APIs, want 1", len(cfg.APIs))
	}
	cache.put(key, res)
	out := &imported{}
	for _, a := range cfg.APIs {
		out.api = a
	}
	var doc struct {
		Info docInfo `yaml:"info"`
	}
	_ = yaml.Unmarshal(body, &doc) // the importer read it already
	out.info = doc.Info
	if out.info.Title == "" {
		return nil, badRequest("Invalid API definition: info.title is required: it names the API")
	}
	for _, w := range warns {
		out.warnings = append(out.warnings, w.String())
	}
	for _, f := range res.Findings {
		out.warnings = append(out.warnings, f.String())
	}
	return out, nil
}

// importCache keeps the importer's results of the definitions the state
// holds, so the served config is rebuilt (on each change and reload)
// without reading every REST API's definition again. A result is text
// that is parsed afresh each time, so no config is shared between
// snapshots; the functions a definition calls are checked again by that
// parse. It holds at most maxCached results and starts over when full.
type importCache struct {
	mu sync.Mutex
	m  map[[sha256.Size]byte]*importer.Result
}

// maxCached bounds importCache: every REST API's definition as put and as
// deployed, and a few more.
const maxCached = 2*MaxRestAPIs + 8

func cacheKey(dialect string, body []byte) [sha256.Size]byte {
	h := sha256.New()
	h.Write([]byte(dialect))
	h.Write([]byte{0})
	h.Write(body)
	var k [sha256.Size]byte
	h.Sum(k[:0])
	return k
}

func (c *importCache) get(k [sha256.Size]byte) *importer.Result {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[k]
}

func (c *importCache) put(k [sha256.Size]byte, r *importer.Result) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxCached {
		c.m = map[[sha256.Size]byte]*importer.Result{}
	}
	c.m[k] = r
}

// warned answers failOnWarnings as AWS does: the import is refused when
// the definition has anything that is not served as written.
func warned(im *imported, fail bool) error {
	if fail && len(im.warnings) > 0 {
		return badRequest("Warnings found during import:\n\t%s", strings.Join(im.warnings, "\n\t"))
	}
	return nil
}

// basePathMode reads the basepath parameter: how the definition's base
// path (its servers URL's path, stage included) reaches the route keys.
// ignore (the default) drops it, prepend puts it before every path,
// split drops its first segment and prepends the rest.
func basePathMode(v string) (string, error) {
	switch v {
	case "", "ignore":
		return "ignore", nil
	case "prepend", "split":
		return v, nil
	}
	return "", badRequest("Invalid basepath %q: want ignore, prepend or split", v)
}

// rebase moves a's routes under its base path as mode asks.
func rebase(a *config.API, mode string) {
	if mode == "ignore" {
		return
	}
	full := strings.Trim(a.BasePath, "/")
	if stages, def := config.StageNames(a); !def && len(stages) > 0 {
		full = strings.Trim(full+"/"+stages[0], "/")
	}
	if mode == "split" {
		_, full, _ = strings.Cut(full, "/")
	}
	if full == "" {
		return
	}
	routes := make(map[string]*config.Route, len(a.Routes))
	for k, r := range a.Routes {
		if m, p, ok := strings.Cut(k, " "); ok {
			k = m + " /" + full + strings.TrimSuffix(p, "/")
		}
		routes[k] = r
	}
	a.Routes = routes
}

// importBody reads ImportApi's and ReimportApi's JSON body: the document
// in "body".
func importBody(ctx *fasthttp.RequestCtx) ([]byte, error) {
	var in struct {
		Body string `json:"body"`
	}
	if err := decode(ctx, &in); err != nil {
		return nil, err
	}
	if strings.TrimSpace(in.Body) == "" {
		return nil, badRequest("Body is required: the OpenAPI definition")
	}
	return []byte(in.Body), nil
}

// importHTTP reads an HTTP API definition from the call into a record
// whose routes, integrations and authorizers have new ids.
func (s *Service) importHTTP(ctx *fasthttp.RequestCtx, file *config.Config) (*apiRecord, error) {
	body, err := importBody(ctx)
	if err != nil {
		return nil, err
	}
	q := ctx.QueryArgs()
	mode, err := basePathMode(string(q.Peek("basepath")))
	if err != nil {
		return nil, err
	}
	im, err := importDefinition(body, "http", file, nil)
	if err != nil {
		return nil, err
	}
	if err := warned(im, string(q.Peek("failOnWarnings")) == "true"); err != nil {
		return nil, err
	}
	rebase(im.api, mode)
	rec := recordOf(im.api)
	rec.API.Name, rec.API.Description, rec.API.Version = im.info.Title, im.info.Description, im.info.Version
	rec.API.Warnings = im.warnings
	if len(rec.API.Name) > 128 {
		rec.API.Name = rec.API.Name[:128]
	}
	return rec, nil
}

// recordOf is an imported HTTP API as the control plane's records, with
// new ids, changeable like created ones.
func recordOf(ca *config.API) *apiRecord {
	rec := &apiRecord{API: API{ProtocolType: "HTTP", RouteSelectionExpression: "$request.method $request.path",
		APIKeySelectionExpression: "$request.header.x-api-key"}}
	rec.API.CorsConfiguration = corsOf(ca.CORS)
	rec.fillParts(ca)
	return rec
}

func corsOf(c *config.CORS) *Cors {
	if c == nil {
		return nil
	}
	return &Cors{AllowOrigins: c.AllowOrigins, AllowMethods: c.AllowMethods, AllowHeaders: c.AllowHeaders,
		ExposeHeaders: c.ExposeHeaders, MaxAge: c.MaxAge, AllowCredentials: c.AllowCredentials}
}

// fillParts replaces rec's routes, integrations and authorizers with
// ca's, under new ids.
func (rec *apiRecord) fillParts(ca *config.API) {
	rec.Routes, rec.Integrations, rec.Authorizers = map[string]*Route{}, map[string]*Integration{}, map[string]*Authorizer{}
	inID, auID := map[string]string{}, map[string]string{}
	for _, name := range sortedIDs(ca.Integrations) {
		ci := ca.Integrations[name]
		if ci == nil {
			continue
		}
		v := &Integration{IntegrationID: newID(7), ConnectionType: "INTERNET", Description: name,
			PayloadFormatVersion: string(ci.PayloadFormat), TimeoutInMillis: int(ci.Timeout.D() / time.Millisecond),
			IntegrationMethod: ci.Method, RequestParameters: ci.RequestParameters, ResponseParameters: ci.ResponseParameters}
		switch ci.Type {
		case config.IntegrationLambda:
			v.IntegrationType, v.IntegrationURI = "AWS_PROXY", ci.Function
		case config.IntegrationMock:
			v.IntegrationType = "MOCK"
		default:
			v.IntegrationType, v.IntegrationURI = "HTTP_PROXY", ci.URL
			if v.IntegrationURI == "" && len(ci.Targets) > 0 {
				v.IntegrationURI = ci.Targets[0]
			}
			if v.IntegrationMethod == "" {
				v.IntegrationMethod = "ANY"
			}
		}
		if v.IntegrationType != "HTTP_PROXY" {
			v.IntegrationMethod = ""
		}
		if v.IntegrationType == "AWS_PROXY" {
			v.IntegrationMethod = "POST"
		}
		rec.Integrations[v.IntegrationID] = v
		inID[name] = v.IntegrationID
	}
	for _, name := range sortedIDs(ca.Authorizers) {
		au := ca.Authorizers[name]
		v := &Authorizer{AuthorizerID: newID(7), Name: name, IdentitySource: au.IdentitySource,
			AuthorizerPayloadFormatVersion: string(au.PayloadFormat), AuthorizerResultTTLInSeconds: int(au.TTL.D() / time.Second)}
		if au.Type == config.AuthorizerJWT {
			v.AuthorizerType, v.JWTConfiguration = "JWT", &JWTConfiguration{Issuer: au.Issuer, Audience: au.Audience}
		} else {
			v.AuthorizerType, v.AuthorizerURI = "REQUEST", au.Function
			v.EnableSimpleResponses = au.SimpleResponses != nil && *au.SimpleResponses
		}
		rec.Authorizers[v.AuthorizerID] = v
		auID[name] = v.AuthorizerID
	}
	keys := make([]string, 0, len(ca.Routes))
	for k := range ca.Routes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, rk := range keys {
		r := ca.Routes[rk]
		if r == nil {
			continue
		}
		v := &Route{RouteID: newID(7), RouteKey: rk, APIKeyRequired: r.APIKey, AuthorizationType: "NONE"}
		if id, ok := inID[r.Integration]; ok {
			v.Target = "integrations/" + id
		}
		if r.Authorizer != "" {
			v.AuthorizerID, v.AuthorizationScopes, v.AuthorizationType = auID[r.Authorizer], r.Scopes, "CUSTOM"
			if ca.Authorizers[r.Authorizer].Type == config.AuthorizerJWT {
				v.AuthorizationType = "JWT"
			}
		}
		rec.Routes[v.RouteID] = v
	}
}

// importAPI answers ImportApi: an HTTP API from an OpenAPI definition,
// created with its routes, integrations and authorizers and no stage, as
// on AWS (create-stage serves it).
func (s *Service) importAPI(ctx *fasthttp.RequestCtx) {
	s.change(ctx, 201, func(st *State, file *config.Config) (any, error) {
		if err := limit(len(st.APIs)+len(st.RestAPIs), MaxAPIs, "APIs"); err != nil {
			return nil, err
		}
		rec, err := s.importHTTP(ctx, file)
		if err != nil {
			return nil, err
		}
		rec.API.APIID, rec.API.CreatedDate = s.freeID(st, file), now()
		st.APIs[rec.API.APIID] = rec
		st.fill()
		return s.view(rec), nil
	})
}

// reimportAPI answers ReimportApi: the API's routes, integrations and
// authorizers become the definition's; its id, stages and deployments
// stay, and an auto-deploying stage serves the new routes at once.
func (s *Service) reimportAPI(ctx *fasthttp.RequestCtx) {
	s.change(ctx, 201, func(st *State, file *config.Config) (any, error) {
		rec, err := s.created(st, file, param(ctx, "apiId"))
		if err != nil {
			return nil, err
		}
		if rec.API.ProtocolType != "HTTP" {
			return nil, badRequest("Reimport is supported for HTTP APIs only")
		}
		next, err := s.importHTTP(ctx, file)
		if err != nil {
			return nil, err
		}
		rec.API.Name, rec.API.Description, rec.API.Version = next.API.Name, next.API.Description, next.API.Version
		rec.API.CorsConfiguration, rec.API.Warnings = next.API.CorsConfiguration, next.API.Warnings
		rec.Routes, rec.Integrations, rec.Authorizers = next.Routes, next.Integrations, next.Authorizers
		autoDeploy(rec)
		return s.view(rec), nil
	})
}

// freeID is a new API id no API (created, imported or of the file) has.
func (s *Service) freeID(st *State, file *config.Config) string {
	id := newID(10)
	for st.APIs[id] != nil || st.RestAPIs[id] != nil || apiName(file, id) != "" {
		id = newID(10)
	}
	return id
}
