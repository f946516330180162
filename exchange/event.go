package exchange

import "github.com/frontdeskgw/frontdesk/lambda"

// AccountID is the account id frontdesk reports in events and ARNs.
const AccountID = "000000000000"

// EventInput fills the exchange's reusable description of the request for
// a Lambda event (integration or authorizer).
func (ex *Exchange) EventInput() *lambda.EventInput {
	in := &ex.event
	r := ex.RouteInfo
	*in = lambda.EventInput{
		Req:            &ex.Ctx.Request,
		RouteKey:       r.RouteKey,
		Resource:       r.Resource,
		Stage:          r.Stage,
		StagePrefix:    r.NamedStage,
		Path:           ex.Path,
		StageVariables: r.StageVariables,
		APIID:          r.APIID,
		AccountID:      AccountID,
		RequestID:      ex.RequestID,
		SourceIP:       ex.SourceIP(),
		Time:           ex.Start,
		Authorizer:     ex.Authorizer,
		APIKey:         ex.APIKey,
		APIKeyID:       ex.APIKeyID,
	}
	params := ex.lambdaParams[:0]
	for i, name := range ex.ParamNames {
		if i < ex.Params.Len() {
			params = append(params, lambda.Param{Name: name, Value: ex.Params.Value(ex.Path, i)})
		}
	}
	ex.lambdaParams = params
	in.PathParams = params
	return in
}
