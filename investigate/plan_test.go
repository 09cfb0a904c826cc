package investigate

import (
	"strings"
	"testing"
)

func TestFilterColumns(t *testing.T) {
	cases := []struct {
		filter, alias, rel string
		eq, rng            string
		ok                 bool
	}{
		{"(customer_id = 42)", "orders", "orders", "customer_id", "", true},
		{"((status)::text = 'paid'::text)", "o", "orders", "status", "", true},
		{"((customer_id = 42) AND (created_at > '2026-01-01 00:00:00+00'::timestamp with time zone))", "orders", "orders", "customer_id", "created_at", true},
		{"((o.customer_id = 42) AND (c.region = 'eu'::text))", "o", "orders", "customer_id", "", true},
		{"((a = 1) OR (b = 2))", "t", "t", "", "", false},
		{"(name ~~* '%shoe%'::text)", "products", "products", "", "", false},
		{"(name ~~ '%shoe'::text)", "products", "products", "", "", false},
		{"(name ~~ 'sho%'::text)", "products", "products", "", "name", true},
		{"(id = ANY ('{1,2,3}'::integer[]))", "t", "t", "id", "", true},
		{"(deleted_at IS NULL)", "t", "t", "deleted_at", "", true},
		{"(o.total = p.price)", "p", "products", "price", "", true},
		{"(lower(email) = 'a@b.c'::text)", "users", "users", "", "", false},
		{"(note = 'x = y AND z < 3')", "t", "t", "note", "", true},
	}
	for _, c := range cases {
		eq, rng, ok := filterColumns(c.filter, c.alias, c.rel)
		if strings.Join(eq, ",") != c.eq || strings.Join(rng, ",") != c.rng || ok != c.ok {
			t.Errorf("filterColumns(%q) = %v %v %v, want %q %q %v", c.filter, eq, rng, ok, c.eq, c.rng, c.ok)
		}
	}
}

func TestAnalyzePlanSynthetic(t *testing.T) {
	opts := DefaultPlanOptions()
	t.Run("index scan whose filter removes most rows", func(t *testing.T) {
		p := &Plan{Analyzed: true, Root: &PlanNode{NodeType: "Index Scan", Relation: "orders", Alias: "orders", IndexName: "orders_created_at_idx",
			Filter: "(customer_id = 7)", ActualRows: 10, ActualLoops: 1, RowsRemovedByFilter: 50000, PlanRows: 12}}
		a := AnalyzePlan(p, map[string]float64{"orders": 300000}, opts)
		if len(a.Issues) != 1 || a.Issues[0].Kind != PlanFilter || !strings.Contains(a.Issues[0].Detail, "orders_created_at_idx") {
			t.Fatalf("%+v", a.Issues)
		}
		if a.Indexes[0] != "CREATE INDEX CONCURRENTLY orders_customer_id_idx ON orders (customer_id);" {
			t.Errorf("index %q", a.Indexes[0])
		}
	})
	t.Run("misestimate", func(t *testing.T) {
		p := &Plan{Analyzed: true, Root: &PlanNode{NodeType: "Hash Join", PlanRows: 10, ActualRows: 50000, ActualLoops: 1}}
		a := AnalyzePlan(p, nil, opts)
		if len(a.Issues) != 1 || a.Issues[0].Kind != PlanMisestimate || a.Issues[0].Severity != SeverityMedium {
			t.Fatalf("%+v", a.Issues)
		}
	})
	t.Run("no misestimate without ANALYZE", func(t *testing.T) {
		p := &Plan{Root: &PlanNode{NodeType: "Hash Join", PlanRows: 10}}
		if a := AnalyzePlan(p, nil, opts); len(a.Issues) != 0 {
			t.Fatalf("%+v", a.Issues)
		}
	})
	t.Run("small table seq scan is fine", func(t *testing.T) {
		p := &Plan{Root: &PlanNode{NodeType: "Seq Scan", Relation: "flags", Filter: "(name = 'x'::text)", PlanRows: 1}}
		if a := AnalyzePlan(p, map[string]float64{"flags": 40}, opts); len(a.Issues) != 0 {
			t.Fatalf("%+v", a.Issues)
		}
	})
	t.Run("hash spill", func(t *testing.T) {
		p := &Plan{Analyzed: true, Root: &PlanNode{NodeType: "Hash", HashBatches: 8, ActualLoops: 1}}
		if a := AnalyzePlan(p, nil, opts); len(a.Issues) != 1 || a.Issues[0].Kind != PlanSortSpill {
			t.Fatalf("%+v", a.Issues)
		}
	})
	t.Run("leading wildcard gets a trigram index", func(t *testing.T) {
		p := &Plan{Root: &PlanNode{NodeType: "Seq Scan", Relation: "products", Filter: "(name ~~* '%shoe%'::text)", PlanRows: 20}}
		a := AnalyzePlan(p, map[string]float64{"products": 1e6}, opts)
		if len(a.Indexes) != 1 || a.Indexes[0] != "CREATE INDEX CONCURRENTLY products_name_trgm_idx ON products USING gin (name gin_trgm_ops);" {
			t.Fatalf("%+v %v", a.Issues, a.Indexes)
		}
		p.Root.Filter = "((name ~~* '%shoe%'::text) OR (id = 3))"
		if a := AnalyzePlan(p, map[string]float64{"products": 1e6}, opts); len(a.Indexes) != 0 {
			t.Fatalf("OR: %v", a.Indexes)
		}
	})
	t.Run("names that need quotes", func(t *testing.T) {
		p := &Plan{Root: &PlanNode{NodeType: "Seq Scan", Relation: "Order Items", Schema: "Shop", Alias: "Order Items", Filter: "(\"Order Id\" = 1)", PlanRows: 3}}
		a := AnalyzePlan(p, map[string]float64{"Order Items": 1e6}, opts)
		want := `CREATE INDEX CONCURRENTLY order_items__order_id__idx ON "Shop"."Order Items" ("Order Id");`
		if len(a.Indexes) != 1 || a.Indexes[0] != want {
			t.Fatalf("got %v, want %s", a.Indexes, want)
		}
	})
	t.Run("nil plan", func(t *testing.T) {
		if a := AnalyzePlan(nil, nil, opts); a.Issues == nil || a.Indexes == nil {
			t.Fatal("nil lists")
		}
	})
	t.Run("schema-qualified", func(t *testing.T) {
		p := &Plan{Root: &PlanNode{NodeType: "Seq Scan", Relation: "orders", Schema: "shop", Alias: "o", Filter: "(o.customer_id = 1)", PlanRows: 3}}
		a := AnalyzePlan(p, map[string]float64{"orders": 1e6}, opts)
		if len(a.Indexes) != 1 || a.Indexes[0] != "CREATE INDEX CONCURRENTLY orders_customer_id_idx ON shop.orders (customer_id);" || a.Issues[0].Severity != SeverityCritical {
			t.Fatalf("%+v %v", a.Issues, a.Indexes)
		}
	})
}
