package checklist

import "github.com/dbgtool/dbg/investigate"

// linkReport runs the one link pass (investigate.LinkFindings) with Options.JaegerUI over every
// finding of the report, the ranked list and each step's, so a checklist finding carries the same
// Jaeger UI deep link `dbg trace` gives it.
func linkReport(rep *Report, ui string) {
	if ui == "" {
		return
	}
	investigate.LinkFindings(rep.Findings, ui, "")
	for i := range rep.Steps {
		investigate.LinkFindings(rep.Steps[i].Findings, ui, "")
	}
}
