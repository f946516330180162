package pipeline

import (
	"github.com/frontdeskgw/frontdesk/exchange"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
)

type mark struct {
	name string
	stop bool
	log  *[]string
}

func (m mark) Handle(ex *exchange.Exchange, next exchange.Next) {
	*m.log = append(*m.log, m.name+">")
	if m.stop {
		ex.Ctx.SetStatusCode(429)
		return
	}
	next.Serve(ex)
	*m.log = append(*m.log, "<"+m.name)
}

type final struct{ log *[]string }

func (f final) Serve(ex *exchange.Exchange) {
	*f.log = append(*f.log, "integration")
	ex.Ctx.SetStatusCode(200)
}

func TestChainRunsStepsInOrderAroundTheIntegration(t *testing.T) {
	cases := []struct {
		name  string
		stops []bool
		want  string
		code  int
	}{
		{"all pass", []bool{false, false}, "a> b> integration <b <a", 200},
		{"second answers", []bool{false, true}, "a> b> <a", 429},
		{"first answers", []bool{true, false}, "a>", 429},
		{"no steps", nil, "integration", 200},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var log []string
			var steps []exchange.Step
			for i, s := range c.stops {
				steps = append(steps, mark{name: string(rune('a' + i)), stop: s, log: &log})
			}
			ex := &exchange.Exchange{Ctx: &fasthttp.RequestCtx{}}
			NewChain(final{&log}, steps...).Serve(ex)
			if got := strings.Join(log, " "); got != c.want {
				t.Errorf("ran %q, want %q", got, c.want)
			}
			if ex.Ctx.Response.StatusCode() != c.code {
				t.Errorf("status %d", ex.Ctx.Response.StatusCode())
			}
		})
	}
}

type pass struct{}

func (pass) Handle(ex *exchange.Exchange, next exchange.Next) { next.Serve(ex) }

type nop struct{}

func (nop) Serve(*exchange.Exchange) {}

func BenchmarkChainOfFourSteps(b *testing.B) {
	c := NewChain(nop{}, pass{}, pass{}, pass{}, pass{})
	ex := &exchange.Exchange{}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		c.Serve(ex)
	}
}
