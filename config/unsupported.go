package config

import (
	"path"
	"sort"
	"strings"
)

// notYetSupported lists the contract's keys that no feature implements yet.
// Present in a config they are accepted and reported once as a warning, so
// nothing is silently ignored. Entries leave this list as features land.
var notYetSupported = []string{
	"cluster",
}

// partlySupported says, for an entry of notYetSupported, what of it is
// built already.
var partlySupported = map[string]string{
	"cluster": "not yet supported, except that the control plane's state is shared through cluster.redis (docs/control-plane.md): throttle and quota counters and WebSocket fan-out stay per instance",
}

// unsupported reports, once per key, the keys of c that are accepted but
// not yet implemented.
func unsupported(c *Config) []Problem {
	var out []Problem
	for key, line := range c.Lines {
		if strings.Contains(key, "[") {
			continue
		}
		parts := strings.Split(key, ".")
		for _, pat := range notYetSupported {
			pp := strings.Split(pat, ".")
			if len(pp) != len(parts) {
				continue
			}
			if matchParts(pp, parts) {
				msg := "not yet supported: accepted and ignored"
				if m, ok := partlySupported[pat]; ok {
					msg = m
				}
				out = append(out, Problem{File: c.File, Line: line, Key: key, Msg: msg})
				break
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Line < out[j].Line })
	return out
}

func matchParts(pat, parts []string) bool {
	for i := range pat {
		if ok, _ := path.Match(pat[i], parts[i]); !ok && pat[i] != parts[i] {
			return false
		}
	}
	return true
}
