package postgres

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/dbgtool/dbg/investigate"
)

// Errors callers branch on.
var (
	// ErrTimeout: the statement ran longer than the statement timeout.
	ErrTimeout = errors.New("timed out")
	// ErrNoLongerParses: the database rejects the statement as written (syntax, unknown table or column):
	// the schema changed since the trace was recorded, or the trace truncated the statement.
	ErrNoLongerParses = errors.New("no longer parses")
)

// Config says how to reach the database and how long a statement may run.
type Config struct {
	// DSN is a postgres:// URL or a key=value connection string. It may hold a password, which never
	// appears in an error.
	DSN string
	// StatementTimeout bounds each EXPLAIN (and the statement itself under --analyze); 0 means 5s.
	StatementTimeout time.Duration
	// ConnectTimeout bounds connecting; 0 means 10s.
	ConnectTimeout time.Duration
}

// Client is one connection to PostgreSQL used only for EXPLAIN and catalog reads.
type Client struct {
	conn    *pgx.Conn
	where   string
	secrets []string
	timeout time.Duration
}

// Connect opens a connection. Errors name the server (host:port/database, never the password) and the
// next thing to check.
func Connect(ctx context.Context, cfg Config) (*Client, error) {
	secrets := dsnSecrets(cfg.DSN)
	pc, err := pgx.ParseConfig(cfg.DSN)
	if err != nil {
		// pgx redacts passwords in parse errors on a best-effort basis only: say what is wrong in our words.
		msg := innermost(err).Error()
		if i := strings.LastIndex(msg, "`: "); i >= 0 { // drop pgx's quoted copy of the connection string
			msg = msg[i+3:]
		}
		return nil, fmt.Errorf("postgres: --dsn is not a valid connection string (want postgres://user@host:5432/db or host=... dbname=...): %s",
			scrubText(msg, secrets))
	}
	if pc.Password != "" {
		secrets = append(secrets, pc.Password)
	}
	c := &Client{where: where(pc), secrets: secrets, timeout: cfg.StatementTimeout}
	if c.timeout <= 0 {
		c.timeout = 5 * time.Second
	}
	pc.ConnectTimeout = cfg.ConnectTimeout
	if pc.ConnectTimeout <= 0 {
		pc.ConnectTimeout = 10 * time.Second
	}
	pc.RuntimeParams["application_name"] = "dbg"
	conn, err := pgx.ConnectConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("postgres %s: cannot connect: %s; check that the server is running and the host, port, user and password in --dsn", c.where, c.scrub(connectCause(err)))
	}
	c.conn = conn
	return c, nil
}

// Where is host:port/database, safe to print.
func (c *Client) Where() string { return c.where }

// Close closes the connection.
func (c *Client) Close(ctx context.Context) error {
	if c.conn == nil {
		return nil
	}
	return c.conn.Close(ctx)
}

// Check runs the cheapest query that proves the connection works, for dbg doctor.
func (c *Client) Check(ctx context.Context) error {
	var one int
	if err := c.conn.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil {
		return c.wrap("check", err)
	}
	return nil
}

// Explained is a statement's plan and the sizes of the tables it touches.
type Explained struct {
	Plan *investigate.Plan
	// TableRows are pg_class.reltuples by relation name; tables never analysed are missing.
	TableRows map[string]float64
}

// Explain plans stmt with EXPLAIN (FORMAT JSON), or with analyze executes it under EXPLAIN (ANALYZE,
// BUFFERS, FORMAT JSON). Either way it runs inside a READ ONLY transaction with statement_timeout set,
// which is always rolled back; CheckStatement's refusals come back unchanged.
func (c *Client) Explain(ctx context.Context, stmt string, analyze bool) (*Explained, error) {
	s, err := CheckStatement(stmt, analyze)
	if err != nil {
		return nil, err
	}
	tx, err := c.conn.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, c.wrap("begin a read-only transaction", err)
	}
	defer func() {
		// A rollback after a failed statement or a cancelled context still ends the transaction on the
		// server; its own error says nothing new.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = tx.Rollback(rctx)
	}()
	ms := strconv.FormatInt(c.timeout.Milliseconds(), 10)
	if _, err := tx.Exec(ctx, "SET LOCAL statement_timeout = "+ms+"; SET LOCAL lock_timeout = "+ms, pgx.QueryExecModeSimpleProtocol); err != nil {
		return nil, c.wrap("set statement_timeout", err)
	}
	opts := "FORMAT JSON"
	if analyze {
		opts = "ANALYZE, BUFFERS, FORMAT JSON"
	}
	var out string
	// The extended protocol (QueryExecModeExec) carries exactly one statement: a second one hidden in
	// the text is a syntax error, never executed.
	if err := tx.QueryRow(ctx, "EXPLAIN ("+opts+") "+s, pgx.QueryExecModeExec).Scan(&out); err != nil {
		return nil, c.wrap("EXPLAIN", err)
	}
	plan, err := ParsePlan([]byte(out))
	if err != nil {
		return nil, fmt.Errorf("postgres %s: %w", c.where, err)
	}
	ex := &Explained{Plan: plan, TableRows: map[string]float64{}}
	for _, r := range Relations(plan) {
		name := pgx.Identifier{r.Name}
		if r.Schema != "" {
			name = pgx.Identifier{r.Schema, r.Name}
		}
		var rows float64
		err := tx.QueryRow(ctx, "SELECT reltuples::float8 FROM pg_class WHERE oid = to_regclass($1)", name.Sanitize()).Scan(&rows)
		if err == nil && rows >= 0 {
			ex.TableRows[r.Name] = rows
		}
	}
	return ex, nil
}

// wrap turns a driver error into one line naming the server and what went wrong.
func (c *Client) wrap(op string, err error) error {
	var pe *pgconn.PgError
	switch {
	case errors.As(err, &pe) && (pe.Code == "57014" || pe.Code == "55P03"):
		return fmt.Errorf("postgres %s: %s %w after %s (statement_timeout); the statement is slower than that, or waits on a lock",
			c.where, op, ErrTimeout, c.timeout)
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("postgres %s: %s %w: the --timeout ran out before the database answered", c.where, op, ErrTimeout)
	case errors.As(err, &pe) && (strings.HasPrefix(pe.Code, "42") || pe.Code == "22P02"):
		return fmt.Errorf("postgres %s: the statement %w: %s (SQLSTATE %s); the schema may have changed since the trace, or the trace cut the statement short",
			c.where, ErrNoLongerParses, c.scrub(pe.Message), pe.Code)
	case errors.As(err, &pe) && pe.Code == "25006":
		return fmt.Errorf("postgres %s: %s refused by the read-only transaction: %s", c.where, op, c.scrub(pe.Message))
	case errors.As(err, &pe):
		return fmt.Errorf("postgres %s: %s: %s (SQLSTATE %s)", c.where, op, c.scrub(pe.Message), pe.Code)
	}
	return fmt.Errorf("postgres %s: %s: %s", c.where, op, c.scrub(err.Error()))
}

func (c *Client) scrub(s string) string { return scrubText(s, c.secrets) }

// where is host:port/database from a parsed config.
func where(pc *pgx.ConnConfig) string {
	host := pc.Host
	if strings.HasPrefix(host, "/") {
		return host + "/" + pc.Database
	}
	return net.JoinHostPort(host, strconv.Itoa(int(pc.Port))) + "/" + pc.Database
}

// connectCause is the most specific reason a connection failed: the server's message, or the network
// error.
func connectCause(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Message + " (SQLSTATE " + pe.Code + ")"
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "timed out"
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return ne.Error()
	}
	return innermost(err).Error()
}

func innermost(err error) error {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err
		}
		err = next
	}
}

var reKVPassword = regexp.MustCompile(`(?i)password\s*=\s*('(?:[^'\\]|\\.)*'|\S+)`)

// dsnSecrets extracts what must never be printed from a DSN: the URL password, a key=value password,
// and the whole DSN itself.
func dsnSecrets(dsn string) []string {
	out := []string{}
	if dsn != "" {
		out = append(out, dsn)
	}
	if u, err := url.Parse(dsn); err == nil && u.User != nil {
		if p, ok := u.User.Password(); ok && p != "" {
			out = append(out, p, url.QueryEscape(p), url.PathEscape(p))
		}
		if p := u.Query().Get("password"); p != "" {
			out = append(out, p)
		}
	}
	for _, m := range reKVPassword.FindAllStringSubmatch(dsn, -1) {
		out = append(out, strings.Trim(m[1], "'"), m[1])
	}
	// A URL that does not parse may still hold user:password@.
	if i := strings.Index(dsn, "://"); i >= 0 {
		rest := dsn[i+3:]
		if at := strings.LastIndex(rest, "@"); at >= 0 {
			if _, p, ok := strings.Cut(rest[:at], ":"); ok && p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

// scrubText replaces every secret in s, longest first so a password inside the DSN goes with it.
func scrubText(s string, secrets []string) string {
	for _, sec := range sortedByLen(secrets) {
		if len(sec) >= 1 {
			s = strings.ReplaceAll(s, sec, "REDACTED")
		}
	}
	return s
}

func sortedByLen(s []string) []string {
	out := append([]string(nil), s...)
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && len(out[j]) > len(out[j-1]); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// RedactDSN returns the DSN with its password replaced, for messages that must name the server.
func RedactDSN(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.Scheme != "" {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "REDACTED")
		}
		q := u.Query()
		if q.Has("password") {
			q.Set("password", "REDACTED")
			u.RawQuery = q.Encode()
		}
		return u.String()
	}
	return reKVPassword.ReplaceAllString(dsn, "password=REDACTED")
}
