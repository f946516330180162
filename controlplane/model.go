package controlplane

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// Bounds of the state (docs/control-plane.md): each collection is capped
// so that a client cannot grow the state file, the config and the memory
// of every instance without limit. They follow Amazon API Gateway's
// default quotas where it has one.
const (
	MaxAPIs         = 600
	MaxRoutes       = 300
	MaxIntegrations = 300
	MaxStages       = 10
	MaxAuthorizers  = 10
	MaxDeployments  = 100 // the oldest are dropped beyond this
	// MaxIntegrationResponses per integration, MaxTemplates per template
	// map and MaxTemplateSize per template (AWS's own size limit) bound
	// what a WebSocket integration's templates add to the state.
	MaxIntegrationResponses = 50
	MaxTemplates            = 32
	MaxTemplateSize         = 32 << 10
	// MaxAPITemplateBytes bounds all the templates of one API (request
	// and response, keys included).
	MaxAPITemplateBytes = 256 << 10
	MaxAPIKeys          = 10000
	MaxUsagePlans       = 300
	MaxPlanKeys         = 10000
)

// State is everything the control plane created, as kept in the state
// file. Field names are AWS's, so the records are also the answers.
type State struct {
	Version int                   `json:"version"`
	APIs    map[string]*apiRecord `json:"apis"`
	Keys    map[string]*APIKey    `json:"apiKeys"`
	Plans   map[string]*UsagePlan `json:"usagePlans"`
	// RestAPIs are the REST APIs imported with import-rest-api.
	RestAPIs map[string]*restRecord `json:"restApis,omitempty"`
}

// stateVersion is the format of the state file this code writes.
const stateVersion = 1

func newState() *State {
	return &State{Version: stateVersion, APIs: map[string]*apiRecord{}, Keys: map[string]*APIKey{}, Plans: map[string]*UsagePlan{}, RestAPIs: map[string]*restRecord{}}
}

// clone deep-copies s, so a change is built on a copy and the committed
// state is never touched by a change that is refused.
func (s *State) clone() *State {
	b, err := json.Marshal(s)
	if err != nil {
		panic(fmt.Sprintf("controlplane: state does not marshal: %v", err)) // plain data: cannot happen
	}
	c := newState()
	if err := json.Unmarshal(b, c); err != nil {
		panic(fmt.Sprintf("controlplane: state does not unmarshal: %v", err))
	}
	c.fill()
	return c
}

// fill makes every map non-nil after decoding.
func (s *State) fill() {
	if s.APIs == nil {
		s.APIs = map[string]*apiRecord{}
	}
	if s.Keys == nil {
		s.Keys = map[string]*APIKey{}
	}
	if s.Plans == nil {
		s.Plans = map[string]*UsagePlan{}
	}
	if s.RestAPIs == nil {
		s.RestAPIs = map[string]*restRecord{}
	}
	for _, r := range s.RestAPIs {
		if r.Stages == nil {
			r.Stages = map[string]*RestStage{}
		}
	}
	for _, a := range s.APIs {
		if a.Routes == nil {
			a.Routes = map[string]*Route{}
		}
		if a.Integrations == nil {
			a.Integrations = map[string]*Integration{}
		}
		if a.Stages == nil {
			a.Stages = map[string]*Stage{}
		}
		if a.Deployments == nil {
			a.Deployments = map[string]*Deployment{}
		}
		if a.Authorizers == nil {
			a.Authorizers = map[string]*Authorizer{}
		}
	}
}

// apiRecord is one created API with what belongs to it.
type apiRecord struct {
	API          API                     `json:"api"`
	Routes       map[string]*Route       `json:"routes"`
	Integrations map[string]*Integration `json:"integrations"`
	Stages       map[string]*Stage       `json:"stages"`
	Deployments  map[string]*Deployment  `json:"deployments"`
	Authorizers  map[string]*Authorizer  `json:"authorizers"`
	// Deployed is what the API serves: its routes, integrations and
	// authorizers as of its latest deployment (nil: never deployed).
	Deployed *deployed `json:"deployed,omitempty"`
}

// deployed is a copy of an API's routes, integrations and authorizers.
type deployed struct {
	Routes       map[string]*Route       `json:"routes"`
	Integrations map[string]*Integration `json:"integrations"`
	Authorizers  map[string]*Authorizer  `json:"authorizers"`
}

// deploy makes the API's current routes, integrations and authorizers
// the ones it serves.
func (rec *apiRecord) deploy() {
	b, err := json.Marshal(deployed{Routes: rec.Routes, Integrations: rec.Integrations, Authorizers: rec.Authorizers})
	if err != nil {
		panic(fmt.Sprintf("controlplane: routes do not marshal: %v", err)) // plain data: cannot happen
	}
	d := &deployed{}
	if err := json.Unmarshal(b, d); err != nil {
		panic(fmt.Sprintf("controlplane: routes do not unmarshal: %v", err))
	}
	rec.Deployed = d
}

// API is an HTTP or WebSocket API (apigatewayv2 Api).
type API struct {
	APIEndpoint               string            `json:"apiEndpoint,omitempty"`
	APIGatewayManaged         bool              `json:"apiGatewayManaged,omitempty"`
	APIID                     string            `json:"apiId"`
	APIKeySelectionExpression string            `json:"apiKeySelectionExpression,omitempty"`
	CorsConfiguration         *Cors             `json:"corsConfiguration,omitempty"`
	CreatedDate               time.Time         `json:"createdDate"`
	Description               string            `json:"description,omitempty"`
	DisableExecuteAPIEndpoint bool              `json:"disableExecuteApiEndpoint,omitempty"`
	Name                      string            `json:"name"`
	ProtocolType              string            `json:"protocolType"`
	RouteSelectionExpression  string            `json:"routeSelectionExpression,omitempty"`
	Tags                      map[string]string `json:"tags,omitempty"`
	Version                   string            `json:"version,omitempty"`
	Warnings                  []string          `json:"warnings,omitempty"`
}

// Cors is an HTTP API's CORS configuration.
type Cors struct {
	AllowCredentials bool     `json:"allowCredentials,omitempty"`
	AllowHeaders     []string `json:"allowHeaders,omitempty"`
	AllowMethods     []string `json:"allowMethods,omitempty"`
	AllowOrigins     []string `json:"allowOrigins,omitempty"`
	ExposeHeaders    []string `json:"exposeHeaders,omitempty"`
	MaxAge           int      `json:"maxAge,omitempty"`
}

// Route is a route of an API.
type Route struct {
	APIGatewayManaged                bool     `json:"apiGatewayManaged,omitempty"`
	APIKeyRequired                   bool     `json:"apiKeyRequired"`
	AuthorizationScopes              []string `json:"authorizationScopes,omitempty"`
	AuthorizationType                string   `json:"authorizationType,omitempty"`
	AuthorizerID                     string   `json:"authorizerId,omitempty"`
	OperationName                    string   `json:"operationName,omitempty"`
	RouteID                          string   `json:"routeId"`
	RouteKey                         string   `json:"routeKey"`
	RouteResponseSelectionExpression string   `json:"routeResponseSelectionExpression,omitempty"`
	Target                           string   `json:"target,omitempty"`
	// RouteResponses of a WebSocket route; a $default one makes the
	// route two-way (the backend's answer goes back to the client).
	RouteResponses map[string]*RouteResponse `json:"routeResponses,omitempty"`
}

// RouteResponse is a WebSocket route's response. ResponseModels and
// ResponseParameters are kept and returned, not applied.
type RouteResponse struct {
	ModelSelectionExpression string                     `json:"modelSelectionExpression,omitempty"`
	ResponseModels           map[string]string          `json:"responseModels,omitempty"`
	ResponseParameters       map[string]json.RawMessage `json:"responseParameters,omitempty"`
	RouteResponseID          string                     `json:"routeResponseId"`
	RouteResponseKey         string                     `json:"routeResponseKey"`
}

// Integration is a route's backend.
type Integration struct {
	APIGatewayManaged                      bool   `json:"apiGatewayManaged,omitempty"`
	ConnectionType                         string `json:"connectionType,omitempty"`
	Description                            string `json:"description,omitempty"`
	IntegrationID                          string `json:"integrationId"`
	IntegrationMethod                      string `json:"integrationMethod,omitempty"`
	IntegrationResponseSelectionExpression string `json:"integrationResponseSelectionExpression,omitempty"`
	IntegrationType                        string `json:"integrationType"`
	IntegrationURI                         string `json:"integrationUri,omitempty"`
	PayloadFormatVersion                   string `json:"payloadFormatVersion,omitempty"`
	TimeoutInMillis                        int    `json:"timeoutInMillis,omitempty"`
	// RequestParameters and ResponseParameters are parameter mappings
	// (append:header.x style keys), as import-api reads them.
	RequestParameters  map[string]string            `json:"requestParameters,omitempty"`
	ResponseParameters map[string]map[string]string `json:"responseParameters,omitempty"`
	// Mapping templates of a WebSocket integration (HTTP and MOCK apply
	// them; on the proxy types they are kept, unused, as AWS ignores
	// them there). ContentHandlingStrategy is kept, not applied.
	ContentHandlingStrategy     string            `json:"contentHandlingStrategy,omitempty"`
	PassthroughBehavior         string            `json:"passthroughBehavior,omitempty"`
	RequestTemplates            map[string]string `json:"requestTemplates,omitempty"`
	TemplateSelectionExpression string            `json:"templateSelectionExpression,omitempty"`
	// IntegrationResponses of a WebSocket integration, by id; changed
	// only through the integrationresponses calls.
	IntegrationResponses map[string]*IntegrationResponse `json:"integrationResponses,omitempty"`
}

// IntegrationResponse maps a WebSocket integration's answer to the
// message a two-way route sends back. IntegrationResponseKey is $default
// or a regular expression between slashes matched against the whole
// status code (/4\d\d/). ContentHandlingStrategy and ResponseParameters
// are kept, not applied: a WebSocket message has no headers.
type IntegrationResponse struct {
	ContentHandlingStrategy     string            `json:"contentHandlingStrategy,omitempty"`
	IntegrationResponseID       string            `json:"integrationResponseId"`
	IntegrationResponseKey      string            `json:"integrationResponseKey"`
	ResponseParameters          map[string]string `json:"responseParameters,omitempty"`
	ResponseTemplates           map[string]string `json:"responseTemplates,omitempty"`
	TemplateSelectionExpression string            `json:"templateSelectionExpression,omitempty"`
}

// RouteSettings are a stage's default route settings; frontdesk applies
// the throttling ones.
type RouteSettings struct {
	DataTraceEnabled       bool    `json:"dataTraceEnabled,omitempty"`
	DetailedMetricsEnabled bool    `json:"detailedMetricsEnabled,omitempty"`
	LoggingLevel           string  `json:"loggingLevel,omitempty"`
	ThrottlingBurstLimit   int     `json:"throttlingBurstLimit,omitempty"`
	ThrottlingRateLimit    float64 `json:"throttlingRateLimit,omitempty"`
}

// Stage is a named stage of an API.
type Stage struct {
	APIGatewayManaged    bool              `json:"apiGatewayManaged,omitempty"`
	AutoDeploy           bool              `json:"autoDeploy"`
	CreatedDate          time.Time         `json:"createdDate"`
	DefaultRouteSettings *RouteSettings    `json:"defaultRouteSettings,omitempty"`
	DeploymentID         string            `json:"deploymentId,omitempty"`
	Description          string            `json:"description,omitempty"`
	LastUpdatedDate      time.Time         `json:"lastUpdatedDate"`
	StageName            string            `json:"stageName"`
	StageVariables       map[string]string `json:"stageVariables,omitempty"`
	Tags                 map[string]string `json:"tags,omitempty"`
}

// Deployment is a recorded deployment of an API.
type Deployment struct {
	AutoDeployed     bool      `json:"autoDeployed"`
	CreatedDate      time.Time `json:"createdDate"`
	DeploymentID     string    `json:"deploymentId"`
	DeploymentStatus string    `json:"deploymentStatus"`
	Description      string    `json:"description,omitempty"`
	// StageName is CreateDeployment's stage to point at the new
	// deployment; never kept.
	StageName string `json:"stageName,omitempty"`
}

// JWTConfiguration is a JWT authorizer's issuer and audience.
type JWTConfiguration struct {
	Audience []string `json:"audience,omitempty"`
	Issuer   string   `json:"issuer,omitempty"`
}

// Authorizer is a JWT or REQUEST authorizer.
type Authorizer struct {
	AuthorizerID                   string            `json:"authorizerId"`
	AuthorizerPayloadFormatVersion string            `json:"authorizerPayloadFormatVersion,omitempty"`
	AuthorizerResultTTLInSeconds   int               `json:"authorizerResultTtlInSeconds,omitempty"`
	AuthorizerType                 string            `json:"authorizerType"`
	AuthorizerURI                  string            `json:"authorizerUri,omitempty"`
	EnableSimpleResponses          bool              `json:"enableSimpleResponses,omitempty"`
	IdentitySource                 []string          `json:"identitySource,omitempty"`
	JWTConfiguration               *JWTConfiguration `json:"jwtConfiguration,omitempty"`
	Name                           string            `json:"name"`
}

// epoch is a time the REST API (v1) writes as seconds since 1970, the
// form of its "Timestamp" shape in JSON.
type epoch time.Time

func (e epoch) MarshalJSON() ([]byte, error) {
	return strconv.AppendInt(nil, time.Time(e).Unix(), 10), nil
}

func (e *epoch) UnmarshalJSON(b []byte) error {
	n, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return fmt.Errorf("timestamp: %w", err)
	}
	*e = epoch(time.Unix(int64(n), 0).UTC())
	return nil
}

// APIKey is a REST API (v1) API key.
type APIKey struct {
	CreatedDate     epoch             `json:"createdDate"`
	CustomerID      string            `json:"customerId,omitempty"`
	Description     string            `json:"description,omitempty"`
	Enabled         bool              `json:"enabled"`
	ID              string            `json:"id"`
	LastUpdatedDate epoch             `json:"lastUpdatedDate"`
	Name            string            `json:"name"`
	StageKeys       []string          `json:"stageKeys,omitempty"`
	Tags            map[string]string `json:"tags,omitempty"`
	Value           string            `json:"value,omitempty"`
}

// ThrottleSettings are a plan's rate and burst.
type ThrottleSettings struct {
	BurstLimit int     `json:"burstLimit"`
	RateLimit  float64 `json:"rateLimit"`
}

// QuotaSettings are a plan's request quota.
type QuotaSettings struct {
	Limit  int64  `json:"limit"`
	Offset int    `json:"offset"`
	Period string `json:"period"`
}

// APIStage is an API and stage a plan covers.
type APIStage struct {
	APIID string `json:"apiId"`
	Stage string `json:"stage"`
}

// UsagePlan is a REST API (v1) usage plan; Keys are its API keys' ids
// (usage-plan-keys), kept in the state file but not in answers.
type UsagePlan struct {
	APIStages   []APIStage        `json:"apiStages,omitempty"`
	Description string            `json:"description,omitempty"`
	ID          string            `json:"id"`
	Name        string            `json:"name"`
	Quota       *QuotaSettings    `json:"quota,omitempty"`
	Tags        map[string]string `json:"tags,omitempty"`
	Throttle    *ThrottleSettings `json:"throttle,omitempty"`
	Keys        []string          `json:"keys,omitempty"`
}
