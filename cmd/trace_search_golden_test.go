package cmd

import (
	"testing"
)

// TestTraceSearchGolden pins the search listing and the --analyze aggregate in every format, over the
// fake Jaeger's three checkout variants (fixed clock, fixed UI address so links are stable).
func TestTraceSearchGolden(t *testing.T) {
	srv := fakeJaeger(t, nil)
	for _, tc := range []struct{ format, file string }{
		{"table", "trace-search-analyze.txt"},
		{"markdown", "trace-search-analyze.md"},
		{"json", "trace-search-analyze.json"},
	} {
		t.Run(tc.format, func(t *testing.T) {
			code, out, stderr := runDbg(t, nil, "trace", "--service", "checkout", "--since", "1h", "--analyze",
				"--jaeger-url", srv.URL, "--jaeger-ui-url", "https://jaeger.example.com", "-o", tc.format)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			golden(t, tc.file, []byte(out))
		})
	}
}
