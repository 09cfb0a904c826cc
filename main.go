// Command dbg answers "what is wrong, for whom, and why" for a microservices system from its traces,
// metrics, logs and profiles.
package main

import (
	"os"

	"github.com/dbgtool/dbg/cmd"
)

func main() { os.Exit(cmd.Execute()) }
