package config

import (
	"regexp"
	"testing"
)

func TestAPIIDIsTenLowerCaseCharactersAndStable(t *testing.T) {
	shape := regexp.MustCompile(`^[a-z0-9]{10}$`)
	seen := map[string]string{}
	for _, name := range []string{"pets", "chat", "a", "", "orders-v2", "Pets"} {
		id := APIID(name)
		if !shape.MatchString(id) {
			t.Errorf("APIID(%q) = %q, want 10 characters of [a-z0-9]", name, id)
		}
		if again := APIID(name); again != id {
			t.Errorf("APIID(%q) changed between calls: %q then %q", name, id, again)
		}
		if other, dup := seen[id]; dup {
			t.Errorf("APIID(%q) = APIID(%q) = %q", name, other, id)
		}
		seen[id] = name
	}
}
