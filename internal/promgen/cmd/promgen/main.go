// Command promgen writes the planted hotspot history (internal/promgen.Scenario) as OpenMetrics on
// stdout, for scripts/bench-prometheus.sh: promgen CONVENTION END_UNIX_SECONDS [EXTRA_SERVICES [STEP_SECONDS]];
// CONVENTION "fleet" writes promgen.Fleet, one service per exporter.
// A longer step keeps a history with many series (100k for the discovery benchmark) small.
package main

import (
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/dbgtool/dbg/internal/promgen"
)

func main() {
	if len(os.Args) < 3 || len(os.Args) > 5 {
		fmt.Fprintln(os.Stderr, "usage: promgen CONVENTION END_UNIX_SECONDS [EXTRA_SERVICES [STEP_SECONDS]]")
		os.Exit(2)
	}
	end, err := strconv.ParseInt(os.Args[2], 10, 64)
	if err != nil {
		fmt.Fprintln(os.Stderr, "promgen: END_UNIX_SECONDS:", err)
		os.Exit(2)
	}
	if os.Args[1] == "fleet" {
		b, err := promgen.FleetOpenMetrics(time.Unix(end, 0).UTC())
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		os.Stdout.Write(b)
		return
	}
	spec := promgen.Scenario(os.Args[1], time.Unix(end, 0).UTC())
	if len(os.Args) >= 4 {
		if spec.Extra, err = strconv.Atoi(os.Args[3]); err != nil {
			fmt.Fprintln(os.Stderr, "promgen: EXTRA_SERVICES:", err)
			os.Exit(2)
		}
	}
	if len(os.Args) == 5 {
		sec, err := strconv.Atoi(os.Args[4])
		if err != nil || sec <= 0 {
			fmt.Fprintln(os.Stderr, "promgen: STEP_SECONDS: want a positive number of seconds")
			os.Exit(2)
		}
		spec.Step = time.Duration(sec) * time.Second
	}
	b, err := spec.OpenMetrics()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	os.Stdout.Write(b)
}
