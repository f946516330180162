package gateway

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/frontdeskgw/frontdesk/config"
	"github.com/frontdeskgw/frontdesk/exchange"
	"github.com/frontdeskgw/frontdesk/pipeline"
)

// compileValidator builds a REST route's request validator step: the
// route's request_validator, else the API's, decides whether the route's
// required request_parameters and its request_models are checked. It
// returns nil when nothing is, so such routes have no step.
func compileValidator(ca *config.API, r *config.Route) (exchange.Step, error) {
	if ca.Type != config.APIREST {
		return nil, nil
	}
	name := r.RequestValidator
	if name == "" {
		name = ca.RequestValidator
	}
	if name == "" {
		return nil, nil
	}
	rv, ok := ca.RequestValidators[name]
	if !ok {
		return nil, fmt.Errorf("request_validator: no request validator named %q", name)
	}
	var o pipeline.ValidateOptions
	if rv.ValidateRequestParameters {
		for key, required := range r.RequestParameters {
			if !required {
				continue
			}
			loc, pn, err := config.ParseRequiredParam(key)
			if err != nil {
				return nil, fmt.Errorf("request_parameters: %w", err)
			}
			o.Params = append(o.Params, pipeline.RequiredParam{In: paramIn(loc), Name: pn})
		}
		// Headers, then path variables, then the query string, each by
		// name: one order every time for the message that lists them.
		slices.SortFunc(o.Params, func(a, b pipeline.RequiredParam) int {
			if a.In != b.In {
				return int(a.In) - int(b.In)
			}
			return strings.Compare(a.Name, b.Name)
		})
	}
	if rv.ValidateRequestBody {
		for _, ct := range slices.Sorted(maps.Keys(r.RequestModels)) {
			mn := r.RequestModels[ct]
			m := ca.Models[mn]
			if m == nil {
				return nil, fmt.Errorf("request_models: no model named %q", mn)
			}
			sch, err := m.CompiledSchema(mn)
			if err != nil {
				return nil, fmt.Errorf("model %s: %w", mn, err)
			}
			o.Models = append(o.Models, pipeline.BodyModel{ContentType: ct, Schema: sch})
		}
	}
	v := pipeline.NewValidator(o)
	if v == nil {
		return nil, nil
	}
	return v, nil
}

func paramIn(l config.ParamLocation) pipeline.ParamIn {
	switch l {
	case config.ParamHeader:
		return pipeline.InHeader
	case config.ParamPath:
		return pipeline.InPath
	}
	return pipeline.InQuery
}
