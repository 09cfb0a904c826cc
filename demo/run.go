package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/dbgtool/dbg/cmd"
	"github.com/dbgtool/dbg/internal/demo"
	"github.com/dbgtool/dbg/render"
)

// DemoRunOptions is everything `go run ./demo run` needs.
type DemoRunOptions struct {
	IO       *cmd.IOStreams
	Format   render.Format
	System   demo.SystemConfig
	Rate     float64
	Duration time.Duration
	NoLoad   bool
}

// DemoFaultOptions is everything `go run ./demo fault` needs.
type DemoFaultOptions struct {
	IO       *cmd.IOStreams
	Format   render.Format
	StateDir string
	Service  string     // "" : the kind's default service
	Fault    demo.Fault // Kind "" with Clear: every kind
	Clear    bool
	List     bool
}

// defaultDemoDir is where a running demo keeps its state when --state-dir is not given.
func defaultDemoDir(getenv func(string) string) string {
	if d := getenv("XDG_RUNTIME_DIR"); d != "" {
		return filepath.Join(d, "dbg-demo")
	}
	return filepath.Join(os.TempDir(), fmt.Sprintf("dbg-demo-%d", os.Getuid()))
}

func newCmdRun(f *Factory) *cobra.Command {
	c := &cobra.Command{
		Use:   "run",
		Short: "Start the demo services and the load generator",
		Long: `Start the six demo services as child processes on free 127.0.0.1 ports (or --ports-from N and
the six ports after it), write the state (service URLs) and a prometheus.yml that scrapes every service
into --state-dir, and send steady traffic until --duration passes or Ctrl-C.

Traces go to --otlp-url (Jaeger's OTLP/HTTP port, 4318), logs to --victorialogs-url.`,
		Example: `  go run ./demo run --otlp-url http://127.0.0.1:4318 --victorialogs-url http://127.0.0.1:9428
  go run ./demo run --rate 50 --duration 10m
  prometheus --config.file "$(go run ./demo status -o json | jq -r .prometheus_config)"`,
		Args: argsUsage(cobra.NoArgs),
		RunE: func(c *cobra.Command, _ []string) error {
			s, err := loadSettings(c, f)
			if err != nil {
				return err
			}
			o := &DemoRunOptions{IO: f.IO, Rate: s.Float("rate"), NoLoad: s.Bool("no-load")}
			if o.Format, err = s.Format(render.FormatTable, render.FormatJSON); err != nil {
				return err
			}
			if o.Duration, err = s.Duration("duration"); err != nil {
				return err
			}
			if o.Duration <= 0 || o.Duration > demo.MaxLoadTime {
				return usageErrorf("run: --duration must be between 1s and %s", demo.MaxLoadTime)
			}
			if o.Rate <= 0 || o.Rate > demo.MaxRate {
				return usageErrorf("run: --rate must be above 0 and at most %g requests/s", demo.MaxRate)
			}
			o.System = demo.SystemConfig{Dir: demoStateDir(s, f), OTLPURL: s.String("otlp-url"),
				VictoriaLogsURL: s.String("victorialogs-url"), Rows: s.Int("rows")}
			if o.System.Rows < 0 || o.System.Rows > 5_000_000 {
				return usageErrorf("run: --rows must be between 1 and 5000000")
			}
			if p := s.Int("ports-from"); p != 0 {
				if p < 1024 || p > 65535-len(demo.Services) {
					return usageErrorf("run: --ports-from %d: want 1024..%d", p, 65535-len(demo.Services))
				}
				for i := range len(demo.Services) + 1 {
					o.System.Ports = append(o.System.Ports, p+i)
				}
			}
			return demoRun(c.Context(), o)
		},
	}
	fl := c.Flags()
	fl.String("otlp-url", "", "OTLP/HTTP endpoint for traces, e.g. http://127.0.0.1:4318 (Jaeger); empty: no export")
	fl.String("victorialogs-url", "", "VictoriaLogs base URL for the services' logs, e.g. http://127.0.0.1:9428; empty: logs stay in the services' log files")
	fl.Float64("rate", demo.DefaultRate, fmt.Sprintf("load: requests per second (at most %g, traffic spikes included)", demo.MaxRate))
	fl.Duration("duration", 30*time.Minute, "stop after this long (at most 24h)")
	fl.Bool("no-load", false, "start the services but send no traffic")
	fl.Int("rows", demo.DefaultRows, "items in the inventory database")
	fl.Int("ports-from", 0, "use this port and the six after it instead of free ones")
	fl.String("state-dir", "", "where state.json, prometheus.yml, the database and the service logs go (default $XDG_RUNTIME_DIR/dbg-demo)")
	return c
}

// demoRun starts the system, runs the load and stops everything when done.
func demoRun(ctx context.Context, o *DemoRunOptions) error {
	if st, err := demo.ReadState(o.System.Dir); err == nil && processAlive(st.PID) {
		return fmt.Errorf("a demo is already running (pid %d, state in %s): stop it or use --state-dir", st.PID, o.System.Dir)
	}
	sys, err := demo.Start(ctx, o.System)
	if err != nil {
		return err
	}
	defer sys.Stop()
	if err := sys.SetRate(o.Rate); err != nil {
		return err
	}
	if o.Format == render.FormatJSON {
		if err := render.JSON(o.IO.Out, sys.State); err != nil {
			return err
		}
	} else {
		printDemoState(o.IO.Out, sys.State, o.System.Dir)
		fmt.Fprintf(o.IO.Out, "\nload: %g requests/s for %s (Ctrl-C stops)\n", o.Rate, o.Duration)
	}
	var stats demo.LoadStats
	if o.NoLoad {
		select {
		case <-ctx.Done():
		case <-time.After(o.Duration):
		}
	} else {
		stats = sys.Load.Run(ctx, o.Duration)
	}
	if name := sys.Exited(); name != "" {
		return fmt.Errorf("demo service %s exited early: see %s", name, filepath.Join(o.System.Dir, name+".log"))
	}
	if o.Format != render.FormatJSON {
		fmt.Fprintf(o.IO.ErrOut, "stopped: sent %d, 2xx %d, 4xx %d, 5xx %d, failed %d, skipped %d\n",
			stats.Sent, stats.OK, stats.Client, stats.Server, stats.Failed, stats.Skipped)
	}
	return nil
}

func printDemoState(w io.Writer, st demo.State, dir string) {
	fmt.Fprintln(w, "service      URL (/metrics, /debug/pprof, /admin/fault)")
	for _, name := range demo.Services {
		fmt.Fprintf(w, "%-12s %s\n", name, render.Clean(st.Services[name]))
	}
	fmt.Fprintf(w, "%-12s %s\n", demo.LoadGen, render.Clean(st.LoadGen))
	fmt.Fprintf(w, "\nstate:      %s\n", render.Clean(filepath.Join(dir, demo.StateFile)))
	fmt.Fprintf(w, "prometheus: prometheus --config.file %s\n", render.Clean(st.PrometheusFile))
	if st.OTLPURL != "" {
		fmt.Fprintf(w, "traces:     %s\n", render.Clean(st.OTLPURL))
	}
	if st.VictoriaLogsURL != "" {
		fmt.Fprintf(w, "logs:       %s\n", render.Clean(st.VictoriaLogsURL))
	}
	fmt.Fprintf(w, "faults:     go run ./demo fault KIND (kinds: %s)\n", strings.Join(demo.KindNames(), ", "))
}

func processAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	_, err := os.Stat(filepath.Join("/proc", strconv.Itoa(pid)))
	return err == nil
}

func newCmdFault(f *Factory) *cobra.Command {
	var kinds strings.Builder
	for _, sp := range demo.Specs {
		fmt.Fprintf(&kinds, "  %-20s %s (default service %s)\n", sp.Kind, sp.Help, sp.Service)
	}
	c := &cobra.Command{
		Use:   "fault KIND | fault clear [KIND] | fault list",
		Short: "Inject a fault into the running demo, clear faults, or list them",
		Long: `Inject a fault into a running demo (started with go run ./demo run, found through its state file), or
clear faults: "go run ./demo fault clear" clears every fault on every service; with --service only there,
with a KIND only that kind. "go run ./demo fault list" shows what is in force.

Kinds:
` + kinds.String() + `
Unset parameters take the kind's defaults; every parameter is bounded (latency ≤ 10s, leaks ≤ 1 GiB or
100000 goroutines, load ≤ 200 requests/s). --for makes a fault clear itself.`,
		Example: `  go run ./demo fault latency --service checkout --ms 300
  go run ./demo fault error-rate --service payment --rate 0.2 --route "POST /charge"
  go run ./demo fault n-plus-one
  go run ./demo fault deploy --service checkout --to-version 2.0.0 --ms 150
  go run ./demo fault traffic-spike --factor 5 --for 2m
  go run ./demo fault clear`,
		Args:      argsUsage(cobra.RangeArgs(1, 2)),
		ValidArgs: append([]string{"clear", "list"}, demo.KindNames()...),
		RunE: func(c *cobra.Command, args []string) error {
			s, err := loadSettings(c, f)
			if err != nil {
				return err
			}
			o := &DemoFaultOptions{IO: f.IO, StateDir: demoStateDir(s, f), Service: s.String("service")}
			if o.Format, err = s.Format(render.FormatTable, render.FormatJSON); err != nil {
				return err
			}
			switch args[0] {
			case "clear":
				o.Clear = true
				if len(args) == 2 {
					o.Fault.Kind = demo.Kind(args[1])
				}
			case "list":
				o.List = true
				if len(args) > 1 {
					return usageErrorf("fault list takes no kind")
				}
			default:
				if len(args) > 1 {
					return usageErrorf("fault %s: one kind at a time", args[0])
				}
				o.Fault.Kind = demo.Kind(args[0])
				p := &o.Fault.Params
				p.Route, p.MS, p.Rate = s.String("route"), s.Int("ms"), s.Float("rate")
				p.KB, p.MaxMB, p.Max, p.Limit = s.Int("kb"), s.Int("max-mb"), s.Int("max"), s.Int("limit")
				p.Factor, p.Version, p.Duration = s.Float("factor"), s.String("to-version"), s.String("for")
			}
			if o.Fault.Kind != "" {
				sp, ok := demo.SpecFor(o.Fault.Kind)
				if !ok {
					return usageErrorf("fault: unknown kind %q (want one of %s)", o.Fault.Kind, strings.Join(demo.KindNames(), ", "))
				}
				if o.Service == "" && !o.Clear {
					o.Service = sp.Service
				}
				if !o.Clear {
					if _, err := o.Fault.Resolve(o.Service); err != nil {
						return usageErrorf("fault: %v", err)
					}
				}
			}
			ctx, cancel := context.WithTimeout(c.Context(), s.Timeout())
			defer cancel()
			return demoFault(ctx, o)
		},
	}
	fl := c.Flags()
	fl.String("state-dir", "", "the running demo's state directory (default $XDG_RUNTIME_DIR/dbg-demo)")
	fl.String("service", "", "the service to inject into or clear (default: the kind's service; clear: every service)")
	fl.Int("ms", 0, "milliseconds added (latency, slow-downstream, cpu-hog, deploy)")
	fl.Float64("rate", 0, "share of requests 0..1 (error-rate, error-burst, circuit-open)")
	fl.String("route", "", `only this route, e.g. "/orders" or "POST /orders" (latency, error-rate)`)
	fl.Int("kb", 0, "kilobytes kept per request (memory-leak)")
	fl.Int("max-mb", 0, "memory-leak bound in MiB")
	fl.Int("max", 0, "goroutine-leak bound")
	fl.Int("limit", 0, "bulkhead slots (bulkhead-saturation)")
	fl.Float64("factor", 0, "load multiplier (traffic-spike)")
	fl.String("to-version", "", "the new service.version (deploy)")
	fl.String("for", "", "clear the fault after this long (e.g. 90s)")
	return c
}

// demoFault injects, clears or lists faults through the admin endpoints of the running demo.
func demoFault(ctx context.Context, o *DemoFaultOptions) error {
	st, err := demo.ReadState(o.StateDir)
	if err != nil {
		return err
	}
	targets := append(slices.Clone(demo.Services), demo.LoadGen)
	if o.Service != "" {
		if _, err := st.AdminURL(o.Service); err != nil {
			return usageErrorf("fault: %v", err)
		}
		targets = []string{o.Service}
	}
	switch {
	case o.List:
		all := []demo.Active{}
		for _, name := range targets {
			u, _ := st.AdminURL(name)
			list, err := demo.List(ctx, u)
			if err != nil {
				return cleanErr(err)
			}
			all = append(all, list...)
		}
		if o.Format == render.FormatJSON {
			return render.JSON(o.IO.Out, all)
		}
		if len(all) == 0 {
			fmt.Fprintln(o.IO.Out, "no faults in force")
		}
		for _, a := range all {
			fmt.Fprintf(o.IO.Out, "%-12s %-20s %s\n", render.Clean(a.Service), render.Clean(string(a.Kind)), describeParams(a))
		}
		return nil
	case o.Clear:
		cleared := map[string][]string{}
		for _, name := range targets {
			if o.Fault.Kind != "" && o.Service == "" {
				if sp, _ := demo.SpecFor(o.Fault.Kind); len(sp.Only) > 0 && !slices.Contains(sp.Only, name) {
					continue
				}
			}
			u, _ := st.AdminURL(name)
			kinds, err := demo.Clear(ctx, u, o.Fault.Kind)
			if err != nil {
				return cleanErr(err)
			}
			if len(kinds) > 0 {
				cleared[name] = kinds
			}
		}
		if o.Format == render.FormatJSON {
			return render.JSON(o.IO.Out, map[string]any{"cleared": cleared})
		}
		if len(cleared) == 0 {
			fmt.Fprintln(o.IO.Out, "nothing to clear")
		}
		for _, name := range targets {
			if k := cleared[name]; len(k) > 0 {
				fmt.Fprintf(o.IO.Out, "cleared on %s: %s\n", name, render.Clean(strings.Join(k, ", ")))
			}
		}
		return nil
	}
	u, _ := st.AdminURL(o.Service)
	a, err := demo.Inject(ctx, u, o.Fault)
	if err != nil {
		return cleanErr(err)
	}
	if o.Format == render.FormatJSON {
		return render.JSON(o.IO.Out, a)
	}
	fmt.Fprintf(o.IO.Out, "injected %s on %s: %s\n", render.Clean(string(a.Kind)), render.Clean(a.Service), describeParams(a))
	return nil
}

func describeParams(a demo.Active) string {
	p := a.Params
	var parts []string
	add := func(k, v string) { parts = append(parts, k+"="+v) }
	if p.Route != "" {
		add("route", p.Route)
	}
	if p.MS != 0 {
		add("ms", strconv.Itoa(p.MS))
	}
	if p.Rate != 0 {
		add("rate", strconv.FormatFloat(p.Rate, 'g', -1, 64))
	}
	if p.KB != 0 {
		add("kb", strconv.Itoa(p.KB))
	}
	if p.MaxMB != 0 {
		add("max_mb", strconv.Itoa(p.MaxMB))
	}
	if p.Max != 0 {
		add("max", strconv.Itoa(p.Max))
	}
	if p.Limit != 0 {
		add("limit", strconv.Itoa(p.Limit))
	}
	if p.Factor != 0 {
		add("factor", strconv.FormatFloat(p.Factor, 'g', -1, 64))
	}
	if p.Version != "" {
		add("version", p.Version)
	}
	if !a.Until.IsZero() {
		add("until", a.Until.UTC().Format(time.RFC3339))
	}
	add("since", a.Since.UTC().Format(time.RFC3339))
	return render.Clean(strings.Join(parts, " "))
}

func newCmdStatus(f *Factory) *cobra.Command {
	c := &cobra.Command{
		Use:   "status",
		Short: "Show the running demo's services, URLs and state files",
		Args:  argsUsage(cobra.NoArgs),
		RunE: func(c *cobra.Command, _ []string) error {
			s, err := loadSettings(c, f)
			if err != nil {
				return err
			}
			format, err := s.Format(render.FormatTable, render.FormatJSON)
			if err != nil {
				return err
			}
			dir := demoStateDir(s, f)
			st, err := demo.ReadState(dir)
			if err != nil {
				return err
			}
			if !processAlive(st.PID) {
				return fmt.Errorf("the demo in %s is not running (pid %d gone): start it with go run ./demo run", dir, st.PID)
			}
			if format == render.FormatJSON {
				return render.JSON(f.IO.Out, st)
			}
			printDemoState(f.IO.Out, st, dir)
			return nil
		},
	}
	c.Flags().String("state-dir", "", "the running demo's state directory (default $XDG_RUNTIME_DIR/dbg-demo)")
	return c
}

// newCmdServe is the child process of one demo service; go run ./demo run starts it.
func newCmdServe() *cobra.Command {
	return &cobra.Command{
		Use:    "serve",
		Short:  "Run one demo service (started by go run ./demo run)",
		Hidden: true,
		Args:   argsUsage(cobra.NoArgs),
		RunE: func(c *cobra.Command, _ []string) error {
			return demo.ServeFromEnv(c.Context(), os.Stderr)
		},
	}
}
