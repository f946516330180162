package gateway

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/frontdeskgw/frontdesk/config"
	"github.com/frontdeskgw/frontdesk/exchange"
	"github.com/frontdeskgw/frontdesk/proxy"
)

// withMapping wraps an HTTP API integration in its parameter mapping
// (request_parameters, response_parameters), compiled for one stage: its
// stage variables become static text. Without mappings it returns the
// integration itself, so unmapped routes pay nothing.
func withMapping(ca *config.API, in *config.Integration, vars map[string]string, served exchange.Integration) (exchange.Integration, error) {
	if ca.Type != config.APIHTTP || (len(in.RequestParameters) == 0 && len(in.ResponseParameters) == 0) {
		return served, nil
	}
	var m proxy.ParamMapping
	for _, k := range slices.Sorted(maps.Keys(in.RequestParameters)) {
		op, err := compileMapOp(k, in.RequestParameters[k], false, vars)
		if err != nil {
			return nil, fmt.Errorf("request_parameters: %w", err)
		}
		m.Request = append(m.Request, op)
	}
	for _, sk := range slices.Sorted(maps.Keys(in.ResponseParameters)) {
		status, err := strconv.Atoi(sk)
		if err != nil {
			return nil, fmt.Errorf("response_parameters: %q is not a status code", sk)
		}
		if m.Responses == nil {
			m.Responses = map[int][]proxy.MapOp{}
		}
		ms := in.ResponseParameters[sk]
		for _, k := range slices.Sorted(maps.Keys(ms)) {
			op, err := compileMapOp(k, ms[k], true, vars)
			if err != nil {
				return nil, fmt.Errorf("response_parameters.%s: %w", sk, err)
			}
			m.Responses[status] = append(m.Responses[status], op)
		}
	}
	return proxy.NewMapped(served, m), nil
}

func compileMapOp(key, value string, response bool, vars map[string]string) (proxy.MapOp, error) {
	pm, err := config.ParseParamMapping(key, value, response)
	if err != nil {
		return proxy.MapOp{}, err
	}
	op := proxy.MapOp{Action: proxy.Append, Name: pm.Name}
	switch pm.Action {
	case config.MapOverwrite:
		op.Action = proxy.Overwrite
	case config.MapRemove:
		op.Action = proxy.Remove
	}
	switch pm.Target {
	case config.MapHeader:
		op.Target = proxy.TargetHeader
	case config.MapQuery:
		op.Target = proxy.TargetQuery
	case config.MapPath:
		op.Target = proxy.TargetPath
	case config.MapStatus:
		op.Target = proxy.TargetStatus
	}
	for _, p := range pm.Value {
		part, err := compileMapPart(p, vars)
		if err != nil {
			return proxy.MapOp{}, fmt.Errorf("%q: %w", key, err)
		}
		op.Value = append(op.Value, part)
	}
	return op, nil
}

func compileMapPart(p config.MapPart, vars map[string]string) (proxy.MapPart, error) {
	switch p.Source {
	case config.SrcStatic:
		return proxy.MapPart{Kind: proxy.PartStatic, Text: p.Name}, nil
	case config.SrcStageVariable:
		// A stage without the variable maps it to nothing, as API
		// Gateway does.
		return proxy.MapPart{Kind: proxy.PartStatic, Text: vars[p.Name]}, nil
	case config.SrcRequestHeader:
		return proxy.MapPart{Kind: proxy.PartRequestHeader, Name: p.Name}, nil
	case config.SrcResponseHeader:
		return proxy.MapPart{Kind: proxy.PartResponseHeader, Name: p.Name}, nil
	case config.SrcRequestQuery:
		return proxy.MapPart{Kind: proxy.PartRequestQuery, Name: p.Name}, nil
	case config.SrcRequestPath:
		return proxy.MapPart{Kind: proxy.PartRequestPath}, nil
	case config.SrcRequestPathParm:
		return proxy.MapPart{Kind: proxy.PartRequestPathParam, Name: p.Name}, nil
	case config.SrcRequestBody, config.SrcResponseBody:
		steps, err := config.SplitBodyPath(p.Name)
		if err != nil {
			return proxy.MapPart{}, err
		}
		k := proxy.PartRequestBody
		if p.Source == config.SrcResponseBody {
			k = proxy.PartResponseBody
		}
		return proxy.MapPart{Kind: k, Name: p.Name, Steps: steps}, nil
	case config.SrcContext:
		if rest, ok := strings.CutPrefix(p.Name, "authorizer."); ok {
			steps, err := config.SplitBodyPath(rest)
			if err != nil {
				return proxy.MapPart{}, err
			}
			return proxy.MapPart{Kind: proxy.PartContext, Ctx: proxy.CtxAuthorizer, Name: p.Name, Steps: steps}, nil
		}
		cv, ok := proxy.ContextVars[p.Name]
		if !ok {
			return proxy.MapPart{}, fmt.Errorf("$context.%s is not a variable mappings can read", p.Name)
		}
		return proxy.MapPart{Kind: proxy.PartContext, Ctx: cv, Name: p.Name}, nil
	}
	return proxy.MapPart{}, fmt.Errorf("unknown value source")
}
