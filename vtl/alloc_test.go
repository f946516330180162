package vtl

import (
	"fmt"
	"sync"
	"testing"
)

// The typical request template runs without allocating once the pooled
// evaluation state is warm: body members, parameters, stage variables
// and $util results live in the evaluation's arena.
func TestTypicalRequestTemplateDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not exact under the race detector")
	}
	tp := MustParse(typicalRequestTemplate)
	in := reqInput()
	in.Body = []byte(typicalRequestBody)
	in.Params.QueryString["currency"] = "EUR"
	var ov Overrides
	buf := make([]byte, 0, 4096)
	for range 3 {
		buf, _ = tp.Execute(buf[:0], in, &ov)
	}
	allocs := testing.AllocsPerRun(100, func() {
		buf, _ = tp.Execute(buf[:0], in, &ov)
	})
	if allocs != 0 {
		t.Fatalf("allocs per evaluation = %v, want 0", allocs)
	}
}

// Values kept in the arena belong to one evaluation: the next one, with
// another body, reuses the arena, and evaluations running at the same
// time each get their own.
func TestArenaValuesDoNotLeakBetweenEvaluations(t *testing.T) {
	tp := MustParse(`#set($r = $input.path('$'))$r.s|$r.f|$r.n|$r.big|#foreach($x in $r.l)$x,#end|$input.params('q')|$stageVariables.v|#if($r.s == "s$r.n")eq#end`)
	run := func(i int) (string, string) {
		in := &Input{
			Body:           fmt.Appendf(nil, `{"s":"s%d","f":%d.5,"n":%d,"big":%d,"l":["a%d",%d.25,%d]}`, i, i, i, 1_000_000+i, i, i, 300+i),
			Params:         Params{QueryString: map[string]string{"q": fmt.Sprint("q", i)}},
			StageVariables: map[string]string{"v": fmt.Sprint("v", i)},
		}
		want := fmt.Sprintf("s%d|%d.5|%d|%d|a%d,%d.25,%d,|q%d|v%d|eq", i, i, i, 1_000_000+i, i, i, 300+i, i, i)
		got, err := tp.Render(in, nil)
		if err != nil {
			return err.Error(), want
		}
		return got, want
	}
	for i := range 50 {
		if got, want := run(i); got != want {
			t.Fatalf("evaluation %d = %q, want %q", i, got, want)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan string, 8*50)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				if got, want := run(g*1000 + i); got != want {
					errs <- fmt.Sprintf("got %q, want %q", got, want)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}
