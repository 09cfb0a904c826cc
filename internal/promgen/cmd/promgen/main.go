// Command promgen writes the planted hotspot history (internal/promgen.Scenario) as OpenMetrics on
// stdout, for scripts/bench-prometheus.sh: promgen CONVENTION END_UNIX_SECONDS.
package main

import (
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/dbgtool/dbg/internal/promgen"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: promgen CONVENTION END_UNIX_SECONDS")
		os.Exit(2)
	}
	end, err := strconv.ParseInt(os.Args[2], 10, 64)
	if err != nil {
		fmt.Fprintln(os.Stderr, "promgen: END_UNIX_SECONDS:", err)
		os.Exit(2)
	}
	b, err := promgen.Scenario(os.Args[1], time.Unix(end, 0).UTC()).OpenMetrics()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	os.Stdout.Write(b)
}
