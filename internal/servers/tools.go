package servers

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
)

// mainModule is the module path whose go.mod marks the repository root.
const mainModule = "github.com/dbgtool/dbg"

// Tool is a server built from a pinned version in its own module under tools/.
type Tool struct {
	Name   string // binary name and cache directory prefix
	Dir    string // module directory, relative to the repository root
	Module string // the pinned module whose version names the cache entry
	Pkg    string // the main package to build
}

// Tools are the servers built from source.
var Tools = []Tool{
	{Name: "jaeger", Dir: "tools/jaeger", Module: "github.com/jaegertracing/jaeger", Pkg: "github.com/jaegertracing/jaeger/cmd/jaeger"},
	{Name: "victoria-logs", Dir: "tools/victorialogs", Module: "github.com/VictoriaMetrics/VictoriaLogs", Pkg: "github.com/VictoriaMetrics/VictoriaLogs/app/victoria-logs"},
}

func toolByName(name string) Tool {
	for _, tl := range Tools {
		if tl.Name == name {
			return tl
		}
	}
	panic("servers: unknown tool " + name)
}

// RepoRoot walks up from the working directory to the directory whose go.mod
// declares module github.com/dbgtool/dbg.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if data, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && modulePath(data) == mainModule {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod of %s above the working directory", mainModule)
		}
		dir = parent
	}
}

func modulePath(gomod []byte) string {
	sc := bufio.NewScanner(bytes.NewReader(gomod))
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) >= 2 && f[0] == "module" {
			return strings.Trim(f[1], `"`)
		}
	}
	return ""
}

// requiredVersion returns the version of module in a go.mod's require lines.
func requiredVersion(gomod []byte, module string) string {
	sc := bufio.NewScanner(bytes.NewReader(gomod))
	for sc.Scan() {
		f := strings.Fields(strings.TrimPrefix(strings.TrimSpace(sc.Text()), "require "))
		if len(f) >= 2 && f[0] == module {
			return f[1]
		}
	}
	return ""
}

// CacheDir is where built tools live: $DBG_TOOLS_CACHE, else
// $XDG_CACHE_HOME/dbg-tools or $HOME/.cache/dbg-tools.
func CacheDir() (string, error) {
	if d := os.Getenv("DBG_TOOLS_CACHE"); d != "" {
		return d, nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no cache directory (set DBG_TOOLS_CACHE): %w", err)
	}
	return filepath.Join(d, "dbg-tools"), nil
}

var (
	builtMu sync.Mutex
	built   = map[string]string{}
)

// BuildTool builds the named tool into the cache unless it is there already,
// and returns its path and whether this call built it.
func BuildTool(ctx context.Context, name string) (path string, fresh bool, err error) {
	builtMu.Lock()
	defer builtMu.Unlock()
	if p, ok := built[name]; ok {
		return p, false, nil
	}
	tl := toolByName(name)
	root, err := RepoRoot()
	if err != nil {
		return "", false, err
	}
	modDir := filepath.Join(root, filepath.FromSlash(tl.Dir))
	gomod, err := os.ReadFile(filepath.Join(modDir, "go.mod"))
	if err != nil {
		return "", false, fmt.Errorf("%s: %w", name, err)
	}
	gosum, _ := os.ReadFile(filepath.Join(modDir, "go.sum"))
	version := requiredVersion(gomod, tl.Module)
	if version == "" {
		return "", false, fmt.Errorf("%s: %s/go.mod does not require %s", name, tl.Dir, tl.Module)
	}
	h := sha256.New()
	h.Write(gomod)
	h.Write(gosum)
	fmt.Fprintf(h, "%s/%s", runtime.GOOS, runtime.GOARCH)
	cache, err := CacheDir()
	if err != nil {
		return "", false, err
	}
	dir := filepath.Join(cache, fmt.Sprintf("%s-%s-%s", name, version, hex.EncodeToString(h.Sum(nil))[:8]))
	bin := filepath.Join(dir, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", false, fmt.Errorf("%s: %w", name, err)
	}
	// Another test binary may be building the same tool: wait for it.
	lock, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return "", false, fmt.Errorf("%s: %w", name, err)
	}
	defer lock.Close() // releases the flock
	if err := lockFile(lock); err != nil {
		return "", false, fmt.Errorf("%s: lock %s: %w", name, lock.Name(), err)
	}
	if fi, err := os.Stat(bin); err == nil && fi.Mode().IsRegular() {
		built[name] = bin
		return bin, false, nil
	}
	goBin, err := goCommand()
	if err != nil {
		return "", false, err
	}
	tmp := fmt.Sprintf("%s.tmp%d", bin, os.Getpid())
	cmd := exec.CommandContext(ctx, goBin, "build", "-o", tmp, tl.Pkg)
	cmd.Dir = modDir
	cmd.Env = append(os.Environ(), "GOWORK=off", "CGO_ENABLED=0")
	cmd.SysProcAttr = sysProcAttr(nil) // dies with the test binary
	out, err := cmd.CombinedOutput()
	if err != nil {
		os.Remove(tmp)
		return "", false, fmt.Errorf("build %s %s (in %s): %v\n%s", tl.Pkg, version, modDir, err, out)
	}
	if err := os.Rename(tmp, bin); err != nil {
		return "", false, fmt.Errorf("%s: %w", name, err)
	}
	built[name] = bin
	return bin, true, nil
}

// goCommand finds the go command: go test puts GOROOT/bin first on PATH.
func goCommand() (string, error) {
	if p, err := exec.LookPath("go"); err == nil {
		return p, nil
	}
	if root := os.Getenv("GOROOT"); root != "" {
		p := filepath.Join(root, "bin", "go")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", errors.New("the go command is not on PATH: it builds the pinned servers")
}
