package config

import (
	"path"
	"sort"
	"strings"
)

// notYetSupported lists the contract's keys that no feature implements yet.
// Present in a config they are accepted and reported once as a warning, so
// nothing is silently ignored. Entries leave this list as features land.
var notYetSupported = []string{}

// unsupported reports, once per key, the keys of c matching the patterns
// of notYet (dotted key paths, * for one level): accepted but not yet
// implemented.
func unsupported(c *Config, notYet []string) []Problem {
	var out []Problem
	for key, line := range c.Lines {
		if strings.Contains(key, "[") {
			continue
		}
		parts := strings.Split(key, ".")
		for _, pat := range notYet {
			pp := strings.Split(pat, ".")
			if len(pp) != len(parts) {
				continue
			}
			if matchParts(pp, parts) {
				out = append(out, Problem{File: c.File, Line: line, Key: key, Msg: "not yet supported: accepted and ignored"})
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
