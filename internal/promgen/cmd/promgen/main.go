// Command promgen writes the planted hotspot history (internal/promgen.Scenario) as OpenMetrics on
// stdout, for scripts/bench-prometheus.sh: promgen CONVENTION END_UNIX_SECONDS [EXTRA_SERVICES].
package main

import (
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/dbgtool/dbg/internal/promgen"
)

func main() {
	if len(os.Args) != 3 && len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: promgen CONVENTION END_UNIX_SECONDS [EXTRA_SERVICES]")
		os.Exit(2)
	}
	end, err := strconv.ParseInt(os.Args[2], 10, 64)
	if err != nil {
		fmt.Fprintln(os.Stderr, "promgen: END_UNIX_SECONDS:", err)
		os.Exit(2)
	}
	spec := promgen.Scenario(os.Args[1], time.Unix(end, 0).UTC())
	if len(os.Args) == 4 {
		if spec.Extra, err = strconv.Atoi(os.Args[3]); err != nil {
			fmt.Fprintln(os.Stderr, "promgen: EXTRA_SERVICES:", err)
			os.Exit(2)
		}
	}
	b, err := spec.OpenMetrics()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	os.Stdout.Write(b)
}
