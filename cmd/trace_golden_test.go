package cmd

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	goldenfile "github.com/dbgtool/dbg/internal/golden"
)

// testFactory is a Factory with buffers, a fixed clock and an environment holding only env.
func testFactory(env map[string]string) (*Factory, *bytes.Buffer, *bytes.Buffer) {
	io, _, out, errOut := TestStreams()
	f := &Factory{
		IO:     io,
		Now:    func() time.Time { return time.Date(2026, 11, 3, 4, 0, 0, 0, time.UTC) },
		Getenv: func(k string) string { return env[k] },
	}
	return f, out, errOut
}

// runDbg runs dbg in-process. DBG_* variables of the test process would leak into viper's AutomaticEnv,
// so tests run with a clean DBG_* environment.
func runDbg(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
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
	f, out, errOut := testFactory(env)
	code = Run(context.Background(), f, args)
	return code, out.String(), errOut.String()
}

// golden compares got with testdata/golden/name (go test ./cmd -run Golden -update rewrites it).
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	goldenfile.Check(t, filepath.Join("..", "testdata", "golden", name), got)
}

func firstDiff(want, got string) string { return goldenfile.Diff(want, got) }

func TestTraceGolden(t *testing.T) {
	for _, tc := range []struct{ file, format, golden string }{
		{"checkout.json", "table", "trace-checkout.txt"},
		{"checkout.json", "json", "trace-checkout.json"},
		{"checkout.json", "markdown", "trace-checkout.md"},
		{"checkout.otlp.json", "json", "trace-checkout.json"}, // both readers give the same answer
	} {
		t.Run(tc.file+"/"+tc.format, func(t *testing.T) {
			code, out, errOut := runDbg(t, nil, "trace", "--file", filepath.Join("..", "testdata", "traces", tc.file), "--output", tc.format)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			golden(t, tc.golden, []byte(out))
		})
	}
}

// TestTraceFindsThePlantedProblems checks the bundled trace's known answers through the JSON contract.
func TestTraceFindsThePlantedProblems(t *testing.T) {
	code, out, errOut := runDbg(t, nil, "trace", "--file", "../testdata/traces/checkout.json", "-o", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var rep struct {
		TraceID      string `json:"trace_id"`
		SpanCount    int    `json:"span_count"`
		CriticalPath []struct {
			SpanID string  `json:"span_id"`
			SelfMs float64 `json:"self_ms"`
		} `json:"critical_path"`
		Findings []struct {
			Kind      string         `json:"kind"`
			Severity  string         `json:"severity"`
			Score     float64        `json:"score"`
			Service   string         `json:"service"`
			Operation string         `json:"operation"`
			Evidence  map[string]any `json:"evidence"`
			TraceIDs  []string       `json:"trace_ids"`
		} `json:"findings"`
		Warnings []string `json:"warnings"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.SpanCount != 35 || rep.Warnings == nil || len(rep.CriticalPath) == 0 {
		t.Fatalf("span_count %d, warnings %v, critical path %d", rep.SpanCount, rep.Warnings, len(rep.CriticalPath))
	}
	found := map[string]string{}
	for i, f := range rep.Findings {
		if i > 0 && f.Score > rep.Findings[i-1].Score {
			t.Errorf("findings not ranked: %v after %v", f.Score, rep.Findings[i-1].Score)
		}
		if _, ok := found[f.Kind]; !ok {
			found[f.Kind] = f.Service + "|" + f.Operation
		}
		if len(f.TraceIDs) != 1 || f.TraceIDs[0] != rep.TraceID {
			t.Errorf("%s finding trace_ids %v", f.Kind, f.TraceIDs)
		}
	}
	want := map[string]string{
		"error_origin": "shipping|GET",
		"slow_span":    "fraud-check|POST /score",
		"n_plus_one":   "inventory|SELECT items",
		"fanout":       "checkout|GET /api/recs/{id}",
	}
	for k, v := range want {
		if found[k] != v {
			t.Errorf("first %s finding is %q, want %q", k, found[k], v)
		}
	}
}

func TestTraceBadInput(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"empty file", []string{"trace", "--file", write("empty.json", "")}, 1, "empty file"},
		{"truncated", []string{"trace", "--file", write("trunc.json", `{"data":[{"traceID":"a","spans":[`)}, 1, "truncated JSON"},
		{"binary", []string{"trace", "--file", write("bin.json", "\x00\x01\x02\x03")}, 1, "binary data"},
		{"wrong shape", []string{"trace", "--file", write("shape.json", `{"data":[{"spans":{}}]}`)}, 1, "unexpected JSON shape"},
		{"missing", []string{"trace", "--file", filepath.Join(dir, "nope.json")}, 1, "no such file"},
		{"no source", []string{"trace", "abc"}, 2, "no trace source"},
		{"nothing", []string{"trace"}, 2, "give a trace ID"},
		{"bad output", []string{"trace", "--file", "../testdata/traces/checkout.json", "-o", "yaml"}, 2, `--output "yaml"`},
		{"unknown id in file", []string{"trace", "--file", "../testdata/traces/checkout.json", "ffff"}, 1, "trace ffff not found in ../testdata/traces/checkout.json"},
		{"unknown flag", []string{"trace", "--nope"}, 2, "unknown flag"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out, errOut := runDbg(t, nil, c.args...)
			if code != c.code {
				t.Errorf("exit code %d, want %d (stderr %q)", code, c.code, errOut)
			}
			if !strings.Contains(errOut, c.want) {
				t.Errorf("stderr %q lacks %q", errOut, c.want)
			}
			if n := strings.Count(strings.TrimSpace(errOut), "\n"); n != 0 {
				t.Errorf("error is %d lines, want one: %q", n+1, errOut)
			}
			if out != "" {
				t.Errorf("stdout on failure: %q", out)
			}
		})
	}
}

func TestTraceSanitisesHostileNames(t *testing.T) {
	doc := `{"data":[{"traceID":"abc","spans":[{"traceID":"abc","spanID":"1","operationName":"GET /x\u001b[2J\u001b]0;pwned\u0007","startTime":1000000,"duration":5000,"processID":"p1",
	"tags":[{"key":"error","value":true},{"key":"otel.status_description","value":"boom\u001b[31m red"}]}],
	"processes":{"p1":{"serviceName":"evil\u001b[1msvc"}}}]}`
	p := filepath.Join(t.TempDir(), "evil.json")
	if err := os.WriteFile(p, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, format := range []string{"table", "markdown"} {
		code, out, errOut := runDbg(t, nil, "trace", "--file", p, "-o", format)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		if strings.ContainsRune(out, 0x1b) || strings.ContainsRune(out, 0x07) {
			t.Errorf("%s output carries terminal escapes: %q", format, out)
		}
		if !strings.Contains(out, "evilsvc") || !strings.Contains(out, "GET /x") {
			t.Errorf("%s output lost the sanitised names: %q", format, out)
		}
	}
}

func TestTraceColourOnlyOnTTY(t *testing.T) {
	f, out, _ := testFactory(nil)
	f.IO.OutTTY = true
	if code := Run(context.Background(), f, []string{"trace", "--file", "../testdata/traces/checkout.json"}); code != 0 {
		t.Fatal(code)
	}
	if !strings.Contains(out.String(), "\x1b[") {
		t.Error("no colour on a TTY")
	}
	for _, tc := range []struct {
		env  map[string]string
		args []string
	}{
		{map[string]string{"NO_COLOR": "1"}, nil},
		{nil, []string{"--no-color"}},
	} {
		f, out, _ := testFactory(tc.env)
		f.IO.OutTTY = true
		Run(context.Background(), f, append([]string{"trace", "--file", "../testdata/traces/checkout.json"}, tc.args...))
		if strings.Contains(out.String(), "\x1b[") {
			t.Errorf("colour despite %v %v", tc.env, tc.args)
		}
	}
}
