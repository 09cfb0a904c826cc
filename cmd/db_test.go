package cmd

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dbgtool/dbg/internal/testserver"
	"github.com/dbgtool/dbg/internal/tracegen"
	"github.com/dbgtool/dbg/investigate"
	"github.com/dbgtool/dbg/render"
	"github.com/dbgtool/dbg/sources/postgres"
)

var dbFixture = filepath.Join("..", "testdata", "traces", "db-incident.json")

// The bundled incident's window: its last half hour, with the half hour before as the baseline.
var dbWindowArgs = []string{"--file", dbFixture, "--until", "2026-11-03T03:42:00Z", "--since", "30m"}

func TestDBGolden(t *testing.T) {
	for _, tc := range []struct{ format, golden string }{
		{"table", "db.txt"}, {"json", "db.json"}, {"markdown", "db.md"},
	} {
		t.Run(tc.format, func(t *testing.T) {
			code, out, errOut := runDbg(t, nil, append([]string{"db", "--output", tc.format}, dbWindowArgs...)...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			golden(t, tc.golden, []byte(out))
		})
	}
}

// TestDBRanksThePlantedProblems checks the JSON contract: the planted slow query and N+1 first in their
// kind, evidence keys present, the table ranked by total time.
func TestDBRanksThePlantedProblems(t *testing.T) {
	code, out, errOut := runDbg(t, nil, append([]string{"db", "-o", "json"}, dbWindowArgs...)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var rep investigate.QueryReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	first := map[string]string{}
	for i, f := range rep.Findings {
		if i > 0 && f.Score > rep.Findings[i-1].Score {
			t.Errorf("findings not ranked at %d", i)
		}
		if _, ok := first[f.Kind]; !ok {
			first[f.Kind], _ = f.Evidence["statement"].(string)
		}
	}
	if first[investigate.KindSlowQuery] != tracegen.DBSlowQuery || first[investigate.KindNPlusOne] != tracegen.DBNPlusOne {
		t.Errorf("first by kind: %v", first)
	}
	for i := 1; i < len(rep.Queries); i++ {
		if rep.Queries[i].TotalMs > rep.Queries[i-1].TotalMs {
			t.Errorf("statements not ranked by total time at %d", i)
		}
	}
	if rep.Window == nil || rep.Baseline == nil || rep.Requests != 26 || rep.BaselineRequests != 26 {
		t.Errorf("window %v baseline %v requests %d/%d", rep.Window, rep.Baseline, rep.Requests, rep.BaselineRequests)
	}
	if strings.Contains(out, "customer_id = 42") || strings.Contains(out, "flag_3") {
		t.Error("literal values from the traces leak into the JSON")
	}
}

func TestDBWholeFileAndService(t *testing.T) {
	code, out, errOut := runDbg(t, nil, "db", "--file", dbFixture, "--service", "catalog", "-o", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var rep investigate.QueryReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Window != nil || rep.Requests != 52 || rep.Service != "catalog" {
		t.Errorf("whole file: window %v requests %d service %q", rep.Window, rep.Requests, rep.Service)
	}
	for _, q := range rep.Queries {
		if q.Services[0] != "catalog" {
			t.Errorf("%q from %v", q.Statement, q.Services)
		}
	}
}

func TestDBErrors(t *testing.T) {
	cases := []struct {
		name string
		args []string
		env  map[string]string
		code int
		want string
	}{
		{"no source", []string{"db"}, nil, ExitUsage, "no trace source"},
		{"missing file", []string{"db", "--file", "nope.json"}, nil, ExitFailed, "nope.json"},
		{"jaeger without service", []string{"db", "--jaeger-url", "http://127.0.0.1:1"}, nil, ExitUsage, "needs --service"},
		{"explain without dsn", []string{"db", "explain", "--file", dbFixture}, nil, ExitUsage, "--dsn"},
		{"bad dsn", []string{"db", "explain", "--file", dbFixture, "--dsn", "postgres://app:hunter2pw@db:notaport/shop"}, nil, ExitFailed, "not a valid connection string"},
		{"bad dsn from env", []string{"db", "explain", "--file", dbFixture}, map[string]string{"DBG_POSTGRES_DSN": "host=db password=hunter2pw port=x"}, ExitFailed, "not a valid connection string"},
		{"unreachable", []string{"db", "explain", "--file", dbFixture, "--dsn", fmt.Sprintf("postgres://app:hunter2pw@127.0.0.1:%d/shop?sslmode=disable", freePort(t))}, nil, ExitFailed, "cannot connect"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out, errOut := runDbg(t, c.env, c.args...)
			if code != c.code || !strings.Contains(errOut, c.want) {
				t.Fatalf("exit %d, stderr %q; want %d and %q", code, errOut, c.code, c.want)
			}
			if strings.Count(errOut, "\n") != 1 {
				t.Errorf("want one line, got %q", errOut)
			}
			if strings.Contains(errOut+out, "hunter2pw") {
				t.Errorf("the password leaks: %q", errOut)
			}
		})
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	return testserver.FreePort(t)
}

// fakeDB explains from captured real plans, applying the same statement checks as the real client.
type fakeDB struct{ plans map[string][]byte }

func (f *fakeDB) Explain(_ context.Context, stmt string, analyze bool) (*postgres.Explained, error) {
	s, err := postgres.CheckStatement(stmt, analyze)
	if err != nil {
		return nil, err
	}
	for prefix, b := range f.plans {
		if strings.HasPrefix(investigate.NormalizeStatement(s), prefix) {
			p, err := postgres.ParsePlan(b)
			if err != nil {
				return nil, err
			}
			return &postgres.Explained{Plan: p, TableRows: map[string]float64{"orders": 300000}}, nil
		}
	}
	return nil, fmt.Errorf("postgres db:5432/shop: the statement %w: relation does not exist (SQLSTATE 42P01)", postgres.ErrNoLongerParses)
}
func (f *fakeDB) Where() string               { return "db:5432/shop" }
func (f *fakeDB) Close(context.Context) error { return nil }

func TestDBExplainWithCapturedPlans(t *testing.T) {
	plan, err := os.ReadFile(filepath.Join("..", "sources", "postgres", "testdata", "seqscan.json"))
	if err != nil {
		t.Fatal(err)
	}
	io, _, out, _ := TestStreams()
	opts := &DBExplainOptions{
		DB: DBOptions{IO: io, File: dbFixture, Format: render.FormatTable, Query: investigate.DefaultQueryOptions(), Limit: 10,
			FileWindow: true, Since: "30m", Until: "2026-11-03T03:42:00Z"},
		DSN: "postgres://x", TopN: 9, Analyze: true,
		Connect: func(context.Context, postgres.Config) (Explainer, error) {
			return &fakeDB{plans: map[string][]byte{"SELECT id, status, total, created_at FROM orders": plan}}, nil
		},
	}
	if err := dbExplainRun(context.Background(), opts, time.Now()); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, want := range []string{
		"Seq Scan on orders", "CREATE INDEX CONCURRENTLY orders_customer_id_created_at_idx ON orders (customer_id, created_at DESC);",
		"skipped: has placeholders", "skipped: refused for --analyze", "failed: postgres db:5432/shop: the statement no longer parses",
		"SUGGESTED INDEXES",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
}

// TestDBExplainRealServer runs dbg db explain end to end against a real PostgreSQL holding the tables of
// the bundled incident.
func TestDBExplainRealServer(t *testing.T) {
	srv := testserver.Postgres(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, srv.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, s := range []string{
		`CREATE TABLE orders (id bigserial PRIMARY KEY, customer_id int NOT NULL, status text NOT NULL, total numeric(10,2) NOT NULL, created_at timestamptz NOT NULL)`,
		`INSERT INTO orders (customer_id, status, total, created_at) SELECT (g::bigint * 7919) % 20000 + 1, 'paid', g % 500, timestamptz '2026-01-01' + g * interval '1 minute' FROM generate_series(1, 200000) g`,
		`CREATE TABLE products (id int PRIMARY KEY, name text NOT NULL, price numeric(10,2) NOT NULL)`,
		`INSERT INTO products SELECT g, 'product ' || g, g % 100 FROM generate_series(1, 2000) g`,
		`CREATE TABLE customers (id int PRIMARY KEY, last_seen_at timestamptz)`,
		`INSERT INTO customers SELECT g, NULL FROM generate_series(1, 20000) g`,
		`ANALYZE`,
	} {
		if _, err := conn.Exec(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	// A password the server never asks for (trust auth) still must never be printed.
	dsn := strings.Replace(srv.DSN, "dbg@", "dbg:hunter2pw@", 1)
	args := append([]string{"db", "explain", "--dsn", dsn, "--top", "9", "--analyze"}, dbWindowArgs...)
	code, out, errOut := runDbg(t, nil, args...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	t.Log("\n" + out)
	for _, want := range []string{
		"Seq Scan on orders", "CREATE INDEX CONCURRENTLY orders_customer_id_created_at_idx ON orders (customer_id, created_at DESC);",
		"skipped: refused for --analyze", "UPDATE", "skipped: has placeholders",
		`no longer parses: relation "feature_flags" does not exist`, "executed in",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out+errOut, "hunter2pw") {
		t.Error("the DSN password appears in the output")
	}
	var n int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM customers WHERE last_seen_at IS NOT NULL").Scan(&n); err != nil || n != 0 {
		t.Errorf("the traced UPDATE ran: %d rows changed (%v)", n, err)
	}
	// JSON: the contract, and the index suggestion there too.
	code, out, errOut = runDbg(t, nil, append([]string{"db", "explain", "--dsn", srv.DSN, "-o", "json"}, dbWindowArgs...)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var rep investigate.ExplainReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Analyze || len(rep.Results) != 5 || rep.Results[0].Status != investigate.ExplainDone || len(rep.Indexes) == 0 {
		t.Errorf("json: %+v", rep)
	}
	if strings.Contains(rep.Server, "@") {
		t.Errorf("server %q names the user", rep.Server)
	}
}
