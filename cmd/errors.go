package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Exit codes (../shared/DESIGN.md): 0 done, 1 failed, 2 usage, 3 the --fail-on threshold was met.
const (
	ExitOK     = 0
	ExitFailed = 1
	ExitUsage  = 2
	ExitFailOn = 3
)

// UsageError marks bad flags or arguments: exit code 2.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// usageErrorf builds a UsageError.
func usageErrorf(format string, args ...any) error {
	return &UsageError{Err: fmt.Errorf(format, args...)}
}

// ThresholdError says the run worked and found what --fail-on asked about: exit code 3.
type ThresholdError struct{ Msg string }

func (e *ThresholdError) Error() string { return e.Msg }

// exitCode maps an error to the process exit code, in this one place.
func exitCode(err error) int {
	var ue *UsageError
	var te *ThresholdError
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &te):
		return ExitFailOn
	case errors.As(err, &ue):
		return ExitUsage
	}
	return ExitFailed
}

// printError writes the one error line.
func printError(w io.Writer, err error) {
	msg := err.Error()
	if errors.Is(err, context.DeadlineExceeded) && !strings.Contains(msg, "timeout") {
		msg += " (the --timeout ran out)"
	}
	msg = strings.Join(strings.Fields(msg), " ")
	fmt.Fprintln(w, "dbg: "+msg)
}
