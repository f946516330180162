package exchange

import (
	"github.com/frontdeskgw/frontdesk/lambda"
	"github.com/frontdeskgw/frontdesk/metrics"
)

// RouteInfo is what the pipeline and integrations know of the matched
// route on its stage; compiled once per snapshot.
type RouteInfo struct {
	APIID string
	// Metrics counts the route's requests.
	Metrics *metrics.RouteMetrics
	// Bytes forms for the access log.
	RouteKeyBytes, APIIDBytes, StageBytes []byte
	// REST is true for REST APIs (payload 1.0 without "version").
	REST       bool
	Stage      string
	NamedStage bool
	RouteKey   string
	// Resource is the route's path template ("/pets/{id}"), "" for
	// $default.
	Resource       string
	StageVariables []lambda.Param
	// ResourceID and DeploymentID are a REST route's requestContext
	// resourceId and deploymentId, fixed per resource and per stage; ""
	// on HTTP APIs.
	ResourceID, DeploymentID string
}
