package controlplane

import (
	"crypto/rand"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/frontdeskgw/frontdesk/config"
	"github.com/valyala/fasthttp"
)

// list is the list answer of the REST API (v1): "item" and "position".
type list[T any] struct {
	Items    []T    `json:"item"`
	Position string `json:"position,omitempty"`
}

func (s *Service) routesV1() {
	r := s.router
	r.GET("/apikeys", s.getAPIKeys)
	r.POST("/apikeys", s.createAPIKey)
	r.GET("/apikeys/{keyId}", s.getAPIKey)
	r.PATCH("/apikeys/{keyId}", s.updateAPIKey)
	r.DELETE("/apikeys/{keyId}", s.deleteAPIKey)
	r.GET("/usageplans", s.getUsagePlans)
	r.POST("/usageplans", s.createUsagePlan)
	r.GET("/usageplans/{planId}", s.getUsagePlan)
	r.PATCH("/usageplans/{planId}", s.updateUsagePlan)
	r.DELETE("/usageplans/{planId}", s.deleteUsagePlan)
	r.GET("/usageplans/{planId}/keys", s.getUsagePlanKeys)
	r.POST("/usageplans/{planId}/keys", s.createUsagePlanKey)
	r.GET("/usageplans/{planId}/keys/{keyId}", s.getUsagePlanKey)
	r.DELETE("/usageplans/{planId}/keys/{keyId}", s.deleteUsagePlanKey)
	r.GET("/usageplans/{planId}/usage", s.getUsage)
}

// fileKeyID and filePlanID are the stable ids of the file's API keys and
// usage plans, derived from their names as config.APIID derives an API's.
func fileKeyID(name string) string  { return config.APIID("api-key\x00" + name) }
func filePlanID(name string) string { return config.APIID("usage-plan\x00" + name)[:6] }

// fileKeys are the file's API keys as the REST API shows them.
func (s *Service) fileKeys(file *config.Config, values bool) []*APIKey {
	var out []*APIKey
	for _, k := range file.APIKeys {
		if s.createdKeyNamed(k.Name) {
			continue
		}
		v := &APIKey{ID: fileKeyID(k.Name), Name: k.Name, Enabled: k.Enabled == nil || *k.Enabled, Tags: fileTag,
			CreatedDate: epoch(s.started), LastUpdatedDate: epoch(s.started)}
		if values {
			v.Value = k.Value
		}
		out = append(out, v)
	}
	return out
}

func (s *Service) createdKeyNamed(name string) bool {
	for _, k := range s.state.Load().Keys {
		if k.Name == name {
			return true
		}
	}
	return false
}

// filePlans are the file's usage plans as the REST API shows them.
func (s *Service) filePlans(file *config.Config) []*UsagePlan {
	st := s.state.Load()
	var out []*UsagePlan
	for name, p := range file.UsagePlans {
		if st.Plans[name] != nil {
			continue
		}
		v := &UsagePlan{ID: filePlanID(name), Name: name, Tags: fileTag}
		if p.Throttle != nil {
			v.Throttle = &ThrottleSettings{BurstLimit: p.Throttle.Burst, RateLimit: p.Throttle.Rate}
		}
		if p.Quota != nil {
			v.Quota = &QuotaSettings{Limit: p.Quota.Limit, Period: strings.ToUpper(string(p.Quota.Period))}
		}
		for _, a := range p.APIs {
			id := a
			if st.APIs[a] == nil {
				id = config.APIID(a)
			}
			v.APIStages = append(v.APIStages, APIStage{APIID: id, Stage: config.DefaultStage})
		}
		for _, k := range file.APIKeys {
			if k.Plan == name {
				v.Keys = append(v.Keys, fileKeyID(k.Name))
			}
		}
		out = append(out, v)
	}
	return out
}

func answerKey(k *APIKey, values bool) *APIKey {
	c := *k
	if !values {
		c.Value = ""
	}
	return &c
}

func answerPlan(p *UsagePlan) *UsagePlan {
	c := *p
	c.Keys = nil
	return &c
}

func (s *Service) getAPIKeys(ctx *fasthttp.RequestCtx) {
	s.read(ctx, func(st *State, file *config.Config) (any, error) {
		q := ctx.QueryArgs()
		values := string(q.Peek("includeValues")) == "true"
		name := string(q.Peek("name"))
		all := s.fileKeys(file, values)
		for _, k := range st.Keys {
			all = append(all, answerKey(k, values))
		}
		all = slices.DeleteFunc(all, func(k *APIKey) bool { return name != "" && !strings.HasPrefix(k.Name, name) })
		items, next, err := page(all, func(k *APIKey) string { return k.ID }, string(q.Peek("position")), string(q.Peek("limit")), 25)
		return list[*APIKey]{Items: items, Position: next}, err
	})
}

func (s *Service) findKey(st *State, file *config.Config, id string, values bool) (*APIKey, bool, error) {
	if k := st.Keys[id]; k != nil {
		return k, false, nil
	}
	for _, k := range s.fileKeys(file, values) {
		if k.ID == id {
			return k, true, nil
		}
	}
	return nil, false, notFound("Invalid API Key identifier specified")
}

func (s *Service) getAPIKey(ctx *fasthttp.RequestCtx) {
	s.read(ctx, func(st *State, file *config.Config) (any, error) {
		values := string(ctx.QueryArgs().Peek("includeValue")) == "true"
		k, _, err := s.findKey(st, file, param(ctx, "keyId"), values)
		if err != nil {
			return nil, err
		}
		return answerKey(k, values), nil
	})
}

// keyValue is a generated API key value: 40 characters, as AWS's.
func keyValue() string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 40)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

func (s *Service) createAPIKey(ctx *fasthttp.RequestCtx) {
	s.change(ctx, 201, func(st *State, file *config.Config) (any, error) {
		var in struct {
			APIKey
			GenerateDistinctID bool `json:"generateDistinctId"`
		}
		if err := decode(ctx, &in); err != nil {
			return nil, err
		}
		if err := limit(len(st.Keys), MaxAPIKeys, "API keys"); err != nil {
			return nil, err
		}
		k := in.APIKey
		k.ID = newID(10)
		for st.Keys[k.ID] != nil {
			k.ID = newID(10)
		}
		k.CreatedDate, k.LastUpdatedDate = epoch(now()), epoch(now())
		if k.Value == "" {
			k.Value = keyValue()
		}
		if k.Name == "" {
			k.Name = k.ID // the name frontdesk counts usage by
		}
		if len(k.Value) < 20 || len(k.Value) > 128 {
			return nil, badRequest("API Key value should be at least 20 characters")
		}
		for _, o := range st.Keys {
			if o.Name == k.Name {
				return nil, conflict("API key with name %s already exists: frontdesk counts usage by key name", k.Name)
			}
			if o.Value == k.Value {
				return nil, conflict("API Key already exists")
			}
		}
		st.Keys[k.ID] = &k
		return answerKey(&k, true), nil
	})
}

// patchOps are the REST API's JSON patch operations.
type patchOps struct {
	PatchOperations []struct {
		Op    string `json:"op"`
		Path  string `json:"path"`
		Value string `json:"value"`
	} `json:"patchOperations"`
}

func (s *Service) updateAPIKey(ctx *fasthttp.RequestCtx) {
	s.change(ctx, 200, func(st *State, file *config.Config) (any, error) {
		k, fromFile, err := s.findKey(st, file, param(ctx, "keyId"), false)
		if err != nil {
			return nil, err
		}
		if fromFile {
			return nil, readOnly("API key", k.ID, file.File)
		}
		var in patchOps
		if err := decode(ctx, &in); err != nil {
			return nil, err
		}
		for _, op := range in.PatchOperations {
			if op.Op != "replace" {
				return nil, badRequest("Invalid patch operation specified. Must be 'replace' for API keys, got %q", op.Op)
			}
			switch op.Path {
			case "/name":
				k.Name = op.Value
			case "/description":
				k.Description = op.Value
			case "/customerId":
				k.CustomerID = op.Value
			case "/enabled":
				b, err := strconv.ParseBool(op.Value)
				if err != nil {
					return nil, badRequest("Invalid value for /enabled: %q", op.Value)
				}
				k.Enabled = b
			default:
				return nil, badRequest("Invalid patch path %s", op.Path)
			}
		}
		k.LastUpdatedDate = epoch(now())
		return answerKey(k, false), nil
	})
}

func (s *Service) deleteAPIKey(ctx *fasthttp.RequestCtx) {
	s.change(ctx, 202, func(st *State, file *config.Config) (any, error) {
		k, fromFile, err := s.findKey(st, file, param(ctx, "keyId"), false)
		if err != nil {
			return nil, err
		}
		if fromFile {
			return nil, readOnly("API key", k.ID, file.File)
		}
		delete(st.Keys, k.ID)
		for _, p := range st.Plans {
			p.Keys = slices.DeleteFunc(p.Keys, func(id string) bool { return id == k.ID })
		}
		return nil, nil
	})
}

func (s *Service) findPlan(st *State, file *config.Config, id string) (*UsagePlan, bool, error) {
	if p := st.Plans[id]; p != nil {
		return p, false, nil
	}
	for _, p := range s.filePlans(file) {
		if p.ID == id {
			return p, true, nil
		}
	}
	return nil, false, notFound("Invalid Usage Plan ID specified")
}

func (s *Service) getUsagePlans(ctx *fasthttp.RequestCtx) {
	s.read(ctx, func(st *State, file *config.Config) (any, error) {
		all := s.filePlans(file)
		for _, p := range st.Plans {
			all = append(all, p)
		}
		q := ctx.QueryArgs()
		if key := string(q.Peek("keyId")); key != "" {
			all = slices.DeleteFunc(all, func(p *UsagePlan) bool { return !slices.Contains(p.Keys, key) })
		}
		for i, p := range all {
			all[i] = answerPlan(p)
		}
		items, next, err := page(all, func(p *UsagePlan) string { return p.ID }, string(q.Peek("position")), string(q.Peek("limit")), 25)
		return list[*UsagePlan]{Items: items, Position: next}, err
	})
}

func (s *Service) getUsagePlan(ctx *fasthttp.RequestCtx) {
	s.read(ctx, func(st *State, file *config.Config) (any, error) {
		p, _, err := s.findPlan(st, file, param(ctx, "planId"))
		if err != nil {
			return nil, err
		}
		return answerPlan(p), nil
	})
}

// checkPlan checks what frontdesk can serve of a plan: its API stages
// name APIs it has, and the limits are usable.
func (s *Service) checkPlan(st *State, file *config.Config, p *UsagePlan) error {
	if p.Name == "" {
		return badRequest("Usage plan name is required")
	}
	for _, as := range p.APIStages {
		rec := st.APIs[as.APIID]
		_, inFile := s.fileAPI(file, as.APIID)
		rest := st.RestAPIs[as.APIID]
		if rest != nil && rest.Stages[as.Stage] == nil {
			return badRequest("Invalid API Stage {api: %s, stage: %s} specified for usageplan", as.APIID, as.Stage)
		}
		if rec == nil && rest == nil && !inFile && !s.fileRESTAPI(file, as.APIID) {
			return badRequest("Invalid API Stage {api: %s, stage: %s} specified for usageplan", as.APIID, as.Stage)
		}
		if rec != nil && rec.Stages[as.Stage] == nil {
			return badRequest("Invalid API Stage {api: %s, stage: %s} specified for usageplan", as.APIID, as.Stage)
		}
	}
	if t := p.Throttle; t != nil && (t.RateLimit <= 0 || t.BurstLimit < 1) {
		return badRequest("Throttle: rateLimit must be greater than 0 and burstLimit at least 1")
	}
	if q := p.Quota; q != nil {
		switch q.Period {
		case "DAY", "WEEK", "MONTH":
		default:
			return badRequest("Quota period must be DAY, WEEK or MONTH, got %q", q.Period)
		}
		if q.Limit < 1 {
			return badRequest("Quota limit must be at least 1")
		}
		if q.Offset != 0 {
			return badRequest("Quota offset is not supported: quotas start at the beginning of each period")
		}
	}
	return nil
}

// fileRESTAPI reports a REST API of the file with id: usage plans cover
// REST APIs too.
func (s *Service) fileRESTAPI(file *config.Config, id string) bool {
	for name, a := range file.APIs {
		if a.Type == config.APIREST && config.APIID(name) == id {
			return true
		}
	}
	return false
}

func (s *Service) createUsagePlan(ctx *fasthttp.RequestCtx) {
	s.change(ctx, 201, func(st *State, file *config.Config) (any, error) {
		var p UsagePlan
		if err := decode(ctx, &p); err != nil {
			return nil, err
		}
		if err := limit(len(st.Plans), MaxUsagePlans, "usage plans"); err != nil {
			return nil, err
		}
		p.ID, p.Keys = newID(6), nil
		taken := func(id string) bool {
			_, inFile := file.UsagePlans[id]
			return st.Plans[id] != nil || inFile
		}
		for taken(p.ID) {
			p.ID = newID(6)
		}
		if err := s.checkPlan(st, file, &p); err != nil {
			return nil, err
		}
		st.Plans[p.ID] = &p
		return answerPlan(&p), nil
	})
}

func (s *Service) updateUsagePlan(ctx *fasthttp.RequestCtx) {
	s.change(ctx, 200, func(st *State, file *config.Config) (any, error) {
		p, fromFile, err := s.findPlan(st, file, param(ctx, "planId"))
		if err != nil {
			return nil, err
		}
		if fromFile {
			return nil, readOnly("usage plan", p.ID, file.File)
		}
		var in patchOps
		if err := decode(ctx, &in); err != nil {
			return nil, err
		}
		for _, op := range in.PatchOperations {
			if err := patchPlan(p, op.Op, op.Path, op.Value); err != nil {
				return nil, err
			}
		}
		if err := s.checkPlan(st, file, p); err != nil {
			return nil, err
		}
		return answerPlan(p), nil
	})
}

// patchPlan applies one patch operation of update-usage-plan.
func patchPlan(p *UsagePlan, op, path, value string) error {
	num := func() (float64, error) {
		f, err := strconv.ParseFloat(value, 64)
		if err != nil {
			return 0, badRequest("Invalid number for %s: %q", path, value)
		}
		return f, nil
	}
	if path == "/apiStages" {
		api, stage, ok := strings.Cut(value, ":")
		if !ok {
			return badRequest("Invalid apiStages value %q: want apiId:stage", value)
		}
		as := APIStage{APIID: api, Stage: stage}
		switch op {
		case "add":
			if !slices.Contains(p.APIStages, as) {
				p.APIStages = append(p.APIStages, as)
			}
		case "remove":
			p.APIStages = slices.DeleteFunc(p.APIStages, func(x APIStage) bool { return x == as })
		default:
			return badRequest("Invalid patch operation %q for /apiStages: want add or remove", op)
		}
		return nil
	}
	if op == "remove" {
		switch path {
		case "/throttle":
			p.Throttle = nil
		case "/quota":
			p.Quota = nil
		default:
			return badRequest("Invalid patch path %s", path)
		}
		return nil
	}
	if op != "replace" {
		return badRequest("Invalid patch operation %q", op)
	}
	switch path {
	case "/name":
		p.Name = value
	case "/description":
		p.Description = value
	case "/throttle/rateLimit", "/throttle/burstLimit":
		f, err := num()
		if err != nil {
			return err
		}
		if p.Throttle == nil {
			p.Throttle = &ThrottleSettings{}
		}
		if path == "/throttle/rateLimit" {
			p.Throttle.RateLimit = f
		} else {
			p.Throttle.BurstLimit = int(f)
		}
	case "/quota/limit", "/quota/period":
		if p.Quota == nil {
			p.Quota = &QuotaSettings{Period: "DAY"}
		}
		if path == "/quota/period" {
			p.Quota.Period = value
			return nil
		}
		f, err := num()
		if err != nil {
			return err
		}
		p.Quota.Limit = int64(f)
	default:
		return badRequest("Invalid patch path %s", path)
	}
	return nil
}

func (s *Service) deleteUsagePlan(ctx *fasthttp.RequestCtx) {
	s.change(ctx, 202, func(st *State, file *config.Config) (any, error) {
		p, fromFile, err := s.findPlan(st, file, param(ctx, "planId"))
		if err != nil {
			return nil, err
		}
		if fromFile {
			return nil, readOnly("usage plan", p.ID, file.File)
		}
		delete(st.Plans, p.ID)
		return nil, nil
	})
}

// UsagePlanKey is an API key as a member of a plan.
type UsagePlanKey struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Type  string `json:"type"`
	Value string `json:"value,omitempty"`
}

func (s *Service) planKeys(st *State, file *config.Config, p *UsagePlan) []UsagePlanKey {
	var out []UsagePlanKey
	for _, id := range p.Keys {
		if k, _, err := s.findKey(st, file, id, true); err == nil {
			out = append(out, UsagePlanKey{ID: k.ID, Name: k.Name, Type: "API_KEY", Value: k.Value})
		}
	}
	return out
}

func (s *Service) getUsagePlanKeys(ctx *fasthttp.RequestCtx) {
	s.read(ctx, func(st *State, file *config.Config) (any, error) {
		p, _, err := s.findPlan(st, file, param(ctx, "planId"))
		if err != nil {
			return nil, err
		}
		q := ctx.QueryArgs()
		items, next, err := page(s.planKeys(st, file, p), func(k UsagePlanKey) string { return k.ID }, string(q.Peek("position")), string(q.Peek("limit")), 25)
		return list[UsagePlanKey]{Items: items, Position: next}, err
	})
}

func (s *Service) getUsagePlanKey(ctx *fasthttp.RequestCtx) {
	s.read(ctx, func(st *State, file *config.Config) (any, error) {
		p, _, err := s.findPlan(st, file, param(ctx, "planId"))
		if err != nil {
			return nil, err
		}
		for _, k := range s.planKeys(st, file, p) {
			if k.ID == param(ctx, "keyId") {
				return k, nil
			}
		}
		return nil, notFound("Invalid Usage Plan Key identifier specified")
	})
}

func (s *Service) createUsagePlanKey(ctx *fasthttp.RequestCtx) {
	s.change(ctx, 201, func(st *State, file *config.Config) (any, error) {
		p, fromFile, err := s.findPlan(st, file, param(ctx, "planId"))
		if err != nil {
			return nil, err
		}
		if fromFile {
			return nil, readOnly("usage plan", p.ID, file.File)
		}
		var in struct {
			KeyID   string `json:"keyId"`
			KeyType string `json:"keyType"`
		}
		if err := decode(ctx, &in); err != nil {
			return nil, err
		}
		if in.KeyType != "API_KEY" {
			return nil, badRequest("Invalid key type %q: want API_KEY", in.KeyType)
		}
		k, keyFromFile, err := s.findKey(st, file, in.KeyID, true)
		if err != nil {
			return nil, err
		}
		if keyFromFile {
			return nil, readOnly("API key", k.ID, file.File)
		}
		if err := limit(len(p.Keys), MaxPlanKeys, "keys in a usage plan"); err != nil {
			return nil, err
		}
		for _, o := range st.Plans {
			if slices.Contains(o.Keys, k.ID) {
				if o.ID == p.ID {
					return nil, conflict("Usage Plan %s cannot be added because API Key %s cannot reference multiple Usage Plans with the same API Stage", p.ID, k.ID)
				}
				return nil, conflict("API key %s is in usage plan %s already: frontdesk binds a key to one usage plan", k.ID, o.ID)
			}
		}
		p.Keys = append(p.Keys, k.ID)
		return UsagePlanKey{ID: k.ID, Name: k.Name, Type: "API_KEY", Value: k.Value}, nil
	})
}

func (s *Service) deleteUsagePlanKey(ctx *fasthttp.RequestCtx) {
	s.change(ctx, 202, func(st *State, file *config.Config) (any, error) {
		p, fromFile, err := s.findPlan(st, file, param(ctx, "planId"))
		if err != nil {
			return nil, err
		}
		if fromFile {
			return nil, readOnly("usage plan", p.ID, file.File)
		}
		id := param(ctx, "keyId")
		if !slices.Contains(p.Keys, id) {
			return nil, notFound("Invalid Usage Plan Key identifier specified")
		}
		p.Keys = slices.DeleteFunc(p.Keys, func(x string) bool { return x == id })
		return nil, nil
	})
}

// Usage is get-usage's answer: per key id, one [used, remaining] pair
// for the current quota period (requests admitted when the plan has no
// quota; remaining 0).
type Usage struct {
	UsagePlanID string               `json:"usagePlanId"`
	StartDate   string               `json:"startDate"`
	EndDate     string               `json:"endDate"`
	Items       map[string][][]int64 `json:"values"`
	Position    string               `json:"position,omitempty"`
}

func (s *Service) getUsage(ctx *fasthttp.RequestCtx) {
	s.read(ctx, func(st *State, file *config.Config) (any, error) {
		p, fromFile, err := s.findPlan(st, file, param(ctx, "planId"))
		if err != nil {
			return nil, err
		}
		q := ctx.QueryArgs()
		start, end := string(q.Peek("startDate")), string(q.Peek("endDate"))
		for _, d := range []string{start, end} {
			if _, err := time.Parse("2006-01-02", d); err != nil {
				return nil, badRequest("Invalid date %q: want yyyy-MM-dd", d)
			}
		}
		if end < start {
			return nil, badRequest("The end date must not be before the start date")
		}
		planName := p.ID
		if fromFile {
			planName = p.Name
		}
		only := string(q.Peek("keyId"))
		out := Usage{UsagePlanID: p.ID, StartDate: start, EndDate: end, Items: map[string][][]int64{}}
		byName := map[string]string{}
		for _, k := range s.planKeys(st, file, p) {
			byName[k.Name] = k.ID
		}
		for _, u := range s.app.KeyUsage(time.Now()) {
			id, ok := byName[u.Name]
			if !ok || u.Plan != planName || (only != "" && id != only) {
				continue
			}
			used, left := int64(u.Admitted), int64(0)
			if p.Quota != nil {
				used, left = u.QuotaUsed, u.QuotaLeft
			}
			out.Items[id] = [][]int64{{used, left}}
		}
		return out, nil
	})
}
