package main

import (
	"reflect"
	"strings"
	"testing"

	"github.com/frontdeskgw/frontdesk/bench/loadgen"
)

func TestHeaderFlagsTakeNameColonValue(t *testing.T) {
	var h headerFlags
	for _, v := range []string{"X-Api-Key: abc", "Accept:application/json", "X-Empty:"} {
		if err := h.Set(v); err != nil {
			t.Fatalf("Set(%q): %v", v, err)
		}
	}
	want := headerFlags{{Name: "X-Api-Key", Value: "abc"}, {Name: "Accept", Value: "application/json"}, {Name: "X-Empty", Value: ""}}
	if !reflect.DeepEqual(h, want) {
		t.Errorf("got %v, want %v", h, want)
	}
	for _, bad := range []string{"no-colon", ": value"} {
		if err := h.Set(bad); err == nil {
			t.Errorf("Set(%q) accepted", bad)
		}
	}
	var _ []loadgen.Header = h
}

func TestCommands(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		code int
		out  string
	}{
		{"help", []string{"help"}, 0, "frontdesk-bench [run] [flags]"},
		{"unknown command", []string{"nope"}, 2, `unknown command "nope"`},
		{"list scenarios", []string{"-list"}, 0, "frontdesk-proxy"},
		{"unknown scenario", []string{"-scenarios", "nope"}, 1, "unknown scenario(s) nope"},
		{"load needs an address", []string{"load", "-duration", "10ms"}, 1, "no address"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errs strings.Builder
			code := run(tc.args, &out, &errs)
			if code != tc.code || !strings.Contains(out.String()+errs.String(), tc.out) {
				t.Errorf("exit %d, output %q %q; want %d and %q", code, out.String(), errs.String(), tc.code, tc.out)
			}
		})
	}
}
