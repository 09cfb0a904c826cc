// Command demo runs dbg's demo system — six instrumented Go services with injectable faults — and the
// scenario runner that measures dbg's accuracy on it (docs/demo.md, docs/accuracy.md). It is its own
// program so that none of it (the services' SQLite driver, the servers' launcher) is linked into dbg:
//
//	go run ./demo run --otlp-url http://127.0.0.1:4318
//	go run ./demo fault latency --service checkout --ms 300
//	go run ./demo scenarios --tier fast
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/dbgtool/dbg/cmd"
	"github.com/dbgtool/dbg/render"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	f := &Factory{IO: cmd.SystemStreams(), Getenv: os.Getenv}
	code := Run(ctx, f, os.Args[1:])
	stop()
	os.Exit(code)
}

// Factory is what the demo's commands take from the outside world, so tests replace it whole.
type Factory struct {
	IO     *cmd.IOStreams
	Getenv func(string) string
}

// Run executes the demo program with args and returns the exit code (dbg's: 0 done, 1 failed,
// 2 usage, 3 a scenario failed); the one error line goes to the factory's stderr.
func Run(ctx context.Context, f *Factory, args []string) int {
	root := newRootCmd(f)
	root.SetArgs(args)
	root.SetIn(f.IO.In)
	root.SetOut(f.IO.Out)
	root.SetErr(f.IO.ErrOut)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return cmd.ExitOK
	}
	fmt.Fprintln(f.IO.ErrOut, "demo: "+strings.Join(strings.Fields(render.Clean(err.Error())), " "))
	var ue *cmd.UsageError
	var te *cmd.ThresholdError
	switch {
	case errors.As(err, &te):
		return cmd.ExitFailOn
	case errors.As(err, &ue):
		return cmd.ExitUsage
	}
	return cmd.ExitFailed
}

func newRootCmd(f *Factory) *cobra.Command {
	root := &cobra.Command{
		Use:   "demo",
		Short: "Run the demo microservices with injectable faults, to try dbg on real telemetry",
		Long: `The demo is a small system of real Go services — frontend → checkout → inventory (SQLite) and
payment → fraud-check, payment → gateway (with a circuit breaker and a bulkhead) — instrumented like
production services: OpenTelemetry traces over OTLP/HTTP, Prometheus /metrics, JSON logs with trace
and correlation IDs shipped to VictoriaLogs, and net/http/pprof. Faults are injected while it runs.

Everything listens on 127.0.0.1 only; the load generator sends only there. See docs/demo.md.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          argsUsage(cobra.NoArgs),
		RunE:          func(c *cobra.Command, _ []string) error { return c.Help() },
	}
	root.CompletionOptions.DisableDefaultCmd = true
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &cmd.UsageError{Err: err} })
	root.PersistentFlags().StringP("output", "o", "table", "output format: table or json")
	root.AddCommand(newCmdRun(f), newCmdFault(f), newCmdStatus(f), newCmdServe(), newCmdScenarios(f))
	return root
}

// argsUsage wraps a cobra positional-args validator so its error is a usage error (exit 2).
func argsUsage(v cobra.PositionalArgs) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		if err := v(c, args); err != nil {
			return &cmd.UsageError{Err: fmt.Errorf("%s: %w", c.CommandPath(), err)}
		}
		return nil
	}
}

func usageErrorf(format string, args ...any) error {
	return &cmd.UsageError{Err: fmt.Errorf(format, args...)}
}

// settings reads a command's flags; the demo has no config file and no environment keys.
type settings struct{ fl *pflag.FlagSet }

func loadSettings(c *cobra.Command, _ *Factory) (*settings, error) { return &settings{c.Flags()}, nil }

func (s *settings) String(name string) string { v, _ := s.fl.GetString(name); return v }
func (s *settings) Int(name string) int       { v, _ := s.fl.GetInt(name); return v }
func (s *settings) Bool(name string) bool     { v, _ := s.fl.GetBool(name); return v }
func (s *settings) Float(name string) float64 { v, _ := s.fl.GetFloat64(name); return v }

func (s *settings) Duration(name string) (time.Duration, error) {
	v, err := s.fl.GetDuration(name)
	if err != nil {
		return 0, &cmd.UsageError{Err: fmt.Errorf("--%s: %w", name, err)}
	}
	return v, nil
}

// Timeout is the fault command's deadline for the services' admin endpoints.
func (s *settings) Timeout() time.Duration { return 30 * time.Second }

func (s *settings) Format(allowed ...render.Format) (render.Format, error) {
	f, err := render.ParseFormat(s.String("output"), allowed...)
	if err != nil {
		return f, &cmd.UsageError{Err: err}
	}
	return f, nil
}

// demoStateDir is where a running demo keeps its state: --state-dir, else a per-user runtime directory.
func demoStateDir(s *settings, f *Factory) string {
	if d := s.String("state-dir"); d != "" {
		return d
	}
	return defaultDemoDir(f.Getenv)
}

// cleanErr makes an error that carries a service's answer safe for the terminal.
func cleanErr(err error) error { return fmt.Errorf("%s", render.Clean(err.Error())) }
