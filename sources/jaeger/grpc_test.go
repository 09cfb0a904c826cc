package jaeger

import (
	"context"
	"encoding/base64"
	"encoding/pem"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	model "github.com/jaegertracing/jaeger-idl/model/v1"
	api "github.com/jaegertracing/jaeger-idl/proto-gen/api_v2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/dbgtool/dbg/investigate"
	"github.com/dbgtool/dbg/sources/httpx"
)

// fakeQuery is a QueryService that answers one known trace in two chunks and checks credentials.
type fakeQuery struct {
	api.UnimplementedQueryServiceServer
	wantAuth string
	gotAuth  chan string
	spans    []model.Span
	lastFind *api.TraceQueryParameters
}

func (f *fakeQuery) auth(ctx context.Context) error {
	md, _ := metadata.FromIncomingContext(ctx)
	got := strings.Join(md.Get("authorization"), ",")
	select {
	case f.gotAuth <- got:
	default:
	}
	if got != f.wantAuth {
		// Echo the credential back, as a careless server might.
		return status.Errorf(codes.Unauthenticated, "bad credentials %q", got)
	}
	return nil
}

func (f *fakeQuery) GetTrace(req *api.GetTraceRequest, stream api.QueryService_GetTraceServer) error {
	if err := f.auth(stream.Context()); err != nil {
		return err
	}
	if req.TraceID != f.spans[0].TraceID {
		return status.Error(codes.NotFound, "trace not found")
	}
	if err := stream.Send(&api.SpansResponseChunk{Spans: f.spans[:1]}); err != nil {
		return err
	}
	return stream.Send(&api.SpansResponseChunk{Spans: f.spans[1:]})
}

func (f *fakeQuery) FindTraces(req *api.FindTracesRequest, stream api.QueryService_FindTracesServer) error {
	if err := f.auth(stream.Context()); err != nil {
		return err
	}
	f.lastFind = req.Query
	return stream.Send(&api.SpansResponseChunk{Spans: f.spans})
}

func (f *fakeQuery) GetServices(ctx context.Context, _ *api.GetServicesRequest) (*api.GetServicesResponse, error) {
	if err := f.auth(ctx); err != nil {
		return nil, err
	}
	return &api.GetServicesResponse{Services: []string{"payment", "checkout", "checkout"}}, nil
}

func modelSpans(t testing.TB) []model.Span {
	tid, err := model.TraceIDFromString(checkoutID)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 11, 3, 3, 12, 0, 0, time.UTC)
	root := model.Span{
		TraceID: tid, SpanID: 1, OperationName: "POST /orders", StartTime: t0, Duration: 300 * time.Millisecond,
		Tags:    []model.KeyValue{model.String("span.kind", "server"), model.Int64("http.response.status_code", 502)},
		Process: &model.Process{ServiceName: "checkout"},
	}
	child := model.Span{
		TraceID: tid, SpanID: 2, OperationName: "Charge", StartTime: t0.Add(10 * time.Millisecond), Duration: 250 * time.Millisecond,
		References: []model.SpanRef{model.NewChildOfRef(tid, 1)},
		Tags: []model.KeyValue{model.String("span.kind", "client"), model.Bool("error", true),
			model.String("peer.service", "payment")},
		Logs: []model.Log{{Timestamp: t0.Add(200 * time.Millisecond), Fields: []model.KeyValue{
			model.String("event", "exception"), model.String("exception.type", "CardDeclined"), model.String("exception.message", "declined")}}},
		Process: &model.Process{ServiceName: "checkout"},
	}
	return []model.Span{root, child}
}

func startFake(t *testing.T, f *fakeQuery) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(grpc.ForceServerCodec(gogoCodec{}))
	api.RegisterQueryServiceServer(srv, f)
	go srv.Serve(ln)
	t.Cleanup(srv.Stop)
	return "grpc://" + ln.Addr().String()
}

func TestGRPC(t *testing.T) {
	const token = "grpc-TOKEN-s3cret"
	f := &fakeQuery{wantAuth: "Bearer " + token, gotAuth: make(chan string, 16), spans: modelSpans(t)}
	u := startFake(t, f)
	c, _ := newTestClient(t, httpx.Endpoint{URL: u, Token: token})
	ctx := context.Background()

	tr, err := c.Trace(ctx, checkoutID)
	if err != nil {
		t.Fatal(err)
	}
	if tr.ID != checkoutID || len(tr.Spans) != 2 || tr.Spans[1].ParentID != tr.Spans[0].SpanID || tr.Spans[1].Service != "checkout" {
		t.Fatalf("trace %s: %+v", tr.ID, tr.Spans)
	}
	rep := investigate.AnalyzeTrace(tr, investigate.DefaultTraceOptions())
	if len(rep.Findings) == 0 || rep.Findings[0].Kind != investigate.KindErrorOrigin || rep.Findings[0].Evidence["exception_type"] != "CardDeclined" {
		t.Fatalf("findings: %+v", rep.Findings)
	}

	if !c.b.(*grpcBackend).v2only.Load() {
		t.Error("a server without api_v3 did not make the client fall back to api_v2")
	}
	_, err = c.Trace(ctx, "abc")
	if err == nil || err.Error() != "trace abc not found in Jaeger at "+u+" (check the ID and that the trace is still retained)" {
		t.Fatalf("not found: %v", err)
	}

	start := time.Date(2026, 11, 3, 3, 0, 0, 0, time.UTC)
	ts, err := c.Search(ctx, investigate.TraceQuery{Service: "checkout", Operation: "POST /orders", Start: start, End: start.Add(time.Hour),
		MinDuration: 100 * time.Millisecond, Tags: map[string]string{"peer.service": "payment"}, Limit: 5})
	if err != nil || len(ts) != 1 {
		t.Fatalf("search: %v, %d traces", err, len(ts))
	}
	q := f.lastFind
	if q.ServiceName != "checkout" || q.OperationName != "POST /orders" || q.Tags["peer.service"] != "payment" ||
		q.DurationMin != 100*time.Millisecond || q.SearchDepth != 5 || !q.StartTimeMin.Equal(start) {
		t.Errorf("query sent: %+v", q)
	}

	svcs, err := c.Services(ctx)
	if err != nil || strings.Join(svcs, ",") != "checkout,payment" {
		t.Fatalf("services: %v %v", svcs, err)
	}
	if got := <-f.gotAuth; got != "Bearer "+token {
		t.Errorf("authorization sent: %q", got)
	}

	// Wrong credentials: one line, the code, no secret even though the server echoes it.
	bad, _ := newTestClient(t, httpx.Endpoint{URL: u, Token: "wrong-TOKEN-xyz"})
	_, err = bad.Trace(ctx, checkoutID)
	if err == nil || !strings.Contains(err.Error(), "Unauthenticated") || strings.Contains(err.Error(), "wrong-TOKEN-xyz") ||
		!strings.Contains(err.Error(), "Jaeger at "+u) {
		t.Fatalf("unauthenticated: %v", err)
	}
}

func TestGRPCTooLarge(t *testing.T) {
	f := &fakeQuery{wantAuth: "", gotAuth: make(chan string, 16), spans: modelSpans(t)}
	u := startFake(t, f)
	c, _ := newTestClient(t, httpx.Endpoint{URL: u, MaxBytes: 64})
	_, err := c.Trace(context.Background(), checkoutID)
	if err == nil || !strings.Contains(err.Error(), "larger than the size limit") {
		t.Fatalf("err = %v", err)
	}
}

// TestGRPCS checks grpcs://: an unknown CA is one clear line, the CA file makes it work, and basic auth
// travels over the TLS connection.
func TestGRPCS(t *testing.T) {
	ts := httptest.NewUnstartedServer(nil) // only for its self-signed certificate
	ts.StartTLS()
	cert, leaf := ts.TLS.Certificates[0], ts.Certificate()
	ts.Close()
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leaf.Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte("ops:pw-TLS-secret"))
	f := &fakeQuery{wantAuth: basic, gotAuth: make(chan string, 16), spans: modelSpans(t)}
	srv := grpc.NewServer(grpc.ForceServerCodec(gogoCodec{}), grpc.Creds(credentials.NewServerTLSFromCert(&cert)))
	api.RegisterQueryServiceServer(srv, f)
	go srv.Serve(ln)
	t.Cleanup(srv.Stop)
	// The certificate names 127.0.0.1 and example.com.
	u := "grpcs://" + ln.Addr().String()

	untrusted, _ := newTestClient(t, httpx.Endpoint{URL: u, Username: "ops", Password: "pw-TLS-secret", Timeout: 5 * time.Second})
	_, err = untrusted.Trace(context.Background(), checkoutID)
	if err == nil || !strings.Contains(err.Error(), "TLS") || !strings.Contains(err.Error(), "CA file") || strings.Contains(err.Error(), "pw-TLS-secret") {
		t.Fatalf("untrusted certificate: %v", err)
	}
	trusted, _ := newTestClient(t, httpx.Endpoint{URL: u, Username: "ops", Password: "pw-TLS-secret", CAFile: caFile})
	if tr, err := trusted.Trace(context.Background(), checkoutID); err != nil || len(tr.Spans) != 2 {
		t.Fatalf("with the CA file: %v", err)
	}
	skip, _ := newTestClient(t, httpx.Endpoint{URL: u, Username: "ops", Password: "pw-TLS-secret", InsecureSkipVerify: true})
	if _, err := skip.Trace(context.Background(), checkoutID); err != nil {
		t.Fatalf("insecure-skip-verify: %v", err)
	}
	if _, err := New(httpx.Endpoint{URL: u, CAFile: filepath.Join(t.TempDir(), "missing.pem")}); err == nil || !strings.Contains(err.Error(), "CA file") {
		t.Fatalf("missing CA file: %v", err)
	}
}
