package demo

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/sony/gobreaker/v2"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// Order is what the frontend and checkout take.
type Order struct {
	Customer string   `json:"customer"`
	SKUs     []string `json:"skus"`
}

// Stock is one item's answer from inventory.
type Stock struct {
	SKU        string `json:"sku"`
	Name       string `json:"name,omitempty"`
	Qty        int    `json:"qty"`
	PriceCents int    `json:"price_cents"`
}

const maxOrderItems = 50

func decodeOrder(r *http.Request) (Order, error) {
	var o Order
	if err := json.NewDecoder(io.LimitReader(r.Body, 64<<10)).Decode(&o); err != nil {
		return o, fail(http.StatusBadRequest, "order JSON: %v", err)
	}
	if len(o.SKUs) == 0 || len(o.SKUs) > maxOrderItems {
		return o, fail(http.StatusBadRequest, "order: want 1..%d skus, got %d", maxOrderItems, len(o.SKUs))
	}
	return o, nil
}

// frontend is the edge: product pages and the checkout form.
type frontend struct{}

func (*frontend) clearFault(Kind) {}

func (*frontend) routes(s *service) []route {
	return []route{
		{"GET", "/", func(w http.ResponseWriter, r *http.Request) error {
			if err := s.work(r.Context(), "render home", 2*time.Millisecond); err != nil {
				return err
			}
			return writeJSON(w, http.StatusOK, map[string]string{"page": "home"})
		}},
		{"GET", "/products/{sku}", func(w http.ResponseWriter, r *http.Request) error {
			var st Stock
			sku := r.PathValue("sku")
			if err := s.call(r.Context(), Inventory, "GET", "/items/{sku}", "/items/"+url.PathEscape(sku), nil, &st); err != nil {
				return err
			}
			if err := s.work(r.Context(), "render product", 3*time.Millisecond); err != nil {
				return err
			}
			return writeJSON(w, http.StatusOK, st)
		}},
		{"POST", "/checkout", func(w http.ResponseWriter, r *http.Request) error {
			o, err := decodeOrder(r)
			if err != nil {
				return err
			}
			var out map[string]any
			if err := s.call(r.Context(), Checkout, "POST", "/orders", "/orders", o, &out); err != nil {
				return err
			}
			return writeJSON(w, http.StatusCreated, out)
		}},
	}
}

// checkout checks stock with inventory, then charges with payment.
type checkout struct{}

func (*checkout) clearFault(Kind) {}

func (*checkout) routes(s *service) []route {
	return []route{
		{"POST", "/orders", func(w http.ResponseWriter, r *http.Request) error {
			ctx := r.Context()
			o, err := decodeOrder(r)
			if err != nil {
				return err
			}
			var stock []Stock
			q := url.Values{"skus": {strings.Join(o.SKUs, ",")}}
			if err := s.call(ctx, Inventory, "GET", "/stock", "/stock?"+q.Encode(), nil, &stock); err != nil {
				return err
			}
			total := 0
			for _, st := range stock {
				if st.Qty <= 0 {
					return fail(http.StatusConflict, "sku %s out of stock", st.SKU)
				}
				total += st.PriceCents
			}
			if err := s.work(ctx, "price order", 4*time.Millisecond); err != nil {
				return err
			}
			var charge map[string]any
			if err := s.call(ctx, Payment, "POST", "/charge", "/charge",
				map[string]any{"customer": o.Customer, "amount_cents": total}, &charge); err != nil {
				return err
			}
			s.log.InfoContext(ctx, "order placed", "items", len(o.SKUs), "amount_cents", total)
			return writeJSON(w, http.StatusCreated, map[string]any{"status": "placed", "amount_cents": total, "payment": charge})
		}},
	}
}

// fraud scores a charge.
type fraud struct{}

func (*fraud) clearFault(Kind) {}

func (*fraud) routes(s *service) []route {
	return []route{
		{"POST", "/score", func(w http.ResponseWriter, r *http.Request) error {
			if err := s.work(r.Context(), "score model", 6*time.Millisecond); err != nil {
				return err
			}
			return writeJSON(w, http.StatusOK, map[string]any{"score": mrand.Float64() * 0.5, "allow": true})
		}},
	}
}

// gateway stands for the external card processor.
type gateway struct{}

func (*gateway) clearFault(Kind) {}

func (*gateway) routes(s *service) []route {
	return []route{
		{"POST", "/authorize", func(w http.ResponseWriter, r *http.Request) error {
			if p, ok := s.faults.get(KindCircuitOpen); ok && mrand.Float64() < p.Rate {
				return &httpError{status: http.StatusServiceUnavailable,
					err: &namedError{typ: "UpstreamUnavailable", msg: "card processor connection refused"}}
			}
			if err := s.work(r.Context(), "authorize card", 30*time.Millisecond); err != nil {
				return err
			}
			return writeJSON(w, http.StatusOK, map[string]any{"authorized": true, "auth_code": newID()[:6]})
		}},
	}
}

// payment asks fraud-check, then the gateway through a bulkhead and a circuit breaker.
type payment struct {
	s       *service
	breaker *gobreaker.CircuitBreaker[[]byte]
	bh      *bulkhead
}

// DefaultBulkhead is payment's gateway bulkhead size.
const DefaultBulkhead = 16

func newPayment(s *service) *payment {
	p := &payment{s: s}
	p.bh = newBulkhead(DefaultBulkhead, s.m, Gateway)
	s.m.breaker.WithLabelValues(Gateway).Set(0)
	s.m.brRejected.WithLabelValues(Gateway).Add(0)
	p.breaker = gobreaker.NewCircuitBreaker[[]byte](gobreaker.Settings{
		Name:        Gateway,
		MaxRequests: 1,
		Interval:    30 * time.Second,
		Timeout:     5 * time.Second,
		ReadyToTrip: func(c gobreaker.Counts) bool {
			return c.ConsecutiveFailures >= 5 || (c.Requests >= 20 && float64(c.TotalFailures)/float64(c.Requests) >= 0.5)
		},
		OnStateChange: func(name string, from, to gobreaker.State) {
			s.m.breaker.WithLabelValues(name).Set(float64(to))
			s.log.Warn("circuit breaker state changed", "breaker", name, "from", from.String(), "to", to.String())
		},
	})
	return p
}

func (p *payment) clearFault(k Kind) {
	if k == KindBulkheadSaturation {
		p.bh.resize(DefaultBulkhead)
	}
}

func (p *payment) inject(_ context.Context, f Fault) error {
	if f.Kind == KindBulkheadSaturation {
		p.bh.resize(f.Params.Limit)
	}
	return nil
}

func (p *payment) routes(s *service) []route {
	return []route{
		{"POST", "/charge", func(w http.ResponseWriter, r *http.Request) error {
			ctx := r.Context()
			var req map[string]any
			if err := json.NewDecoder(io.LimitReader(r.Body, 64<<10)).Decode(&req); err != nil {
				return fail(http.StatusBadRequest, "charge JSON: %v", err)
			}
			var score struct {
				Allow bool `json:"allow"`
			}
			if err := s.call(ctx, Fraud, "POST", "/score", "/score", req, &score); err != nil {
				return err
			}
			if !score.Allow {
				return fail(http.StatusPaymentRequired, "charge declined by fraud check")
			}
			auth, err := p.authorize(ctx, req)
			if err != nil {
				return err
			}
			return writeJSON(w, http.StatusOK, map[string]any{"status": "charged", "auth": json.RawMessage(auth)})
		}},
	}
}

// authorize calls the gateway inside the bulkhead and the circuit breaker. A refusal by either is a
// fast 503 with its own error type, in a span of its own.
func (p *payment) authorize(ctx context.Context, req any) ([]byte, error) {
	s := p.s
	if !p.bh.acquire() {
		return nil, p.refuse(ctx, "bulkhead gateway", "BulkheadFullError", "gateway bulkhead full: too many concurrent calls")
	}
	defer p.bh.release()
	out, err := p.breaker.Execute(func() ([]byte, error) {
		var raw json.RawMessage
		err := s.call(ctx, Gateway, "POST", "/authorize", "/authorize", req, &raw)
		return raw, err
	})
	if errors.Is(err, gobreaker.ErrOpenState) || errors.Is(err, gobreaker.ErrTooManyRequests) {
		s.m.brRejected.WithLabelValues(Gateway).Inc()
		return nil, p.refuse(ctx, "circuit breaker gateway", "CircuitOpenError", "gateway circuit breaker open: call not attempted")
	}
	return out, err
}

func (p *payment) refuse(ctx context.Context, spanName, typ, msg string) error {
	_, span := p.s.tracer.Start(ctx, spanName, trace.WithSpanKind(trace.SpanKindInternal),
		trace.WithAttributes(attribute.String("peer.service", Gateway)))
	err := &namedError{typ: typ, msg: msg}
	recordError(span, err)
	span.SetStatus(codes.Error, msg)
	span.End()
	return &httpError{status: http.StatusServiceUnavailable, err: err}
}

// bulkhead bounds concurrent calls to one dependency; a call that finds every slot taken is refused at
// once rather than queued.
type bulkhead struct {
	mu            sync.Mutex
	capacity, n   int
	inflight, cap interface{ Set(float64) }
	rejected      interface{ Inc() }
}

func newBulkhead(capacity int, m *metrics, name string) *bulkhead {
	b := &bulkhead{capacity: capacity,
		inflight: m.bhInFlight.WithLabelValues(name), cap: m.bhCapacity.WithLabelValues(name),
		rejected: m.bhRejected.WithLabelValues(name)}
	b.cap.Set(float64(capacity))
	b.inflight.Set(0)
	m.bhRejected.WithLabelValues(name).Add(0)
	return b
}

func (b *bulkhead) acquire() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.n >= b.capacity {
		b.rejected.Inc()
		return false
	}
	b.n++
	b.inflight.Set(float64(b.n))
	return true
}

func (b *bulkhead) release() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.n--
	b.inflight.Set(float64(b.n))
}

func (b *bulkhead) resize(capacity int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.capacity = capacity
	b.cap.Set(float64(capacity))
}
