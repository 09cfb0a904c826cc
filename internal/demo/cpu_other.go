//go:build !linux

package demo

import "time"

// threadCPU is not measured outside Linux: burnCPU then burns wall time.
func threadCPU() (time.Duration, bool) { return 0, false }
