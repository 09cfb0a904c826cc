package jaeger

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/dbgtool/dbg/investigate"
	"github.com/dbgtool/dbg/sources/httpx"
	"github.com/dbgtool/dbg/sources/otlp"
)

// Jaeger's api_v3 QueryService answers traces as OTLP TracesData, which pdata decodes directly, and spares
// Jaeger the conversion of every span to its v1 model that api_v2 needs (about 2× faster end to end on a
// 1,000-trace search). jaeger-idl publishes only its .proto, no Go client, so the two requests dbg sends
// are encoded here field by field and the answers handed to pdata. A Jaeger without api_v3 answers
// Unimplemented and dbg uses api_v2 from then on.
const (
	v3GetTrace   = "/jaeger.api_v3.QueryService/GetTrace"
	v3FindTraces = "/jaeger.api_v3.QueryService/FindTraces"
)

// errNoGRPCV3 says the server has no api_v3.
var errNoGRPCV3 = errors.New("no api_v3 on this Jaeger")

// rawCodec passes messages through as bytes: requests are encoded by the functions below, answers
// decoded by pdata.
type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error) {
	b, ok := v.(*[]byte)
	if !ok {
		return nil, fmt.Errorf("jaeger grpc: cannot marshal %T", v)
	}
	return *b, nil
}

func (rawCodec) Unmarshal(data []byte, v any) error {
	b, ok := v.(*[]byte)
	if !ok {
		return fmt.Errorf("jaeger grpc: cannot unmarshal into %T", v)
	}
	*b = append((*b)[:0], data...)
	return nil
}

func (rawCodec) Name() string { return "proto" }

// v3GetTraceRequest encodes api_v3 GetTraceRequest{trace_id: id}.
func v3GetTraceRequest(id string) []byte {
	b := protowire.AppendTag(nil, 1, protowire.BytesType)
	return protowire.AppendString(b, id)
}

func appendTimestamp(b []byte, field protowire.Number, t time.Time) []byte {
	var m []byte
	if s := t.Unix(); s != 0 {
		m = protowire.AppendTag(m, 1, protowire.VarintType)
		m = protowire.AppendVarint(m, uint64(s))
	}
	if n := t.Nanosecond(); n != 0 {
		m = protowire.AppendTag(m, 2, protowire.VarintType)
		m = protowire.AppendVarint(m, uint64(n))
	}
	b = protowire.AppendTag(b, field, protowire.BytesType)
	return protowire.AppendBytes(b, m)
}

func appendDuration(b []byte, field protowire.Number, d time.Duration) []byte {
	var m []byte
	if s := int64(d / time.Second); s != 0 {
		m = protowire.AppendTag(m, 1, protowire.VarintType)
		m = protowire.AppendVarint(m, uint64(s))
	}
	if n := int64(d % time.Second); n != 0 {
		m = protowire.AppendTag(m, 2, protowire.VarintType)
		m = protowire.AppendVarint(m, uint64(n))
	}
	b = protowire.AppendTag(b, field, protowire.BytesType)
	return protowire.AppendBytes(b, m)
}

// v3FindTracesRequest encodes api_v3 FindTracesRequest{query: TraceQueryParameters{...}}. User values go
// as protobuf strings, never into an expression.
func v3FindTracesRequest(q investigate.TraceQuery, start, end time.Time) []byte {
	var p []byte
	p = protowire.AppendTag(p, 1, protowire.BytesType)
	p = protowire.AppendString(p, q.Service)
	if q.Operation != "" {
		p = protowire.AppendTag(p, 2, protowire.BytesType)
		p = protowire.AppendString(p, q.Operation)
	}
	keys := make([]string, 0, len(q.Tags))
	for k := range q.Tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		var e []byte
		e = protowire.AppendTag(e, 1, protowire.BytesType)
		e = protowire.AppendString(e, k)
		e = protowire.AppendTag(e, 2, protowire.BytesType)
		e = protowire.AppendString(e, q.Tags[k])
		p = protowire.AppendTag(p, 3, protowire.BytesType)
		p = protowire.AppendBytes(p, e)
	}
	p = appendTimestamp(p, 4, start)
	p = appendTimestamp(p, 5, end)
	if q.MinDuration > 0 {
		p = appendDuration(p, 6, q.MinDuration)
	}
	if q.MaxDuration > 0 {
		p = appendDuration(p, 7, q.MaxDuration)
	}
	p = protowire.AppendTag(p, 8, protowire.VarintType)
	p = protowire.AppendVarint(p, uint64(min(q.Limit, 1<<30)))
	b := protowire.AppendTag(nil, 1, protowire.BytesType)
	return protowire.AppendBytes(b, p)
}

// streamV3 sends one request on a server-streaming api_v3 method and collects the TracesData chunks,
// converting each as it arrives.
func (g *grpcBackend) streamV3(ctx context.Context, method string, req []byte) ([]*investigate.Trace, error) {
	stream, err := g.conn.NewStream(ctx, &grpc.StreamDesc{ServerStreams: true}, method, grpc.ForceCodec(rawCodec{}))
	if err != nil {
		return nil, err
	}
	if err := stream.SendMsg(&req); err != nil {
		return nil, err
	}
	if err := stream.CloseSend(); err != nil {
		return nil, err
	}
	byID := map[string]*investigate.Trace{}
	var order []*investigate.Trace
	var total int64
	var buf []byte
	var u ptrace.ProtoUnmarshaler
	for {
		if err := stream.RecvMsg(&buf); err == io.EOF {
			return order, nil
		} else if err != nil {
			if status.Code(err) == codes.Unimplemented {
				return nil, errNoGRPCV3
			}
			return nil, err
		}
		total += int64(len(buf))
		if total > g.ep.MaxBytes {
			return nil, fmt.Errorf("Jaeger at %s: %w of %d MiB; raise jaeger-max-response-bytes in the config if this is expected", g.url, httpx.ErrTooLarge, g.ep.MaxBytes>>20)
		}
		td, err := u.UnmarshalTraces(buf)
		if err != nil {
			return nil, fmt.Errorf("Jaeger at %s: unreadable api_v3 answer: %w", g.url, err)
		}
		for _, part := range otlp.Convert(td) {
			tr := byID[part.ID]
			if tr == nil {
				byID[part.ID] = part
				order = append(order, part)
				continue
			}
			tr.Spans = append(tr.Spans, part.Spans...)
			tr.Warnings = append(tr.Warnings, part.Warnings...)
		}
	}
}
