package cmd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// settingsFor resolves the settings of a throwaway command the way every command does.
func settingsFor(t *testing.T, env map[string]string, args ...string) (*Settings, error) {
	t.Helper()
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "DBG_") {
			t.Setenv(k, "")
			os.Unsetenv(k)
		}
	}
	for k, v := range env {
		if strings.HasPrefix(k, "DBG_") {
			t.Setenv(k, v)
		}
	}
	f, _, _ := testFactory(env)
	var got *Settings
	var gotErr error
	root := NewRootCmd(f)
	root.AddCommand(&cobra.Command{Use: "probe-settings", RunE: func(cmd *cobra.Command, _ []string) error {
		got, gotErr = loadSettings(cmd, f)
		return nil
	}})
	root.SetArgs(append([]string{"probe-settings"}, args...))
	if err := root.Execute(); err != nil {
		return nil, err
	}
	return got, gotErr
}

// TestConfigPrecedence: flag > DBG_* environment > the selected context > the file's top level > default.
func TestConfigPrecedence(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yaml")
	os.WriteFile(cfg, []byte(`
current-context: prod
prometheus-url: http://top-level:9090
jaeger-url: http://top-level:16686
loki-url: http://top-level:3100
timeout: 12s
contexts:
  prod:
    prometheus-url: http://prod:9090
    jaeger-url: http://prod:16686
    jaeger-token: from-file
  staging:
    prometheus-url: http://staging:9090
`), 0o644)
	s, err := settingsFor(t, map[string]string{"DBG_JAEGER_URL": "http://env:16686"}, "--config", cfg, "--prometheus-url", "http://flag:9090")
	if err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]string{
		"prometheus-url": "http://flag:9090",      // flag beats everything
		"jaeger-url":     "http://env:16686",      // env beats the file
		"loki-url":       "http://top-level:3100", // top level when the context does not set it
		"jaeger-token":   "from-file",
		"since":          "30m", // default
	} {
		if got := s.String(key); got != want {
			t.Errorf("%s = %q, want %q", key, got, want)
		}
	}
	if s.Timeout().String() != "12s" || s.Context != "prod" || s.File != cfg {
		t.Errorf("timeout %v context %q file %q", s.Timeout(), s.Context, s.File)
	}
	if ep := s.Endpoint("jaeger"); ep.Token != "from-file" || ep.URL != "http://env:16686" {
		t.Errorf("jaeger endpoint %+v", ep)
	}
	// --context picks another; DBG_CONTEXT too.
	s, _ = settingsFor(t, nil, "--config", cfg, "--context", "staging")
	if s.String("prometheus-url") != "http://staging:9090" || s.String("jaeger-url") != "http://top-level:16686" {
		t.Errorf("staging: %q %q", s.String("prometheus-url"), s.String("jaeger-url"))
	}
	s, _ = settingsFor(t, map[string]string{"DBG_CONTEXT": "staging"}, "--config", cfg)
	if s.String("prometheus-url") != "http://staging:9090" {
		t.Errorf("DBG_CONTEXT: %q", s.String("prometheus-url"))
	}
	// The default path comes from XDG_CONFIG_HOME.
	xdg := t.TempDir()
	os.MkdirAll(filepath.Join(xdg, "dbg"), 0o755)
	os.WriteFile(filepath.Join(xdg, "dbg", "config.yaml"), []byte("service: from-xdg\n"), 0o644)
	s, _ = settingsFor(t, map[string]string{"XDG_CONFIG_HOME": xdg})
	if s.String("service") != "from-xdg" {
		t.Errorf("XDG config not read: %q", s.String("service"))
	}
	// Errors name the file or the context.
	if _, err := settingsFor(t, nil, "--config", cfg, "--context", "nope"); err == nil || !strings.Contains(err.Error(), `context "nope"`) || !strings.Contains(err.Error(), "prod, staging") {
		t.Errorf("unknown context: %v", err)
	}
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("contexts: [\n"), 0o644)
	if _, err := settingsFor(t, nil, "--config", bad); err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("bad yaml: %v", err)
	}
	if _, err := settingsFor(t, nil, "--config", filepath.Join(dir, "missing.yaml")); err == nil || !strings.Contains(err.Error(), "missing.yaml") {
		t.Errorf("missing explicit config: %v", err)
	}
}

// TestSecretsNeverPrinted: a token from the environment reaches the backend but no output or error.
func TestSecretsNeverPrinted(t *testing.T) {
	code, out, errOut := runDbg(t, map[string]string{"DBG_JAEGER_TOKEN": "tok-SECRET-123", "DBG_PROMETHEUS_PASSWORD": "pw-SECRET-456",
		"DBG_PROMETHEUS_USERNAME": "u"},
		"checklist", "--service", "x", "--jaeger-url", "http://user:url-SECRET-789@127.0.0.1:1", "--prometheus-url", "http://127.0.0.1:1",
		"--timeout", "3s", "-o", "json")
	// Every source failed: the report still says what failed, and the run exits 1 (nothing read is not
	// a healthy system).
	if code != 1 || !strings.Contains(out, `"status": "error"`) || !strings.Contains(out, "connection refused") {
		t.Fatalf("exit %d; want a report with the failing sources and exit 1:\n%s\n%s", code, out, errOut)
	}
	for _, secret := range []string{"SECRET-123", "SECRET-456", "SECRET-789"} {
		if strings.Contains(out, secret) || strings.Contains(errOut, secret) {
			t.Errorf("secret %s printed:\n%s\n%s", secret, out, errOut)
		}
	}
}
