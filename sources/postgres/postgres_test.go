package postgres

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dbgtool/dbg/internal/testserver"
	"github.com/dbgtool/dbg/investigate"
)

var update = flag.Bool("update", false, "rewrite the captured plans under testdata/")

// slowSample is the statement behind the planted slow query of the bundled database incident.
const slowSample = "SELECT id, status, total, created_at\n  FROM orders\n WHERE customer_id = 42\n ORDER BY created_at DESC\n LIMIT 20"

// shopSchema creates the tables the bundled database incident's statements read, with enough rows in
// orders that the planner scans it sequentially for a customer_id filter.
func shopSchema(t *testing.T, ctx context.Context, conn *pgx.Conn) {
	t.Helper()
	for _, s := range []string{
		`CREATE TABLE orders (id bigserial PRIMARY KEY, customer_id int NOT NULL, status text NOT NULL,
			total numeric(10,2) NOT NULL, created_at timestamptz NOT NULL)`,
		`INSERT INTO orders (customer_id, status, total, created_at)
			SELECT (g::bigint * 7919) % 20000 + 1, (ARRAY['new','paid','shipped'])[g % 3 + 1], (g % 500) + 0.99,
			       timestamptz '2026-01-01' + g * interval '1 minute'
			FROM generate_series(1, 300000) g`,
		`CREATE TABLE products (id int PRIMARY KEY, name text NOT NULL, price numeric(10,2) NOT NULL)`,
		`INSERT INTO products SELECT g, 'product ' || g, g % 100 FROM generate_series(1, 2000) g`,
		`CREATE TABLE customers (id int PRIMARY KEY, last_seen_at timestamptz)`,
		`INSERT INTO customers SELECT g, NULL FROM generate_series(1, 20000) g`,
		`ANALYZE`,
	} {
		if _, err := conn.Exec(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

func hasIssue(a *investigate.PlanAnalysis, kind, rel string) *investigate.PlanIssue {
	for i := range a.Issues {
		if a.Issues[i].Kind == kind && a.Issues[i].Relation == rel {
			return &a.Issues[i]
		}
	}
	return nil
}

func TestExplainRealServer(t *testing.T) {
	srv := testserver.Postgres(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	admin, err := pgx.Connect(ctx, srv.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	shopSchema(t, ctx, admin)

	c, err := Connect(ctx, Config{DSN: srv.DSN, StatementTimeout: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	if err := c.Check(ctx); err != nil {
		t.Fatal(err)
	}

	var suggestion string
	for _, analyze := range []bool{false, true} {
		t.Run(fmt.Sprintf("seq scan found, analyze=%v", analyze), func(t *testing.T) {
			ex, err := c.Explain(ctx, slowSample, analyze)
			if err != nil {
				t.Fatal(err)
			}
			if ex.Plan.Analyzed != analyze {
				t.Errorf("plan analyzed = %v", ex.Plan.Analyzed)
			}
			if ex.TableRows["orders"] < 290000 {
				t.Errorf("table rows %v: want orders ~300k", ex.TableRows)
			}
			a := investigate.AnalyzePlan(ex.Plan, ex.TableRows, investigate.DefaultPlanOptions())
			is := hasIssue(a, investigate.PlanSeqScan, "orders")
			if is == nil {
				t.Fatalf("no seq_scan on orders in %+v", a.Issues)
			}
			want := "CREATE INDEX CONCURRENTLY orders_customer_id_created_at_idx ON orders (customer_id, created_at DESC);"
			if is.Index != want {
				t.Errorf("index suggestion %q, want %q", is.Index, want)
			}
			if !strings.Contains(is.Detail, "customer_id = 42") {
				t.Errorf("detail %q does not show the filter", is.Detail)
			}
			suggestion = is.Index
			if *update && !analyze {
				writeCapture(t, ctx, admin, "seqscan.json", slowSample, false)
			}
			if *update && analyze {
				writeCapture(t, ctx, admin, "seqscan-analyze.json", slowSample, true)
			}
		})
	}

	t.Run("update refused under analyze, planned without", func(t *testing.T) {
		upd := "UPDATE customers SET last_seen_at = now() WHERE id = 42"
		if _, err := c.Explain(ctx, upd, true); !errors.Is(err, ErrNotReadOnly) || !strings.Contains(err.Error(), "UPDATE") {
			t.Fatalf("analyze of an UPDATE: %v, want ErrNotReadOnly naming UPDATE", err)
		}
		ex, err := c.Explain(ctx, upd, false)
		if err != nil {
			t.Fatal(err)
		}
		if ex.Plan.Root.NodeType != "ModifyTable" {
			t.Errorf("plan root %q", ex.Plan.Root.NodeType)
		}
		var seen *time.Time
		if err := admin.QueryRow(ctx, "SELECT last_seen_at FROM customers WHERE id = 42").Scan(&seen); err != nil || seen != nil {
			t.Errorf("the UPDATE ran: last_seen_at %v (%v)", seen, err)
		}
	})

	t.Run("writes inside a SELECT never run", func(t *testing.T) {
		// A data-modifying CTE is refused by dbg; the read-only transaction would refuse it too.
		_, err := c.Explain(ctx, "WITH d AS (DELETE FROM products RETURNING id) SELECT count(*) FROM d", true)
		if !errors.Is(err, ErrNotReadOnly) {
			t.Errorf("data-modifying CTE under analyze: %v", err)
		}
		var n int
		if err := admin.QueryRow(ctx, "SELECT count(*) FROM products").Scan(&n); err != nil || n != 2000 {
			t.Errorf("products %d (%v)", n, err)
		}
	})

	t.Run("one clear line per failure", func(t *testing.T) {
		_, err := c.Explain(ctx, "SELECT * FROM orders_archive WHERE id = 1", false)
		if !errors.Is(err, ErrNoLongerParses) || !strings.Contains(err.Error(), "orders_archive") {
			t.Errorf("missing table: %v", err)
		}
		_, err = c.Explain(ctx, "SELECT id FROM orders WHERE customer_id = $1", false)
		if !errors.Is(err, ErrPlaceholders) {
			t.Errorf("placeholders: %v", err)
		}
		short, err := Connect(ctx, Config{DSN: srv.DSN, StatementTimeout: 200 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		defer short.Close(ctx)
		_, err = short.Explain(ctx, "SELECT pg_sleep(2)", true)
		if !errors.Is(err, ErrTimeout) {
			t.Errorf("timeout: %v", err)
		}
		for _, e := range []error{err} {
			if e != nil && strings.Contains(e.Error(), "\n") {
				t.Errorf("error spans lines: %q", e)
			}
		}
		// The connection is still usable after a failed statement: the transaction was rolled back.
		if _, err := short.Explain(ctx, "SELECT 1", false); err != nil {
			t.Errorf("after a timeout: %v", err)
		}
	})

	t.Run("the suggested index makes the finding go away", func(t *testing.T) {
		if suggestion == "" {
			t.Skip("no suggestion from the earlier subtest")
		}
		if _, err := admin.Exec(ctx, suggestion); err != nil {
			t.Fatalf("the suggestion is not valid SQL: %v", err)
		}
		if _, err := admin.Exec(ctx, "ANALYZE orders"); err != nil {
			t.Fatal(err)
		}
		ex, err := c.Explain(ctx, slowSample, true)
		if err != nil {
			t.Fatal(err)
		}
		a := investigate.AnalyzePlan(ex.Plan, ex.TableRows, investigate.DefaultPlanOptions())
		if is := hasIssue(a, investigate.PlanSeqScan, "orders"); is != nil || len(a.Indexes) > 0 {
			t.Errorf("with the index: issues %+v, indexes %v", a.Issues, a.Indexes)
		}
		if !strings.Contains(a.Top, "Limit") {
			t.Errorf("top %q", a.Top)
		}
		if *update {
			writeCapture(t, ctx, admin, "indexed-analyze.json", slowSample, true)
			writeCapture(t, ctx, admin, "nested-loop-analyze.json",
				"SELECT o.id, p.name FROM orders o JOIN products p ON p.price = o.total WHERE o.customer_id < 150", true,
				"SET LOCAL enable_hashjoin = off", "SET LOCAL enable_mergejoin = off", "SET LOCAL enable_material = off")
			writeCapture(t, ctx, admin, "sort-spill-analyze.json", "SELECT id FROM orders ORDER BY total, status", true,
				"SET LOCAL work_mem = '64kB'", "SET LOCAL max_parallel_workers_per_gather = 0")
		}
	})
}

// writeCapture stores a real EXPLAIN output for the reader's unit tests and fuzz seeds.
func writeCapture(t *testing.T, ctx context.Context, conn *pgx.Conn, name, stmt string, analyze bool, setup ...string) {
	t.Helper()
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	for _, s := range setup {
		if _, err := tx.Exec(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	opts := "FORMAT JSON"
	if analyze {
		opts = "ANALYZE, BUFFERS, FORMAT JSON"
	}
	var out string
	if err := tx.QueryRow(ctx, "EXPLAIN ("+opts+") "+stmt).Scan(&out); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join("testdata", name), []byte(out+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestConnectErrors(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	port := testserver.FreePort(t) // nothing listens on it
	cases := []struct {
		name, dsn, want string
	}{
		{"bad dsn", "postgres://app:s3cr3t-pw@db:notaport/shop", "not a valid connection string"},
		{"bad key=value dsn", "host=db password='s3cr3t-pw' port=x", "not a valid connection string"},
		{"unreachable", fmt.Sprintf("postgres://app:s3cr3t-pw@127.0.0.1:%d/shop?sslmode=disable&connect_timeout=5", port), "cannot connect"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Connect(ctx, Config{DSN: c.dsn})
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			if !strings.Contains(msg, c.want) {
				t.Errorf("%q lacks %q", msg, c.want)
			}
			if strings.Contains(msg, "s3cr3t") {
				t.Errorf("the password leaks: %q", msg)
			}
			if strings.Contains(msg, "\n") {
				t.Errorf("more than one line: %q", msg)
			}
		})
	}
}

func TestRedactDSN(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://app:pw@db:5432/shop":              "postgres://app:REDACTED@db:5432/shop",
		"postgres://app@db/shop?password=pw&x=1":      "postgres://app@db/shop?password=REDACTED&x=1",
		"host=db user=app password=pw dbname=shop":    "host=db user=app password=REDACTED dbname=shop",
		"host=db user=app password='p w' dbname=shop": "host=db user=app password=REDACTED dbname=shop",
		"postgres://db/shop":                          "postgres://db/shop",
	} {
		if got := RedactDSN(in); got != want {
			t.Errorf("RedactDSN(%q) = %q, want %q", in, got, want)
		}
	}
}
