// Package postgres asks a PostgreSQL server for the plans of statements seen in traces (EXPLAIN, never
// anything that changes data) and reads its EXPLAIN (FORMAT JSON) output into investigate.Plan.
package postgres

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/dbgtool/dbg/investigate"
)

// wireNode is one plan node of EXPLAIN (FORMAT JSON), with the keys dbg reads.
type wireNode struct {
	NodeType            string      `json:"Node Type"`
	RelationName        string      `json:"Relation Name"`
	Schema              string      `json:"Schema"`
	Alias               string      `json:"Alias"`
	IndexName           string      `json:"Index Name"`
	ParallelAware       bool        `json:"Parallel Aware"`
	TotalCost           float64     `json:"Total Cost"`
	PlanRows            float64     `json:"Plan Rows"`
	ActualRows          float64     `json:"Actual Rows"`
	ActualLoops         float64     `json:"Actual Loops"`
	ActualTotalTime     float64     `json:"Actual Total Time"`
	Filter              string      `json:"Filter"`
	RowsRemovedByFilter float64     `json:"Rows Removed by Filter"`
	JoinFilter          string      `json:"Join Filter"`
	IndexCond           string      `json:"Index Cond"`
	HashCond            string      `json:"Hash Cond"`
	MergeCond           string      `json:"Merge Cond"`
	RecheckCond         string      `json:"Recheck Cond"`
	SortKey             []string    `json:"Sort Key"`
	SortMethod          string      `json:"Sort Method"`
	SortSpaceType       string      `json:"Sort Space Type"`
	SortSpaceUsed       float64     `json:"Sort Space Used"`
	HashBatches         float64     `json:"Hash Batches"`
	Plans               []*wireNode `json:"Plans"`
}

type wireExplain struct {
	Plan          *wireNode `json:"Plan"`
	PlanningTime  *float64  `json:"Planning Time"`
	ExecutionTime *float64  `json:"Execution Time"`
}

// MaxPlanDepth bounds the nesting ParsePlan accepts; real plans are a few dozen levels deep.
const MaxPlanDepth = 500

// ParsePlan reads the output of EXPLAIN (FORMAT JSON): a one-element array holding {"Plan": {...}}.
// The plan counts as executed (EXPLAIN ANALYZE) when it carries an execution time.
func ParsePlan(b []byte) (*investigate.Plan, error) {
	var docs []wireExplain
	if err := json.Unmarshal(b, &docs); err != nil {
		var one wireExplain
		if err2 := json.Unmarshal(b, &one); err2 != nil || one.Plan == nil {
			return nil, fmt.Errorf("EXPLAIN output is not the JSON plan PostgreSQL writes: %w", err)
		}
		docs = []wireExplain{one}
	}
	if len(docs) == 0 || docs[0].Plan == nil {
		return nil, errors.New("EXPLAIN output holds no plan")
	}
	d := docs[0]
	p := &investigate.Plan{Analyzed: d.ExecutionTime != nil}
	if d.PlanningTime != nil {
		p.PlanningMs = *d.PlanningTime
	}
	if d.ExecutionTime != nil {
		p.ExecutionMs = *d.ExecutionTime
	}
	root, err := convert(d.Plan, 0)
	if err != nil {
		return nil, err
	}
	p.Root = root
	return p, nil
}

func convert(w *wireNode, depth int) (*investigate.PlanNode, error) {
	if depth > MaxPlanDepth {
		return nil, fmt.Errorf("EXPLAIN output nests deeper than %d plan levels", MaxPlanDepth)
	}
	n := &investigate.PlanNode{
		NodeType: w.NodeType, Relation: w.RelationName, Schema: w.Schema, Alias: w.Alias, IndexName: w.IndexName,
		ParallelAware: w.ParallelAware, TotalCost: w.TotalCost, PlanRows: w.PlanRows,
		ActualRows: w.ActualRows, ActualLoops: w.ActualLoops, ActualTotalMs: w.ActualTotalTime,
		Filter: w.Filter, RowsRemovedByFilter: w.RowsRemovedByFilter, JoinFilter: w.JoinFilter,
		IndexCond: w.IndexCond, HashCond: w.HashCond, MergeCond: w.MergeCond, RecheckCond: w.RecheckCond,
		SortKey: w.SortKey, SortMethod: w.SortMethod, SortSpaceType: w.SortSpaceType, SortSpaceUsedKB: w.SortSpaceUsed,
		HashBatches: w.HashBatches,
	}
	for _, c := range w.Plans {
		if c == nil {
			continue
		}
		cn, err := convert(c, depth+1)
		if err != nil {
			return nil, err
		}
		n.Plans = append(n.Plans, cn)
	}
	return n, nil
}

// Relations lists the tables a plan scans, schema-qualified when the plan says so, each once.
func Relations(p *investigate.Plan) []Relation {
	var out []Relation
	seen := map[Relation]bool{}
	var walk func(n *investigate.PlanNode)
	walk = func(n *investigate.PlanNode) {
		if n == nil {
			return
		}
		if n.Relation != "" {
			r := Relation{Schema: n.Schema, Name: n.Relation}
			if !seen[r] {
				seen[r] = true
				out = append(out, r)
			}
		}
		for _, c := range n.Plans {
			walk(c)
		}
	}
	if p != nil {
		walk(p.Root)
	}
	return out
}

// Relation is a table named in a plan.
type Relation struct{ Schema, Name string }
