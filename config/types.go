package config

import "time"

// Config is the whole frontdesk.yaml file, as written by the user. The
// gateway compiles it once into plain structs (see package gateway); nothing
// on the request path reads these types.
type Config struct {
	Server     Server               `yaml:"server"`
	Admin      Admin                `yaml:"admin"`
	AccessLog  AccessLog            `yaml:"access_log"`
	Cache      Cache                `yaml:"cache"`
	Upstream   Upstream             `yaml:"upstream"`
	Cluster    Cluster              `yaml:"cluster"`
	Functions  map[string]Function  `yaml:"functions"`
	APIKeys    []APIKey             `yaml:"api_keys"`
	UsagePlans map[string]UsagePlan `yaml:"usage_plans"`
	APIs       map[string]*API      `yaml:"apis"`
	Tracing    Tracing              `yaml:"tracing"`

	// File is the path the config was read from; Lines maps a key path
	// ("apis.petstore.routes.GET /pets.integration") to its line, so that
	// later checks can name file:line.
	File  string         `yaml:"-"`
	Lines map[string]int `yaml:"-"`
}

// Server is the data-plane listener.
type Server struct {
	Listen         string   `yaml:"listen"`
	TLS            *TLS     `yaml:"tls"`
	ReadTimeout    Duration `yaml:"read_timeout"`
	WriteTimeout   Duration `yaml:"write_timeout"`
	IdleTimeout    Duration `yaml:"idle_timeout"`
	MaxHeaderBytes int      `yaml:"max_header_bytes"`
	MaxBodyBytes   Size     `yaml:"max_body_bytes"`
	MaxConns       int      `yaml:"max_conns"`
	// SendTimeout is the longest one write to a client may wait for the
	// client to read (added; like nginx's send_timeout).
	SendTimeout Duration `yaml:"send_timeout"`
	// MaxInflightBodyBytes bounds the request body bytes held by all
	// requests at once (added).
	MaxInflightBodyBytes Size     `yaml:"max_inflight_body_bytes"`
	TrustedProxies       []string `yaml:"trusted_proxies"`
	ShutdownGrace        Duration `yaml:"shutdown_grace"`
	// RateLimitHeaders adds RateLimit-Limit/-Remaining/-Reset and
	// Retry-After to 429 answers (added; default true).
	RateLimitHeaders *bool `yaml:"rate_limit_headers"`
	// UnderscoresInHeaders keeps request header names that contain '_'
	// (added; default false: they are dropped, as nginx does, so that a
	// backend folding '-' and '_' together cannot read a client's
	// X_User_Sub as a header the gateway set).
	UnderscoresInHeaders *bool `yaml:"underscores_in_headers"`
	// ServerHeader is the Server header sent on every answer (added;
	// default empty: none, as API Gateway sends none).
	ServerHeader string `yaml:"server_header"`
	// LocalTLS is a second listener, HTTPS with a certificate from
	// frontdesk's local CA, for local functions that call back into the
	// gateway over https:// (added; absent: none).
	LocalTLS *LocalTLS `yaml:"local_tls"`
}

// LocalTLS is server.local_tls (added).
type LocalTLS struct {
	// Listen is the HTTPS listener's host:port.
	Listen string `yaml:"listen"`
	// StateDir keeps the local CA (default: $XDG_STATE_HOME/frontdesk,
	// else ~/.local/state/frontdesk).
	StateDir string `yaml:"state_dir"`
}

// TLS holds one certificate, or several chosen by SNI.
type TLS struct {
	Cert  string    `yaml:"cert"`
	Key   string    `yaml:"key"`
	Certs []TLSCert `yaml:"certs"`
}

// TLSCert is one PEM certificate/key pair.
type TLSCert struct {
	Cert string `yaml:"cert"`
	Key  string `yaml:"key"`
}

// Admin is the management listener.
type Admin struct {
	Listen string `yaml:"listen"`
	Token  string `yaml:"token"`
	// Bounds of the admin listener (added): reading a request, writing
	// an answer, a kept-alive connection's idle time, connections served
	// at once (defaults 10s, 30s, 60s, 256).
	ReadTimeout  Duration `yaml:"read_timeout"`
	WriteTimeout Duration `yaml:"write_timeout"`
	IdleTimeout  Duration `yaml:"idle_timeout"`
	MaxConns     int      `yaml:"max_conns"`
	// Credentials are the access key pairs whose SigV4 signatures the
	// control plane accepts (added); none: loopback callers only.
	Credentials []Credential `yaml:"credentials"`
	// StateFile is where the control plane keeps what it created
	// (added; default <config name>.state.json beside the config file).
	StateFile string `yaml:"state_file"`
}

// AccessLog says where and how requests are logged.
type AccessLog struct {
	Output string          `yaml:"output"`
	Format AccessLogFormat `yaml:"format"`
}

// Cache is the shared response cache.
type Cache struct {
	MaxSize Size `yaml:"max_size"`
	// MaxItemSize is the largest cached response (added; default 1MiB).
	MaxItemSize Size `yaml:"max_item_size"`
	// MaxWait bounds how long concurrent misses wait for the one request
	// that fetches (added; default 5s).
	MaxWait Duration `yaml:"max_wait"`
	// XCacheHeader adds "X-Cache: Hit|Miss" to cached routes' answers
	// (added; default true).
	XCacheHeader *bool `yaml:"x_cache_header"`

	// maxSizeDefaulted says MaxSize is the default, not the file's:
	// max_item_size is checked against a max_size the file sets only.
	maxSizeDefaulted bool
}

// Upstream tunes the request path toward http_proxy origins: the
// keep-alive pools and what one client may hold of them (added).
type Upstream struct {
	// MaxConnsPerOrigin bounds the open connections to one origin
	// (default 1024).
	MaxConnsPerOrigin int `yaml:"max_conns_per_origin"`
	// IdleTimeout closes connections idle for longer (default 4s, below
	// common upstream keep-alives).
	IdleTimeout Duration `yaml:"idle_timeout"`
	// BufferResponses: bodies with a known length up to it are read whole
	// and the connection freed before the client reads (default 1MiB).
	BufferResponses Size `yaml:"buffer_responses"`
	// MaxBufferedBytes bounds the bytes of such bodies waiting to be
	// written, over all origins (default 64MiB); past it they stream.
	MaxBufferedBytes Size `yaml:"max_buffered_bytes"`
	// MaxStreamsPerClient bounds the streamed (large or unsized) upstream
	// responses one client address holds open at once, so that clients
	// that read slowly cannot hold every connection to an origin (added;
	// default 64; 0: no cap).
	MaxStreamsPerClient *int `yaml:"max_streams_per_client"`
}

// Cluster is the optional shared state store: with Redis set, instances
// share throttles, quotas, WebSocket connections and cache invalidations.
type Cluster struct {
	// Redis is one URL (redis://, rediss://, redis-sentinel://) or a list
	// of Redis Cluster seed addresses (host:port or redis:// URLs).
	Redis StrList `yaml:"redis"`
	// Username and Password authenticate (added); ${ENV} keeps the
	// password out of the file. They override the URL's user info.
	Username string `yaml:"username"`
	Password string `yaml:"password"`
	// InstanceID names this instance to the others (added; default
	// hostname-pid).
	InstanceID string `yaml:"instance_id"`
	// SyncInterval is how often shared state is reconciled (added;
	// default 100ms).
	SyncInterval Duration `yaml:"sync_interval"`
	// OnRedisDown says what each kind of shared state does while Redis
	// cannot be reached (added).
	OnRedisDown ClusterOnDown `yaml:"on_redis_down"`
}

// Enabled reports whether cluster mode is on.
// An empty string (the reference example's redis: "") is off.
func (c *Cluster) Enabled() bool { return len(c.Redis) > 1 || len(c.Redis) == 1 && c.Redis[0] != "" }

// ClusterOnDown is the per-kind policy while Redis is unreachable.
type ClusterOnDown struct {
	// Throttles: fail_open (default: local limits divided by the last
	// known instance count) or fail_closed (429 Too Many Requests).
	Throttles string `yaml:"throttles"`
	// Quotas: fail_closed (default: 429 Limit Exceeded once the units
	// reserved before the outage are spent) or fail_open (count locally,
	// reconcile when Redis is back).
	Quotas string `yaml:"quotas"`
}

// Policies for cluster.on_redis_down.
const (
	FailOpen   = "fail_open"
	FailClosed = "fail_closed"
)

// Cluster bounds and defaults.
const (
	DefaultSyncInterval = 100 * time.Millisecond
	MinSyncInterval     = 10 * time.Millisecond
	MaxSyncInterval     = 10 * time.Second
)

// Function is a Lambda function: run locally (Command) or remote (InvokeURL).
type Function struct {
	Command      []string          `yaml:"command"`
	Env          map[string]string `yaml:"env"`
	Concurrency  int               `yaml:"concurrency"`
	Timeout      Duration          `yaml:"timeout"`
	InvokeURL    string            `yaml:"invoke_url"`
	FunctionName string            `yaml:"function_name"`
	Region       string            `yaml:"region"`

	// SAM's vocabulary for a local function (added): instead of command,
	// runtime and handler say what to run, in code_uri (docs/functions.md).
	Runtime Runtime `yaml:"runtime"`
	Handler string  `yaml:"handler"`
	// CodeURI is the function's code directory: the instances' working
	// directory and LAMBDA_TASK_ROOT, relative to frontdesk's working
	// directory. With command it is optional (default: frontdesk's).
	CodeURI string `yaml:"code_uri"`
	// Environment is SAM's name for env; the two are merged, and a
	// variable set in both is an error.
	Environment map[string]string `yaml:"environment"`
	// RuntimeClient picks the runtime loop of python3.x and nodejs*
	// functions: bundled (default) or official (awslambdaric,
	// aws-lambda-ric, installed by the user).
	RuntimeClient RuntimeClient `yaml:"runtime_client"`
	// MemorySize is SAM's MemorySize in MB, reported to local functions
	// (AWS_LAMBDA_FUNCTION_MEMORY_SIZE, the context), not enforced.
	MemorySize int `yaml:"memory_size"`
}

// APIKey is one x-api-key value bound to a usage plan.
type APIKey struct {
	Name    string `yaml:"name"`
	Value   string `yaml:"value"`
	Plan    string `yaml:"plan"`
	Enabled *bool  `yaml:"enabled"`
}

// UsagePlan groups throttle and quota limits for API keys.
type UsagePlan struct {
	Throttle *Throttle `yaml:"throttle"`
	Quota    *Quota    `yaml:"quota"`
	APIs     []string  `yaml:"apis"`
	// Routes are per key and route throttles (added), keyed
	// "API ROUTEKEY", e.g. "petstore GET /pets".
	Routes map[string]Throttle `yaml:"routes"`
}

// Throttle is a token bucket: Rate per second, Burst capacity.
type Throttle struct {
	Rate  float64     `yaml:"rate"`
	Burst int         `yaml:"burst"`
	Per   ThrottlePer `yaml:"per"`
}

// Quota is a request budget per period.
type Quota struct {
	Limit  int64       `yaml:"limit"`
	Period QuotaPeriod `yaml:"period"`
}

// API is one HTTP, REST or WebSocket API.
type API struct {
	Type            APIType                 `yaml:"type"`
	Hosts           []string                `yaml:"hosts"`
	BasePath        string                  `yaml:"base_path"`
	Stages          map[string]Stage        `yaml:"stages"`
	CORS            *CORS                   `yaml:"cors"`
	Authorizers     map[string]Authorizer   `yaml:"authorizers"`
	Integrations    map[string]*Integration `yaml:"integrations"`
	Routes          map[string]*Route       `yaml:"routes"`
	RouteSelection  string                  `yaml:"route_selection"`
	IdleTimeout     Duration                `yaml:"idle_timeout"`
	MaxMessageBytes Size                    `yaml:"max_message_bytes"`
	Management      *Management             `yaml:"management"`
	// BackendMaxConns bounds the connections a WebSocket API opens to
	// each of its HTTP backends' hosts (added).
	BackendMaxConns int `yaml:"backend_max_conns"`
	// DisconnectQueue bounds the $disconnect events of a WebSocket API
	// waiting for its backend (added).
	DisconnectQueue int `yaml:"disconnect_queue"`

	// Request validation (REST; see transform.go): the API's validators
	// by name, the one its routes use unless they name another, and its
	// models (JSON Schema draft 4) by name.
	RequestValidators map[string]RequestValidator `yaml:"request_validators"`
	RequestValidator  string                      `yaml:"request_validator"`
	Models            map[string]*Model           `yaml:"models"`
	// BinaryMediaTypes are a REST API's binary media types, as
	// x-amazon-apigateway-binary-media-types (added).
	BinaryMediaTypes []string `yaml:"binary_media_types"`
	// GatewayResponses customise a REST API's own responses by type
	// (DEFAULT_4XX, MISSING_AUTHENTICATION_TOKEN, ...) (added).
	GatewayResponses map[string]*GatewayResponse `yaml:"gateway_responses"`
}

// Stage is a named deployment of an API.
type Stage struct {
	Variables map[string]string `yaml:"variables"`
	Throttle  *Throttle         `yaml:"throttle"`
}

// CORS is the HTTP API CORS configuration.
type CORS struct {
	AllowOrigins     []string `yaml:"allow_origins"`
	AllowMethods     []string `yaml:"allow_methods"`
	AllowHeaders     []string `yaml:"allow_headers"`
	ExposeHeaders    []string `yaml:"expose_headers"`
	MaxAge           int      `yaml:"max_age"`
	AllowCredentials bool     `yaml:"allow_credentials"`
}

// Authorizer is a JWT or Lambda authorizer.
type Authorizer struct {
	Type           AuthorizerType `yaml:"type"`
	Issuer         string         `yaml:"issuer"`
	Audience       []string       `yaml:"audience"`
	JWKSURL        string         `yaml:"jwks_url"`
	IdentitySource StrList        `yaml:"identity_source"`
	Function       string         `yaml:"function"`
	URL            string         `yaml:"url"`
	TTL            Duration       `yaml:"ttl"`
	PayloadFormat  PayloadFormat  `yaml:"payload_format"`
	// SimpleResponses: a 2.0 authorizer answers {"isAuthorized":...}
	// (added; default true), else an IAM policy.
	SimpleResponses *bool `yaml:"simple_responses"`
	// Timeout bounds one authorizer call (added; default 10s, as AWS).
	Timeout Duration `yaml:"timeout"`
	// ClaimsToHeaders passes JWT claims to HTTP backends as request
	// headers (added): {sub: X-User-Id}. A client-sent header of that
	// name is always replaced.
	ClaimsToHeaders map[string]string `yaml:"claims_to_headers"`
	// JWKSMinRefetch is the least time between two key-set fetches
	// caused by unknown key ids (added; default 10s), so tokens with
	// invented kids cannot hammer the identity provider.
	JWKSMinRefetch Duration `yaml:"jwks_min_refetch"`
}

// Integration is a backend: http_proxy, mock, lambda (and http for WebSocket).
type Integration struct {
	Type          IntegrationType   `yaml:"type"`
	URL           string            `yaml:"url"`
	Targets       []string          `yaml:"targets"`
	Balance       BalancePolicy     `yaml:"balance"`
	Timeout       Duration          `yaml:"timeout"`
	Retries       int               `yaml:"retries"`
	HealthCheck   *HealthCheck      `yaml:"health_check"`
	Function      string            `yaml:"function"`
	PayloadFormat PayloadFormat     `yaml:"payload_format"`
	Status        int               `yaml:"status"`
	Headers       map[string]string `yaml:"headers"`
	Body          string            `yaml:"body"`

	// Parameter mapping (HTTP APIs; see transform.go): "append:header.x"
	// style keys to values, and per status code for responses.
	RequestParameters  map[string]string            `yaml:"request_parameters"`
	ResponseParameters map[string]map[string]string `yaml:"response_parameters"`
	// REST non-proxy integrations and mapping templates (added;
	// docs/transform.md): type http, lambda with proxy: false, and mock.
	// Method is a type http integration's upstream method (default: the
	// request's).
	Method string `yaml:"method"`
	// Proxy false makes a lambda integration a custom (non-proxy) one:
	// the request template's output is the event (default true).
	Proxy *bool `yaml:"proxy"`
	// RequestTemplates are VTL templates by request Content-Type.
	RequestTemplates map[string]string `yaml:"request_templates"`
	// PassthroughBehavior decides what a request whose Content-Type has
	// no template does (default when_no_match).
	PassthroughBehavior PassthroughBehavior `yaml:"passthrough_behavior"`
	// Responses are the integration responses, tried in order; the one
	// without selection_pattern is the default.
	Responses []IntegrationResponse `yaml:"responses"`
	// ContentHandling converts the integration request body between
	// binary and base64 text, by the API's binary_media_types (default:
	// none, the body goes as it is).
	ContentHandling ContentHandling `yaml:"content_handling"`
	// TemplateSelectionExpression picks a WebSocket integration's request
	// template by key: "\$default" or $request.body.PATH (default
	// "\$default").
	TemplateSelectionExpression string `yaml:"template_selection_expression"`
}

// IntegrationResponse maps a backend's answer to the client's (added).
type IntegrationResponse struct {
	// SelectionPattern is a regular expression matched against the
	// whole status code (http, mock) or error message (lambda); "" is
	// the default response.
	SelectionPattern string `yaml:"selection_pattern"`
	// Status is the status sent to the client (default 200).
	Status int `yaml:"status"`
	// ResponseParameters set response headers:
	// method.response.header.NAME: "'static'" | integration.response.header.NAME | integration.response.body
	ResponseParameters map[string]string `yaml:"response_parameters"`
	// ResponseTemplates are VTL templates by response content type.
	ResponseTemplates map[string]string `yaml:"response_templates"`
	// ContentHandling converts the backend's body between binary and
	// base64 text for the client (default: none).
	ContentHandling ContentHandling `yaml:"content_handling"`
}

// GatewayResponse customises one type of the responses frontdesk makes
// itself on a REST API (added; docs/transform.md).
type GatewayResponse struct {
	// Status replaces the status (0: the default one).
	Status int `yaml:"status"`
	// ResponseParameters set headers: gatewayresponse.header.NAME:
	// "'static'" | method.request.header.X | method.request.querystring.X
	// | method.request.path.X | stageVariables.X | context.X
	ResponseParameters map[string]string `yaml:"response_parameters"`
	// ResponseTemplates are VTL body templates by content type.
	ResponseTemplates map[string]string `yaml:"response_templates"`
}

// HealthCheck is an active upstream health check.
type HealthCheck struct {
	Path     string   `yaml:"path"`
	Interval Duration `yaml:"interval"`
}

// Route binds a route key to an integration and per-route policy.
type Route struct {
	Integration string      `yaml:"integration"`
	Cache       *RouteCache `yaml:"cache"`
	Throttle    *Throttle   `yaml:"throttle"`
	APIKey      bool        `yaml:"api_key"`
	Authorizer  string      `yaml:"authorizer"`
	Scopes      []string    `yaml:"scopes"`
	Reply       bool        `yaml:"reply"`

	// Request validation (REST; see transform.go): the validator to run
	// (default: the API's request_validator), the model per content type,
	// and the request parameters, "method.request.querystring.q": true
	// when required.
	RequestValidator  string            `yaml:"request_validator"`
	RequestModels     map[string]string `yaml:"request_models"`
	RequestParameters map[string]bool   `yaml:"request_parameters"`
}

// RouteCache is a route's response cache policy.
type RouteCache struct {
	// TTL is how long an entry is fresh (default 300s as AWS; 0 disables).
	TTL        *Duration       `yaml:"ttl"`
	Key        []string        `yaml:"key"`
	Invalidate CacheInvalidate `yaml:"invalidate"`
	// Statuses are the cacheable statuses (added; default [200]).
	Statuses []int `yaml:"statuses"`
	// StaleWhileRevalidate serves an expired entry this long past its TTL
	// while one request refreshes it (added; default off, at most 1h).
	StaleWhileRevalidate Duration `yaml:"stale_while_revalidate"`
}

// Management configures a WebSocket API's @connections endpoint.
type Management struct {
	Credentials []Credential `yaml:"credentials"`
}

// Credential is an access key pair accepted for SigV4.
type Credential struct {
	AccessKeyID     string `yaml:"access_key_id"`
	SecretAccessKey string `yaml:"secret_access_key"`
}

// Tracing sends request traces to an OpenTelemetry collector over
// OTLP/HTTP (docs/observability.md). Off while OTLPEndpoint is empty.
type Tracing struct {
	// OTLPEndpoint is the collector's http(s) URL; without a path,
	// /v1/traces is used.
	OTLPEndpoint string `yaml:"otlp_endpoint"`
	// SampleRatio is the share of new traces recorded, 0 to 1 (default
	// DefaultTraceSampleRatio); 0 records none.
	SampleRatio *float64 `yaml:"sample_ratio"`
	// ServiceName is the spans' service.name (default "frontdesk").
	ServiceName string `yaml:"service_name"`
	// Headers go with every export (a collector's API key); masked in
	// the effective config.
	Headers map[string]string `yaml:"headers"`
}
