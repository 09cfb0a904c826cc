package investigate

import (
	"cmp"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// PlanNode is one node of a query plan, as PostgreSQL's EXPLAIN (FORMAT JSON) describes it. Actual*
// fields are set only when the plan was executed (EXPLAIN ANALYZE).
type PlanNode struct {
	NodeType      string
	Relation      string
	Schema        string
	Alias         string
	IndexName     string
	ParallelAware bool
	TotalCost     float64
	PlanRows      float64
	// ActualRows is per loop, as PostgreSQL reports it; ActualLoops how many times the node ran.
	ActualRows          float64
	ActualLoops         float64
	ActualTotalMs       float64
	Filter              string
	RowsRemovedByFilter float64
	JoinFilter          string
	IndexCond           string
	HashCond            string
	MergeCond           string
	RecheckCond         string
	SortKey             []string
	SortMethod          string
	SortSpaceType       string
	SortSpaceUsedKB     float64
	HashBatches         float64
	Plans               []*PlanNode
}

// Plan is a parsed EXPLAIN result.
type Plan struct {
	Root *PlanNode
	// Analyzed says the statement was executed (EXPLAIN ANALYZE): Actual* figures are real.
	Analyzed    bool
	PlanningMs  float64
	ExecutionMs float64
}

// Plan issue kinds.
const (
	PlanSeqScan     = "seq_scan"
	PlanFilter      = "filter"
	PlanNestedLoop  = "nested_loop"
	PlanSortSpill   = "sort_spill"
	PlanMisestimate = "misestimate"
)

// PlanIssue is one thing an expert would point at in a plan.
type PlanIssue struct {
	Kind     string   `json:"kind"`
	Severity Severity `json:"severity"`
	// Node names the plan node: "Seq Scan on orders".
	Node     string  `json:"node"`
	Relation string  `json:"relation"`
	Detail   string  `json:"detail"`
	Rows     float64 `json:"rows"`
	// Index is a CREATE INDEX statement that would serve this node, empty when none would. dbg prints
	// it; it never runs it.
	Index string `json:"index"`
}

// PlanAnalysis is what AnalyzePlan reads in a plan.
type PlanAnalysis struct {
	Top       string      `json:"top"`
	TotalCost float64     `json:"total_cost"`
	PlanRows  float64     `json:"plan_rows"`
	Analyzed  bool        `json:"analyzed"`
	ExecMs    float64     `json:"execution_ms"`
	Issues    []PlanIssue `json:"issues"`
	// Indexes are the distinct CREATE INDEX suggestions of the issues.
	Indexes []string `json:"indexes"`
}

// PlanOptions are the thresholds of AnalyzePlan.
type PlanOptions struct {
	// LargeTable is the row count from which a sequential scan is worth reporting.
	LargeTable float64
	// NestedLoopRows is the number of outer rows (inner loops) from which a nested loop is reported.
	NestedLoopRows float64
	// MisestimateRatio is how far actual rows may be from the estimate (either way) before it is reported.
	MisestimateRatio float64
}

// DefaultPlanOptions are the thresholds dbg ships with.
func DefaultPlanOptions() PlanOptions {
	return PlanOptions{LargeTable: 10000, NestedLoopRows: 1000, MisestimateRatio: 10}
}

// AnalyzePlan reads a plan the way a database expert does: sequential scans over large tables, filters
// that throw most rows away, nested loops over many rows, sorts and hashes spilling to disk and (for an
// executed plan) row estimates far from the actual rows; for a scan whose filter an index could serve,
// it suggests that index. tableRows holds the tables' sizes (pg_class.reltuples) by relation name, and
// may be nil: a plain EXPLAIN does not say how many rows a scan reads, only how many it returns.
func AnalyzePlan(p *Plan, tableRows map[string]float64, opts PlanOptions) *PlanAnalysis {
	a := &PlanAnalysis{Issues: []PlanIssue{}, Indexes: []string{}}
	if p == nil || p.Root == nil {
		return a
	}
	a.Top, a.TotalCost, a.PlanRows, a.Analyzed, a.ExecMs = nodeName(p.Root), round3(p.Root.TotalCost), p.Root.PlanRows, p.Analyzed, round3(p.ExecutionMs)
	var walk func(n, parent *PlanNode, depth int)
	walk = func(n, parent *PlanNode, depth int) {
		if n == nil || depth > 200 {
			return
		}
		a.Issues = append(a.Issues, nodeIssues(n, parent, p.Analyzed, tableRows, opts)...)
		for _, c := range n.Plans {
			walk(c, n, depth+1)
		}
	}
	walk(p.Root, nil, 0)
	slices.SortStableFunc(a.Issues, func(x, y PlanIssue) int {
		if c := cmp.Compare(x.Severity.Rank(), y.Severity.Rank()); c != 0 {
			return c
		}
		return cmp.Compare(y.Rows, x.Rows)
	})
	for _, is := range a.Issues {
		if is.Index != "" && !slices.Contains(a.Indexes, is.Index) {
			a.Indexes = append(a.Indexes, is.Index)
		}
	}
	return a
}

func nodeName(n *PlanNode) string {
	name := n.NodeType
	if n.ParallelAware {
		name = "Parallel " + name
	}
	if n.Relation != "" {
		name += " on " + n.Relation
		if n.Alias != "" && n.Alias != n.Relation {
			name += " " + n.Alias
		}
	}
	if n.IndexName != "" {
		name += " using " + n.IndexName
	}
	return name
}

// rowsOut is the rows a node returned in total (all loops) when executed, else its estimate.
func rowsOut(n *PlanNode, analyzed bool) float64 {
	if analyzed {
		return n.ActualRows * max(n.ActualLoops, 1)
	}
	return n.PlanRows
}

func nodeIssues(n, parent *PlanNode, analyzed bool, tableRows map[string]float64, opts PlanOptions) []PlanIssue {
	var out []PlanIssue
	name := nodeName(n)
	isScan := strings.HasSuffix(n.NodeType, "Scan") && n.Relation != ""
	// Rows the scan read: the table size when known, else what it returned plus what its filter removed.
	read := tableRows[n.Relation]
	// Per loop: a scan repeated under a nested loop is the nested loop's issue.
	kept := n.PlanRows
	if n.NodeType != "Seq Scan" {
		read = 0 // an index scan reads what the index hands it, not the table
	}
	if analyzed && isScan {
		read = max(read, n.ActualRows+n.RowsRemovedByFilter)
		kept = n.ActualRows
	}
	switch {
	case n.NodeType == "Seq Scan" && read >= opts.LargeTable:
		is := PlanIssue{Kind: PlanSeqScan, Node: name, Relation: n.Relation, Rows: read}
		is.Detail = fmt.Sprintf("reads all %s rows of %s", fmtRows(read), n.Relation)
		sel := 1.0
		if n.Filter != "" && read > 0 {
			sel = kept / read
			is.Detail += fmt.Sprintf(" to keep %s (%s) with filter %s", fmtRows(kept), fmtPct(sel), n.Filter)
		}
		switch {
		case n.Filter == "":
			is.Severity = SeverityLow
		case sel <= 0.01 && read >= 100*opts.LargeTable:
			is.Severity = SeverityCritical
		case sel <= 0.1:
			is.Severity = SeverityHigh
		default:
			is.Severity = SeverityMedium
		}
		trigram := false
		if n.Filter != "" && sel <= 0.3 {
			is.Index = suggestIndex(n, parent)
			if is.Index == "" {
				is.Index = trigramIndex(n)
				trigram = is.Index != ""
			}
		}
		switch {
		case trigram:
			is.Detail += "; a B-tree index cannot serve a leading-wildcard LIKE/ILIKE, a trigram index can (CREATE EXTENSION pg_trgm first)"
		case is.Index != "":
			is.Detail += "; an index on the filtered columns would let it read only the matching rows"
		case n.Filter == "":
			is.Detail += "; no filter, so the whole table is needed: an index cannot help, a narrower query can"
		case sel > 0.3:
			is.Detail += "; the filter keeps too many rows for an index to pay off"
		default:
			is.Detail += "; no index can serve this filter as written (OR, a function or a leading-wildcard LIKE)"
		}
		out = append(out, is)
	case isScan && analyzed && read >= opts.LargeTable && n.RowsRemovedByFilter >= 0.9*read:
		is := PlanIssue{Kind: PlanFilter, Severity: SeverityMedium, Node: name, Relation: n.Relation, Rows: read,
			Detail: fmt.Sprintf("the filter %s removes %s of the %s rows the scan reads", n.Filter,
				fmtPct(n.RowsRemovedByFilter/read), fmtRows(read))}
		if n.IndexName != "" {
			is.Detail += fmt.Sprintf("; %s does not cover the filtered columns", n.IndexName)
		}
		is.Index = suggestIndex(n, parent)
		out = append(out, is)
	}
	if n.NodeType == "Nested Loop" && len(n.Plans) == 2 {
		outer, inner := n.Plans[0], n.Plans[1]
		// Materialize and Memoize only cache the inner side; the scan under them is what repeats.
		for (inner.NodeType == "Materialize" || inner.NodeType == "Memoize") && len(inner.Plans) == 1 {
			inner = inner.Plans[0]
		}
		loops := rowsOut(outer, analyzed)
		if analyzed {
			loops = max(n.Plans[1].ActualLoops, loops)
		}
		if loops >= opts.NestedLoopRows {
			is := PlanIssue{Kind: PlanNestedLoop, Severity: SeverityMedium, Node: name, Relation: inner.Relation, Rows: loops,
				Detail: fmt.Sprintf("runs its inner side (%s) %s times, once per outer row", nodeName(inner), fmtRows(loops))}
			if inner.NodeType == "Seq Scan" {
				is.Severity = SeverityHigh
				is.Detail += ", each time scanning the whole table"
				cond := inner.Filter
				if cond == "" {
					cond = n.JoinFilter
				}
				is.Index = suggestIndex(&PlanNode{Relation: inner.Relation, Schema: inner.Schema, Alias: inner.Alias, Filter: cond}, nil)
				if is.Index != "" {
					is.Detail += "; an index on the join column makes each loop a lookup"
				}
			}
			out = append(out, is)
		}
	}
	if n.SortSpaceType == "Disk" || strings.Contains(strings.ToLower(n.SortMethod), "external") {
		out = append(out, PlanIssue{Kind: PlanSortSpill, Severity: SeverityMedium, Node: name, Rows: rowsOut(n, analyzed),
			Detail: fmt.Sprintf("sorts on disk (%s, %.0f kB): work_mem is too small for it, or an index in the sort order (%s) would avoid the sort",
				n.SortMethod, n.SortSpaceUsedKB, strings.Join(n.SortKey, ", "))})
	}
	if n.HashBatches > 1 {
		out = append(out, PlanIssue{Kind: PlanSortSpill, Severity: SeverityMedium, Node: name, Rows: rowsOut(n, analyzed),
			Detail: fmt.Sprintf("hashes in %.0f batches, spilling to disk: work_mem is too small for it", n.HashBatches)})
	}
	if analyzed && n.ActualLoops > 0 {
		est, act := n.PlanRows, n.ActualRows
		hi, lo := max(est, act), max(min(est, act), 1)
		if hi >= 100 && hi/lo >= opts.MisestimateRatio {
			dir := "more"
			if act < est {
				dir = "fewer"
			}
			is := PlanIssue{Kind: PlanMisestimate, Severity: SeverityLow, Node: name, Relation: n.Relation, Rows: act,
				Detail: fmt.Sprintf("returned %s rows where the planner expected %s (%.0f× %s): stale or missing statistics; run ANALYZE%s",
					fmtRows(act), fmtRows(est), hi/lo, dir, relSuffix(n.Relation))}
			if hi/lo >= 100 {
				is.Severity = SeverityMedium
			}
			out = append(out, is)
		}
	}
	return out
}

func relSuffix(rel string) string {
	if rel == "" {
		return " on the tables involved"
	}
	return " " + rel
}

func fmtRows(r float64) string {
	switch {
	case r >= 1e6:
		return fmt.Sprintf("%.1fM", r/1e6)
	case r >= 1e4:
		return fmt.Sprintf("%.0fk", r/1e3)
	}
	return fmt.Sprintf("%.0f", r)
}

func fmtPct(x float64) string {
	switch {
	case x < 0.001:
		return fmt.Sprintf("%.3f%%", x*100)
	case x < 0.1:
		return fmt.Sprintf("%.1f%%", x*100)
	}
	return fmt.Sprintf("%.0f%%", x*100)
}

var (
	reStringLit = regexp.MustCompile(`'(?:[^']|'')*'`)
	// A column compared with something: optional qualifier, optional parentheses and casts around it.
	reRightCol = regexp.MustCompile(`(?:^|[^<>!])=\s*\(*([A-Za-z_][A-Za-z0-9_$]*\.[A-Za-z_][A-Za-z0-9_$]*)\b`)
	reCondCol  = regexp.MustCompile(`\(*((?:[A-Za-z_][A-Za-z0-9_$]*|"(?:[^"]|"")+")(?:\.(?:[A-Za-z_][A-Za-z0-9_$]*|"(?:[^"]|"")+"))?)\)*(?:::[A-Za-z ]+(?:\[\])?\)*)*\s*(=|<>|!=|<=|>=|<|>|~~\*|!~~|~~|IS NOT NULL|IS NULL)\s*(ANY\b)?`)
)

// filterColumns reads the columns of one relation a filter compares with something: equality first (an
// index serves them in any order), then ranges. ok is false when no index could serve the filter (an OR
// at the top, or only non-indexable comparisons).
func filterColumns(filter, alias, rel string) (eq, rng []string, ok bool) {
	f := reStringLit.ReplaceAllStringFunc(filter, func(s string) string {
		if strings.HasPrefix(s, "'%") {
			return "'%'" // a leading wildcard: remember it, for LIKE below
		}
		return "''"
	})
	if strings.Contains(f, " OR ") {
		return nil, nil, false
	}
	for _, m := range reCondCol.FindAllStringSubmatchIndex(f, -1) {
		if m[0] > 0 && f[m[0]] == '(' && isWordByte(f[m[0]-1]) {
			continue // a function's argument: lower(email) = ... is not served by an index on email
		}
		col := f[m[2]:m[3]]
		op := f[m[4]:m[5]]
		if q, c, found := strings.Cut(col, "."); found {
			if q != alias && q != rel {
				continue
			}
			col = c
		}
		rest := strings.TrimLeft(f[m[1]:], " (")
		switch op {
		case "=", "IS NULL":
			eq = appendUnique(eq, col)
		case "<", ">", "<=", ">=":
			rng = appendUnique(rng, col)
		case "~~":
			if !strings.HasPrefix(rest, "'%'") {
				rng = appendUnique(rng, col)
			}
		}
	}
	// The relation's column on the right of an equality ("o.total = p.price" for p): only when qualified,
	// since an unqualified right-hand name is as likely the other side's.
	for _, m := range reRightCol.FindAllStringSubmatch(f, -1) {
		if q, c, _ := strings.Cut(m[1], "."); q == alias || q == rel {
			eq = appendUnique(eq, c)
		}
	}
	return eq, rng, len(eq)+len(rng) > 0
}

func appendUnique(s []string, v string) []string {
	if slices.Contains(s, v) || v == "" || isKeyword(v) {
		return s
	}
	return append(s, v)
}

// suggestIndex builds the CREATE INDEX that would serve a scan's filter: equality columns, then one range
// column, then, when the parent sorts this scan's rows and everything before is equality, the sort keys
// (so the index also returns the rows in order and the sort disappears).
func suggestIndex(n, parent *PlanNode) string {
	eq, rng, ok := filterColumns(n.Filter, n.Alias, n.Relation)
	if !ok {
		return ""
	}
	cols := slices.Clone(eq)
	if len(rng) > 0 {
		cols = append(cols, rng[0])
	} else if parent != nil && parent.NodeType == "Sort" && len(parent.Plans) == 1 && parent.Plans[0] == n {
		for _, k := range parent.SortKey {
			k = strings.TrimSpace(k)
			if q, c, found := strings.Cut(k, "."); found && (q == n.Alias || q == n.Relation) {
				k = c
			}
			if strings.ContainsAny(k, "()") {
				break
			}
			if field := fieldsOnly([]string{k})[0]; !slices.Contains(cols, field) {
				cols = append(cols, k)
			}
		}
	}
	name := indexName(n.Relation + "_" + strings.Join(fieldsOnly(cols), "_") + "_idx")
	return fmt.Sprintf("CREATE INDEX CONCURRENTLY %s ON %s (%s);", name, tableName(n), strings.Join(cols, ", "))
}

var reLikeCol = regexp.MustCompile(`^\(*([A-Za-z_][A-Za-z0-9_$]*)\)*(?:::[A-Za-z ]+)?\s*~~\*?\s*'%`)

// trigramIndex suggests a pg_trgm GIN index for a filter that is a single leading-wildcard LIKE or ILIKE,
// which no B-tree index can serve.
func trigramIndex(n *PlanNode) string {
	f := strings.TrimSpace(n.Filter)
	if strings.Contains(reStringLit.ReplaceAllString(f, "''"), " AND ") || strings.Contains(reStringLit.ReplaceAllString(f, "''"), " OR ") {
		return ""
	}
	m := reLikeCol.FindStringSubmatch(f)
	if m == nil || isKeyword(m[1]) {
		return ""
	}
	return fmt.Sprintf("CREATE INDEX CONCURRENTLY %s ON %s USING gin (%s gin_trgm_ops);",
		indexName(n.Relation+"_"+m[1]+"_trgm_idx"), tableName(n), m[1])
}

// tableName is the scan's table as SQL: schema-qualified outside public, quoted where PostgreSQL needs it.
func tableName(n *PlanNode) string {
	t := quoteIdent(n.Relation)
	if n.Schema != "" && n.Schema != "public" {
		t = quoteIdent(n.Schema) + "." + t
	}
	return t
}

// indexName makes a valid unquoted index name of at most 63 bytes (PostgreSQL's limit) from s.
func indexName(s string) string {
	b := []byte(strings.ToLower(s))
	for i, c := range b {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			b[i] = '_'
		}
	}
	if len(b) > 63 {
		b = b[:63]
	}
	if len(b) == 0 || b[0] >= '0' && b[0] <= '9' {
		return "idx_" + string(b)
	}
	return string(b)
}

// quoteIdent quotes an identifier unless it is a plain lower-case name that needs no quotes.
func quoteIdent(s string) string {
	plain := s != "" && !(s[0] >= '0' && s[0] <= '9') && !isKeyword(s)
	for i := 0; i < len(s) && plain; i++ {
		c := s[i]
		plain = c == '_' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
	}
	if plain {
		return s
	}
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

func fieldsOnly(cols []string) []string {
	out := make([]string, len(cols))
	for i, c := range cols {
		if strings.HasPrefix(c, `"`) {
			if end := strings.Index(c[1:], `" `); end >= 0 {
				out[i] = c[:end+2]
				continue
			}
			out[i] = c
			continue
		}
		out[i], _, _ = strings.Cut(c, " ")
	}
	return out
}

// Explain statuses.
const (
	ExplainDone    = "explained"
	ExplainSkipped = "skipped"
	ExplainFailed  = "failed"
)

// ExplainResult is one fingerprint's plan in the `dbg db explain` JSON.
type ExplainResult struct {
	Statement string  `json:"statement"`
	TotalMs   float64 `json:"total_ms"`
	Count     int     `json:"count"`
	P99Ms     float64 `json:"p99_ms"`
	// Status is explained, skipped (dbg would not send it: placeholders, not a SELECT under --analyze)
	// or failed (the database refused it or timed out); Reason says why in one line.
	Status string        `json:"status"`
	Reason string        `json:"reason"`
	Plan   *PlanAnalysis `json:"plan"`
}

// ExplainReport is the `dbg db explain` JSON contract.
type ExplainReport struct {
	// Server is host:port/database, never the password.
	Server   string          `json:"server"`
	Analyze  bool            `json:"analyze"`
	Results  []ExplainResult `json:"results"`
	Indexes  []string        `json:"indexes"`
	Warnings []string        `json:"warnings"`
}
