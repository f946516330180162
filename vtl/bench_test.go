package vtl

import "testing"

// typicalRequestTemplate is a 20-line request template of the kind the
// developer guide shows: fields picked from the body, a loop, parameters,
// context and stage variables.
const typicalRequestTemplate = `#set($inputRoot = $input.path('$'))
{
  "orderId": "$inputRoot.id",
  "customer": {
    "name": "$util.escapeJavaScript($inputRoot.customer.name)",
    "email": "$inputRoot.customer.email"
  },
  "items": [
#foreach($item in $inputRoot.items)
    {"sku": "$item.sku", "quantity": $item.qty}#if($foreach.hasNext),#end
#end
  ],
  "total": $input.json('$.total'),
  "currency": "$input.params('currency')",
  "requestId": "$context.requestId",
  "sourceIp": "$context.identity.sourceIp",
  "stage": "$context.stage",
  "backend": "$stageVariables.version"
}
`

const typicalRequestBody = `{"id":"o-1001","customer":{"name":"Ada Lovelace","email":"ada@example.com"},"items":[{"sku":"A-1","qty":2},{"sku":"B-7","qty":1}],"total":42.5}`

func BenchmarkTypicalRequestTemplate(b *testing.B) {
	tp := MustParse(typicalRequestTemplate)
	in := reqInput()
	in.Body = []byte(typicalRequestBody)
	in.Params.QueryString["currency"] = "EUR"
	var ov Overrides
	buf := make([]byte, 0, 4096)
	out, err := tp.Execute(buf[:0], in, &ov)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := ParseJSON(string(out)); err != nil {
		b.Fatalf("output is not JSON: %v\n%s", err, out)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		buf, _ = tp.Execute(buf[:0], in, &ov)
	}
}

func BenchmarkParseTypicalRequestTemplate(b *testing.B) {
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := Parse(typicalRequestTemplate); err != nil {
			b.Fatal(err)
		}
	}
}
