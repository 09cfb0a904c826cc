package cmd

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"time"

	"github.com/dbgtool/dbg/checklist"
	"github.com/dbgtool/dbg/sources/httpx"
)

// httpProber sends --probe requests: plain GETs, each with a fresh X-Correlation-ID, one after another.
type httpProber struct {
	ep    httpx.Endpoint
	count int
}

func (p httpProber) Probe(ctx context.Context) ([]checklist.ProbeResult, error) {
	ep := p.ep
	ep.Retries = -1 // a probe measures what a user gets: no retries
	c, err := httpx.New(ep)
	if err != nil {
		return nil, err
	}
	out := make([]checklist.ProbeResult, 0, p.count)
	for i := 0; i < p.count; i++ {
		b := make([]byte, 8)
		rand.Read(b)
		id := "dbg-probe-" + hex.EncodeToString(b)
		start := time.Now()
		r := checklist.ProbeResult{CorrelationID: id, Status: 200}
		_, err := c.Do(ctx, httpx.Request{Header: map[string][]string{"X-Correlation-Id": {id}}})
		r.LatencyMs = float64(time.Since(start).Microseconds()) / 1000
		if err != nil {
			r.Error = err.Error()
			r.Status = 0
			if se, ok := err.(*httpx.StatusError); ok {
				r.Status = se.Code
			}
		}
		out = append(out, r)
	}
	return out, nil
}
