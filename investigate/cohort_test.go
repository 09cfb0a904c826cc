package investigate_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/dbgtool/dbg/internal/incidentgen"
	"github.com/dbgtool/dbg/investigate"
)

// TestCohorts: failing requests that all carry one attribute value stand out; an attribute every request
// has, or one spread evenly over good and bad, does not.
func TestCohorts(t *testing.T) {
	var window []*investigate.TraceReport
	t0 := incidentgen.End.Add(-10 * time.Minute)
	for i := 0; i < 20; i++ {
		tier, region := "free", []string{"eu", "us", "ap"}[i%3]
		bad := i%4 == 0 // 5 of 20 fail, all on the gold tier
		if bad {
			tier = "gold"
		}
		s := investigate.Span{TraceID: fmt.Sprint("t", i), SpanID: "r", Service: "api", Operation: "GET /", Kind: investigate.KindServer,
			Start: t0.Add(time.Duration(i) * time.Second), Duration: 20 * time.Millisecond,
			Attrs:    investigate.Attrs{{Key: "user.tier", Value: tier}, {Key: "cloud.region", Value: region}, {Key: "http.route", Value: "/"}},
			Resource: investigate.Attrs{{Key: "service.version", Value: "1.0"}}}
		if bad {
			s.Status = investigate.StatusError
		}
		window = append(window, investigate.AnalyzeTrace(&investigate.Trace{ID: s.TraceID, Spans: []investigate.Span{s}}, investigate.DefaultTraceOptions()))
	}
	cs := investigate.Cohorts(window, nil, "api")
	if len(cs) == 0 || cs[0].Attribute != "user.tier" || cs[0].Value != "gold" || cs[0].BadRatio != 1 || cs[0].Traces != 5 {
		t.Fatalf("cohorts %+v, want user.tier=gold first", cs)
	}
	for _, c := range cs {
		if c.Attribute == "cloud.region" || c.Attribute == "service.version" || c.Attribute == "http.route" {
			t.Errorf("%s=%s should not stand out: %+v", c.Attribute, c.Value, c)
		}
	}
}
