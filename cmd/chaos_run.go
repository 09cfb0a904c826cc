package cmd

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/dbgtool/dbg/chaos"
	"github.com/dbgtool/dbg/render"
)

// ChaosRunOptions is everything `dbg chaos run` needs.
type ChaosRunOptions struct {
	IO     *IOStreams
	Run    chaos.RunOptions
	Format render.Format
	Render render.Options
}

func newCmdChaosRun(f *Factory) *cobra.Command {
	c := &cobra.Command{
		Use:   "run --plan PLAN.json --probe URL --proxy-admin URL",
		Short: "Baseline probe → inject through the proxy → probe → clear → probe, and a verdict on the hypothesis",
		Long: `Run one experiment of a plan (dbg chaos plan -o json) through a running dbg chaos proxy that sits on the
hypothesis's path (for "inventory → postgresql is slow": between inventory and PostgreSQL), probing the
investigated service (--probe URL) before, during and after the fault:

  confirmed     the fault moved the probe by at least half of what the hypothesis predicts, and the
                change went away when the fault was cleared
  refuted       it moved the probe by less than a fifth of the prediction: the fault at this place does
                not reach the service's users
  inconclusive  in between, the baseline itself failing, or no recovery after clearing

Exit code 0 when confirmed, 3 when refuted or inconclusive (scripts gate on it), 1 when the run failed.
The fault is always cleared before dbg exits, Ctrl-C included. Each probe phase takes the traffic flags
(--rate, --duration, --requests, ...), bounded as in dbg probe.`,
		Example: `  dbg chaos proxy --listen 127.0.0.1:15432 --upstream 127.0.0.1:5432 --admin 127.0.0.1:9901 &
  dbg chaos run --plan plan.json --experiment e1 --probe http://127.0.0.1:8080/checkout --proxy-admin http://127.0.0.1:9901`,
		Args: argsUsage(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := loadSettings(cmd, f)
			if err != nil {
				return err
			}
			opts := &ChaosRunOptions{IO: f.IO, Render: s.RenderOptions(f)}
			if opts.Format, err = s.Format(render.FormatTable, render.FormatJSON, render.FormatMarkdown); err != nil {
				return err
			}
			planFile, url, admin := s.String("plan"), s.String("probe"), s.String("proxy-admin")
			if planFile == "" || url == "" || admin == "" {
				return usageErrorf("dbg chaos run: --plan PLAN.json, --probe URL and --proxy-admin URL are required")
			}
			data, err := os.ReadFile(planFile)
			if err != nil {
				return fmt.Errorf("--plan: %w", err)
			}
			plan, err := chaos.DecodePlan(data)
			if err != nil {
				return fmt.Errorf("--plan %s: %w", planFile, err)
			}
			e, err := plan.Pick(s.String("experiment"))
			if err != nil {
				return &UsageError{Err: err}
			}
			opts.Run.Experiment = *e
			if opts.Run.Probe, err = probeTraffic(s, cmd, url); err != nil {
				return err
			}
			opts.Run.Injector = chaos.AdminClient{URL: admin}
			if opts.Run.Settle, err = s.Duration("settle"); err != nil {
				return err
			}
			return chaosRunRun(cmd.Context(), opts)
		},
	}
	addProbeFlags(c, "10/s", 10*time.Second)
	fl := c.Flags()
	fl.String("plan", "", "a plan from dbg chaos plan -o json")
	fl.String("experiment", "", "the experiment's ID (default: the first one the proxy can make)")
	fl.String("probe", "", "the investigated service's URL to probe in each phase")
	fl.String("proxy-admin", "", "the admin URL of the dbg chaos proxy on the hypothesis's path")
	fl.Duration("settle", time.Second, "wait after injecting and after clearing before probing")
	return c
}

func chaosRunRun(ctx context.Context, opts *ChaosRunOptions) error {
	if opts.IO.ErrTTY {
		opts.Run.Phase = func(p string) { fmt.Fprintln(opts.IO.ErrOut, "dbg chaos run: "+render.Clean(p)) }
	}
	res, err := chaos.Run(ctx, opts.Run)
	if err != nil {
		return err
	}
	if err := render.ChaosRun(opts.IO.Out, res, opts.Format, opts.Render); err != nil {
		return err
	}
	if res.Verdict != chaos.Confirmed {
		return &ThresholdError{Msg: fmt.Sprintf("chaos run %s: the hypothesis is %s", res.Experiment, res.Verdict)}
	}
	return nil
}
