package cmd

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/dbgtool/dbg/internal/hostile"
)

// TestPrintErrorSanitises: the one error line carries no terminal control from server text (clear
// screen, title, OSC 8 link, C1, bidi), no credential-shaped text, and stays short.
func TestPrintErrorSanitises(t *testing.T) {
	var buf bytes.Buffer
	err := fmt.Errorf("Loki at http://x answered HTTP 500: %s Authorization: Bearer abcdef123456 %s", hostile.Escapes, strings.Repeat("x", 20000))
	printError(&buf, err)
	line := buf.String()
	if strings.Count(line, "\n") != 1 || !strings.HasSuffix(line, "\n") {
		t.Fatalf("not one line: %q", line)
	}
	for _, bad := range []string{"\x1b", "\a", "\u009b", "\u202e", "abcdef123456"} {
		if strings.Contains(line, bad) {
			t.Errorf("error line keeps %q: %q", bad, line)
		}
	}
	if n := len([]rune(line)); n > maxErrorLine+10 {
		t.Errorf("error line is %d characters", n)
	}
	buf.Reset()
	printError(&buf, errors.New("plain: nothing to change"))
	if buf.String() != "dbg: plain: nothing to change\n" {
		t.Errorf("plain error changed: %q", buf.String())
	}
}
