package servers

import (
	"os"
	"path/filepath"
	"testing"
)

func TestModuleHelpers(t *testing.T) {
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "internal", "servers", "harness.go")); err != nil {
		t.Fatalf("RepoRoot = %s: %v", root, err)
	}
	gomod := []byte("module github.com/dbgtool/dbg/tools/jaeger\n\ngo 1.24\n\nrequire (\n\tgithub.com/jaegertracing/jaeger v1.76.0 // indirect\n)\nrequire github.com/x/y v1.2.3\n")
	if got := modulePath(gomod); got != "github.com/dbgtool/dbg/tools/jaeger" {
		t.Errorf("modulePath = %q", got)
	}
	if got := requiredVersion(gomod, "github.com/jaegertracing/jaeger"); got != "v1.76.0" {
		t.Errorf("requiredVersion = %q", got)
	}
	if got := requiredVersion(gomod, "github.com/x/y"); got != "v1.2.3" {
		t.Errorf("requiredVersion single-line = %q", got)
	}
	for _, tl := range Tools {
		data, err := os.ReadFile(filepath.Join(root, tl.Dir, "go.mod"))
		if err != nil {
			t.Fatal(err)
		}
		if requiredVersion(data, tl.Module) == "" {
			t.Errorf("%s/go.mod does not pin %s", tl.Dir, tl.Module)
		}
	}
	ports, err := FreeLoopbackPorts(5)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	for _, p := range ports {
		if seen[p] || p == 0 {
			t.Fatalf("FreePorts: %v", ports)
		}
		seen[p] = true
	}
}
