package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/dbgtool/dbg/render"
	"github.com/dbgtool/dbg/sources/httpx"
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

// maxErrorLine bounds the one error line: enough for what failed, where, and what to check.
const maxErrorLine = 600

// printError writes the one error line. Error text carries bytes from outside (server answers, file
// contents, flag values), so it passes the one sanitizer and the credential scrubber here, whatever
// built it, and is cut to one short line.
func printError(w io.Writer, err error) {
	fmt.Fprintln(w, "dbg: "+errorLine(err))
}

// errorLine is err as the one line printError writes (also for warnings that carry an error).
func errorLine(err error) string {
	msg := err.Error()
	if errors.Is(err, context.DeadlineExceeded) && !strings.Contains(msg, "timeout") {
		msg += " (the --timeout ran out)"
	}
	return cleanLine(msg)
}

// cleanLine makes outside text one safe, short line for stderr.
func cleanLine(msg string) string {
	msg = render.Clean(httpx.ScrubText(msg))
	msg = strings.Join(strings.Fields(msg), " ")
	return render.Truncate(msg, maxErrorLine)
}
