package importer

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// The values templates run with locally. ARNs built from them are
// placeholders: they only need to name the function, table or queue.
const (
	region    = "us-east-1"
	accountID = "123456789012"
	stackName = "local"
)

// cfn evaluates CloudFormation's intrinsic functions on yaml.v3 nodes,
// in both the short (!Ref, !Sub) and the long (Ref, Fn::Sub) form, keeping
// each node's line.
type cfn struct {
	b         *builder
	file      string
	params    map[string][]string // a parameter's value (several for list types)
	listParam map[string]bool
	conds     map[string]*yaml.Node
	condVal   map[string]bool
	inCond    map[string]bool
	mappings  *yaml.Node
	resources map[string]*yaml.Node
	types     map[string]string
	// budget bounds the nodes evaluated, so that YAML aliases that
	// expand exponentially fail instead of running the machine out.
	budget int
}

// maxEvalNodes is the budget of one template.
const maxEvalNodes = 1 << 20

// noValue is AWS::NoValue: the enclosing key or item disappears.
var noValue = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "AWS::NoValue"}

var intrinsics = map[string]bool{
	"Ref": true, "Condition": true, "Fn::Sub": true, "Fn::GetAtt": true, "Fn::Join": true, "Fn::If": true,
	"Fn::Equals": true, "Fn::Not": true, "Fn::And": true, "Fn::Or": true, "Fn::Select": true,
	"Fn::Split": true, "Fn::FindInMap": true, "Fn::Base64": true, "Fn::ImportValue": true,
	"Fn::GetAZs": true, "Fn::Transform": true, "Fn::Length": true, "Fn::ToJsonString": true, "Fn::Cidr": true,
}

// fnOfTag maps a short-form tag (!Sub) to its long name (Fn::Sub).
func fnOfTag(tag string) (string, bool) {
	if !strings.HasPrefix(tag, "!") || strings.HasPrefix(tag, "!!") {
		return "", false
	}
	t := tag[1:]
	if t == "Ref" || t == "Condition" {
		return t, true
	}
	return "Fn::" + t, true
}

func (c *cfn) fail(n *yaml.Node, format string, args ...any) *yaml.Node {
	c.b.r.fail(c.file, n, "", format, args...)
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "", Line: lineOf(n)}
}

func str(s string, at *yaml.Node) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s, Line: lineOf(at), Column: colOf(at)}
}

func colOf(n *yaml.Node) int {
	if n == nil {
		return 0
	}
	return n.Column
}

// eval returns n with every intrinsic function evaluated.
func (c *cfn) eval(n *yaml.Node) *yaml.Node {
	return c.evalDepth(n, 0)
}

func (c *cfn) evalDepth(n *yaml.Node, depth int) *yaml.Node {
	if n == nil {
		return nil
	}
	if depth > 200 {
		return c.fail(n, "nested too deeply")
	}
	if c.budget++; c.budget > maxEvalNodes {
		if c.budget == maxEvalNodes+1 {
			c.fail(n, "the template expands to more than %d values (YAML aliases?)", maxEvalNodes)
		}
		return noValue
	}
	if n.Kind == yaml.AliasNode {
		return c.evalDepth(n.Alias, depth+1)
	}
	if fn, ok := fnOfTag(n.Tag); ok {
		arg := *n
		arg.Tag = ""
		if arg.Kind == yaml.ScalarNode {
			arg.Tag = "!!str"
		}
		if !intrinsics[fn] {
			return c.fail(n, "unknown intrinsic function %s (short form %s)", fn, n.Tag)
		}
		return c.call(fn, &arg, n, depth)
	}
	switch n.Kind {
	case yaml.MappingNode:
		if len(n.Content) == 2 {
			k := n.Content[0].Value
			if k == "Ref" || strings.HasPrefix(k, "Fn::") {
				if !intrinsics[k] {
					return c.fail(n.Content[0], "unknown intrinsic function %s", k)
				}
				return c.call(k, n.Content[1], n, depth)
			}
		}
		out := &yaml.Node{Kind: yaml.MappingNode, Line: n.Line, Column: n.Column}
		for i := 0; i+1 < len(n.Content); i += 2 {
			v := c.evalDepth(n.Content[i+1], depth+1)
			if v == noValue {
				continue
			}
			out.Content = append(out.Content, n.Content[i], v)
		}
		return out
	case yaml.SequenceNode:
		out := &yaml.Node{Kind: yaml.SequenceNode, Line: n.Line, Column: n.Column}
		for _, e := range n.Content {
			v := c.evalDepth(e, depth+1)
			if v == noValue {
				continue
			}
			out.Content = append(out.Content, v)
		}
		return out
	}
	return n
}

// call evaluates one intrinsic function; at is where it was written.
func (c *cfn) call(fn string, arg, at *yaml.Node, depth int) *yaml.Node {
	switch fn {
	case "Ref":
		return c.ref(scalar(c.evalDepth(arg, depth+1)), at)
	case "Condition":
		return str(strconv.FormatBool(c.cond(scalar(arg), at)), at)
	case "Fn::GetAtt":
		var parts []string
		v := c.evalDepth(arg, depth+1)
		if v.Kind == yaml.SequenceNode {
			parts = strs(v)
		} else {
			res, attr, _ := strings.Cut(scalar(v), ".")
			parts = []string{res, attr}
		}
		if len(parts) != 2 {
			return c.fail(at, "Fn::GetAtt wants [Resource, Attribute] or \"Resource.Attribute\"")
		}
		return str(c.getAtt(parts[0], parts[1], at), at)
	case "Fn::Sub":
		tmpl, vars := arg, (*yaml.Node)(nil)
		if arg.Kind == yaml.SequenceNode {
			if len(arg.Content) != 2 {
				return c.fail(at, "Fn::Sub wants a string or [string, {variables}]")
			}
			tmpl, vars = arg.Content[0], c.evalDepth(arg.Content[1], depth+1)
		}
		if tmpl.Kind != yaml.ScalarNode {
			return c.fail(at, "Fn::Sub wants a string")
		}
		return str(c.sub(tmpl.Value, vars, at), at)
	case "Fn::Join":
		v := c.evalDepth(arg, depth+1)
		if v.Kind != yaml.SequenceNode || len(v.Content) != 2 {
			return c.fail(at, "Fn::Join wants [delimiter, [values]]")
		}
		return str(strings.Join(strs(v.Content[1]), scalar(v.Content[0])), at)
	case "Fn::If":
		if arg.Kind != yaml.SequenceNode || len(arg.Content) != 3 {
			return c.fail(at, "Fn::If wants [condition, value if true, value if false]")
		}
		if c.cond(scalar(arg.Content[0]), arg.Content[0]) {
			return c.evalDepth(arg.Content[1], depth+1)
		}
		return c.evalDepth(arg.Content[2], depth+1)
	case "Fn::Equals":
		v := c.evalDepth(arg, depth+1)
		if v.Kind != yaml.SequenceNode || len(v.Content) != 2 {
			return c.fail(at, "Fn::Equals wants [a, b]")
		}
		return str(strconv.FormatBool(scalar(v.Content[0]) == scalar(v.Content[1])), at)
	case "Fn::Not", "Fn::And", "Fn::Or":
		v := c.evalDepth(arg, depth+1)
		if v.Kind != yaml.SequenceNode || len(v.Content) == 0 {
			return c.fail(at, "%s wants a list of conditions", fn)
		}
		vals := make([]bool, len(v.Content))
		for i, e := range v.Content {
			vals[i] = scalar(e) == "true"
		}
		res := vals[0]
		switch fn {
		case "Fn::Not":
			res = !vals[0]
		case "Fn::And":
			for _, x := range vals {
				res = res && x
			}
		case "Fn::Or":
			for _, x := range vals {
				res = res || x
			}
		}
		return str(strconv.FormatBool(res), at)
	case "Fn::Select":
		v := c.evalDepth(arg, depth+1)
		if v.Kind != yaml.SequenceNode || len(v.Content) != 2 {
			return c.fail(at, "Fn::Select wants [index, [values]]")
		}
		i, err := strconv.Atoi(scalar(v.Content[0]))
		list := v.Content[1].Content
		if err != nil || i < 0 || i >= len(list) {
			return c.fail(at, "Fn::Select index %q out of range", scalar(v.Content[0]))
		}
		return list[i]
	case "Fn::Split":
		v := c.evalDepth(arg, depth+1)
		if v.Kind != yaml.SequenceNode || len(v.Content) != 2 {
			return c.fail(at, "Fn::Split wants [delimiter, string]")
		}
		out := &yaml.Node{Kind: yaml.SequenceNode, Line: at.Line}
		for _, s := range strings.Split(scalar(v.Content[1]), scalar(v.Content[0])) {
			out.Content = append(out.Content, str(s, at))
		}
		return out
	case "Fn::FindInMap":
		v := c.evalDepth(arg, depth+1)
		if v.Kind != yaml.SequenceNode || len(v.Content) < 3 {
			return c.fail(at, "Fn::FindInMap wants [map, key, key]")
		}
		r := get(get(get(c.mappings, scalar(v.Content[0])), scalar(v.Content[1])), scalar(v.Content[2]))
		if r == nil {
			return c.fail(at, "Fn::FindInMap: no %s.%s.%s in Mappings", scalar(v.Content[0]), scalar(v.Content[1]), scalar(v.Content[2]))
		}
		return c.evalDepth(r, depth+1)
	case "Fn::Base64":
		return str(base64.StdEncoding.EncodeToString([]byte(scalar(c.evalDepth(arg, depth+1)))), at)
	case "Fn::GetAZs":
		out := &yaml.Node{Kind: yaml.SequenceNode, Line: at.Line}
		for _, z := range []string{"a", "b", "c"} {
			out.Content = append(out.Content, str(region+z, at))
		}
		return out
	case "Fn::Length":
		v := c.evalDepth(arg, depth+1)
		return str(strconv.Itoa(len(v.Content)), at)
	case "Fn::ToJsonString":
		var x any
		_ = c.evalDepth(arg, depth+1).Decode(&x)
		j, _ := json.Marshal(x)
		return str(string(j), at)
	case "Fn::ImportValue":
		name := scalar(c.evalDepth(arg, depth+1))
		c.b.r.note(c.file, at, "Fn::ImportValue", "another stack's export %q is not available: a placeholder value is used", name)
		return str("imported-"+name, at)
	case "Fn::Transform":
		c.b.r.note(c.file, at, "Fn::Transform", "macros (AWS::Include and others) are not run: the value is left out")
		return noValue
	case "Fn::Cidr":
		c.b.r.note(c.file, at, "Fn::Cidr", "not evaluated: a placeholder is used")
		return str("10.0.0.0/24", at)
	}
	return c.fail(at, "unknown intrinsic function %s", fn)
}

// ref evaluates Ref: a parameter's value, a pseudo parameter, or a
// resource's name (its logical id).
func (c *cfn) ref(name string, at *yaml.Node) *yaml.Node {
	if v, ok := c.params[name]; ok {
		if c.listParam[name] {
			out := &yaml.Node{Kind: yaml.SequenceNode, Line: at.Line}
			for _, s := range v {
				out.Content = append(out.Content, str(s, at))
			}
			return out
		}
		return str(strings.Join(v, ","), at)
	}
	switch name {
	case "AWS::Region":
		return str(region, at)
	case "AWS::AccountId":
		return str(accountID, at)
	case "AWS::Partition":
		return str("aws", at)
	case "AWS::URLSuffix":
		return str("amazonaws.com", at)
	case "AWS::StackName":
		return str(stackName, at)
	case "AWS::StackId":
		return str("arn:aws:cloudformation:"+region+":"+accountID+":stack/"+stackName+"/00000000-0000-0000-0000-000000000000", at)
	case "AWS::NoValue":
		return noValue
	case "AWS::NotificationARNs":
		return &yaml.Node{Kind: yaml.SequenceNode, Line: at.Line}
	}
	if _, ok := c.resources[name]; ok {
		return str(c.refValue(name), at)
	}
	return c.fail(at, "Ref %q: no parameter, pseudo parameter or resource of that name", name)
}

// refValue is what Ref returns for a resource: its name for most types
// (functions, tables, APIs are named by their logical id here), an ARN
// where CloudFormation returns one.
func (c *cfn) refValue(id string) string {
	switch c.types[id] {
	case "AWS::SNS::Topic", "AWS::Serverless::StateMachine", "AWS::StepFunctions::StateMachine":
		return c.arn(id, "Arn")
	case "AWS::SQS::Queue":
		return "https://sqs." + region + ".amazonaws.com/" + accountID + "/" + id
	}
	return id
}

// getAtt evaluates Fn::GetAtt to placeholder values that keep the name.
func (c *cfn) getAtt(res, attr string, at *yaml.Node) string {
	if _, ok := c.resources[res]; !ok {
		c.fail(at, "Fn::GetAtt %s.%s: no resource %q", res, attr, res)
		return ""
	}
	switch {
	case attr == "Arn" || strings.HasSuffix(attr, "Arn"):
		return c.arn(res, attr)
	case attr == "ApiEndpoint":
		return "https://" + strings.ToLower(res) + ".execute-api." + region + ".amazonaws.com"
	case attr == "ApiId" || attr == "RootResourceId" || strings.HasSuffix(attr, "Name"):
		return res
	}
	return res + "." + attr
}

var typeService = regexp.MustCompile(`^AWS::(?:Serverless::)?([A-Za-z0-9]+)::`)

func (c *cfn) arn(id, attr string) string {
	p := "arn:aws:%s:" + region + ":" + accountID + ":%s"
	switch t := c.types[id]; t {
	case "AWS::Serverless::Function", "AWS::Lambda::Function":
		return fmt.Sprintf(p, "lambda", "function:"+id)
	case "AWS::DynamoDB::Table", "AWS::Serverless::SimpleTable":
		if attr == "StreamArn" {
			return fmt.Sprintf(p, "dynamodb", "table/"+id+"/stream/1970-01-01T00:00:00.000")
		}
		return fmt.Sprintf(p, "dynamodb", "table/"+id)
	case "AWS::SQS::Queue", "AWS::SNS::Topic":
		svc := "sqs"
		if t == "AWS::SNS::Topic" {
			svc = "sns"
		}
		return fmt.Sprintf(p, svc, id)
	case "AWS::IAM::Role":
		return "arn:aws:iam::" + accountID + ":role/" + id
	case "AWS::S3::Bucket":
		return "arn:aws:s3:::" + strings.ToLower(id)
	default:
		svc := "unknown"
		if m := typeService.FindStringSubmatch(t); m != nil {
			svc = strings.ToLower(m[1])
		}
		return fmt.Sprintf(p, svc, id)
	}
}

var subVar = regexp.MustCompile(`\$\{([^}]*)\}`)

// sub evaluates Fn::Sub: ${Param}, ${Resource}, ${Resource.Attr},
// ${AWS::Region}; ${!Literal} is written as ${Literal}. Names that are
// none of these (${stageVariables.x} in an OpenAPI body) stay as written.
func (c *cfn) sub(tmpl string, vars *yaml.Node, at *yaml.Node) string {
	return subVar.ReplaceAllStringFunc(tmpl, func(m string) string {
		inner := m[2 : len(m)-1]
		if strings.HasPrefix(inner, "!") {
			return "${" + inner[1:] + "}"
		}
		if v := get(vars, inner); v != nil {
			return scalar(v)
		}
		if _, ok := c.params[inner]; ok || strings.HasPrefix(inner, "AWS::") {
			return strings.Join(strs(c.ref(inner, at)), ",")
		}
		if _, ok := c.resources[inner]; ok {
			return c.refValue(inner)
		}
		if res, attr, ok := strings.Cut(inner, "."); ok {
			if _, ok := c.resources[res]; ok {
				return c.getAtt(res, attr, at)
			}
		}
		return m
	})
}

// cond evaluates a named condition from Conditions.
func (c *cfn) cond(name string, at *yaml.Node) bool {
	if v, ok := c.condVal[name]; ok {
		return v
	}
	n, ok := c.conds[name]
	if !ok {
		c.fail(at, "no condition named %q in Conditions", name)
		return false
	}
	if c.inCond[name] {
		c.fail(at, "condition %q depends on itself", name)
		return false
	}
	c.inCond[name] = true
	v := scalar(c.eval(n)) == "true"
	delete(c.inCond, name)
	c.condVal[name] = v
	return v
}

// parameters reads Parameters: overrides first, then defaults.
func (c *cfn) parameters(params *yaml.Node, overrides map[string]string) {
	known := map[string]bool{}
	pairs(params, func(k, v *yaml.Node) {
		known[k.Value] = true
		val, ok := overrides[k.Value]
		if !ok {
			d := get(v, "Default")
			if d == nil {
				c.b.r.fail(c.file, k, "Parameters."+k.Value, "no Default: give a value with --parameter-overrides %s=VALUE", k.Value)
				return
			}
			if d.Kind == yaml.SequenceNode {
				val = strings.Join(strs(d), ",")
			} else {
				val = scalar(d)
			}
		}
		typ := getStr(v, "Type")
		if strings.HasPrefix(typ, "List<") || typ == "CommaDelimitedList" {
			c.listParam[k.Value] = true
			c.params[k.Value] = strings.Split(val, ",")
		} else {
			c.params[k.Value] = []string{val}
		}
		if allowed := strs(get(v, "AllowedValues")); len(allowed) > 0 && !contains(allowed, val) {
			c.b.r.fail(c.file, k, "Parameters."+k.Value, "value %q is not one of AllowedValues %v", val, allowed)
		}
	})
	names := make([]string, 0, len(overrides))
	for n := range overrides {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if !known[n] {
			c.b.r.fail(c.file, params, "", "--parameter-overrides %s: the template has no parameter %q", n, n)
		}
	}
}
