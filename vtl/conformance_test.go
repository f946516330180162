package vtl

import (
	"strings"
	"testing"
)

// conformanceCase is one template run against one input. source says
// where the behaviour comes from: the AWS developer guide's mapping
// template reference and examples, or the Velocity 1.7 user guide that
// API Gateway's engine follows.
type conformanceCase struct {
	name   string
	source string
	tmpl   string
	in     *Input
	want   string
}

const petsBody = `{"pets":[{"id":1,"type":"dog","price":249.99},{"id":2,"type":"cat","price":124.99},{"id":3,"type":"fish","price":0.99}],"owner":{"name":"Ada","tags":["a","b"]},"count":3,"ok":true,"none":null,"msg":"say \"hi\"\nbye"}`

func body(s string) *Input { return &Input{Body: []byte(s)} }

func reqInput() *Input {
	return &Input{
		Body: []byte(`{"name":"Ada"}`),
		Params: Params{
			Path:        map[string]string{"petId": "42"},
			QueryString: map[string]string{"limit": "10", "type": "dog"},
			Header:      map[string]string{"Accept": "application/json", "X-Token": "t0k"},
		},
		Context: map[string]any{
			"requestId":    "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
			"stage":        "prod",
			"httpMethod":   "POST",
			"resourcePath": "/pets/{petId}",
			"path":         "/prod/pets/42",
			"apiId":        "a1b2c3d4e5",
			"accountId":    "123456789012",
			"identity":     map[string]any{"sourceIp": "203.0.113.9", "userAgent": "curl/8.0"},
			"authorizer":   map[string]any{"principalId": "user-1", "claims": map[string]any{"sub": "abc-123", "email": "ada@example.com"}},
			"error":        map[string]any{"message": "Missing Authentication Token", "messageString": `"Missing Authentication Token"`, "responseType": "MISSING_AUTHENTICATION_TOKEN", "validationErrorString": ""},
		},
		StageVariables: map[string]string{"backend": "http://127.0.0.1:9000", "version": "v2"},
	}
}

var conformance = []conformanceCase{
	// ---- $input ----
	{"input.body", "Mapping template reference, $input.body: the raw request payload as a string", `$input.body`, body(`{"a": 1}`), `{"a": 1}`},
	{"input.json root object", "Mapping template reference, $input.json(x): a JSON string of the selection; '$' is the whole payload", `$input.json('$')`, body(`{ "a" : 1, "b": [true, null] }`), `{"a":1,"b":[true,null]}`},
	{"input.json number", "Mapping template reference, $input.json on a number field", `$input.json('$.count')`, body(petsBody), `3`},
	{"input.json string", "Mapping template reference, $input.json on a string: JSON-quoted", `$input.json('$.owner.name')`, body(petsBody), `"Ada"`},
	{"input.json null", "Mapping template reference, $input.json on a null field", `$input.json('$.none')`, body(petsBody), `null`},
	{"input.json boolean", "Mapping template reference, $input.json on a boolean field", `$input.json('$.ok')`, body(petsBody), `true`},
	{"input.json nested object", "Mapping template reference, $input.json on a nested object (the Lambda non-proxy example passing $input.json('$.owner'))", `$input.json('$.owner')`, body(petsBody), `{"name":"Ada","tags":["a","b"]}`},
	{"input.json root number", "Mapping template reference, $input.json('$') when the payload is a bare number", `$input.json('$')`, body(`42`), `42`},
	{"input.json root string", "Mapping template reference, $input.json('$') when the payload is a bare string", `$input.json('$')`, body(`"hello"`), `"hello"`},
	{"input.json root null", "Mapping template reference, $input.json('$') when the payload is null", `$input.json('$')`, body(`null`), `null`},
	{"input.json empty body", "Mapping template reference: an empty payload reads as an empty object", `$input.json('$')`, body(``), `{}`},
	{"input.json escapes", "Mapping template reference, $input.json re-serialises strings with JSON escapes for quotes and newlines", `$input.json('$.msg')`, body(petsBody), `"say \"hi\"\nbye"`},
	{"input.json float", "Mapping template reference, $input.json on a decimal number", `$input.json('$.pets[0].price')`, body(petsBody), `249.99`},
	{"input.json missing", "Mapping template reference: a path that selects nothing gives an empty string", `[$input.json('$.nope')]`, body(petsBody), `[]`},
	{"jsonpath wildcard", "Mapping template reference, JSONPath $.pets[*].type selects a list", `$input.json('$.pets[*].type')`, body(petsBody), `["dog","cat","fish"]`},
	{"jsonpath index", "Mapping template reference, JSONPath array index", `$input.json('$.pets[1]')`, body(petsBody), `{"id":2,"type":"cat","price":124.99}`},
	{"jsonpath bracket name", "JSONPath (Goessner) bracket notation for member names", `$input.json("$['owner']['name']")`, body(petsBody), `"Ada"`},
	{"jsonpath recursive descent", "JSONPath (Goessner) recursive descent ..", `$input.json('$..name')`, body(petsBody), `["Ada"]`},
	{"jsonpath filter", "JSONPath (Goessner) filter expression ?()", `$input.json('$.pets[?(@.price < 200)].id')`, body(petsBody), `[2,3]`},
	{"jsonpath slice", "JSONPath (Goessner) array slice", `$input.json('$.pets[0:2].id')`, body(petsBody), `[1,2]`},
	{"input.path value", "Mapping template reference, $input.path(x) returns an object VTL can use natively", `$input.path('$.owner.name') has $input.path('$.pets').size() pets`, body(petsBody), `Ada has 3 pets`},
	{"input.path map renders as Java map", "Mapping template reference: an object from $input.path renders as a Java map", `$input.path('$.owner')`, body(petsBody), `{name=Ada, tags=[a, b]}`},
	{"input.path property chain", "Mapping template reference, the $inputRoot = $input.path('$') idiom of the generated templates", "#set($inputRoot = $input.path('$'))\n$inputRoot.pets[2].type $inputRoot.owner.tags.get(1)", body(petsBody), `fish b`},
	{"input.params name from path", "Mapping template reference, $input.params(x): path parameters first", `$input.params('petId')`, reqInput(), `42`},
	{"input.params name from querystring", "Mapping template reference, $input.params(x): then the query string", `$input.params('limit')`, reqInput(), `10`},
	{"input.params name from header", "Mapping template reference, $input.params(x): then the headers", `$input.params('X-Token')`, reqInput(), `t0k`},
	{"input.params missing", "Mapping template reference: a missing parameter is an empty string", `"$input.params('nope')"`, reqInput(), `""`},
	{"input.params header map", "Mapping template reference, $input.params().header", `$input.params().header.get('Accept')`, reqInput(), `application/json`},
	{"input.params querystring map", "Mapping template reference, $input.params().querystring", `$input.params().querystring.type`, reqInput(), `dog`},
	{"input.params path map", "Mapping template reference, $input.params().path", `$input.params().path.petId`, reqInput(), `42`},
	{"hyphenated property", "Velocity 1.7 identifiers may hold hyphens: header names as properties", `$input.params().header.X-Token|$input.params('petId')-suffix`, reqInput(), `t0k|42-suffix`},
	{"input.params all", "Developer guide, the 'pass through all parameters' template iterating $input.params()",
		"#set($allParams = $input.params())\n{\n#foreach($type in $allParams.keySet())\n#set($params = $allParams.get($type))\n\"$type\":{#foreach($paramName in $params.keySet())\"$paramName\":\"$util.escapeJavaScript($params.get($paramName))\"#if($foreach.hasNext),#end#end}#if($foreach.hasNext),#end\n#end\n}",
		reqInput(), "{\n\"path\":{\"petId\":\"42\"},\n\"querystring\":{\"limit\":\"10\",\"type\":\"dog\"},\n\"header\":{\"Accept\":\"application\\/json\",\"X-Token\":\"t0k\"}\n}"},

	// ---- $util ----
	{"util.escapeJavaScript double quotes", "Mapping template reference, $util.escapeJavaScript escapes double quotes", `$util.escapeJavaScript('say "hi"')`, body(``), `say \"hi\"`},
	{"util.escapeJavaScript single quote", "Mapping template reference: escapeJavaScript also escapes single quotes (\\')", `$util.escapeJavaScript("it's")`, body(``), `it\'s`},
	{"util.escapeJavaScript newline and tab", "Mapping template reference: control characters become \\n, \\t", "$util.escapeJavaScript($input.path('$.s'))", body(`{"s":"a\nb\tc\\d/e"}`), `a\nb\tc\\d\/e`},
	{"util.escapeJavaScript unicode", "Mapping template reference: characters beyond ASCII become \\uXXXX", `$util.escapeJavaScript('café ☕')`, body(``), `caf\u00E9 \u2615`},
	{"util.escapeJavaScript of json", "Developer guide, embedding the whole payload as a string: \"$util.escapeJavaScript($input.json('$'))\"", `{"raw":"$util.escapeJavaScript($input.json('$'))"}`, body(`{"a":"b"}`), `{"raw":"{\"a\":\"b\"}"}`},
	{"util.parseJson", "Mapping template reference, $util.parseJson turns a JSON string into an object", "#set($o = $util.parseJson($input.path('$.inner')))$o.x.y", body(`{"inner":"{\"x\":{\"y\":7}}"}`), `7`},
	{"util.urlEncode", "Mapping template reference, $util.urlEncode (application/x-www-form-urlencoded)", `$util.urlEncode('a b&c=d/é*~')`, body(``), `a+b%26c%3Dd%2F%C3%A9*%7E`},
	{"util.urlDecode", "Mapping template reference, $util.urlDecode", `$util.urlDecode('a+b%26c%3Dd')`, body(``), `a b&c=d`},
	{"util.base64Encode", "Mapping template reference, $util.base64Encode", `$util.base64Encode('hello world')`, body(``), `aGVsbG8gd29ybGQ=`},
	{"util.base64Decode", "Mapping template reference, $util.base64Decode", `$util.base64Decode('aGVsbG8gd29ybGQ=')`, body(``), `hello world`},

	// ---- $context and $stageVariables ----
	{"context ids", "Mapping template reference, $context.requestId, $context.apiId, $context.accountId", `$context.requestId $context.apiId $context.accountId`, reqInput(), `c6af9ac6-7b61-11e6-9a41-93e8deadbeef a1b2c3d4e5 123456789012`},
	{"context request", "Mapping template reference, $context.httpMethod, $context.resourcePath, $context.path, $context.stage", `$context.httpMethod $context.resourcePath $context.path $context.stage`, reqInput(), `POST /pets/{petId} /prod/pets/42 prod`},
	{"context identity", "Mapping template reference, $context.identity.sourceIp and userAgent", `$context.identity.sourceIp $context.identity.userAgent`, reqInput(), `203.0.113.9 curl/8.0`},
	{"context authorizer", "Mapping template reference, $context.authorizer.principalId and claims", `$context.authorizer.principalId $context.authorizer.claims.sub $context.authorizer.claims.email`, reqInput(), `user-1 abc-123 ada@example.com`},
	{"context error default template", "Gateway responses: the default body template {\"message\":$context.error.messageString}", `{"message":$context.error.messageString}`, reqInput(), `{"message":"Missing Authentication Token"}`},
	{"context error type", "Gateway responses, $context.error.responseType", `$context.error.responseType`, reqInput(), `MISSING_AUTHENTICATION_TOKEN`},
	{"stageVariables", "Stage variables reference, $stageVariables.<name> in mapping templates", `$stageVariables.backend/$stageVariables.version`, reqInput(), `http://127.0.0.1:9000/v2`},
	{"stageVariables missing quiet", "Stage variables reference: an undefined one with $! renders nothing", `[$!stageVariables.nope]`, reqInput(), `[]`},

	// ---- AWS examples ----
	{"photos response template", "Developer guide, the PhotosResponse example transforming a photo list with #foreach and $foreach.hasNext",
		"#set($inputRoot = $input.path('$'))\n{\n  \"photos\": [\n#foreach($elem in $inputRoot.photos.photo)\n    {\n      \"id\": \"$elem.id\",\n      \"title\": \"$elem.title\"\n    }#if($foreach.hasNext),#end\n\n#end\n  ]\n}",
		body(`{"photos":{"page":1,"photo":[{"id":"1","title":"one"},{"id":"2","title":"two"}]}}`),
		"{\n  \"photos\": [\n    {\n      \"id\": \"1\",\n      \"title\": \"one\"\n    },\n\n    {\n      \"id\": \"2\",\n      \"title\": \"two\"\n    }\n\n  ]\n}"},
	{"mock status template", "Developer guide, mock integration: the request template {\"statusCode\": 200} picks the integration response", `{"statusCode": 200}`, body(``), `{"statusCode": 200}`},
	{"mock status by parameter", "Developer guide, mock integration choosing the status from a query parameter", "{\n#if( $input.params('scope') == \"internal\" )\n  \"statusCode\": 200\n#else\n  \"statusCode\": 500\n#end\n}", &Input{Params: Params{QueryString: map[string]string{"scope": "internal"}}}, "{\n  \"statusCode\": 200\n}"},
	{"lambda non-proxy event", "Developer guide, Lambda custom integration: a request template building the event from the body, a query parameter and a header",
		`{"body": $input.json('$'), "limit": "$input.params('limit')", "token": "$input.params('X-Token')", "stage": "$context.stage"}`,
		reqInput(), `{"body": {"name":"Ada"}, "limit": "10", "token": "t0k", "stage": "prod"}`},
	{"null check idiom", "Common idiom from the developer guide forums: #if(\"$!x\" != \"\") around an optional field", "#set($n = $input.path('$.next'))\n{#if(\"$!n\" != \"\")\"next\":\"$n\"#end}", body(`{}`), `{}`},

	// ---- VTL: references, directives, literals, operators ----
	{"set and braces", "Velocity user guide, #set and formal references ${x}", `#set($x = "ab")${x}cd $x`, body(``), `abcd ab`},
	{"quiet and undefined", "Velocity user guide, quiet reference notation $!x; an undefined reference renders as written", `[$nope][$!nope][$!{nope}]`, body(``), `[$nope][][]`},
	{"set null keeps value", "Velocity 1.7 user guide: #set with a null right-hand side leaves the variable unchanged", `#set($x = 1)#set($x = $input.path('$.nope'))$x`, body(`{}`), `1`},
	{"if elseif else", "Velocity user guide, #if/#elseif/#else", `#foreach($n in [1, 5, 10])#if($n < 3)low#elseif($n < 8)mid#{else}high#end #end`, body(``), `low mid high `},
	{"logical operators", "Velocity user guide, && || ! and the word forms and, or, not", `#if($a || true && !false)1#end#if(1 == 1 and not (2 > 3))2#end#if(1 eq 2 or 2 ne 3)3#end`, body(``), `123`},
	{"comparison operators", "Velocity user guide, relational operators and their word forms", `#if(2 > 1 && 2 >= 2 && 1 < 2 && 1 <= 1 && 3 gt 2 && 2 le 2)yes#end #if("a" == "a")eq#end #if(1 == 1.0)num#end`, body(``), `yes eq num`},
	{"arithmetic", "Velocity user guide, integer arithmetic + - * / %", `#set($a = 7)#set($b = 2)$a+$b=#set($c = $a + $b)$c $math #set($d = $a * $b - $a / $b % 3)$d`, body(``), `7+2=9 $math 14`},
	{"float arithmetic", "Velocity user guide: arithmetic with a decimal operand is decimal", `#set($x = 1.5 * 2)$x #set($y = 10 / 4.0)$y`, body(``), `3.0 2.5`},
	{"string concatenation", "Velocity: + with a string operand concatenates", `#set($s = "a" + 1 + "b")$s`, body(``), `a1b`},
	{"interpolated string", "Velocity user guide, double-quoted strings interpolate references; single-quoted do not", `#set($n = "Ada")#set($a = "hi $n")#set($b = 'hi $n')$a|$b`, body(``), `hi Ada|hi $n`},
	{"list literal", "Velocity user guide, list literals and their methods", `#set($l = ["a", "b"])$l.size() $l.get(0) $l[1] $l.isEmpty() $l.contains("b")`, body(``), `2 a b false true`},
	{"list add", "Velocity user guide, calling add on a list; #set($dummy = ...) swallows the result", `#set($l = [])#set($_ = $l.add(1))#set($_ = $l.add("x"))$l`, body(``), `[1, x]`},
	{"map literal", "Velocity user guide, map literals and get/put/containsKey/keySet", `#set($m = {"a": 1, "b": "two"})$m.a $m.get("b") $m.containsKey("c") #set($_ = $m.put("c", 3))$m.keySet() $m.size() $m`, body(``), `1 two false [a, b, c] 3 {a=1, b=two, c=3}`},
	{"range", "Velocity user guide, range operator [1..3]", `#foreach($i in [1..3])$i#end #foreach($i in [3..1])$i#end`, body(``), `123 321`},
	{"foreach counters", "Velocity user guide, $foreach.index, $foreach.count, $foreach.hasNext and $velocityCount", `#foreach($x in ["a","b","c"])$foreach.index:$foreach.count:$velocityCount:$x#if($foreach.hasNext),#end#end`, body(``), `0:1:1:a,1:2:2:b,2:3:3:c`},
	{"foreach over map values", "Velocity user guide: #foreach over a map iterates its values", `#foreach($v in $input.path('$.owner'))[$v]#end`, body(`{"owner":{"name":"Ada","age":36}}`), `[Ada][36]`},
	{"foreach over map keys", "Developer guide idiom: #foreach($key in $map.keySet())", `#set($m = $input.path('$'))#foreach($k in $m.keySet())$k=$m.get($k);#end`, body(`{"x":1,"y":"z"}`), `x=1;y=z;`},
	{"foreach over entrySet", "Velocity: iterating a map's entrySet gives key and value", `#foreach($e in $input.path('$').entrySet())$e.key:$e.value #end`, body(`{"x":1,"y":2}`), `x:1 y:2 `},
	{"nested foreach parent", "Velocity user guide, $foreach.parent in nested loops", `#foreach($a in [1,2])#foreach($b in ["x"])$foreach.parent.index$b#end#end`, body(``), `0x1x`},
	{"break", "Velocity user guide, #break leaves the loop", `#foreach($i in [1..10])#if($i > 3)#break#end$i#end.`, body(``), `123.`},
	{"stop", "Velocity user guide, #stop ends rendering", `a#stop b`, body(``), `a`},
	{"define", "Velocity user guide, #define a block rendered by reference", `#define($greet)Hello $name#end#set($name = "Ada")$greet!`, body(``), `Hello Ada!`},
	{"macro", "Velocity user guide, #macro with arguments", "#macro(field $k $v)\"$k\":\"$v\"#end\n{#field(\"a\" 1),#field('b', $input.path('$.b'))}", body(`{"b":"x"}`), "\n{\"a\":\"1\",\"b\":\"x\"}"},
	{"line comment", "Velocity user guide, ## comments to the end of the line", "a ## note\nb\n## whole line\nc", body(``), "a b\nc"},
	{"block comment", "Velocity user guide, #* block comments *#", "a#* x\ny *#b", body(``), `ab`},
	{"escaped reference", "Velocity user guide, \\$ escapes a reference and \\# a directive", `\$x \#if \\$y`, body(``), `$x #if \$y`},
	{"unparsed content", "Velocity user guide, #[[ ]]# unparsed content", `#[[$x #if]]#`, body(``), `$x #if`},
	{"dollar not a reference", "Velocity: a $ not followed by a name is text (JSONPath inside output, prices)", `cost: $5 and $`, body(``), `cost: $5 and $`},
	{"hash not a directive", "Velocity: # followed by a word that is no directive is text", `#fff #1 # x`, body(``), `#fff #1 # x`},
	{"directive lines gobbled", "Velocity lines space gobbling: a directive alone on its line leaves no blank line", "{\n  #set($a = 1)\n  #if($a == 1)\n  \"a\": $a\n  #end\n}", body(``), "{\n  \"a\": 1\n}"},

	// ---- Java string methods ----
	{"string length and case", "Java String methods templates call: length, toLowerCase, toUpperCase", `#set($s = "MiXed")$s.length() $s.toLowerCase() $s.toUpperCase()`, body(``), `5 mixed MIXED`},
	{"string substring", "Java String.substring(begin) and substring(begin, end)", `#set($s = "Bearer abc")$s.substring(7) $s.substring(0, 6)`, body(``), `abc Bearer`},
	{"string replace and replaceAll", "Java String.replace and replaceAll with a regex and $1 groups", `#set($s = "a-b-c")$s.replace("-", "+") $s.replaceAll("([a-z])", "<$1>")`, body(``), `a+b+c <a>-<b>-<c>`},
	{"string predicates", "Java String contains, startsWith, endsWith, isEmpty, equals, matches", `#set($s = "image/png")$s.contains("/") $s.startsWith("image") $s.endsWith("jpg") $s.isEmpty() $s.equals("image/png") $s.matches("image/.*") $s.matches("png")`, body(``), `true true false false true true false`},
	{"string indexOf split trim", "Java String indexOf, split (trailing empties dropped) and trim", `#set($s = " a,b,,c,, ")$s.indexOf(",") #foreach($p in $s.trim().split(","))[$p]#end $s.trim()`, body(``), `2 [a][b][][c] a,b,,c,,`},
	{"string methods on body values", "Developer guide idiom: splitting an Authorization header", `#set($h = $input.params('Authorization'))#set($parts = $h.split(" "))$parts.get(1)`, &Input{Params: Params{Header: map[string]string{"Authorization": "Bearer tok"}}}, `tok`},
}

func TestConformance(t *testing.T) {
	if len(conformance) < 60 {
		t.Fatalf("conformance suite has %d cases, want at least 60", len(conformance))
	}
	for _, c := range conformance {
		t.Run(c.name, func(t *testing.T) {
			if c.source == "" {
				t.Fatal("case states no source")
			}
			tp, err := Parse(c.tmpl)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			got, err := tp.Render(c.in, nil)
			if err != nil {
				t.Fatalf("render: %v", err)
			}
			if got != c.want {
				t.Errorf("template %q\n got %q\nwant %q", c.tmpl, got, c.want)
			}
		})
	}
}

func TestOverridesAreReturned(t *testing.T) {
	tp := MustParse(strings.Join([]string{
		`#set($context.requestOverride.header.xTrace = "t-$input.params('id')")`,
		`#set($context.requestOverride.querystring.page = 2)`,
		`#set($context.requestOverride.path.id = "7")`,
		`#set($context.responseOverride.status = 418)`,
		`#set($context.responseOverride.header['Cache-Control'] = "no-store")`,
		`$context.responseOverride.status`,
	}, "\n"))
	var ov Overrides
	got, err := tp.Render(&Input{Params: Params{Path: map[string]string{"id": "9"}}}, &ov)
	if err != nil {
		t.Fatal(err)
	}
	if got != "418" {
		t.Errorf("output %q, want 418", got)
	}
	if ov.RequestHeader["xTrace"] != "t-9" || ov.RequestQueryString["page"] != "2" || ov.RequestPath["id"] != "7" {
		t.Errorf("request overrides %+v", ov)
	}
	if ov.ResponseStatus != 418 || ov.ResponseHeader["Cache-Control"] != "no-store" {
		t.Errorf("response overrides %+v", ov)
	}
	ov.Reset()
	if ov.ResponseStatus != 0 || len(ov.RequestHeader) != 0 {
		t.Errorf("Reset left %+v", ov)
	}
}

// lazyContext counts the fields read, to show a template pays only for
// what it uses.
type lazyContext struct{ reads []string }

func (l *lazyContext) Get(name string) (any, bool) {
	l.reads = append(l.reads, name)
	switch name {
	case "stage":
		return "prod", true
	case "identity":
		m := &Map{}
		m.Put("sourceIp", "198.51.100.7")
		return m, true
	}
	return nil, false
}

func (l *lazyContext) Keys() []string { return []string{"identity", "stage"} }

func TestContextObjectIsReadOnDemand(t *testing.T) {
	lc := &lazyContext{}
	in := &Input{Context: map[string]any{"requestId": "r-1"}, ContextObject: lc}
	got, err := MustParse(`$context.requestId $context.stage $context.identity.sourceIp $context.keySet() [$!context.nope]`).Render(in, nil)
	if err != nil || got != "r-1 prod 198.51.100.7 [requestId, identity, stage] []" {
		t.Errorf("got %q, %v", got, err)
	}
	if strings.Join(lc.reads[:2], ",") != "stage,identity" {
		t.Errorf("fields read: %v", lc.reads)
	}
}
