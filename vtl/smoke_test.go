package vtl

import "testing"

func TestSmoke(t *testing.T) {
	in := &Input{Body: []byte(`{"a":{"b":[1,2,3]},"name":"x\"y","n":null,"f":1.5}`), Params: Params{Header: map[string]string{"Auth": "tok"}, QueryString: map[string]string{"q": "1"}}, Context: map[string]any{"stage": "prod", "identity": map[string]any{"sourceIp": "1.2.3.4"}}}
	for _, src := range []string{
		"#set($r = $input.path('$'))\n{\n  \"x\": $input.json('$.a'),\n#foreach($i in $r.a.b)\n  $i#if($foreach.hasNext),#end\n#end\n}",
		"$input.json('$')|$input.json('$.name')|$input.json('$.n')|$input.json('$.f')|$input.json('$.a.b[*]')",
		"$context.stage $context.identity.sourceIp $input.params('Auth') $input.params().header.Auth $missing $!missing",
		"#macro(m $a)<$a>#end#m('z')#m(1)",
		"#set($l=[1..3])$l $l.size() #set($m={'k':1})$m.k $m.keySet()",
	} {
		tp, err := Parse(src)
		if err != nil {
			t.Fatal(err)
		}
		out, err := tp.Render(in, nil)
		t.Logf("%q -> %q %v", src, out, err)
	}
}
