package wsbridge

import (
	"testing"

	"github.com/frontdeskgw/frontdesk/vtl"
)

func TestTemplateSelectionExpressionPicksTheKey(t *testing.T) {
	cases := []struct {
		expr, body, want string
	}{
		{`\$default`, `{"action":"x"}`, "$default"},
		{`$request.body.action`, `{"action":"join"}`, "join"},
		{`$request.body.a.b`, `{"a":{"b":7}}`, "7"},
		{`$request.body.action`, `{"other":1}`, ""},
		{`$request.body.action`, `not json`, ""},
		{`$request.body`, `plain`, "plain"},
		{`room#1 \$x`, `{}`, "room#1 $x"},
	}
	for _, c := range cases {
		src, err := selectorTemplate(c.expr)
		if err != nil {
			t.Errorf("%s: %v", c.expr, err)
			continue
		}
		tp, err := vtl.Parse(src)
		if err != nil {
			t.Errorf("%s: %s: %v", c.expr, src, err)
			continue
		}
		got, _ := tp.Render(&vtl.Input{Body: []byte(c.body)}, nil)
		if got != c.want {
			t.Errorf("%s on %s = %q, want %q", c.expr, c.body, got, c.want)
		}
	}
	for _, bad := range []string{`$request.body.`, `$request.body.a'b`, `$context.x`, `a$b`} {
		if _, err := selectorTemplate(bad); err == nil {
			t.Errorf("%s: accepted", bad)
		}
	}
}
