package cmd

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dbgtool/dbg/checklist"
	"github.com/dbgtool/dbg/investigate"
	"github.com/dbgtool/dbg/sources/bundle"
)

// downSource is a backend that is down, for every kind of source.
type downSource struct{ err error }

func (d downSource) SearchTraces(context.Context, investigate.TraceQuery) ([]*investigate.Trace, error) {
	return nil, d.err
}

func (d downSource) Hotspots(context.Context, string, investigate.Window) (investigate.HotspotInput, []string, error) {
	return investigate.HotspotInput{}, nil, d.err
}

func (d downSource) Logs(context.Context, investigate.LogQuery, func(investigate.LogRecord) error) ([]string, error) {
	return nil, d.err
}

func (d downSource) Explain(context.Context, investigate.LogQuery) (investigate.LogRequest, error) {
	return investigate.LogRequest{}, d.err
}

func (d downSource) Check(context.Context) error { return d.err }

func sourceStatus(rep *checklist.Report, kind string) checklist.SourceStatus {
	for _, s := range rep.Sources {
		if s.Kind == kind {
			return s
		}
	}
	return checklist.SourceStatus{}
}

// TestCaptureHonest: nothing read writes no bundle and fails; a capture with Jaeger down writes a
// partial bundle that replays as partial (traces failed, the rest analysed), and a failed Prometheus
// replays as failed, not as "not configured".
func TestCaptureHonest(t *testing.T) {
	src := filepath.Join("..", "testdata", "incidents", "error-burst")
	b, err := bundle.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	live := bundleSources{b}
	jaegerDown := downSource{errors.New("Jaeger at http://127.0.0.1:1/api/traces: connection refused")}
	promDown := downSource{errors.New("Prometheus at http://127.0.0.1:1: HTTP 500")}
	run := func(s checklist.Sources) (string, *ChecklistOptions, error) {
		f, _, _ := testFactory(nil)
		inv := &checklist.Investigation{Service: b.Manifest.Service, Window: b.Window(), Options: checklist.DefaultOptions(), Now: f.Now, Sources: s}
		opts := &ChecklistOptions{IO: f.IO, Inv: inv}
		dest := filepath.Join(t.TempDir(), "captured.tar.gz")
		return dest, opts, captureRun(context.Background(), opts, dest)
	}

	dest, _, err := run(checklist.Sources{Traces: jaegerDown, TracesName: "Jaeger", Metrics: promDown, MetricsName: "Prometheus", Logs: downSource{errors.New("Loki: HTTP 503")}, LogsName: "Loki"})
	if err == nil || !strings.Contains(err.Error(), "nothing could be read") || exitCode(err) != ExitFailed {
		t.Errorf("all down: err %v", err)
	}
	if _, serr := os.Stat(dest); !os.IsNotExist(serr) {
		t.Errorf("all down: a bundle was written (%v)", serr)
	}

	dest, opts, err := run(checklist.Sources{Traces: jaegerDown, TracesName: "Jaeger", Metrics: promDown, MetricsName: "Prometheus", Logs: live, LogsName: "Loki"})
	if err != nil {
		t.Fatalf("partial capture: %v", err)
	}
	if e := opts.IO.ErrOut.(interface{ String() string }).String(); !strings.Contains(e, "partial capture") || !strings.Contains(e, "connection refused") {
		t.Errorf("partial capture warning: %q", e)
	}
	rep, code, _ := runChecklistJSON(t, "--from", dest)
	if code != 0 {
		t.Errorf("replay exit %d", code)
	}
	tr, m, l := sourceStatus(rep, "traces"), sourceStatus(rep, "metrics"), sourceStatus(rep, "logs")
	if tr.Status != "error" || !strings.Contains(tr.Error, "connection refused") {
		t.Errorf("replayed traces: %+v, want the capture's failure", tr)
	}
	if m.Status != "error" || !strings.Contains(m.Error, "HTTP 500") {
		t.Errorf("replayed metrics: %+v, want failed (not not_configured)", m)
	}
	if l.Status != "ok" {
		t.Errorf("replayed logs: %+v", l)
	}
	if !strings.Contains(rep.Answer, "could not be read") && rep.TopRootCause() == nil {
		t.Errorf("answer does not say it is partial: %q", rep.Answer)
	}
}
