package cmd

import (
	"context"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// completionTimeout bounds the Jaeger call behind a TAB press: a shell must never hang on a slow backend.
const completionTimeout = 2 * time.Second

// registerServiceCompletion completes --service (and --operation) from the configured Jaeger. The global
// --service cannot take a completion before the command joins the tree, so dbg trace declares its own
// --service (same key, same config and environment) that shadows the global one and carries it.
func registerServiceCompletion(c *cobra.Command, f *Factory) {
	c.Flags().String("service", "", "service to investigate; without a trace ID, search Jaeger for its traces")
	_ = c.RegisterFlagCompletionFunc("service", func(cmd *cobra.Command, _ []string, prefix string) ([]string, cobra.ShellCompDirective) {
		return completeFromJaeger(cmd, f, prefix, "")
	})
	_ = c.RegisterFlagCompletionFunc("operation", func(cmd *cobra.Command, _ []string, prefix string) ([]string, cobra.ShellCompDirective) {
		svc, _ := cmd.Flags().GetString("service")
		if svc == "" {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return completeFromJaeger(cmd, f, prefix, svc)
	})
}

// completeFromJaeger lists services (or the operations of service) that start with prefix. Any failure
// yields no suggestions rather than an error in the user's shell.
func completeFromJaeger(cmd *cobra.Command, f *Factory, prefix, service string) ([]string, cobra.ShellCompDirective) {
	s, err := loadSettings(cmd, f)
	if err != nil || s.String("jaeger-url") == "" {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	client, err := newJaegerClient(s)
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	defer client.Close()
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, cancel := context.WithTimeout(ctx, completionTimeout)
	defer cancel()
	var names []string
	if service == "" {
		names, err = client.Services(ctx)
	} else {
		names, err = client.Operations(ctx, service)
	}
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	out := names[:0]
	for _, n := range names {
		// Names come from the backend: only plain one-line names are offered to the shell.
		if strings.HasPrefix(n, prefix) && !strings.ContainsAny(n, "\n\r\t\x1b") {
			out = append(out, n)
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}
