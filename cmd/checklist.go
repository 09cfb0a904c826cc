package cmd

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/dbgtool/dbg/checklist"
	"github.com/dbgtool/dbg/investigate"
	"github.com/dbgtool/dbg/probe"
	"github.com/dbgtool/dbg/render"
)

func init() { register(newCmdChecklist) }

// ChecklistOptions is everything `dbg checklist` needs.
type ChecklistOptions struct {
	IO         *IOStreams
	Inv        *checklist.Investigation
	Previous   *checklist.Report // --verify
	Postmortem string            // --postmortem FILE.md
	FailOn     investigate.Severity
	Format     render.Format
	Render     render.Options
	Warnings   []string
}

func newCmdChecklist(f *Factory) *cobra.Command {
	c := &cobra.Command{
		Use:   "checklist --service NAME",
		Short: "Walk the ten-step debugging checklist and rank root-cause hypotheses",
		Long: `Walk the ten-step debugging checklist for a service — symptom, recent changes, metrics, traces, logs,
dependencies, hypothesis, fix, verification, postmortem — over every configured source (or a bundle
with --from), and print the ranked, evidence-backed answer first.

A source that is missing or failing never aborts the report: its steps say "skipped" or "fail" and why.`,
		Example: `  dbg checklist --from testdata/incidents/slow-dependency --service frontend
  dbg checklist --service payment --jaeger-url http://jaeger:16686 --prometheus-url http://prom:9090 --since 30m
  dbg checklist --service payment -o json > before.json; dbg checklist --service payment --verify before.json
  dbg checklist --service payment -o html > report.html`,
		Args: argsUsage(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := loadSettings(cmd, f)
			if err != nil {
				return err
			}
			opts, err := checklistOptions(s, f)
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), s.Timeout())
			defer cancel()
			return checklistRun(ctx, opts)
		},
	}
	fl := c.Flags()
	fl.String("from", "", "replay a bundle (directory or .tar.gz) made by dbg capture, offline")
	fl.String("changes", "", "deploy markers: a JSON file of [{at, service, what, from, to}]")
	fl.String("verify", "", "an earlier report (-o json) to verify: each earlier cause resolved, persisting or new")
	fl.String("postmortem", "", "write a postmortem draft (markdown) to this file")
	fl.String("fail-on", "", "exit 3 when a cause at or above this severity is found (critical, high, medium, low)")
	fl.Int("trace-limit", 200, "traces sampled per query")
	fl.String("probe", "", "send a few GET requests (5/s, the dbg probe engine) to this URL with fresh X-Correlation-IDs and traceparents, and test the top hypothesis on their traces and logs")
	fl.Int("probe-count", 5, "requests --probe sends")
	fl.String("verify-probe", "", "step 9 evidence: a dbg probe -o json result taken after the fix")
	fl.String("verify-probe-before", "", "with --verify-probe: a probe result taken before the fix, to compare with")
	fl.String("pcap", "", "step 6: a packet capture (pcap/pcapng) to read for TCP loss, resets, refused connections and request errors per server")
	fl.String("envoy-admin", "", "step 6: the service's sidecar admin URL (http://127.0.0.1:15000) or files saved from it, for breakers, ejections and host health")
	fl.String("dsn", "", "PostgreSQL to read the plans of slow statements from (EXPLAIN only; also dsn in the config)")
	return c
}

func checklistOptions(s *Settings, f *Factory) (*ChecklistOptions, error) {
	opts := &ChecklistOptions{IO: f.IO, Postmortem: s.String("postmortem")}
	var err error
	if opts.Format, err = s.Format(render.FormatTable, render.FormatJSON, render.FormatMarkdown, render.FormatHTML); err != nil {
		return nil, err
	}
	opts.Render = s.RenderOptions(f)
	if v := s.String("fail-on"); v != "" {
		sev, ok := investigate.ParseSeverity(v)
		if !ok {
			return nil, usageErrorf("--fail-on %q: want critical, high, medium or low", v)
		}
		opts.FailOn = sev
	}
	from := s.String("from")
	sources, b, warns, err := buildChecklistSources(s, f, from, strings.TrimSpace(s.String("service")))
	if err != nil {
		return nil, err
	}
	opts.Warnings = warns
	inv := &checklist.Investigation{Service: strings.TrimSpace(s.String("service")), Sources: sources, Options: checklist.DefaultOptions(), Now: f.Now}
	if n := s.Int("trace-limit"); n > 0 {
		inv.Options.TraceLimit = n
	}
	if inv.Options.Trace, err = traceAnalysisOptions(s); err != nil {
		return nil, err
	}
	inv.Options.JaegerUI = opts.Render.JaegerUI
	if s.IsSet("trace-exclude-routes") { // config/env key: comma-separated routes, "none" keeps every trace
		inv.Options.ExcludeRoutes = nil
		for _, r := range strings.Split(s.String("trace-exclude-routes"), ",") {
			if r = strings.TrimSpace(r); r != "" && r != "none" {
				inv.Options.ExcludeRoutes = append(inv.Options.ExcludeRoutes, r)
			}
		}
	}
	if b != nil {
		// A bundle carries its own window; --since/--until would look outside what was captured.
		inv.Window = b.Window()
		if inv.Service == "" {
			inv.Service = b.Manifest.Service
		}
	} else if inv.Window, err = s.Window(f.Now()); err != nil {
		return nil, err
	}
	if inv.Service == "" {
		return nil, usageErrorf("dbg checklist: --service is required (the service to investigate)")
	}
	if u := s.String("probe"); u != "" {
		if b != nil {
			return nil, usageErrorf("--probe sends live requests; it cannot be combined with --from")
		}
		po := probe.Options{URL: u, Rate: probe.PerSecond(5), Requests: max(1, s.Int("probe-count")), Timeout: s.Timeout(),
			InsecureSkipVerify: s.Bool("insecure-skip-verify")}
		if err := po.Validate(); err != nil {
			return nil, &UsageError{Err: fmt.Errorf("--probe: %w", err)}
		}
		inv.Sources.Prober = httpProber{opts: po}
		inv.Options.ProbeURL = u
	}
	if p := s.String("changes"); p != "" {
		changes, err := readChanges(p)
		if err != nil {
			return nil, err
		}
		inv.Sources.Changes = append(inv.Sources.Changes, changes...)
	}
	if p := s.String("verify"); p != "" {
		prev, err := readReport(p)
		if err != nil {
			return nil, err
		}
		opts.Previous = prev
	}
	if p := s.String("verify-probe"); p != "" {
		pe := &checklist.ProbeEvidence{}
		if pe.After, err = readProbe("--verify-probe", p); err != nil {
			return nil, err
		}
		if b := s.String("verify-probe-before"); b != "" {
			if pe.Before, err = readProbe("--verify-probe-before", b); err != nil {
				return nil, err
			}
		}
		inv.VerifyProbe = pe
	} else if s.String("verify-probe-before") != "" {
		return nil, usageErrorf("--verify-probe-before needs --verify-probe (the probe after the fix)")
	}
	opts.Inv = inv
	return opts, nil
}

func readChanges(path string) ([]checklist.Change, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--changes: %w", err)
	}
	var cs []checklist.Change
	if err := json.Unmarshal(b, &cs); err != nil {
		return nil, fmt.Errorf("--changes %s: want a JSON array of {at, service, what, from, to}: %v", path, err)
	}
	for i, c := range cs {
		if c.At.IsZero() || c.Service == "" {
			return nil, fmt.Errorf("--changes %s: entry %d needs \"at\" (RFC 3339) and \"service\"", path, i+1)
		}
	}
	return cs, nil
}

func readProbe(flag, path string) (*probe.Result, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", flag, err)
	}
	r, err := probe.Decode(b)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", flag, path, err)
	}
	return r, nil
}

func readReport(path string) (*checklist.Report, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--verify: %w", err)
	}
	var r checklist.Report
	if err := json.Unmarshal(b, &r); err != nil || len(r.Steps) == 0 {
		return nil, fmt.Errorf("--verify %s: not a dbg checklist JSON report (make one with -o json)", path)
	}
	return &r, nil
}

func checklistRun(ctx context.Context, opts *ChecklistOptions) error {
	for _, w := range opts.Warnings {
		fmt.Fprintln(opts.IO.ErrOut, "dbg: warning: "+render.Clean(w))
	}
	rep := checklist.Run(ctx, opts.Inv, opts.Previous)
	if err := render.Checklist(opts.IO.Out, rep, opts.Format, opts.Render); err != nil {
		return err
	}
	if opts.Postmortem != "" {
		f, err := os.Create(opts.Postmortem)
		if err != nil {
			return fmt.Errorf("--postmortem: %w", err)
		}
		if err := render.Postmortem(f, rep); err != nil {
			f.Close()
			return fmt.Errorf("--postmortem %s: %w", opts.Postmortem, err)
		}
		if err := f.Close(); err != nil {
			return fmt.Errorf("--postmortem %s: %w", opts.Postmortem, err)
		}
	}
	if rep.NothingRead() {
		// Nothing read must never look like a healthy system: the report above says what failed; the
		// exit code says the run did not answer.
		return fmt.Errorf("no evidence could be read: %s", strings.Join(rep.Unread(), "; "))
	}
	if opts.Previous != nil && rep.Verification != nil && !rep.Verification.Done() {
		return &ThresholdError{Msg: fmt.Sprintf("verify: %d earlier cause(s) persist, %d new", len(rep.Verification.Persisting), len(rep.Verification.New))}
	}
	if st := rep.Step(checklist.StepVerify); st != nil {
		if pv := st.Outcome.ProbeVerification; pv != nil && !pv.Resolved {
			return &ThresholdError{Msg: "verify: " + render.Clean(pv.Summary)}
		}
	}
	if opts.FailOn != "" && checklist.FailOn(rep.Findings, opts.FailOn) {
		return &ThresholdError{Msg: fmt.Sprintf("--fail-on %s: a cause at or above %s was found", opts.FailOn, opts.FailOn)}
	}
	return nil
}
