package pipeline

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"

	"github.com/frontdeskgw/frontdesk/apierror"
	"github.com/frontdeskgw/frontdesk/exchange"
	"github.com/frontdeskgw/frontdesk/internal/ascii"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// ParamIn is where a required request parameter is looked for.
type ParamIn uint8

// Parameter locations, in the order a missing-parameters message lists
// them.
const (
	InHeader ParamIn = iota
	InPath
	InQuery
)

// RequiredParam is a request parameter a route requires, present and not
// blank.
type RequiredParam struct {
	In   ParamIn
	Name string
}

// BodyModel is the schema a request body of ContentType is validated
// against; ContentType "$default" applies to content types no other
// model names.
type BodyModel struct {
	ContentType string
	Schema      *jsonschema.Schema
}

// ValidateOptions is a route's compiled request validator.
type ValidateOptions struct {
	// Params are checked when the validator validates parameters, listed
	// in the order of the answer's message.
	Params []RequiredParam
	// Models are checked when it validates bodies.
	Models []BodyModel
}

// Validator is the request validation step of a REST route (API
// Gateway's request validators): required parameters first, then the
// body against the model of its content type. Refusals answer 400 with
// x-amzn-ErrorType BadRequestException, and the detail goes to
// ex.ValidationError ($context.error.validationErrorString).
//
// Routes without a validator have no such step. Checking parameters
// allocates nothing; validating a body parses it (as JSON Schema
// validation needs) and allocates.
type Validator struct {
	params []requiredParam
	models []bodyModel
	def    *jsonschema.Schema
}

type requiredParam struct {
	in      ParamIn
	name    []byte
	nameStr string
}

type bodyModel struct {
	contentType []byte
	schema      *jsonschema.Schema
}

// NewValidator compiles a route's validator; nil when it checks nothing.
func NewValidator(o ValidateOptions) *Validator {
	if len(o.Params) == 0 && len(o.Models) == 0 {
		return nil
	}
	v := &Validator{}
	for _, p := range o.Params {
		v.params = append(v.params, requiredParam{in: p.In, name: []byte(p.Name), nameStr: p.Name})
	}
	for _, m := range o.Models {
		if m.ContentType == "$default" {
			v.def = m.Schema
			continue
		}
		v.models = append(v.models, bodyModel{contentType: []byte(strings.ToLower(m.ContentType)), schema: m.Schema})
	}
	return v
}

// Handle implements exchange.Step.
func (v *Validator) Handle(ex *exchange.Exchange, next exchange.Next) {
	if len(v.params) > 0 && !v.checkParams(ex) {
		return
	}
	if sch := v.model(ex); sch != nil && !v.checkBody(ex, sch) {
		return
	}
	next.Serve(ex)
}

// checkParams answers 400 naming every missing parameter, and reports
// whether all were present.
func (v *Validator) checkParams(ex *exchange.Exchange) bool {
	msg := ex.ValidationError[:0]
	n := 0
	for i := range v.params {
		p := &v.params[i]
		if !blank(v.param(ex, p)) {
			continue
		}
		if n == 0 {
			msg = append(msg, apierror.MissingParameters...)
		} else {
			msg = append(msg, ", "...)
		}
		msg = append(msg, p.name...)
		n++
	}
	if n == 0 {
		return true
	}
	msg = append(msg, ']')
	ex.ValidationError = msg
	ex.Ctx.Response.ResetBody()
	ex.ErrorMessage = string(msg)
	// The API's BAD_REQUEST_PARAMETERS gateway response, when it has one,
	// answers instead (its default body carries the same message).
	if ex.Responses != nil && ex.Responses.Respond(ex, apierror.BadRequestParameters) {
		return false
	}
	ex.Scratch = apierror.WriteMessage(&ex.Ctx.Response, ex.Dialect, apierror.BadRequestParameters, msg, ex.Scratch)
	return false
}

func (v *Validator) param(ex *exchange.Exchange, p *requiredParam) []byte {
	switch p.in {
	case InHeader:
		return ex.Ctx.Request.Header.PeekBytes(p.name)
	case InPath:
		return ex.Param(p.nameStr)
	default:
		return ex.Ctx.QueryArgs().PeekBytes(p.name)
	}
}

func blank(b []byte) bool { return len(bytes.TrimSpace(b)) == 0 }

// model is the schema the request's body is checked against, nil when
// none applies.
func (v *Validator) model(ex *exchange.Exchange) *jsonschema.Schema {
	if len(v.models) == 0 {
		return v.def
	}
	ct := ex.Ctx.Request.Header.ContentType()
	if i := bytes.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	ct = bytes.TrimSpace(ct)
	for i := range v.models {
		m := &v.models[i]
		if len(m.contentType) == len(ct) && ascii.EqualFold(m.contentType, ct) {
			return m.schema
		}
	}
	return v.def
}

func (v *Validator) checkBody(ex *exchange.Exchange, sch *jsonschema.Schema) bool {
	detail := ex.ValidationError[:0]
	body := ex.Ctx.Request.Body()
	var doc any
	if len(bytes.TrimSpace(body)) > 0 {
		d, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
		if err != nil {
			detail = append(detail, "[Invalid request body: not JSON: "...)
			detail = append(detail, jsonError(err)...)
			detail = append(detail, ']')
			return v.refuseBody(ex, detail)
		}
		doc = d
	}
	err := sch.Validate(doc)
	if err == nil {
		return true
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		detail = append(detail, '[')
		detail = append(detail, err.Error()...)
		detail = append(detail, ']')
		return v.refuseBody(ex, detail)
	}
	detail = AppendValidationErrorString(detail, ve, doc)
	return v.refuseBody(ex, detail)
}

func (v *Validator) refuseBody(ex *exchange.Exchange, detail []byte) bool {
	ex.ValidationError = detail
	ex.Fail(apierror.BadRequestBody)
	return false
}

func jsonError(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return se.Error() + " at offset " + strconv.FormatInt(se.Offset, 10)
	}
	return err.Error()
}

var printer = message.NewPrinter(language.English)

// AppendValidationErrorString appends the detail of a failed validation in
// the shape API Gateway gives $context.error.validationErrorString: every
// failure in one bracket, comma-separated, each worded as the validator
// API Gateway runs words it (e.g. `object has missing required properties
// (["name"])`). doc is the validated instance, to quote its values.
func AppendValidationErrorString(dst []byte, ve *jsonschema.ValidationError, doc any) []byte {
	dst = append(dst, '[')
	first := true
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) > 0 {
			for _, c := range e.Causes {
				walk(c)
			}
			return
		}
		if !first {
			dst = append(dst, ", "...)
		}
		first = false
		dst = append(dst, describe(e, doc)...)
	}
	walk(ve)
	return append(dst, ']')
}

// describe words one failure.
func describe(e *jsonschema.ValidationError, doc any) string {
	inst := instanceAt(doc, e.InstanceLocation)
	switch k := e.ErrorKind.(type) {
	case *kind.Required:
		return "object has missing required properties (" + jsonList(k.Missing) + ")"
	case *kind.Type:
		return "instance type (" + k.Got + ") does not match any allowed primitive type (allowed: " + jsonList(k.Want) + ")"
	case *kind.Enum:
		return "instance value (" + jsonText(inst) + ") not found in enum (possible values: " + jsonText(k.Want) + ")"
	case *kind.Minimum:
		return "numeric instance is lower than the required minimum (minimum: " + ratText(k.Want) + ", found: " + ratText(k.Got) + ")"
	case *kind.Maximum:
		return "numeric instance is greater than the required maximum (maximum: " + ratText(k.Want) + ", found: " + ratText(k.Got) + ")"
	case *kind.MinLength:
		return fmt.Sprintf("string %s is too short (length: %d, required minimum: %d)", jsonText(inst), k.Got, k.Want)
	case *kind.MaxLength:
		return fmt.Sprintf("string %s is too long (length: %d, maximum allowed: %d)", jsonText(inst), k.Got, k.Want)
	case *kind.Pattern:
		return "ECMA 262 regex " + jsonText(k.Want) + " does not match input string " + jsonText(k.Got)
	case *kind.AdditionalProperties:
		return "object instance has properties which are not allowed by the schema: " + jsonList(k.Properties)
	case *kind.MinItems:
		return fmt.Sprintf("array is too short: must have at least %d elements but instance has %d elements", k.Want, k.Got)
	case *kind.MaxItems:
		return fmt.Sprintf("array is too long: must have at most %d elements but instance has %d elements", k.Want, k.Got)
	}
	msg := e.ErrorKind.LocalizedString(printer)
	if len(e.InstanceLocation) > 0 {
		msg = "/" + strings.Join(e.InstanceLocation, "/") + ": " + msg
	}
	return msg
}

func jsonList(s []string) string {
	if s == nil {
		s = []string{}
	}
	return jsonText(s)
}

func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func ratText(r *big.Rat) string {
	if r == nil {
		return "null"
	}
	if r.IsInt() {
		return r.Num().String()
	}
	f, _ := r.Float64()
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// instanceAt is the value at loc (JSON pointer tokens) in doc, nil when
// there is none.
func instanceAt(doc any, loc []string) any {
	for _, tok := range loc {
		switch d := doc.(type) {
		case map[string]any:
			doc = d[tok]
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(d) {
				return nil
			}
			doc = d[i]
		default:
			return nil
		}
	}
	return doc
}
