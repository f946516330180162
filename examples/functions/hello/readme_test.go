package main

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// The README's instructions name config files by their path from the
// repository root; each must exist.
func TestREADMENamesExistingConfigFiles(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Join("..", "..", "..")
	names := regexp.MustCompile("`([^`\\s]+\\.ya?ml)`").FindAllSubmatch(readme, -1)
	if len(names) == 0 {
		t.Fatal("README names no config file")
	}
	for _, m := range names {
		if _, err := os.Stat(filepath.Join(root, string(m[1]))); err != nil {
			t.Errorf("README names %s: %v", m[1], err)
		}
	}
}
