package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/frontdeskgw/frontdesk/auth/jwtauth"
	"github.com/frontdeskgw/frontdesk/auth/lambdaauth"
	"github.com/frontdeskgw/frontdesk/cache"
	"github.com/frontdeskgw/frontdesk/lambda/host"
	"github.com/frontdeskgw/frontdesk/lambda/invoke"
	"github.com/frontdeskgw/frontdesk/wsbridge"
)

// Defaults, also written in docs/config.md.
const (
	DefaultListen               = "127.0.0.1:8080"
	DefaultReadTimeout          = 30 * time.Second
	DefaultIdleTimeout          = 60 * time.Second
	DefaultMaxHeaderBytes       = 10240
	DefaultMaxBodyBytes         = 10 << 20
	DefaultSendTimeout          = 60 * time.Second
	DefaultMaxInflightBodyBytes = 256 << 20
	DefaultShutdownGrace        = 15 * time.Second
	DefaultHTTPTimeout          = 30 * time.Second // HTTP API integration timeout (AWS)
	DefaultRESTTimeout          = 29 * time.Second // REST API integration timeout (AWS)
	DefaultStage                = "$default"
	DefaultHealthInterval       = 5 * time.Second
	DefaultCacheTTL             = 300 * time.Second // AWS's default cache TTL
	DefaultCacheMaxSize         = 256 << 20
	DefaultMockStatus           = 200

	// upstream.*: the same as package upstream's defaults.
	DefaultUpstreamMaxConns    = 1024
	DefaultUpstreamIdleTimeout = 4 * time.Second
	DefaultUpstreamBuffer      = 1 << 20
	DefaultUpstreamMaxBuffered = 64 << 20
	// DefaultMaxStreamsPerClient is upstream.max_streams_per_client's
	// default; MaxStreamsPerClient is its bound.
	DefaultMaxStreamsPerClient = 64
	MaxStreamsPerClient        = 1 << 16
	// admin.*: the admin listener's bounds.
	DefaultAdminReadTimeout  = 10 * time.Second
	DefaultAdminWriteTimeout = 30 * time.Second
	DefaultAdminIdleTimeout  = 60 * time.Second
	DefaultAdminMaxConns     = 256
	// WebSocket APIs (added keys).
	DefaultBackendMaxConns = 1024
	MaxBackendMaxConns     = 65536
	DefaultDisconnectQueue = 10000
	MaxDisconnectQueue     = 1000000
)

// DefaultPayloadFormat is the Lambda payload format of an API's
// integrations and REQUEST authorizers that name none: 1.0 for REST APIs
// and for WebSocket APIs (whose authorizers hand their context on in the
// REST form), 2.0 for HTTP APIs.
func DefaultPayloadFormat(t APIType) PayloadFormat {
	if t == APIHTTP {
		return PayloadV2
	}
	return PayloadV1
}

// applyDefaults gives every key left out (or set to its zero value where
// that means "the default") its default value, in one pass before
// validation, so that validation checks the values that will be used and
// whatever compiles the config reads plain values. Pointer fields, whose
// unset state differs from their zero value, are never nil afterwards.
//
// Defaults of keys that a library's option carries (functions'
// concurrency and timeout, WebSocket idle time and message size,
// authorizer timeouts, jwks_min_refetch, cache.max_wait) are the library's
// own constants, resolved here too. Two are left to their package:
// cache.max_item_size, which the cache lowers to fit a small cache only
// when it is not set, and a cached route's statuses ([200]), which the
// pipeline step applies.
func applyDefaults(c *Config) {
	defaultServer(&c.Server)
	defaultUpstream(&c.Upstream)
	defaultAdmin(&c.Admin)
	defaultTracing(&c.Tracing)
	if c.Admin.StateFile == "" && c.File != "" {
		c.Admin.StateFile = DefaultStateFile(c.File)
	}
	defaultCluster(&c.Cluster)
	if c.AccessLog.Format == "" {
		c.AccessLog.Format = AccessLogJSON
	}
	if c.Cache.MaxSize == 0 {
		c.Cache.MaxSize = DefaultCacheMaxSize
		c.Cache.maxSizeDefaulted = true
	}
	if c.Cache.XCacheHeader == nil {
		c.Cache.XCacheHeader = new(true)
	}
	if c.Cache.MaxWait == 0 {
		c.Cache.MaxWait = Duration(cache.DefaultMaxWait)
	}
	for name, f := range c.Functions {
		if f.InvokeURL != "" && f.FunctionName == "" {
			f.FunctionName = name
		}
		if f.RuntimeClient == "" {
			f.RuntimeClient = RuntimeClientBundled
		}
		if f.MemorySize == 0 {
			f.MemorySize = host.DefaultMemorySize
		}
		if len(f.Command) > 0 || f.Runtime != "" {
			if f.Concurrency == 0 {
				f.Concurrency = host.DefaultConcurrency
			}
			if f.Timeout == 0 {
				f.Timeout = Duration(host.DefaultTimeout)
			}
		} else if f.Timeout == 0 {
			f.Timeout = Duration(invoke.DefaultTimeout)
		}
		c.Functions[name] = f
	}
	for i := range c.APIKeys {
		if c.APIKeys[i].Enabled == nil {
			c.APIKeys[i].Enabled = new(true)
		}
	}
	for _, a := range c.APIs {
		if a != nil {
			defaultAPI(a)
		}
	}
}

func defaultServer(s *Server) {
	if s.Listen == "" {
		s.Listen = DefaultListen
	}
	if s.ReadTimeout == 0 {
		s.ReadTimeout = Duration(DefaultReadTimeout)
	}
	if s.IdleTimeout == 0 {
		s.IdleTimeout = Duration(DefaultIdleTimeout)
	}
	if s.MaxHeaderBytes == 0 {
		s.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	if s.MaxBodyBytes == 0 {
		s.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if s.ShutdownGrace == 0 {
		s.ShutdownGrace = Duration(DefaultShutdownGrace)
	}
	if s.SendTimeout == 0 {
		s.SendTimeout = Duration(DefaultSendTimeout)
	}
	if s.MaxInflightBodyBytes == 0 {
		s.MaxInflightBodyBytes = max(DefaultMaxInflightBodyBytes, s.MaxBodyBytes)
	}
	if s.RateLimitHeaders == nil {
		s.RateLimitHeaders = new(true)
	}
	if s.UnderscoresInHeaders == nil {
		s.UnderscoresInHeaders = new(false)
	}
}

func defaultUpstream(u *Upstream) {
	if u.MaxConnsPerOrigin == 0 {
		u.MaxConnsPerOrigin = DefaultUpstreamMaxConns
	}
	if u.IdleTimeout == 0 {
		u.IdleTimeout = Duration(DefaultUpstreamIdleTimeout)
	}
	if u.BufferResponses == 0 {
		u.BufferResponses = DefaultUpstreamBuffer
	}
	if u.MaxBufferedBytes == 0 {
		u.MaxBufferedBytes = DefaultUpstreamMaxBuffered
	}
	if u.MaxStreamsPerClient == nil {
		u.MaxStreamsPerClient = new(DefaultMaxStreamsPerClient)
	}
}

func defaultAPI(a *API) {
	if a.Type == "" {
		a.Type = APIHTTP
	}
	if a.BasePath == "" {
		a.BasePath = "/"
	}
	if a.Type == APIWebSocket {
		if a.BackendMaxConns == 0 {
			a.BackendMaxConns = DefaultBackendMaxConns
		}
		if a.DisconnectQueue == 0 {
			a.DisconnectQueue = DefaultDisconnectQueue
		}
		if a.IdleTimeout == 0 {
			a.IdleTimeout = Duration(wsbridge.DefaultIdleTimeout)
		}
		if a.MaxMessageBytes == 0 {
			a.MaxMessageBytes = wsbridge.DefaultMaxMessageBytes
		}
	}
	format := DefaultPayloadFormat(a.Type)
	for name, au := range a.Authorizers {
		if au.Type == AuthorizerJWT && au.JWKSMinRefetch == 0 {
			au.JWKSMinRefetch = Duration(jwtauth.DefaultRefetchInterval)
			a.Authorizers[name] = au
		}
		if au.Type != AuthorizerLambda && au.Type != AuthorizerHTTP {
			continue
		}
		if au.Timeout == 0 {
			au.Timeout = Duration(lambdaauth.DefaultTimeout)
		}
		if au.PayloadFormat == "" {
			au.PayloadFormat = format
		}
		if au.SimpleResponses == nil {
			// Simple responses are a 2.0 form; 1.0 authorizers answer
			// with an IAM policy.
			au.SimpleResponses = new(au.PayloadFormat == PayloadV2)
		}
		a.Authorizers[name] = au
	}
	for _, in := range a.Integrations {
		if in != nil {
			defaultIntegration(a, in, format)
		}
	}
	if a.Type == APIWebSocket {
		return // WebSocket routes take neither cache nor throttle
	}
	for _, r := range a.Routes {
		if r == nil {
			continue
		}
		if t := r.Throttle; t != nil && t.Per == "" {
			t.Per = PerRoute
		}
		if rc := r.Cache; rc != nil {
			if rc.TTL == nil {
				rc.TTL = new(Duration(DefaultCacheTTL))
			}
			if rc.Invalidate == "" {
				rc.Invalidate = InvalidateAuthorized
			}
		}
	}
}

// defaultIntegration fills in an integration of API a; format is the API's
// payload format.
func defaultIntegration(a *API, in *Integration, format PayloadFormat) {
	if in.Timeout == 0 {
		in.Timeout = Duration(DefaultHTTPTimeout)
		if a.Type == APIREST {
			in.Timeout = Duration(DefaultRESTTimeout)
		}
	}
	if in.Type == IntegrationMock && in.Status == 0 {
		in.Status = DefaultMockStatus
	}
	defaultTransform(in)
	if a.Type == APIWebSocket && len(in.RequestTemplates) > 0 && in.TemplateSelectionExpression == "" {
		in.TemplateSelectionExpression = DefaultTemplateSelectionExpression
	}
	if a.Type == APIWebSocket {
		return
	}
	// Set on every integration: besides the form of a Lambda event, it is
	// the form in which a REST route's authorizer hands its context on.
	if in.PayloadFormat == "" {
		in.PayloadFormat = format
	}
	if in.Type == IntegrationHTTPProxy || in.Type == IntegrationHTTP && a.Type == APIREST {
		if in.Balance == "" {
			in.Balance = BalanceRoundRobin
		}
		if hc := in.HealthCheck; hc != nil && hc.Interval == 0 {
			hc.Interval = Duration(DefaultHealthInterval)
		}
	}
}

func defaultAdmin(a *Admin) {
	if a.ReadTimeout == 0 {
		a.ReadTimeout = Duration(DefaultAdminReadTimeout)
	}
	if a.WriteTimeout == 0 {
		a.WriteTimeout = Duration(DefaultAdminWriteTimeout)
	}
	if a.IdleTimeout == 0 {
		a.IdleTimeout = Duration(DefaultAdminIdleTimeout)
	}
	if a.MaxConns == 0 {
		a.MaxConns = DefaultAdminMaxConns
	}
}

// Defaults of the tracing section.
const (
	// DefaultTraceSampleRatio records one new trace in twenty, as X-Ray's
	// default rule does past its first request each second.
	DefaultTraceSampleRatio = 0.05
	DefaultTraceServiceName = "frontdesk"
)

func defaultTracing(t *Tracing) {
	if t.SampleRatio == nil {
		t.SampleRatio = new(float64(DefaultTraceSampleRatio))
	}
	if t.ServiceName == "" {
		t.ServiceName = DefaultTraceServiceName
	}
}

// DefaultStateFile is admin.state_file's default for the config at path:
// beside it, named after it (frontdesk.yaml: frontdesk.state.json).
func DefaultStateFile(path string) string {
	return strings.TrimSuffix(path, filepath.Ext(path)) + ".state.json"
}

// defaultCluster fills the cluster block only when cluster mode is on, so
// a config without it stays exactly as before.
func defaultCluster(c *Cluster) {
	if !c.Enabled() {
		return
	}
	if c.InstanceID == "" {
		host, err := os.Hostname()
		if err != nil || host == "" {
			host = "frontdesk"
		}
		c.InstanceID = fmt.Sprintf("%s-%d", host, os.Getpid())
	}
	if c.SyncInterval == 0 {
		c.SyncInterval = Duration(DefaultSyncInterval)
	}
	if c.OnRedisDown.Throttles == "" {
		c.OnRedisDown.Throttles = FailOpen
	}
	if c.OnRedisDown.Quotas == "" {
		c.OnRedisDown.Quotas = FailClosed
	}
}
