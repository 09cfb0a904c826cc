package postgres

import (
	"context"
	"errors"
	"strings"

	"github.com/dbgtool/dbg/investigate"
)

// Explainer is a database that plans statements: *Client, or a stand-in in tests.
type Explainer interface {
	Explain(ctx context.Context, stmt string, analyze bool) (*Explained, error)
	// Where is host:port/database, safe to print.
	Where() string
}

// ExplainTop explains the first n statement fingerprints of qs (ranked as AnalyzeQueries ranks them),
// each through one statement sampled from the traces, and reads each plan. A statement that is skipped
// or fails does not stop the others; the result says which and why. This is what `dbg db explain` prints
// and what the checklist calls when a database is configured.
func ExplainTop(ctx context.Context, db Explainer, qs []investigate.QueryStat, n int, analyze bool) *investigate.ExplainReport {
	out := &investigate.ExplainReport{Server: db.Where(), Analyze: analyze, Results: []investigate.ExplainResult{},
		Indexes: []string{}, Warnings: []string{}}
	for i := range qs {
		if len(out.Results) >= n || ctx.Err() != nil {
			break
		}
		q := &qs[i]
		res := investigate.ExplainResult{Statement: q.Statement, TotalMs: q.TotalMs, Count: q.Count, P99Ms: q.P99Ms}
		explainOne(ctx, db, q, analyze, &res)
		if res.Plan != nil {
			for _, ix := range res.Plan.Indexes {
				if !contains(out.Indexes, ix) {
					out.Indexes = append(out.Indexes, ix)
				}
			}
		}
		out.Results = append(out.Results, res)
	}
	return out
}

// explainOne explains the first sampled statement of q (samples with literal values come first).
func explainOne(ctx context.Context, db Explainer, q *investigate.QueryStat, analyze bool, res *investigate.ExplainResult) {
	if len(q.Samples) == 0 {
		res.Status, res.Reason = investigate.ExplainSkipped, "the traces carry no statement text for it (only db.system or an operation name)"
		return
	}
	ex, err := db.Explain(ctx, q.Samples[0], analyze)
	switch {
	case err == nil:
		res.Status = investigate.ExplainDone
		res.Plan = investigate.AnalyzePlan(ex.Plan, ex.TableRows, investigate.DefaultPlanOptions())
	case errors.Is(err, ErrNotExplainable), errors.Is(err, ErrPlaceholders), errors.Is(err, ErrNotReadOnly):
		res.Status, res.Reason = investigate.ExplainSkipped, err.Error()
	default:
		res.Status, res.Reason = investigate.ExplainFailed, strings.Join(strings.Fields(err.Error()), " ")
	}
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
