package checklist

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/dbgtool/dbg/investigate"
)

type fakeLogs struct{ err error }

func (f fakeLogs) Logs(_ context.Context, _ investigate.LogQuery, emit func(investigate.LogRecord) error) ([]string, error) {
	if err := emit(investigate.LogRecord{Service: "frontend", Message: "ok"}); err != nil {
		return nil, err
	}
	return nil, f.err
}

func (fakeLogs) Explain(context.Context, investigate.LogQuery) (investigate.LogRequest, error) {
	return investigate.LogRequest{Backend: "fake", Query: "logs"}, nil
}

func (fakeLogs) Check(context.Context) error { return nil }

type fakeProfiles struct{ err error }

func (f fakeProfiles) ProfileFindings(context.Context) ([]investigate.Finding, []string, error) {
	return nil, []string{"pprof"}, f.err
}

func status(rep *Report, kind string) SourceStatus {
	for _, s := range rep.Sources {
		if s.Kind == kind {
			return s
		}
	}
	return SourceStatus{}
}

// TestNothingReadIsNotHealthy: when every configured source fails, the answer says nothing could be
// read (never "No anomaly found"), and NothingRead is set for the exit code.
func TestNothingReadIsNotHealthy(t *testing.T) {
	rep := Run(context.Background(), newInv(Sources{
		Traces: fakeTraces{traces: []*investigate.Trace{}, err: errors.New("Jaeger: connection refused")}, TracesName: "Jaeger",
		Metrics: fakeMetrics{errors.New("Prometheus: HTTP 500")}, MetricsName: "Prometheus",
		Logs: fakeLogs{errors.New("Loki: HTTP 503")}, LogsName: "Loki",
	}), nil)
	if !rep.NothingRead() || strings.Contains(rep.Answer, "No anomaly") || !strings.Contains(rep.Answer, "Nothing could be read") {
		t.Errorf("NothingRead %v, answer %q", rep.NothingRead(), rep.Answer)
	}
	if u := rep.Unread(); len(u) != 3 || !strings.Contains(strings.Join(u, ";"), "HTTP 500") {
		t.Errorf("unread %q", u)
	}
	// One source left: a partial answer that says so.
	rep = Run(context.Background(), newInv(Sources{Traces: fakeTraces{}, TracesName: "Jaeger",
		Metrics: fakeMetrics{errors.New("Prometheus: HTTP 500")}, MetricsName: "Prometheus"}), nil)
	if rep.NothingRead() || status(rep, "metrics").Status != "error" || status(rep, "traces").Status != "ok" {
		t.Errorf("partial: %+v", rep.Sources)
	}
}

// TestEachSourceBlamedForItself: the profiles status is the profile source's own (a 404 from pprof
// is its error, a Prometheus failure is not); a hung trace source does not fail a healthy log store,
// and the step that ran out of time names the backend it waited for.
func TestEachSourceBlamedForItself(t *testing.T) {
	rep := Run(context.Background(), newInv(Sources{Traces: fakeTraces{}, TracesName: "Jaeger",
		Metrics: fakeMetrics{}, MetricsName: "Prometheus",
		Profiles: fakeProfiles{errors.New("pprof at http://t: HTTP 404")}, ProfileName: "pprof"}), nil)
	if p, m := status(rep, "profiles"), status(rep, "metrics"); p.Status != "error" || !strings.Contains(p.Error, "404") || m.Status != "ok" {
		t.Errorf("pprof 404: profiles %+v, metrics %+v", p, m)
	}
	rep = Run(context.Background(), newInv(Sources{Traces: fakeTraces{}, TracesName: "Jaeger",
		Metrics: fakeMetrics{errors.New("Prometheus: HTTP 500")}, MetricsName: "Prometheus",
		Profiles: fakeProfiles{}, ProfileName: "pprof"}), nil)
	if p := status(rep, "profiles"); p.Status != "ok" {
		t.Errorf("Prometheus failure shows under profiles: %+v", p)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 600*time.Millisecond)
	defer cancel()
	rep = Run(ctx, newInv(Sources{Traces: fakeTraces{delay: time.Minute}, TracesName: "Jaeger at http://hung:16686",
		Logs: fakeLogs{}, LogsName: "VictoriaLogs at http://vl:9428"}), nil)
	if l := status(rep, "logs"); l.Status != "ok" {
		t.Errorf("a hung Jaeger failed the healthy log store: %+v", l)
	}
	if tr := status(rep, "traces"); tr.Status != "error" || !strings.Contains(tr.Error, "deadline") {
		t.Errorf("the hung Jaeger: %+v", tr)
	}
	if st := rep.Steps[3]; st.Status != StatusFail || !strings.Contains(st.Summary, "Jaeger at http://hung:16686") {
		t.Errorf("step 4 does not name the backend that hung: %s %q", st.Status, st.Summary)
	}
	if st := rep.Steps[4]; st.Status == StatusFail {
		t.Errorf("step 5 (logs) failed because Jaeger hung: %q", st.Summary)
	}
}
