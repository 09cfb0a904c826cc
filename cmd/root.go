// Package cmd holds dbg's commands: flags, configuration, building sources, calling the analyses and
// rendering. No analysis lives here; each command's work is a plain function over an options struct so
// tests call it without cobra.
package cmd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
)

// Version is set at build time with -ldflags "-X github.com/dbgtool/dbg/cmd.Version=...".
var Version = "dev"

// Factory carries what every command needs from the outside world, so tests replace it whole.
type Factory struct {
	IO     *IOStreams
	Now    func() time.Time
	Getenv func(string) string
	// MemoryLimit sets the Go runtime's soft memory limit (debug.SetMemoryLimit) from the run's memory
	// budget; nil in tests, which share one process.
	MemoryLimit func(int64) int64
}

// commands are registered by each command file's init, so adding a command touches only its own file.
var commands []func(*Factory) *cobra.Command

func register(newCmd func(*Factory) *cobra.Command) { commands = append(commands, newCmd) }

// Execute runs dbg with the process's arguments and returns the exit code.
func Execute() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	f := &Factory{IO: SystemStreams(), Now: time.Now, Getenv: os.Getenv, MemoryLimit: debug.SetMemoryLimit}
	return Run(ctx, f, os.Args[1:])
}

// Run executes dbg with args against the factory and returns the exit code; the one error line goes to
// the factory's stderr.
func Run(ctx context.Context, f *Factory, args []string) int {
	root := NewRootCmd(f)
	root.SetArgs(args)
	root.SetIn(f.IO.In)
	root.SetOut(f.IO.Out)
	root.SetErr(f.IO.ErrOut)
	err := unknownCommandIsUsage(root.ExecuteContext(ctx))
	if err != nil {
		printError(f.IO.ErrOut, err)
	}
	return exitCode(err)
}

// NewRootCmd builds the command tree.
func NewRootCmd(f *Factory) *cobra.Command {
	root := &cobra.Command{
		Use:   "dbg",
		Short: "Answer \"what is wrong, for whom, and why\" from traces, metrics, logs and profiles",
		Long: `dbg reads the telemetry a microservices system already produces — traces (Jaeger), metrics
(Prometheus), logs (Loki, Elasticsearch/OpenSearch, VictoriaLogs, files) and Go profiles (pprof) —
and prints a ranked, evidence-backed answer. It never changes the system it reads.`,
		Version:       Version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &UsageError{Err: err} })
	addGlobalFlags(root)
	for _, c := range commands {
		root.AddCommand(c(f))
	}
	return root
}

// argsUsage wraps a cobra positional-args validator so its error is a usage error.
func argsUsage(v cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := v(cmd, args); err != nil {
			return &UsageError{Err: fmt.Errorf("%s: %w", cmd.CommandPath(), err)}
		}
		return nil
	}
}

// unknownCommandIsUsage makes cobra's error for a bad subcommand ("unknown command \"x\" for \"dbg\"",
// an untyped error from its command lookup) a usage error: exit 2, like any other mistake in the
// command line.
func unknownCommandIsUsage(err error) error {
	var ue *UsageError
	if err != nil && !errors.As(err, &ue) && strings.HasPrefix(err.Error(), "unknown command ") {
		return &UsageError{Err: err}
	}
	return err
}
