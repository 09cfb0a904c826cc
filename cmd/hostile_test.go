package cmd

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/dbgtool/dbg/internal/hostile"
)

// The fault matrix (issue #13): every source, driven through the CLI exactly as a user runs it,
// against a loopback server for each fault. Each case asserts the exit code, the one stderr line
// (sanitised: no terminal control, no secret), a time bound and a memory bound (bytes allocated during
// the run, which a busy machine does not change). Loopback only: it runs in the -short tier.

// matrixSecret is every source's credential in the matrix; it must never be printed.
const matrixSecret = "matrix-SECRET-7f3a9c"

// matrixSources are the six kinds of backend and the command line that reads each.
var matrixSources = []struct {
	name string
	key  string // config key prefix
	args func(url string) []string
}{
	{"jaeger", "jaeger", func(u string) []string {
		return []string{"trace", "4bf92f3577b34da6a3ce929d0e0e4736", "--jaeger-url", u}
	}},
	{"prometheus", "prometheus", func(u string) []string { return []string{"hotspots", "--service", "checkout", "--prometheus-url", u} }},
	{"loki", "loki", func(u string) []string { return []string{"logs", "--service", "checkout", "--loki-url", u} }},
	{"elasticsearch", "elasticsearch", func(u string) []string {
		return []string{"logs", "--service", "checkout", "--elasticsearch-url", u}
	}},
	{"victorialogs", "victorialogs", func(u string) []string {
		return []string{"logs", "--service", "checkout", "--victorialogs-url", u}
	}},
	{"pprof", "target", func(u string) []string { return []string{"profile", "heap", "--target", u} }},
}

// matrixWant is what the one stderr line must say for each fault (any source): the fault named in
// words a user can act on.
var matrixWant = map[hostile.Fault]string{
	"refused":                `connection refused`,
	hostile.Hang:             `no answer within|deadline|timeout`,
	hostile.Status500:        `HTTP 500|\b500\b`,
	hostile.Status503:        `HTTP 503|\b503\b`,
	hostile.RateLimited:      `HTTP 429|\b429\b|Retry-After`,
	hostile.Unauthorized:     `HTTP 401|\b401\b`,
	hostile.Forbidden:        `HTTP 403|\b403\b`,
	hostile.Truncated:        `truncated|ends early|unexpected EOF|ends after`,
	hostile.Oversized:        `limit`,
	hostile.GzipBomb:         `limit`,
	hostile.NestingBomb:      `nested more than`,
	hostile.HTML200:          `HTML|html|not JSON|not a pprof profile|unexpected answer|invalid character '<'`,
	hostile.WrongShape:       `unexpected|not a|no .*in|shape|missing|wrong`,
	hostile.RedirectLoop:     `redirect`,
	hostile.CrossOrigin:      `.`, // whatever the other origin's {} gives; the point is what it received
	hostile.ANSIBody:         `HTTP 500|\b500\b`,
	hostile.EmptyObject:      `unexpected|not a|no .*in|shape|missing|wrong`,
	hostile.ANSIHeader200:    `.`,
	hostile.RetryAfterHr:     `wait 1h0m0s`,
	hostile.PostToGet:        `.`,
	hostile.Slow:             `.`,
	hostile.CountRequests:    `.`,
	hostile.GzipFileBomb:     `.`,
	hostile.Fault("nothing"): `.`,
}

// matrixFaults are the faults every source is run against.
var matrixFaults = append([]hostile.Fault{"refused"}, append(hostile.Faults, hostile.NestingBomb, hostile.RetryAfterHr, hostile.GzipFileBomb)...)

// controlBytes are what must never reach a terminal from server text.
var controlBytes = regexp.MustCompile("[\x00-\x08\x0b-\x1f\x7f\u0080-\u009f\u202a-\u202e\u2066-\u2069]")

func TestFaultMatrix(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "config.yaml")
	var conf strings.Builder
	for _, s := range matrixSources {
		fmt.Fprintf(&conf, "%s-token: %s\n", s.key, matrixSecret)
	}
	if err := os.WriteFile(cfg, []byte(conf.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, fault := range matrixFaults {
		t.Run(string(fault), func(t *testing.T) {
			var srv *hostile.Server
			url := ""
			if fault == "refused" {
				url = hostile.RefusedURL()
			} else {
				srv = hostile.New(fault)
				defer srv.Close()
				url = srv.URL
			}
			for _, s := range matrixSources {
				t.Run(s.name, func(t *testing.T) {
					args := append(s.args(url), "--config", cfg, "--timeout", "1s", "--max-read-bytes", "32MiB")
					code, stdout, stderr, took, alloc := runMeasured(args)
					where := fmt.Sprintf("dbg %s\nstderr: %q", strings.Join(args, " "), stderr)
					if code != ExitFailed {
						t.Errorf("exit %d, want 1\n%s\nstdout: %.300q", code, where, stdout)
					}
					line := strings.TrimSuffix(stderr, "\n")
					t.Logf("%s (%s, %d KiB allocated)", line, took.Round(time.Millisecond), alloc>>10)
					if strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(line, "dbg: ") {
						t.Errorf("want one line on stderr\n%s", where)
					}
					if !regexp.MustCompile(matrixWant[fault]).MatchString(line) {
						t.Errorf("stderr does not say %q\n%s", matrixWant[fault], where)
					}
					if controlBytes.MatchString(stderr) || controlBytes.MatchString(stdout) {
						t.Errorf("terminal control in the output\n%s", where)
					}
					if strings.Contains(stderr+stdout, matrixSecret) {
						t.Errorf("the credential was printed\n%s", where)
					}
					if len(line) > maxErrorLine+10 {
						t.Errorf("the error line is %d bytes\n%s", len(line), where)
					}
					if took > 6*time.Second {
						t.Errorf("took %s with --timeout 1s\n%s", took, where)
					}
					if alloc > 256<<20 {
						t.Errorf("allocated %d MiB with --max-read-bytes 32MiB\n%s", alloc>>20, where)
					}
					if srv != nil && srv.Other != nil {
						if got := srv.Other.Auth(); len(got) > 0 {
							t.Errorf("the cross-origin redirect target received %q", got)
						}
					}
				})
			}
		})
	}
}

// runMeasured runs dbg in-process and returns what a user sees, the wall time and the bytes allocated.
func runMeasured(args []string) (code int, stdout, stderr string, took time.Duration, alloc uint64) {
	f, out, errOut := testFactory(nil)
	before := hostile.Allocated()
	start := time.Now()
	code = Run(context.Background(), f, args)
	took = time.Since(start)
	return code, out.String(), errOut.String(), took, hostile.Allocated() - before
}

// TestRunBudget: one memory budget per run, shared by every source: 8 trace IDs against a Jaeger that
// answers endless bodies, and the checklist against four such sources, stay within it (the 256 MiB
// per-response cap alone let them reach 3.2 GB and 2 GB).
func TestRunBudget(t *testing.T) {
	srv := hostile.New(hostile.Oversized)
	defer srv.Close()
	cfg := filepath.Join(t.TempDir(), "config.yaml")
	os.WriteFile(cfg, []byte("profile-samples: 3\nprofile-interval: 10ms\n"), 0o600)
	cases := map[string][]string{
		"8 trace IDs": {"trace", "01", "02", "03", "04", "05", "06", "07", "08", "--jaeger-url", srv.URL},
		"4 sources": {"checklist", "--service", "checkout", "--jaeger-url", srv.URL, "--prometheus-url", srv.URL,
			"--victorialogs-url", srv.URL, "--target", srv.URL, "--config", cfg},
	}
	for name, args := range cases {
		t.Run(name, func(t *testing.T) {
			code, _, stderr, took, alloc := runMeasured(append(args, "--timeout", "10s", "--max-read-bytes", "64MiB"))
			t.Logf("%s (%s, %d MiB allocated)", strings.TrimSpace(stderr), took.Round(time.Millisecond), alloc>>20)
			if code != ExitFailed {
				t.Errorf("exit %d, want 1: %s", code, stderr)
			}
			if !strings.Contains(stderr, "max-read-bytes") && !strings.Contains(stderr, "limit") {
				t.Errorf("stderr does not name the limit: %q", stderr)
			}
			if alloc > 400<<20 {
				t.Errorf("allocated %d MiB with a 64 MiB run budget", alloc>>20)
			}
		})
	}
}

// TestReportsCarryNoSecret: a Prometheus that echoes the credential in its 401 body and a Jaeger that
// echoes every header: no report format, and not stderr, shows the token.
func TestReportsCarryNoSecret(t *testing.T) {
	prom := hostile.New(hostile.Unauthorized)
	defer prom.Close()
	jaeger := hostile.New(hostile.Forbidden)
	defer jaeger.Close()
	cfg := filepath.Join(t.TempDir(), "config.yaml")
	os.WriteFile(cfg, []byte("prometheus-token: "+matrixSecret+"\njaeger-username: admin\njaeger-password: "+matrixSecret+"\n"), 0o600)
	for _, format := range []string{"table", "json", "markdown", "html"} {
		code, stdout, stderr, _, _ := runMeasured([]string{"checklist", "--service", "checkout", "--config", cfg, "--timeout", "5s",
			"--prometheus-url", prom.URL, "--jaeger-url", jaeger.URL, "-o", format})
		if code != ExitFailed || !strings.Contains(stdout, "401") {
			t.Errorf("%s: exit %d, report without the 401: %.400s / %s", format, code, stdout, stderr)
		}
		if strings.Contains(stdout+stderr, matrixSecret) || strings.Contains(stdout+stderr, "YWRtaW46bWF0cml4") {
			t.Errorf("%s: the credential is in the output", format)
		}
	}
	code, stdout, _, _, _ := runMeasured([]string{"doctor", "--config", cfg, "--timeout", "5s", "--prometheus-url", prom.URL, "--jaeger-url", jaeger.URL})
	if strings.Contains(stdout, matrixSecret) || !strings.Contains(stdout, "401") {
		t.Errorf("doctor (exit %d): %s", code, stdout)
	}
}
