package config

import (
	"strings"

	"github.com/frontdeskgw/frontdesk/lambda/host"
)

// The closed sets of values some keys take. Each is a named string type,
// so YAML decodes it as a string and the compiler, not a typo, decides
// which values the code can compare against.

// APIType is apis.NAME.type: it decides what an API serves and its error
// dialect.
type APIType string

// API types.
const (
	APIHTTP      APIType = "http"
	APIREST      APIType = "rest"
	APIWebSocket APIType = "websocket"
)

// IntegrationType is integrations.NAME.type.
type IntegrationType string

// Integration types: http_proxy, mock and lambda serve HTTP and REST
// APIs; http serves REST APIs (the non-proxy HTTP integration, with
// mapping templates) and, with lambda, WebSocket APIs.
const (
	IntegrationHTTPProxy IntegrationType = "http_proxy"
	IntegrationMock      IntegrationType = "mock"
	IntegrationLambda    IntegrationType = "lambda"
	IntegrationHTTP      IntegrationType = "http"
)

// AuthorizerType is authorizers.NAME.type.
type AuthorizerType string

// Authorizer types: JWT verification, and REQUEST authorizers answered by
// a function or by an HTTP endpoint.
const (
	AuthorizerJWT    AuthorizerType = "jwt"
	AuthorizerLambda AuthorizerType = "lambda"
	AuthorizerHTTP   AuthorizerType = "http"
)

// PayloadFormat is the Lambda event format of an integration or an
// authorizer.
type PayloadFormat string

// Payload formats.
const (
	PayloadV1 PayloadFormat = "1.0"
	PayloadV2 PayloadFormat = "2.0"
)

// BalancePolicy is an http_proxy integration's balance.
type BalancePolicy string

// Balance policies.
const (
	BalanceRoundRobin BalancePolicy = "round_robin"
	BalanceLeastConn  BalancePolicy = "least_conn"
)

// CacheInvalidate is a route cache's invalidate: who may refresh an entry
// with Cache-Control: max-age=0.
type CacheInvalidate string

// Cache invalidation policies.
const (
	InvalidateAuthorized CacheInvalidate = "authorized"
	InvalidateAnyone     CacheInvalidate = "anyone"
	InvalidateIgnore     CacheInvalidate = "ignore"
)

// ThrottlePer is a route throttle's per: route, client_ip or
// header.<name>.
type ThrottlePer string

// Throttle keys; a per-header throttle is PerHeaderPrefix followed by the
// header's name.
const (
	PerRoute        ThrottlePer = "route"
	PerClientIP     ThrottlePer = "client_ip"
	PerHeaderPrefix             = "header."
)

// Header returns the header a header.<name> throttle is keyed by; ok is
// false for any other per.
func (p ThrottlePer) Header() (name string, ok bool) {
	return strings.CutPrefix(string(p), PerHeaderPrefix)
}

// QuotaPeriod is a usage plan quota's period.
type QuotaPeriod string

// Quota periods.
const (
	PeriodDay   QuotaPeriod = "day"
	PeriodWeek  QuotaPeriod = "week"
	PeriodMonth QuotaPeriod = "month"
)

// AccessLogFormat is access_log.format.
type AccessLogFormat string

// Access log formats.
const (
	AccessLogJSON AccessLogFormat = "json"
	AccessLogCLF  AccessLogFormat = "clf"
)

// Runtime is functions.NAME.runtime, in SAM's spelling: python3.x,
// nodejsN.x, provided.al2, provided.al2023, go1.x.
type Runtime string

// Runtime families, told apart by Family.
const (
	RuntimeFamilyPython   = "python"
	RuntimeFamilyNode     = "nodejs"
	RuntimeFamilyProvided = "provided"
)

// Family is the runtime's family (RuntimeFamilyPython, RuntimeFamilyNode,
// RuntimeFamilyProvided; go1.x runs like provided) or "" when frontdesk
// does not run it: the function host decides.
func (r Runtime) Family() string { return host.RuntimeFamily(string(r)) }

// RuntimeClient is functions.NAME.runtime_client.
type RuntimeClient string

// Runtime clients: the loop frontdesk ships, or the official runtime
// interface client the user installed.
const (
	RuntimeClientBundled  RuntimeClient = "bundled"
	RuntimeClientOfficial RuntimeClient = "official"
)

// PassthroughBehavior is a non-proxy integration's passthrough_behavior:
// what a request whose Content-Type has no template does.
type PassthroughBehavior string

// Passthrough behaviors, as API Gateway's WHEN_NO_MATCH (the body goes
// through unchanged), WHEN_NO_TEMPLATES (it does only when the
// integration has no template at all, else 415) and NEVER (415).
const (
	PassthroughWhenNoMatch     PassthroughBehavior = "when_no_match"
	PassthroughWhenNoTemplates PassthroughBehavior = "when_no_templates"
	PassthroughNever           PassthroughBehavior = "never"
)
