package postgres

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dbgtool/dbg/investigate"
)

func readCapture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatalf("%v (captured from the real server by go test ./sources/postgres -run Real -update)", err)
	}
	return b
}

// TestAnalyzeCapturedPlans reads plans PostgreSQL 15 wrote (captured by TestExplainRealServer) and checks
// what the analysis reads in each.
func TestAnalyzeCapturedPlans(t *testing.T) {
	rows := map[string]float64{"orders": 300000, "products": 2000, "customers": 20000}
	cases := []struct {
		file     string
		analyzed bool
		kinds    []string // issue kinds expected, in order
		index    string   // the first index suggestion, "" for none
	}{
		{"seqscan.json", false, []string{investigate.PlanSeqScan}, "CREATE INDEX CONCURRENTLY orders_customer_id_created_at_idx ON orders (customer_id, created_at DESC);"},
		{"seqscan-analyze.json", true, []string{investigate.PlanSeqScan}, "CREATE INDEX CONCURRENTLY orders_customer_id_created_at_idx ON orders (customer_id, created_at DESC);"},
		{"indexed-analyze.json", true, nil, ""},
		{"nested-loop-analyze.json", true, []string{investigate.PlanNestedLoop}, "CREATE INDEX CONCURRENTLY products_price_idx ON products (price);"},
		{"sort-spill-analyze.json", true, []string{investigate.PlanSortSpill, investigate.PlanSeqScan}, ""},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			p, err := ParsePlan(readCapture(t, c.file))
			if err != nil {
				t.Fatal(err)
			}
			if p.Analyzed != c.analyzed || p.Root == nil {
				t.Fatalf("analyzed %v root %v", p.Analyzed, p.Root)
			}
			a := investigate.AnalyzePlan(p, rows, investigate.DefaultPlanOptions())
			var kinds []string
			for _, is := range a.Issues {
				if is.Kind != investigate.PlanMisestimate {
					kinds = append(kinds, is.Kind)
				}
			}
			if strings.Join(kinds, ",") != strings.Join(c.kinds, ",") {
				t.Errorf("issue kinds %v, want %v (%+v)", kinds, c.kinds, a.Issues)
			}
			first := ""
			if len(a.Indexes) > 0 {
				first = a.Indexes[0]
			}
			if first != c.index {
				t.Errorf("index %q, want %q", first, c.index)
			}
		})
	}
}

func TestRelations(t *testing.T) {
	p, err := ParsePlan(readCapture(t, "nested-loop-analyze.json"))
	if err != nil {
		t.Fatal(err)
	}
	rels := Relations(p)
	if len(rels) != 2 || rels[0].Name != "orders" || rels[1].Name != "products" {
		t.Errorf("relations %v", rels)
	}
}

func TestParsePlanErrors(t *testing.T) {
	for _, in := range []string{``, `[]`, `{}`, `[{"Plan": null}]`, `not json`, `[{"Plan": {"Plans": [` + strings.Repeat(`{"Plans": [`, 600) + strings.Repeat(`]}`, 600) + `]}}]`} {
		if _, err := ParsePlan([]byte(in)); err == nil {
			t.Errorf("ParsePlan(%.40q) accepted it", in)
		}
	}
	// A bare object (what some tools print) is accepted too.
	if p, err := ParsePlan([]byte(`{"Plan": {"Node Type": "Result", "Plan Rows": 1}}`)); err != nil || p.Root.NodeType != "Result" {
		t.Errorf("bare object: %v %v", p, err)
	}
}

func FuzzParsePlan(f *testing.F) {
	for _, name := range []string{"seqscan.json", "seqscan-analyze.json", "indexed-analyze.json", "nested-loop-analyze.json", "sort-spill-analyze.json"} {
		f.Add(readCapture(f, name))
	}
	f.Add([]byte(`[{"Plan": {"Node Type": "Seq Scan", "Relation Name": "t", "Filter": "((a = 1) OR (b ~~ '%x'::text))"}}]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParsePlan(b)
		if err != nil {
			return
		}
		a := investigate.AnalyzePlan(p, map[string]float64{"orders": 1e6, "t": 1e5}, investigate.DefaultPlanOptions())
		if a.Issues == nil || a.Indexes == nil {
			t.Fatal("nil lists")
		}
	})
}
