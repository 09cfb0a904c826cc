package checklist

import (
	"context"
	"fmt"
	"strings"

	"github.com/dbgtool/dbg/investigate"
)

// dependenciesStep: the downstream graph from client spans, each edge's error ratio and latency in the
// window against the baseline; plus circuit-breaker and bulkhead saturation from the metrics.
type dependenciesStep struct{}

func (dependenciesStep) Number() StepID { return StepDependencies }
func (dependenciesStep) Name() string   { return "Inspect dependencies" }

func (dependenciesStep) Run(ctx context.Context, inv *Investigation, _ map[StepID]*StepResult) StepResult {
	tev, err := inv.Traces(ctx)
	if err != nil && inv.Sources.Network == nil {
		return sourceFailure(err)
	}
	res := StepResult{Queries: tev.Queries}
	edges, findings := investigate.Dependencies(tev.Window, tev.Baseline)
	res.Findings = findings
	var netNote string
	if inv.Sources.Network != nil {
		// The mesh and the wire: each finding joins the edge it explains.
		nf, q, nerr := inv.Sources.Network.NetworkFindings(ctx, inv.Service, inv.Window)
		res.Queries = append(res.Queries, q...)
		res.Findings = append(res.Findings, investigate.JoinEdges(nf, edges, inv.Service)...)
		if nerr != nil {
			netNote = inv.Sources.NetworkName + ": " + nerr.Error()
		}
	}
	if mev, err := inv.Metrics(ctx); err == nil {
		for _, f := range mev.Report.Findings {
			r, _ := f.Evidence["resource"].(string)
			if f.Kind == investigate.KindSaturation && (strings.Contains(r, "circuit") || strings.Contains(r, "bulkhead") || strings.Contains(r, "pool")) {
				res.Findings = append(res.Findings, f)
			}
		}
	}
	res.Outcome.Edges = edges
	notes := []string{fmt.Sprintf("%d downstream edges seen in the traces", len(edges))}
	if err != nil {
		notes[0] = "traces unavailable (" + err.Error() + ")"
	}
	if netNote != "" {
		notes = append(notes, netNote)
	}
	for i, f := range investigate.RankFindings(res.Findings) {
		if i == 3 {
			break
		}
		notes = append(notes, f.Title)
	}
	res.Summary = strings.Join(notes, "; ")
	return res
}
