package chaos

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dbgtool/dbg/internal/demo"
	"github.com/dbgtool/dbg/internal/testserver"
	"github.com/dbgtool/dbg/investigate"
	"github.com/dbgtool/dbg/probe"
)

// demoSystem runs the demo's six services in this process, wired as the demo wires them except for
// two edges that go through a dbg chaos proxy each: payment → fraud-check (on the checkout path) and
// frontend → inventory (the product pages' path, not checkout's).
type demoSystem struct {
	urls                   map[string]string
	fraudProxy, itemsProxy *Proxy
}

func startDemo(t *testing.T) *demoSystem {
	t.Helper()
	ports := testserver.FreePorts(t, len(demo.Services))
	d := &demoSystem{urls: map[string]string{}}
	for i, name := range demo.Services {
		d.urls[name] = fmt.Sprintf("http://127.0.0.1:%d", ports[i])
	}
	d.fraudProxy = startProxy(t, ProxyConfig{HTTP: true, Upstream: d.urls[demo.Fraud], Duration: 10 * time.Minute})
	d.itemsProxy = startProxy(t, ProxyConfig{HTTP: true, Upstream: d.urls[demo.Inventory], Duration: 10 * time.Minute})
	peers := map[string]map[string]string{
		demo.Payment:  {demo.Fraud: "http://" + d.fraudProxy.Addr(), demo.Gateway: d.urls[demo.Gateway]},
		demo.Checkout: {demo.Inventory: d.urls[demo.Inventory], demo.Payment: d.urls[demo.Payment]},
		demo.Frontend: {demo.Checkout: d.urls[demo.Checkout], demo.Inventory: "http://" + d.itemsProxy.Addr()},
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}, len(demo.Services))
	t.Cleanup(func() {
		cancel()
		for range demo.Services {
			<-done
		}
	})
	dir := t.TempDir()
	for _, name := range demo.Services {
		cfg := demo.ServiceConfig{Name: name, Addr: strings.TrimPrefix(d.urls[name], "http://"), Peers: peers[name], BatchTimeout: time.Second}
		if name == demo.Inventory {
			cfg.DBPath, cfg.Rows = filepath.Join(dir, "inventory.db"), 2000
		}
		go func() {
			defer func() { done <- struct{}{} }()
			if err := demo.Serve(ctx, cfg, io.Discard); err != nil {
				t.Errorf("demo %s: %v", name, err)
			}
		}()
	}
	deadline := time.Now().Add(time.Minute)
	for _, name := range demo.Services {
		for {
			resp, err := http.Get(d.urls[name] + "/healthz")
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == 200 {
					break
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("demo %s did not start: %v", name, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return d
}

// checkoutProbe is what a user does: POST /checkout on the frontend.
func (d *demoSystem) checkoutProbe() probe.Options {
	body, _ := json.Marshal(demo.Order{Customer: "probe", SKUs: []string{demo.SKU(7), demo.SKU(42)}})
	return probe.Options{URL: d.urls[demo.Frontend] + "/checkout", Method: http.MethodPost, Body: body,
		Header: http.Header{"Content-Type": {"application/json"}}, Rate: probe.PerSecond(40), Requests: 40, Concurrency: 20}
}

// TestChaosRunAgainstTheDemo is the game day end to end. The demo's own fault (fraud-check's work
// 250 ms slower) plays the incident; the symptom is measured at checkout. Two hypotheses are planned
// from it: "fraud-check POST /score got that much slower" (true: the demo's fault is there) and "the
// frontend's inventory calls got that much slower" (false: checkout does not make them). With the demo
// healthy again (staging), chaos run reproduces each through the proxy on its edge: the true one is
// confirmed, the false one refuted.
func TestChaosRunAgainstTheDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("full tier: runs the demo system (about 20 s)")
	}
	d := startDemo(t)
	ctx := context.Background()
	po := d.checkoutProbe()
	healthy, err := probe.Run(ctx, po)
	if err != nil {
		t.Fatal(err)
	}
	if healthy.SuccessRatio < 0.9 {
		t.Fatalf("the healthy demo fails checkouts: %v %q", healthy.StatusCodes, healthy.ErrorSamples)
	}
	if _, err := demo.Inject(ctx, d.urls[demo.Fraud], demo.Fault{Kind: demo.KindSlowDownstream, Params: demo.Params{MS: 250}}); err != nil {
		t.Fatal(err)
	}
	incident, err := probe.Run(ctx, po)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := demo.Clear(ctx, d.urls[demo.Fraud], demo.KindSlowDownstream); err != nil {
		t.Fatal(err)
	}
	grew := incident.Latency.P50Ms - healthy.Latency.P50Ms
	if grew < 200 {
		t.Fatalf("the demo's fault did not show at checkout: p50 %.0f → %.0f ms", healthy.Latency.P50Ms, incident.Latency.P50Ms)
	}
	findings := []investigate.Finding{
		{Kind: investigate.KindSlowSpan, Tier: "root_cause", Score: 0.9, Service: demo.Fraud, Operation: "POST /score",
			Title: "fraud-check POST /score is slow", Evidence: map[string]any{"peer": "", "delta_ms": grew}},
		{Kind: investigate.KindSlowSpan, Tier: "contributing", Score: 0.5, Service: demo.Frontend, Operation: "GET /items/{sku}",
			Title: "frontend → inventory is slow", Evidence: map[string]any{"peer": demo.Inventory, "delta_ms": grew}},
	}
	plan := NewPlan(findings, PlanOptions{Service: demo.Frontend, ProbeURL: po.URL})
	if len(plan.Experiments) != 2 {
		t.Fatalf("plan %+v", plan)
	}
	for _, tc := range []struct {
		e     Experiment
		proxy *Proxy
		want  string
	}{
		{plan.Experiments[0], d.fraudProxy, Confirmed},
		{plan.Experiments[1], d.itemsProxy, Refuted},
	} {
		res, err := Run(ctx, RunOptions{Experiment: tc.e, Probe: po, Injector: AdminClient{URL: tc.proxy.AdminURL()}, Settle: 200 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		if res.Verdict != tc.want {
			t.Errorf("%s (%s): %s, want %s\n%s", tc.e.ID, tc.e.Hypothesis.Title, res.Verdict, tc.want, strings.Join(res.Evidence, "\n"))
		}
		if tc.proxy.Faults().Active() {
			t.Errorf("%s: the fault was left on", tc.e.ID)
		}
		t.Logf("%s %s: %s; %s", tc.e.ID, tc.e.Inject, res.Verdict, strings.Join(res.Evidence, "; "))
	}
}
