package main

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dbgtool/dbg/cmd"
	"github.com/dbgtool/dbg/internal/demo"
)

// TestDemoFault drives `go run ./demo fault` against one real demo service run in this process, through a
// state file that points every name at it.
func TestDemoFault(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- demo.Serve(ctx, demo.ServiceConfig{Name: demo.Checkout, Addr: addr}, io.Discard) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	base := "http://" + addr
	dir := t.TempDir()
	st := demo.State{PID: os.Getpid(), Services: map[string]string{}, LoadGen: base}
	for _, s := range demo.Services {
		st.Services[s] = base
	}
	data, _ := json.Marshal(st)
	if err := os.WriteFile(filepath.Join(dir, demo.StateFile), data, 0o644); err != nil {
		t.Fatal(err)
	}
	waitUp(t, base+"/healthz")

	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  string
		wantErr  string
	}{
		{"inject", []string{"fault", "latency", "--service", "checkout", "--ms", "120", "--route", "POST /orders"}, 0,
			"injected latency on checkout: route=POST /orders ms=120", ""},
		{"list json", []string{"fault", "list", "--service", "checkout", "-o", "json"}, 0, `"kind": "latency"`, ""},
		{"list table", []string{"fault", "list", "--service", "checkout"}, 0, "checkout     latency", ""},
		{"wrong service for kind", []string{"fault", "n-plus-one", "--service", "checkout"}, 2, "", "applies only to inventory"},
		{"out of bounds", []string{"fault", "latency", "--ms", "999999"}, 2, "", "out of range"},
		{"unknown kind", []string{"fault", "meteor"}, 2, "", `unknown kind "meteor"`},
		{"unknown service", []string{"fault", "latency", "--service", "billing"}, 2, "", `unknown service "billing"`},
		{"clear one kind", []string{"fault", "clear", "latency", "--service", "checkout"}, 0, "cleared on checkout: latency", ""},
		{"nothing left", []string{"fault", "clear"}, 0, "nothing to clear", ""},
		{"list empty", []string{"fault", "list", "--service", "checkout"}, 0, "no faults in force", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runDemoCLI(t, append(tt.args, "--state-dir", dir)...)
			if code != tt.wantCode || !strings.Contains(out, tt.wantOut) || !strings.Contains(errOut, tt.wantErr) {
				t.Fatalf("exit %d (want %d)\nstdout: %s\nstderr: %s", code, tt.wantCode, out, errOut)
			}
		})
	}

	t.Run("the fault acts", func(t *testing.T) {
		if code, _, errOut := runDemoCLI(t, "fault", "deploy", "--service", "checkout", "--to-version", "9.9.9", "--ms", "1", "--state-dir", dir); code != 0 {
			t.Fatalf("deploy: %s", errOut)
		}
		body := getBody(t, base+"/metrics")
		if !strings.Contains(body, `demo_build_info{service="checkout",version="9.9.9"} 1`) {
			t.Errorf("deploy did not change demo_build_info:\n%s", body)
		}
		runDemoCLI(t, "fault", "clear", "--state-dir", dir)
		if body := getBody(t, base+"/metrics"); !strings.Contains(body, `version="`+demo.BaseVersion+`"} 1`) {
			t.Errorf("clearing the deploy did not roll back")
		}
	})

	t.Run("no demo running", func(t *testing.T) {
		code, _, errOut := runDemoCLI(t, "fault", "latency", "--state-dir", t.TempDir())
		if code != 1 || !strings.Contains(errOut, "no demo running") || strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
			t.Fatalf("exit %d: %q", code, errOut)
		}
	})
}

func runDemoCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	ios, _, out, errOut := cmd.TestStreams()
	f := &Factory{IO: ios, Getenv: func(string) string { return "" }}
	code := Run(context.Background(), f, args)
	return code, out.String(), errOut.String()
}

func waitUp(t *testing.T, url string) {
	t.Helper()
	for range 100 {
		if resp, err := httpGet(url); err == nil {
			resp.Body.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s never answered", url)
}

func httpGet(url string) (*http.Response, error) {
	c := &http.Client{Timeout: 2 * time.Second}
	return c.Get(url)
}

func getBody(t *testing.T, url string) string {
	t.Helper()
	resp, err := httpGet(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}
