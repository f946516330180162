package importer

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzImport feeds arbitrary documents to the importer: it may refuse
// them, never panic, and what it accepts renders to text config reads.
func FuzzImport(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*")
	for _, s := range seeds {
		if data, err := os.ReadFile(s); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte("Resources: {A: {Type: AWS::Serverless::Function, Properties: {Handler: !Sub '${A.Arn}${!x}', Runtime: !If [C, a, b]}}}\nConditions: {C: !Equals [!Ref AWS::Region, x]}"))
	f.Add([]byte(`{"openapi":"3.0.0","paths":{"/a":{"$ref":"#/paths/~1a"}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := Import("fuzz.yaml", data, Options{})
		if err != nil {
			return
		}
		_, _, _ = res.Parse(noEnv)
	})
}
