package elasticsearch

import (
	"context"
	"strings"
	"testing"
	"time"

	fault "github.com/dbgtool/dbg/internal/hostile"
	"github.com/dbgtool/dbg/investigate"
	"github.com/dbgtool/dbg/sources/httpx"
)

// TestOverloadedServerIsOneUnit: a server answering 503 (Retry-After: 0) to everything gets the point
// in time request and its client retries, and no search after it: the PIT and the search are one unit
// (it used to get 4 PIT requests, then 4 searches without a PIT).
func TestOverloadedServerIsOneUnit(t *testing.T) {
	srv := fault.New(fault.CountRequests)
	defer srv.Close()
	c, err := New(httpx.Endpoint{URL: srv.URL, Retries: 3}, Config{})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	_, err = c.Logs(context.Background(), investigate.LogQuery{Service: "a", Start: now.Add(-time.Hour), End: now},
		func(investigate.LogRecord) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "503") {
		t.Fatalf("err = %v", err)
	}
	if n := srv.Requests(); n != 4 {
		t.Errorf("%d requests to an overloaded server, want 4 (one PIT request and its 3 retries)", n)
	}
}
