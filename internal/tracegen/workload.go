package tracegen

// This file builds OTLP workloads for live-backend tests and benchmarks: many small checkout requests
// through three services, varied so that searches by duration, tag, operation and error have known
// answers, and posts them to an OTLP/HTTP receiver (a real Jaeger in tests).

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// WorkloadTrace shapes one trace of a workload.
type WorkloadTrace struct {
	// Start is the root span's start.
	Start time.Time
	// Queries is how many "SELECT items" calls checkout makes one after another (an N+1 from 5 on).
	Queries int
	// QueryTime is each query's duration; 0 means 5ms (12 queries then make an N+1 at the default thresholds).
	QueryTime time.Duration
	// PaymentTime is how long payment takes; 0 means 120ms.
	PaymentTime time.Duration
	// Fail makes payment fail with an exception that propagates to the root.
	Fail bool
	// Tier is the customer.tier attribute on the root span ("gold", "free").
	Tier string
}

// WorkloadTraceID derives a deterministic 128-bit trace ID from a run seed and an index.
func WorkloadTraceID(seed uint64, i int) pcommon.TraceID {
	var id [16]byte
	binary.BigEndian.PutUint64(id[:8], seed|1<<63)
	binary.BigEndian.PutUint64(id[8:], uint64(i)+1)
	return id
}

func workloadSpanID(tid pcommon.TraceID, n int) pcommon.SpanID {
	var id [8]byte
	copy(id[:4], tid[12:16])
	binary.BigEndian.PutUint32(id[4:], uint32(n)+1)
	return id
}

// AppendWorkloadTrace appends one trace with the given ID to td.
func AppendWorkloadTrace(td ptrace.Traces, tid pcommon.TraceID, o WorkloadTrace) {
	if o.QueryTime <= 0 {
		o.QueryTime = 5 * time.Millisecond
	}
	if o.PaymentTime <= 0 {
		o.PaymentTime = 120 * time.Millisecond
	}
	if o.Tier == "" {
		o.Tier = "free"
	}
	scope := func(service string) ptrace.SpanSlice {
		rs := td.ResourceSpans().AppendEmpty()
		rs.Resource().Attributes().PutStr("service.name", service)
		rs.Resource().Attributes().PutStr("deployment.environment", "test")
		ss := rs.ScopeSpans().AppendEmpty()
		ss.Scope().SetName("tracegen")
		return ss.Spans()
	}
	n := 0
	add := func(spans ptrace.SpanSlice, parent pcommon.SpanID, name string, kind ptrace.SpanKind, start time.Time, d time.Duration) ptrace.Span {
		s := spans.AppendEmpty()
		s.SetTraceID(tid)
		s.SetSpanID(workloadSpanID(tid, n))
		n++
		if !parent.IsEmpty() {
			s.SetParentSpanID(parent)
		}
		s.SetName(name)
		s.SetKind(kind)
		s.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
		s.SetEndTimestamp(pcommon.NewTimestampFromTime(start.Add(d)))
		return s
	}
	fail := func(s ptrace.Span, typ, msg string) {
		s.Status().SetCode(ptrace.StatusCodeError)
		s.Status().SetMessage(msg)
		ev := s.Events().AppendEmpty()
		ev.SetName("exception")
		ev.SetTimestamp(s.EndTimestamp())
		ev.Attributes().PutStr("exception.type", typ)
		ev.Attributes().PutStr("exception.message", msg)
	}
	t0 := o.Start
	queries := time.Duration(o.Queries) * (o.QueryTime + 200*time.Microsecond)
	checkoutDur := 2*time.Millisecond + queries + o.PaymentTime + 3*time.Millisecond
	total := checkoutDur + 4*time.Millisecond

	fe := scope("frontend")
	root := add(fe, pcommon.SpanID{}, "GET /checkout", ptrace.SpanKindServer, t0, total)
	root.Attributes().PutStr("http.request.method", "GET")
	root.Attributes().PutStr("http.route", "/checkout")
	root.Attributes().PutStr("customer.tier", o.Tier)
	call := add(fe, root.SpanID(), "POST /orders", ptrace.SpanKindClient, t0.Add(time.Millisecond), checkoutDur+2*time.Millisecond)
	call.Attributes().PutStr("peer.service", "checkout")
	call.Attributes().PutStr("http.request.method", "POST")
	call.Attributes().PutStr("url.full", "http://checkout:8080/orders")

	co := scope("checkout")
	srv := add(co, call.SpanID(), "POST /orders", ptrace.SpanKindServer, t0.Add(2*time.Millisecond), checkoutDur)
	srv.Attributes().PutStr("http.route", "/orders")
	at := t0.Add(4 * time.Millisecond)
	for q := 0; q < o.Queries; q++ {
		s := add(co, srv.SpanID(), "SELECT items", ptrace.SpanKindClient, at, o.QueryTime)
		s.Attributes().PutStr("db.system", "postgresql")
		s.Attributes().PutStr("db.statement", fmt.Sprintf("SELECT * FROM items WHERE id = %d", 100+q))
		at = at.Add(o.QueryTime + 200*time.Microsecond)
	}
	charge := add(co, srv.SpanID(), "charge", ptrace.SpanKindClient, at, o.PaymentTime+time.Millisecond)
	charge.Attributes().PutStr("peer.service", "payment")
	charge.Attributes().PutStr("rpc.system", "grpc")
	charge.Attributes().PutStr("rpc.service", "payment.Payment")
	charge.Attributes().PutStr("rpc.method", "Charge")

	pay := scope("payment")
	ps := add(pay, charge.SpanID(), "payment.Payment/Charge", ptrace.SpanKindServer, at.Add(500*time.Microsecond), o.PaymentTime)
	ps.Attributes().PutStr("rpc.method", "Charge")
	if o.Fail {
		fail(ps, "CardDeclined", "card declined by issuer")
		charge.Status().SetCode(ptrace.StatusCodeError)
		srv.Status().SetCode(ptrace.StatusCodeError)
		call.Status().SetCode(ptrace.StatusCodeError)
		root.Status().SetCode(ptrace.StatusCodeError)
		root.Attributes().PutInt("http.response.status_code", 502)
	} else {
		root.Attributes().PutInt("http.response.status_code", 200)
	}
}

// Workload builds n checkout traces starting at start, one every 10ms: every 4th has an N+1 of 12
// queries, every 10th fails, every 3rd is a gold customer, and payment time grows with i so durations
// differ and sort reproducibly.
func Workload(seed uint64, n int, start time.Time) (ptrace.Traces, []pcommon.TraceID) {
	td := ptrace.NewTraces()
	ids := make([]pcommon.TraceID, n)
	for i := 0; i < n; i++ {
		ids[i] = WorkloadTraceID(seed, i)
		AppendWorkloadTrace(td, ids[i], WorkloadOptions(i, start))
	}
	return td, ids
}

// WorkloadOptions are the options Workload uses for trace i.
func WorkloadOptions(i int, start time.Time) WorkloadTrace {
	o := WorkloadTrace{
		Start:       start.Add(time.Duration(i) * 10 * time.Millisecond),
		Queries:     2,
		PaymentTime: 50*time.Millisecond + time.Duration(i%100)*time.Millisecond,
		Fail:        i%10 == 9,
		Tier:        "free",
	}
	if i%4 == 0 {
		o.Queries = 12
	}
	if i%3 == 0 {
		o.Tier = "gold"
	}
	return o
}

// PostOTLP sends td to an OTLP/HTTP receiver (base URL, e.g. http://127.0.0.1:4318) as OTLP JSON.
func PostOTLP(ctx context.Context, otlpHTTP string, td ptrace.Traces) error {
	var m ptrace.JSONMarshaler
	body, err := m.MarshalTraces(td)
	if err != nil {
		return err
	}
	u := strings.TrimRight(otlpHTTP, "/") + "/v1/traces"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("POST %s: HTTP %d: %s", u, resp.StatusCode, b)
	}
	return nil
}

// PostOTLPBatched posts td in batches of at most batch resource-span groups, so a large workload does not
// become one huge request.
func PostOTLPBatched(ctx context.Context, otlpHTTP string, td ptrace.Traces, batch int) error {
	rss := td.ResourceSpans()
	for from := 0; from < rss.Len(); from += batch {
		part := ptrace.NewTraces()
		for i := from; i < min(from+batch, rss.Len()); i++ {
			rss.At(i).CopyTo(part.ResourceSpans().AppendEmpty())
		}
		if err := PostOTLP(ctx, otlpHTTP, part); err != nil {
			return err
		}
	}
	return nil
}
