package cmd

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/dbgtool/dbg/chaos"
	"github.com/dbgtool/dbg/checklist"
	"github.com/dbgtool/dbg/render"
)

func init() { register(newCmdChaos) }

func newCmdChaos(f *Factory) *cobra.Command {
	c := &cobra.Command{
		Use:   "chaos plan|proxy|run",
		Short: "Reproduce a suspected fault on purpose: plan experiments (Chaos Mesh), a fault proxy, and a verdict",
		Long: `Test a hypothesis by reproducing it, in staging, before anyone "fixes" production:

  dbg chaos plan --from REPORT.json      turn the checklist's top hypotheses into experiments (-o yaml: Chaos Mesh manifests)
  dbg chaos proxy --listen A --upstream B  a local fault-injecting TCP/HTTP proxy, switched at runtime
  dbg chaos run --plan PLAN --probe URL  baseline probe → inject (through the proxy) → probe → clear → probe → verdict`,
		Args: argsUsage(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return usageErrorf("dbg chaos: say plan, proxy or run (dbg chaos --help)")
		},
	}
	c.AddCommand(newCmdChaosPlan(f), newCmdChaosProxy(f), newCmdChaosRun(f))
	return c
}

// ChaosPlanOptions is everything `dbg chaos plan` needs.
type ChaosPlanOptions struct {
	IO     *IOStreams
	Report *checklist.Report
	Plan   chaos.PlanOptions
	Format render.Format
	Render render.Options
}

func newCmdChaosPlan(f *Factory) *cobra.Command {
	c := &cobra.Command{
		Use:   "plan --from REPORT.json",
		Short: "Turn a checklist report's top hypotheses into fault-injection experiments",
		Long: `Read a checklist JSON report (dbg checklist -o json) and plan, for each of its top hypotheses (root causes
and contributing factors), the fault that reproduces it if it is right: what to inject where, for how long,
what the probe of the investigated service should then show, the dbg probe commands that measure it, and
the Chaos Mesh manifest (-o yaml) — NetworkChaos, HTTPChaos, StressChaos, PodChaos or IOChaos, in
--namespace, selected by --label-key=<service>, labelled with the report's ID, always with a duration.`,
		Example: `  dbg chaos plan --from report.json
  dbg chaos plan --from report.json --namespace staging -o yaml > experiments.yaml; kubectl apply -f experiments.yaml
  dbg chaos plan --from report.json --probe-url http://frontend.staging/checkout -o json > plan.json`,
		Args: argsUsage(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := loadSettings(cmd, f)
			if err != nil {
				return err
			}
			opts := &ChaosPlanOptions{IO: f.IO, Render: s.RenderOptions(f)}
			if opts.Format, err = s.Format(render.FormatTable, render.FormatJSON, render.FormatMarkdown, render.FormatYAML); err != nil {
				return err
			}
			from := s.String("from")
			if from == "" {
				return usageErrorf("dbg chaos plan: --from REPORT.json is required (a dbg checklist -o json report)")
			}
			data, err := os.ReadFile(from)
			if err != nil {
				return fmt.Errorf("--from: %w", err)
			}
			var rep checklist.Report
			if err := json.Unmarshal(data, &rep); err != nil || len(rep.Steps) == 0 {
				return fmt.Errorf("--from %s: not a dbg checklist JSON report (make one with dbg checklist -o json)", from)
			}
			opts.Report = &rep
			if opts.Plan, err = planOptions(s, &rep); err != nil {
				return err
			}
			return chaosPlanRun(opts)
		},
	}
	fl := c.Flags()
	fl.String("from", "", "a checklist JSON report (dbg checklist -o json)")
	fl.String("namespace", "default", "the Kubernetes namespace of the experiments and of the selected pods")
	fl.String("label-key", "app", "the pod label whose value is the service name (app, app.kubernetes.io/name, ...)")
	fl.Int("top", 3, "plan the top N hypotheses")
	fl.Duration("duration", 5*time.Minute, "how long each experiment lasts (at most 1h)")
	fl.Int("http-port", 8080, "the container port HTTPChaos acts on")
	fl.String("probe-url", "", "the investigated service's URL, for the dbg probe commands")
	fl.String("db-volume", "/var/lib/postgresql/data", "the database's data directory, for IOChaos")
	return c
}

// reportID names a report for labels: its service and generation time, or a stable hash of the file
// when it has no time.
func reportID(rep *checklist.Report) string {
	if !rep.GeneratedAt.IsZero() {
		return chaos.LabelValue(rep.Service + "-" + rep.GeneratedAt.UTC().Format("20060102T150405Z"))
	}
	return chaos.LabelValue(rep.Service + "-report")
}

func planOptions(s *Settings, rep *checklist.Report) (chaos.PlanOptions, error) {
	o := chaos.DefaultPlanOptions()
	o.ReportID, o.Service = reportID(rep), rep.Service
	if ns := s.String("namespace"); ns != "" {
		if chaos.LabelValue(ns) != ns || strings.ContainsAny(ns, "_.") || strings.ToLower(ns) != ns {
			return o, usageErrorf("--namespace %q: not a Kubernetes namespace name (lower-case letters, digits, -)", ns)
		}
		o.Namespace = ns
	}
	if k := s.String("label-key"); k != "" {
		o.LabelKey = k
	}
	if n := s.Int("top"); n > 0 {
		o.Top = n
	}
	d, err := s.Duration("duration")
	if err != nil {
		return o, err
	}
	if d <= 0 || d > time.Hour {
		return o, usageErrorf("--duration %s: want more than 0 and at most 1h (an experiment is always bounded)", d)
	}
	o.Duration = d
	if p := s.Int("http-port"); p > 0 && p < 65536 {
		o.HTTPPort = p
	} else {
		return o, usageErrorf("--http-port %d: want 1..65535", p)
	}
	o.ProbeURL = s.String("probe-url")
	if v := s.String("db-volume"); v != "" {
		o.DBVolume = v
	}
	return o, nil
}

func chaosPlanRun(opts *ChaosPlanOptions) error {
	plan := chaos.NewPlan(opts.Report.Findings, opts.Plan)
	return render.ChaosPlan(opts.IO.Out, plan, opts.Format, opts.Render)
}
