package jaeger

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	model "github.com/jaegertracing/jaeger-idl/model/v1"
	api "github.com/jaegertracing/jaeger-idl/proto-gen/api_v2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/dbgtool/dbg/investigate"
	"github.com/dbgtool/dbg/sources/httpx"
)

// grpcBackend speaks Jaeger's gRPC query API (port 16685): api_v3 for traces when the server has it
// (grpcv3.go), and api_v2's QueryService, which every Jaeger since 1.x serves, through jaeger-idl's
// generated client for everything else and for older servers.
type grpcBackend struct {
	conn *grpc.ClientConn
	qs   api.QueryServiceClient
	url  string
	ep   httpx.Endpoint
	// v2only is set once the server answered api_v3 with Unimplemented (Jaeger before v1.35).
	v2only atomic.Bool
	// sleep waits between retries; tests replace it.
	sleep func(ctx context.Context, d time.Duration) error
}

// gogoCodec marshals jaeger-idl's gogo-generated messages with their own Marshal/Unmarshal methods:
// their custom types (TraceID, stdtime) are not understood by the reflection-based protobuf runtime.
type gogoCodec struct{}

type gogoMessage interface {
	Marshal() ([]byte, error)
	Unmarshal([]byte) error
}

func (gogoCodec) Marshal(v any) ([]byte, error) {
	m, ok := v.(gogoMessage)
	if !ok {
		return nil, fmt.Errorf("jaeger grpc: cannot marshal %T", v)
	}
	return m.Marshal()
}

func (gogoCodec) Unmarshal(data []byte, v any) error {
	m, ok := v.(gogoMessage)
	if !ok {
		return fmt.Errorf("jaeger grpc: cannot unmarshal into %T", v)
	}
	return m.Unmarshal(data)
}

func (gogoCodec) Name() string { return "proto" }

// rpcAuth sends the endpoint's bearer token or basic credentials, and its extra headers, with every call.
type rpcAuth struct {
	md  map[string]string
	tls bool
}

func (a rpcAuth) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return a.md, nil
}

// RequireTransportSecurity is false for grpc:// so that plaintext deployments behind a trusted network
// still work; grpcs:// always carries credentials over TLS.
func (a rpcAuth) RequireTransportSecurity() bool { return a.tls }

func newGRPC(ep httpx.Endpoint, u *url.URL) (*grpcBackend, error) {
	secure := u.Scheme == "grpcs"
	if u.User != nil { // credentials in the URL move to basic auth and out of every printed URL
		if ep.Username == "" {
			ep.Username = u.User.Username()
			ep.Password, _ = u.User.Password()
		}
		u.User = nil
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "16685")
	}
	if ep.Timeout <= 0 {
		ep.Timeout = 30 * time.Second
	}
	if ep.MaxBytes <= 0 {
		ep.MaxBytes = 256 << 20
	}
	if ep.Retries == 0 {
		ep.Retries = 3
	}
	clean := (&url.URL{Scheme: u.Scheme, Host: u.Host}).String()
	var creds credentials.TransportCredentials
	if secure {
		cfg := &tls.Config{InsecureSkipVerify: ep.InsecureSkipVerify, MinVersion: tls.VersionTLS12} //nolint:gosec // only when the user asks
		if ep.CAFile != "" {
			pem, err := os.ReadFile(ep.CAFile)
			if err != nil {
				return nil, fmt.Errorf("Jaeger: CA file: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("Jaeger: CA file %s holds no PEM certificate", ep.CAFile)
			}
			cfg.RootCAs = pool
		}
		creds = credentials.NewTLS(cfg)
	} else {
		creds = insecure.NewCredentials()
	}
	md := map[string]string{}
	for k, v := range ep.Headers {
		md[strings.ToLower(k)] = v
	}
	switch {
	case ep.Token != "":
		md["authorization"] = "Bearer " + ep.Token
	case ep.Username != "":
		md["authorization"] = "Basic " + base64.StdEncoding.EncodeToString([]byte(ep.Username+":"+ep.Password))
	}
	opts := []grpc.DialOption{
		grpc.WithTransportCredentials(creds),
		grpc.WithUserAgent("dbg"),
		grpc.WithDefaultCallOptions(grpc.ForceCodec(gogoCodec{}), grpc.MaxCallRecvMsgSize(int(min(ep.MaxBytes, 1<<31-1)))),
	}
	if len(md) > 0 {
		opts = append(opts, grpc.WithPerRPCCredentials(rpcAuth{md: md, tls: secure}))
	}
	conn, err := grpc.NewClient("passthrough:///"+host, opts...)
	if err != nil {
		return nil, fmt.Errorf("Jaeger at %s: %w", clean, err)
	}
	return &grpcBackend{conn: conn, qs: api.NewQueryServiceClient(conn), url: clean, ep: ep, sleep: httpx.SleepCtx}, nil
}

func (g *grpcBackend) close() error { return g.conn.Close() }

// retry runs call with a per-attempt timeout, trying again with backoff on what may succeed next time
// (Unavailable other than a refused connection, ResourceExhausted, Aborted), never on anything else.
func (g *grpcBackend) retry(ctx context.Context, what string, call func(ctx context.Context) error) error {
	backoff := 200 * time.Millisecond
	for attempt := 0; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, g.ep.Timeout)
		err := call(actx)
		cancel()
		if err == nil {
			return nil
		}
		if !g.retryable(err) || attempt >= g.ep.Retries || ctx.Err() != nil {
			return g.explain(what, err, ctx)
		}
		if serr := g.sleep(ctx, backoff); serr != nil {
			return g.explain(what, serr, ctx)
		}
		backoff *= 2
	}
}

func (g *grpcBackend) retryable(err error) bool {
	var nf *NotFoundError
	if errors.As(err, &nf) || errors.Is(err, httpx.ErrTooLarge) {
		return false
	}
	switch status.Code(err) {
	case codes.Unavailable:
		return !refused(err) && !tlsFailure(status.Convert(err).Message())
	case codes.ResourceExhausted:
		return !strings.Contains(status.Convert(err).Message(), "larger than max")
	case codes.Aborted:
		return true
	}
	return false
}

func refused(err error) bool {
	return errors.Is(err, errRefused) || strings.Contains(status.Convert(err).Message(), "connection refused")
}

var errRefused = errors.New("connection refused")

// causeError is a message for people over a cause for errors.Is.
type causeError struct {
	msg string
	err error
}

func (e *causeError) Error() string { return e.msg }
func (e *causeError) Unwrap() error { return e.err }

// tlsFailure says a connection failed in the TLS handshake: retrying will not help.
func tlsFailure(msg string) bool {
	return strings.Contains(msg, "certificate") || strings.Contains(msg, "tls:") || strings.Contains(msg, "handshake")
}

// explain turns a gRPC failure into one line naming the URL and what to check. Messages from the server
// are kept; credentials never reach them (they travel as metadata, which errors do not carry).
func (g *grpcBackend) explain(what string, err error, parent context.Context) error {
	var nf *NotFoundError
	if errors.As(err, &nf) || errors.Is(err, httpx.ErrTooLarge) || errors.Is(err, errNoGRPCV3) {
		return err
	}
	at := fmt.Sprintf("Jaeger at %s (%s)", g.url, what)
	st, _ := status.FromError(err)
	switch {
	case parent.Err() == context.Canceled || errors.Is(err, context.Canceled):
		return fmt.Errorf("%s: cancelled", at)
	case errors.Is(err, context.DeadlineExceeded) || st.Code() == codes.DeadlineExceeded:
		return &causeError{msg: fmt.Sprintf("%s: no answer within %s; is Jaeger overloaded, or is the query too broad? (raise --timeout)", at, g.ep.Timeout), err: context.DeadlineExceeded}
	case refused(err):
		return fmt.Errorf("%s: connection refused; is Jaeger running there, and is --jaeger-url right (gRPC query port 16685)?", at)
	case st.Code() == codes.Unauthenticated || st.Code() == codes.PermissionDenied:
		return fmt.Errorf("%s: %s: %s (check the token or username/password in the config or DBG_* environment)", at, st.Code(), st.Message())
	case st.Code() == codes.Unavailable:
		msg := st.Message()
		if tlsFailure(msg) {
			return fmt.Errorf("%s: TLS failed (%s); set the CA file in the config, or use grpc:// if the port is plaintext", at, msg)
		}
		return fmt.Errorf("%s: unavailable (%s); is --jaeger-url the gRPC query port (16685)?", at, msg)
	case st.Code() == codes.Unimplemented:
		return fmt.Errorf("%s: %s; is --jaeger-url Jaeger's gRPC query port (16685), not the collector's?", at, st.Message())
	case st.Code() == codes.ResourceExhausted:
		return fmt.Errorf("%s: %s; %w: raise jaeger-max-response-bytes in the config if this is expected", at, st.Message(), httpx.ErrTooLarge)
	}
	if st != nil && st.Code() != codes.Unknown {
		return fmt.Errorf("%s: %s: %s", at, st.Code(), st.Message())
	}
	return fmt.Errorf("%s: %v", at, err)
}

func (g *grpcBackend) trace(ctx context.Context, id string) (*investigate.Trace, error) {
	tid, err := model.TraceIDFromString(id)
	if err != nil {
		return nil, fmt.Errorf("trace ID %q: %w", id, err)
	}
	var out *investigate.Trace
	if !g.v2only.Load() {
		err := g.retry(ctx, "GetTrace", func(ctx context.Context) error {
			ts, err := g.streamV3(ctx, v3GetTrace, v3GetTraceRequest(id))
			if status.Code(err) == codes.NotFound {
				return &NotFoundError{ID: id, URL: g.url}
			}
			if err != nil {
				return err
			}
			out = pick(ts, id)
			return nil
		})
		if !errors.Is(err, errNoGRPCV3) {
			return out, err
		}
		g.v2only.Store(true)
	}
	err = g.retry(ctx, "GetTrace", func(ctx context.Context) error {
		stream, err := g.qs.GetTrace(ctx, &api.GetTraceRequest{TraceID: tid})
		if err != nil {
			return err
		}
		ts, err := g.collect(stream.Recv)
		if status.Code(err) == codes.NotFound {
			return &NotFoundError{ID: id, URL: g.url}
		}
		if err != nil {
			return err
		}
		out = pick(ts, id)
		return nil
	})
	return out, err
}

// collect reads a span stream chunk by chunk, converting each chunk as it arrives so only one chunk's
// wire form is held at a time, and groups spans by trace ID in first-seen order.
func (g *grpcBackend) collect(recv func() (*api.SpansResponseChunk, error)) ([]*investigate.Trace, error) {
	byID := map[string]*investigate.Trace{}
	var order []*investigate.Trace
	var total int64
	for {
		chunk, err := recv()
		if err == io.EOF {
			return order, nil
		}
		if err != nil {
			return nil, err
		}
		total += int64(chunk.Size())
		if total > g.ep.MaxBytes {
			return nil, fmt.Errorf("Jaeger at %s: %w of %d MiB; raise jaeger-max-response-bytes in the config if this is expected", g.url, httpx.ErrTooLarge, g.ep.MaxBytes>>20)
		}
		if err := g.ep.Budget.Take(int64(chunk.Size())); err != nil { // the run's budget, shared with the other sources
			return nil, fmt.Errorf("Jaeger at %s: %w", g.url, err)
		}
		for _, part := range convertModelSpans(chunk.Spans) {
			tr := byID[part.ID]
			if tr == nil {
				tr = &investigate.Trace{ID: part.ID}
				byID[part.ID] = tr
				order = append(order, tr)
			}
			tr.Spans = append(tr.Spans, part.Spans...)
			tr.Warnings = append(tr.Warnings, part.Warnings...)
		}
	}
}

// convertModelSpans turns one chunk of jaeger-idl spans into investigate traces (one per trace ID in the
// chunk), straight from the wire model. Tags, kind and status are read by the same function as the
// classic JSON's (applySpanTags), so both APIs read a span the same way. Times are kept to the
// microsecond, as Jaeger stores them and as the HTTP API writes them.
func convertModelSpans(spans []model.Span) []*investigate.Trace {
	byID := map[string]*investigate.Trace{}
	missing := map[*investigate.Trace]int{}
	var order []*investigate.Trace
	for i := range spans {
		ms := &spans[i]
		id := ms.TraceID.String()
		tr := byID[id]
		if tr == nil {
			tr = &investigate.Trace{ID: id}
			byID[id] = tr
			order = append(order, tr)
		}
		s := investigate.Span{TraceID: id, SpanID: ms.SpanID.String(), Operation: ms.OperationName,
			Start: ms.StartTime.Truncate(time.Microsecond).UTC(), Duration: ms.Duration.Truncate(time.Microsecond),
			Attrs: modelAttrs(ms.Tags)}
		if ms.Process != nil {
			s.Service, s.Resource = ms.Process.ServiceName, modelAttrs(ms.Process.Tags)
		} else {
			s.Service = "unknown"
			missing[tr]++
		}
		for _, r := range ms.References {
			follows := r.RefType == model.FollowsFrom
			refTrace := r.TraceID.String()
			if s.ParentID == "" && refTrace == id {
				s.ParentID, s.FollowsFrom = r.SpanID.String(), follows
				continue
			}
			if r.SpanID.String() == s.ParentID {
				continue
			}
			typ := investigate.RefChildOf
			if follows {
				typ = investigate.RefFollowsFrom
			}
			s.Links = append(s.Links, investigate.Link{TraceID: refTrace, SpanID: r.SpanID.String(), Type: typ})
		}
		for _, l := range ms.Logs {
			attrs := modelAttrs(l.Fields)
			s.Events = append(s.Events, investigate.Event{Name: attrs.First("event", "message"), Time: l.Timestamp.Truncate(time.Microsecond).UTC(), Attrs: attrs})
		}
		applySpanTags(&s)
		tr.Spans = append(tr.Spans, s)
		tr.Warnings = append(tr.Warnings, ms.Warnings...)
	}
	for _, tr := range order {
		if n := missing[tr]; n > 0 {
			tr.Warnings = append(tr.Warnings, strconv.Itoa(n)+" span(s) have no process; service shown as \"unknown\"")
		}
		tr.Warnings = investigate.Distinct(tr.Warnings)
	}
	return order
}

// modelAttrs keeps each tag's value as text, as the classic JSON decoder does.
func modelAttrs(kvs []model.KeyValue) investigate.Attrs {
	if len(kvs) == 0 {
		return nil
	}
	out := make(investigate.Attrs, len(kvs))
	for i := range kvs {
		out[i] = investigate.Attr{Key: kvs[i].Key, Value: kvs[i].AsString()}
	}
	return out
}

func (g *grpcBackend) search(ctx context.Context, q investigate.TraceQuery) ([]*investigate.Trace, error) {
	end := q.End
	if end.IsZero() {
		end = time.Now()
	}
	start := q.Start
	if start.IsZero() {
		start = end.Add(-time.Hour)
	}
	var out []*investigate.Trace
	if !g.v2only.Load() {
		req := v3FindTracesRequest(q, start, end)
		err := g.retry(ctx, "FindTraces", func(ctx context.Context) error {
			ts, err := g.streamV3(ctx, v3FindTraces, req)
			if status.Code(err) == codes.NotFound {
				ts, err = nil, nil
			}
			out = ts
			return err
		})
		if !errors.Is(err, errNoGRPCV3) {
			return out, err
		}
		g.v2only.Store(true)
	}
	params := &api.TraceQueryParameters{
		ServiceName: q.Service, OperationName: q.Operation, Tags: q.Tags,
		StartTimeMin: start, StartTimeMax: end,
		DurationMin: q.MinDuration, DurationMax: q.MaxDuration,
		SearchDepth: int32(min(q.Limit, 1<<30)),
	}
	err := g.retry(ctx, "FindTraces", func(ctx context.Context) error {
		stream, err := g.qs.FindTraces(ctx, &api.FindTracesRequest{Query: params})
		if err != nil {
			return err
		}
		ts, err := g.collect(stream.Recv)
		if status.Code(err) == codes.NotFound {
			out = nil
			return nil
		}
		out = ts
		return err
	})
	return out, err
}

func (g *grpcBackend) services(ctx context.Context) ([]string, error) {
	var out []string
	err := g.retry(ctx, "GetServices", func(ctx context.Context) error {
		r, err := g.qs.GetServices(ctx, &api.GetServicesRequest{})
		if err != nil {
			return err
		}
		out = r.Services
		return nil
	})
	return sorted(out), err
}

func (g *grpcBackend) operations(ctx context.Context, service string) ([]string, error) {
	var out []string
	err := g.retry(ctx, "GetOperations", func(ctx context.Context) error {
		r, err := g.qs.GetOperations(ctx, &api.GetOperationsRequest{Service: service})
		if err != nil {
			return err
		}
		out = r.OperationNames
		for _, o := range r.Operations {
			out = append(out, o.Name)
		}
		return nil
	})
	return sorted(out), err
}
