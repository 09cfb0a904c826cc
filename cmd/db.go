package cmd

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/dbgtool/dbg/investigate"
	"github.com/dbgtool/dbg/render"
	"github.com/dbgtool/dbg/sources/jaeger"
	"github.com/dbgtool/dbg/sources/postgres"
)

func init() { register(newCmdDB) }

// DBOptions is everything `dbg db` needs, resolved from flags and config.
type DBOptions struct {
	IO     *IOStreams
	File   string // a trace export; "-" for stdin
	Format render.Format
	Render render.Options
	Query  investigate.QueryOptions
	// FileWindow says whether --since/--until were given: a file is read whole unless they were, with
	// "now" taken as the file's last span end.
	FileWindow             bool
	Since, Until, Baseline string
	// Top caps the rows of the statement table (JSON always has every fingerprint).
	Top int
	// Limit is how many traces to ask Jaeger for in each of the window and the baseline.
	Limit int
	// Find searches a live Jaeger; nil when none is configured.
	Find func(ctx context.Context, q investigate.TraceQuery) ([]*investigate.Trace, error)
}

// DBExplainOptions are `dbg db explain`'s: the statements come from the same trace analysis.
type DBExplainOptions struct {
	DB      DBOptions
	DSN     string
	TopN    int
	Analyze bool
	// StatementTimeout bounds each EXPLAIN on the server.
	StatementTimeout time.Duration
	// Connect opens the database; tests replace it.
	Connect func(ctx context.Context, cfg postgres.Config) (Explainer, error)
}

// Explainer is what `dbg db explain` needs from a database connection.
type Explainer interface {
	postgres.Explainer
	Close(ctx context.Context) error
}

func newCmdDB(f *Factory) *cobra.Command {
	c := &cobra.Command{
		Use:   "db",
		Short: "Rank the database statements in traces: slow queries, N+1 loops, what changed",
		Long: `Group the database calls in traces by statement fingerprint (literals and parameters as ?, IN-lists
collapsed, comments, case and whitespace folded) and rank the fingerprints by total time in the window, with
count, p50/p99, calls per request, the services and endpoints that issue them, and the change against the
baseline window. Fingerprints run in a loop (many calls per request under one parent) are marked N+1.

Traces come from Jaeger (--jaeger-url with --service, over --since/--until and the baseline) or from a file
(--file: the whole file, or with --since/--until the part of it that falls in the window, "now" being the
file's last span).

"dbg db explain" asks PostgreSQL for the plans of the top statements.`,
		Example: `  dbg db --jaeger-url http://jaeger:16686 --service orders --since 1h
  dbg db --file testdata/traces/db-incident.json --until 2026-11-03T03:42:00Z --since 30m
  dbg db --file traces.json --output json | jq '.findings[] | select(.kind=="n_plus_one")'`,
		Args: argsUsage(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := loadSettings(cmd, f)
			if err != nil {
				return err
			}
			opts, cleanup, err := dbOptionsFrom(cmd, f, s)
			if err != nil {
				return err
			}
			defer cleanup()
			ctx, cancel := context.WithTimeout(cmd.Context(), s.Timeout())
			defer cancel()
			return dbRun(ctx, opts, f.Now())
		},
	}
	addDBFlags(c)
	c.Flags().Int("top", 20, "rows of the statement table (JSON has every statement)")
	c.AddCommand(newCmdDBExplain(f))
	return c
}

func addDBFlags(c *cobra.Command) {
	c.Flags().String("file", "", `read traces from a Jaeger JSON export or OTLP JSON file ("-" for stdin)`)
	c.Flags().Int("limit", 500, "with Jaeger: how many traces to read for the window, and again for the baseline")
}

func newCmdDBExplain(f *Factory) *cobra.Command {
	c := &cobra.Command{
		Use:   "explain",
		Short: "Ask PostgreSQL for the plans of the top statements in traces, and the index that would help",
		Long: `For the top statements of "dbg db" (by total time), EXPLAIN (FORMAT JSON) a real statement sampled from
the traces and report what a database expert reads in the plan: sequential scans over large tables, filters
that remove most rows, nested loops over many rows, sorts spilling to disk and, with --analyze, estimates
far from the actual rows. Where an index would serve the filter, it prints the CREATE INDEX; it never runs it.

Safety: plain EXPLAIN by default (nothing executes). --analyze executes SELECT statements only, inside a READ
ONLY transaction that is rolled back, with statement_timeout set; anything else is refused. Every EXPLAIN
runs in a rolled-back READ ONLY transaction. Statements the traces recorded with bind parameters ($1, ?) and
no values cannot be explained and are listed as skipped. The DSN's password never appears in output.

The DSN comes from --dsn or the postgres-dsn config key (DBG_POSTGRES_DSN); prefer the config file or the
environment for a DSN with a password.`,
		Example: `  dbg db explain --file traces.json --dsn postgres://readonly@db:5432/shop --top 5
  DBG_POSTGRES_DSN=postgres://app:secret@db/shop dbg db explain --jaeger-url http://jaeger:16686 --service orders --analyze`,
		Args: argsUsage(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := loadSettings(cmd, f)
			if err != nil {
				return err
			}
			dbo, cleanup, err := dbOptionsFrom(cmd, f, s)
			if err != nil {
				return err
			}
			defer cleanup()
			opts := &DBExplainOptions{DB: *dbo, DSN: s.String("dsn"), TopN: s.Int("top"), Analyze: s.Bool("analyze")}
			if opts.DSN == "" {
				opts.DSN = s.String("postgres-dsn")
			}
			if opts.DSN == "" {
				return usageErrorf("dbg db explain: no database; give --dsn postgres://user@host:5432/db (or set postgres-dsn in the config, DBG_POSTGRES_DSN)")
			}
			if opts.TopN <= 0 {
				return usageErrorf("--top %d: want a positive number", opts.TopN)
			}
			if opts.StatementTimeout, err = s.Duration("statement-timeout"); err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), s.Timeout())
			defer cancel()
			return dbExplainRun(ctx, opts, f.Now())
		},
	}
	addDBFlags(c)
	c.Flags().String("dsn", "", "PostgreSQL to explain against: postgres://user@host:5432/db (a read-only user is enough)")
	c.Flags().Int("top", 5, "how many of the top statements to explain")
	c.Flags().Bool("analyze", false, "EXPLAIN ANALYZE: execute SELECTs (only) in a rolled-back read-only transaction for real row counts")
	c.Flags().String("statement-timeout", "5s", "statement_timeout for each EXPLAIN")
	return c
}

// dbOptionsFrom resolves the options shared by `dbg db` and `dbg db explain`.
func dbOptionsFrom(cmd *cobra.Command, f *Factory, s *Settings) (*DBOptions, func(), error) {
	nop := func() {}
	opts := &DBOptions{IO: f.IO, File: s.String("file"), Top: s.Int("top"), Limit: s.Int("limit"),
		Since: s.String("since"), Until: s.String("until"), Baseline: s.String("baseline")}
	var err error
	if opts.Format, err = s.Format(render.FormatTable, render.FormatJSON, render.FormatMarkdown); err != nil {
		return nil, nop, err
	}
	opts.Render = s.RenderOptions(f)
	opts.Query = investigate.DefaultQueryOptions()
	opts.Query.Service = strings.TrimSpace(s.String("service"))
	t, err := traceAnalysisOptions(s)
	if err != nil {
		return nil, nop, err
	}
	opts.Query.NPlusOneMinCalls, opts.Query.NPlusOneMinTotal = t.NPlusOneMinCount, t.NPlusOneMinTotal
	changed := func(k string) bool {
		return cmd.Flags().Changed(k) || f.Getenv("DBG_"+strings.ToUpper(k)) != ""
	}
	opts.FileWindow = changed("since") || changed("until") || changed("baseline")
	if opts.Limit <= 0 {
		return nil, nop, usageErrorf("--limit %d: want a positive number", opts.Limit)
	}
	if opts.File == "" && s.String("jaeger-url") != "" {
		client, err := jaeger.New(s.Endpoint("jaeger"))
		if err != nil {
			return nil, nop, err
		}
		opts.Find = client.Search
		return opts, func() { client.Close() }, nil
	}
	return opts, nop, nil
}

// dbTraces loads the traces and the window: the file (whole, or the window around its last span), or
// two Jaeger searches (the window and the baseline).
func dbTraces(ctx context.Context, opts *DBOptions, now time.Time) ([]*investigate.Trace, investigate.Window, error) {
	var w investigate.Window
	switch {
	case opts.File != "":
		traces, err := readTraceFile(opts.IO.In, opts.File)
		if err != nil {
			return nil, w, err
		}
		if opts.FileWindow {
			if w, err = investigate.ParseWindow(opts.Since, opts.Until, opts.Baseline, lastSpanEnd(traces, now)); err != nil {
				return nil, w, &UsageError{Err: err}
			}
		}
		return traces, w, nil
	case opts.Find != nil:
		if opts.Query.Service == "" {
			return nil, w, usageErrorf("dbg db: searching Jaeger needs --service")
		}
		w, err := investigate.ParseWindow(opts.Since, opts.Until, opts.Baseline, now)
		if err != nil {
			return nil, w, &UsageError{Err: err}
		}
		q := investigate.TraceQuery{Service: opts.Query.Service, Start: w.Start, End: w.End, Limit: opts.Limit}
		traces, err := opts.Find(ctx, q)
		if err != nil {
			return nil, w, err
		}
		q.Start, q.End = w.BaselineStart, w.BaselineEnd
		base, err := opts.Find(ctx, q)
		if err != nil {
			return nil, w, fmt.Errorf("baseline: %w", err)
		}
		return append(traces, base...), w, nil
	}
	return nil, w, usageErrorf("dbg db: no trace source; set --jaeger-url (or DBG_JAEGER_URL) with --service, or use --file")
}

// lastSpanEnd is "now" for a file: the end of its last span, so --since 30m means its last half hour.
func lastSpanEnd(traces []*investigate.Trace, fallback time.Time) time.Time {
	var last time.Time
	for _, t := range traces {
		for i := range t.Spans {
			if e := t.Spans[i].End(); e.After(last) {
				last = e
			}
		}
	}
	if last.IsZero() {
		return fallback
	}
	return last.Add(time.Nanosecond) // the last span's own start stays inside the window
}

func dbAnalyze(ctx context.Context, opts *DBOptions, now time.Time) (*investigate.QueryReport, error) {
	traces, w, err := dbTraces(ctx, opts, now)
	if err != nil {
		return nil, err
	}
	q := opts.Query
	q.Window = w
	rep := investigate.AnalyzeQueries(traces, q)
	if opts.Find != nil && len(traces) > 0 && rep.Requests >= opts.Limit {
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("Jaeger returned the limit of %d traces for the window; raise --limit for figures over more requests", opts.Limit))
	}
	if len(rep.Queries) == 0 {
		rep.Warnings = append(rep.Warnings, "no database calls (spans with db.statement, db.query.text or db.system) in the window")
	}
	investigate.LinkFindings(rep.Findings, opts.Render.JaegerUI, "")
	return rep, nil
}

func dbRun(ctx context.Context, opts *DBOptions, now time.Time) error {
	rep, err := dbAnalyze(ctx, opts, now)
	if err != nil {
		return err
	}
	return render.DB(opts.IO.Out, rep, opts.Format, render.DBOptions{Options: opts.Render, Top: opts.Top})
}

func connectPostgres(ctx context.Context, cfg postgres.Config) (Explainer, error) {
	return postgres.Connect(ctx, cfg)
}

func dbExplainRun(ctx context.Context, opts *DBExplainOptions, now time.Time) error {
	rep, err := dbAnalyze(ctx, &opts.DB, now)
	if err != nil {
		return err
	}
	connect := opts.Connect
	if connect == nil {
		connect = connectPostgres
	}
	db, err := connect(ctx, postgres.Config{DSN: opts.DSN, StatementTimeout: opts.StatementTimeout})
	if err != nil {
		return err
	}
	defer db.Close(context.WithoutCancel(ctx))
	out := postgres.ExplainTop(ctx, db, rep.Queries, opts.TopN, opts.Analyze)
	out.Warnings = append(out.Warnings, rep.Warnings...)
	return render.Explain(opts.DB.IO.Out, out, opts.DB.Format, opts.DB.Render)
}
