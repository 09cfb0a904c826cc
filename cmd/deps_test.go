package cmd

import (
	"os/exec"
	"strings"
	"testing"
)

// TestBinaryLinksNoTestTooling: the dbg binary (the module's main package) links neither testing nor
// the demo's SQLite driver, chromedp, or the servers' launcher and demo (internal/servers,
// internal/testserver, internal/demo): they live in the demo program and in tests. Nor k8s.io/api or
// apimachinery (issue #17: ~9 MB; sources/netpolicy mirrors the types it reads and tests them against these).
func TestBinaryLinksNoTestTooling(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command: %v", err)
	}
	out, err := exec.Command(goBin, "list", "-deps", "github.com/dbgtool/dbg").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	for _, p := range strings.Fields(string(out)) {
		if p == "testing" || strings.HasPrefix(p, "testing/") || strings.Contains(p, "sqlite") || strings.Contains(p, "chromedp") ||
			strings.HasPrefix(p, "github.com/dbgtool/dbg/internal/") || p == "github.com/rogpeppe/go-internal/testscript" ||
			strings.HasPrefix(p, "k8s.io/api/") || strings.HasPrefix(p, "k8s.io/apimachinery/") {
			t.Errorf("dbg links %s", p)
		}
	}
}
