package demo

import (
	"context"
	"database/sql"
	"fmt"
	mrand "math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	_ "modernc.org/sqlite" // the pure-Go SQLite driver: nothing to install
)

// DefaultRows is the inventory's item count: enough that a lookup without the index takes a visible
// while (a full scan), small enough to seed in a second or two.
const DefaultRows = 200_000

// dbRoundTrip (+ up to dbJitter) is the simulated network time of one query.
const (
	dbRoundTrip = 3 * time.Millisecond
	dbJitter    = 2 * time.Millisecond
)

// SKU names item i; the load generator picks from the same range.
func SKU(i int) string { return fmt.Sprintf("SKU-%06d", i) }

const (
	qItem      = "SELECT sku, name, qty, price_cents FROM items WHERE sku = ?"
	qStockOne  = "SELECT sku, qty, price_cents FROM items WHERE sku = ?"
	qStockIn   = "SELECT sku, qty, price_cents FROM items WHERE sku IN (%s)"
	ddlIndex   = "CREATE INDEX IF NOT EXISTS idx_items_sku ON items (sku)"
	ddlNoIndex = "DROP INDEX IF EXISTS idx_items_sku"
)

// inventory serves stock from SQLite.
type inventory struct {
	s    *service
	db   *sql.DB
	rows int
	ddl  sync.Mutex
}

func openInventory(cfg ServiceConfig, s *service) (*inventory, error) {
	if cfg.DBPath == "" {
		return nil, fmt.Errorf("inventory: no database path")
	}
	rows := cfg.Rows
	if rows <= 0 {
		rows = DefaultRows
	}
	db, err := sql.Open("sqlite", "file:"+cfg.DBPath+"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)")
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", cfg.DBPath, err)
	}
	db.SetMaxOpenConns(8)
	inv := &inventory{s: s, db: db, rows: rows}
	if err := inv.seed(rows); err != nil {
		db.Close()
		return nil, fmt.Errorf("seed %s: %w", cfg.DBPath, err)
	}
	return inv, nil
}

// seed creates and fills the items table unless it already holds rows items.
func (inv *inventory) seed(rows int) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := inv.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS items (
		id INTEGER PRIMARY KEY, sku TEXT NOT NULL, name TEXT NOT NULL, warehouse INTEGER NOT NULL,
		qty INTEGER NOT NULL, price_cents INTEGER NOT NULL, description TEXT NOT NULL)`); err != nil {
		return err
	}
	var n int
	if err := inv.db.QueryRowContext(ctx, "SELECT count(*) FROM items").Scan(&n); err != nil {
		return err
	}
	if n != rows {
		tx, err := inv.db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		if _, err := tx.ExecContext(ctx, "DELETE FROM items"); err != nil {
			return err
		}
		st, err := tx.PrepareContext(ctx, "INSERT INTO items (id, sku, name, warehouse, qty, price_cents, description) VALUES (?, ?, ?, ?, ?, ?, ?)")
		if err != nil {
			return err
		}
		desc := strings.Repeat("a well made thing. ", 6)
		for i := range rows {
			if _, err := st.ExecContext(ctx, i, SKU(i), fmt.Sprintf("Item %d", i), i%7, 5+(i*37)%200, 199+(i*7919)%9800, desc); err != nil {
				return err
			}
		}
		st.Close()
		if err := tx.Commit(); err != nil {
			return err
		}
	}
	_, err := inv.db.ExecContext(ctx, ddlIndex)
	return err
}

func (inv *inventory) inject(ctx context.Context, f Fault) error {
	if f.Kind == KindSlowQuery {
		inv.ddl.Lock()
		defer inv.ddl.Unlock()
		_, err := inv.db.ExecContext(ctx, ddlNoIndex)
		return err
	}
	return nil
}

func (inv *inventory) clearFault(k Kind) {
	if k == KindSlowQuery {
		inv.ddl.Lock()
		defer inv.ddl.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if _, err := inv.db.ExecContext(ctx, ddlIndex); err != nil {
			inv.s.log.Error("rebuilding index failed", "error", err.Error())
		}
	}
}

func (inv *inventory) routes(s *service) []route {
	return []route{
		{"GET", "/items/{sku}", func(w http.ResponseWriter, r *http.Request) error {
			sku := r.PathValue("sku")
			var st Stock
			found := false
			err := inv.query(r.Context(), qItem, []any{sku}, func(rows *sql.Rows) error {
				found = true
				return rows.Scan(&st.SKU, &st.Name, &st.Qty, &st.PriceCents)
			})
			if err != nil {
				return err
			}
			if !found {
				return fail(http.StatusNotFound, "no item %q", sku)
			}
			return writeJSON(w, http.StatusOK, st)
		}},
		{"GET", "/stock", func(w http.ResponseWriter, r *http.Request) error {
			ctx := r.Context()
			skus := strings.Split(r.URL.Query().Get("skus"), ",")
			if len(skus) == 0 || len(skus) > maxOrderItems || skus[0] == "" {
				return fail(http.StatusBadRequest, "skus: want 1..%d comma-separated SKUs", maxOrderItems)
			}
			if err := s.work(ctx, "check stock", 2*time.Millisecond); err != nil {
				return err
			}
			var out []Stock
			scan := func(rows *sql.Rows) error {
				var st Stock
				if err := rows.Scan(&st.SKU, &st.Qty, &st.PriceCents); err != nil {
					return err
				}
				out = append(out, st)
				return nil
			}
			if _, nplus1 := s.faults.get(KindNPlusOne); nplus1 {
				for _, sku := range skus {
					if err := inv.query(ctx, qStockOne, []any{sku}, scan); err != nil {
						return err
					}
				}
			} else {
				args := make([]any, len(skus))
				for i, sku := range skus {
					args[i] = sku
				}
				q := fmt.Sprintf(qStockIn, strings.TrimSuffix(strings.Repeat("?, ", len(skus)), ", "))
				if err := inv.query(ctx, q, args, scan); err != nil {
					return err
				}
			}
			if out == nil {
				out = []Stock{}
			}
			return writeJSON(w, http.StatusOK, out)
		}},
	}
}

// query runs one SELECT on items in a client span with the database semantic conventions.
func (inv *inventory) query(ctx context.Context, q string, args []any, scan func(*sql.Rows) error) error {
	s := inv.s
	ctx, span := s.tracer.Start(ctx, "SELECT items", trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(
		attribute.String("db.system.name", "sqlite"),
		attribute.String("db.system", "sqlite"),
		attribute.String("db.namespace", "inventory"),
		attribute.String("db.operation.name", "SELECT"),
		attribute.String("db.collection.name", "items"),
		attribute.String("db.query.text", q),
		attribute.String("db.statement", q),
	))
	defer span.End()
	start := time.Now()
	err := func() error {
		// SQLite is in the process; a production database is a network hop away. Each query pays that
		// round trip, so per-item queries cost what they cost in production.
		if err := sleep(ctx, dbRoundTrip+time.Duration(mrand.Int64N(int64(dbJitter)))); err != nil {
			return err
		}
		rows, err := inv.db.QueryContext(ctx, q, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			if err := scan(rows); err != nil {
				return err
			}
		}
		return rows.Err()
	}()
	s.m.dbDuration.WithLabelValues("SELECT", "items").Observe(time.Since(start).Seconds())
	if err != nil {
		recordError(span, err)
		span.SetStatus(codes.Error, err.Error())
		return &httpError{status: http.StatusInternalServerError, err: fmt.Errorf("query items: %w", err)}
	}
	return nil
}
