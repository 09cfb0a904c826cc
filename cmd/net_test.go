package cmd

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dbgtool/dbg/investigate"
)

func TestNetCommandJSON(t *testing.T) {
	for _, file := range []string{"incident.pcap", "incident.pcapng"} {
		code, out, errOut := runDbg(t, nil, "net", "--file", filepath.Join("..", "testdata", "net", file), "--output", "json",
			"--name", "10.99.0.13:9000=ledger")
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", file, code, errOut)
		}
		var rep investigate.NetReport
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatal(err)
		}
		if rep.Packets == 0 || rep.Flows == 0 || len(rep.Endpoints) == 0 || len(rep.Connections) == 0 {
			t.Fatalf("%s: empty report: %+v", file, rep)
		}
		var refused *investigate.Finding
		for i, f := range rep.Findings {
			if f.Kind == investigate.KindConnectionRefused {
				refused = &rep.Findings[i]
			}
		}
		if refused == nil || refused.Service != "ledger" || refused.Evidence["server"] != "10.99.0.13:9000" {
			t.Fatalf("%s: refused finding not named: %+v", file, refused)
		}
		for _, k := range []string{"\"packets\"", "\"window\"", "\"flows\"", "\"endpoints\"", "\"connections\"", "\"findings\"", "\"p50_ms\"", "\"rtt_ms\""} {
			if !strings.Contains(out, k) {
				t.Errorf("%s: JSON lacks %s", file, k)
			}
		}
	}
}

func TestNetCommandStdinTableAndErrors(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "testdata", "net", "incident.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	f, out, errOut := testFactory(nil)
	f.IO.In = strings.NewReader(string(data))
	if code := Run(t.Context(), f, []string{"net", "--file", "-", "--filter", "host 10.99.0.13 or port 50051"}); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"connection_refused", "TCP BY SERVER", "EXPERT INFO", "/shop.Inventory/Reserve"} { // sections in capitals, as every table report
		if !strings.Contains(out.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out.String(), "10.99.0.11:8080") {
		t.Errorf("--filter let 10.99.0.11 through:\n%s", out)
	}
	cases := []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"net"}, ExitUsage, "--file is required"},
		{[]string{"net", "--file", "x.pcap", "--filter", "tcp[13] & 2 != 0"}, ExitUsage, "cgo"},
		{[]string{"net", "--file", filepath.Join("..", "go.mod")}, 1, "not a pcap"},
		{[]string{"net", "--file", "/nonexistent.pcap"}, 1, "open capture"},
		{[]string{"net", "--file", filepath.Join("..", "testdata", "net", "incident.pcap"), "--fail-on", "high"}, ExitFailOn, "--fail-on high"},
	}
	for _, c := range cases {
		code, _, errOut := runDbg(t, nil, c.args...)
		if code != c.code || !strings.Contains(errOut, c.msg) || strings.Count(strings.TrimSpace(errOut), "\n") > 0 {
			t.Errorf("%v: exit %d, stderr %q; want %d with %q on one line", c.args, code, errOut, c.code, c.msg)
		}
	}
}

func TestNetPolicyCommand(t *testing.T) {
	dir := filepath.Join("..", "testdata", "netpolicy")
	code, out, errOut := runDbg(t, nil, "net", "policy", "--from", "shop/payment", "--to", "shop/ledger", "--port", "50051", "-f", dir, "-o", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var v struct {
		Allowed bool
		Egress  struct{ Allowed bool }
		Ingress struct {
			Allowed   bool
			AllowedBy []struct{ Policy string } `json:"allowed_by"`
		}
		Decision string
	}
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatal(err)
	}
	if v.Allowed || v.Egress.Allowed || !v.Ingress.Allowed || v.Ingress.AllowedBy[0].Policy != "shop/ledger-ingress" {
		t.Errorf("payment → ledger: %s", out)
	}
	code, out, _ = runDbg(t, nil, "net", "policy", "--from", "shop/checkout", "--to", "shop/payment", "--port", "8080", "-f", dir)
	if code != 0 || !strings.HasPrefix(out, "ALLOWED") {
		t.Errorf("checkout → payment: exit %d\n%s", code, out)
	}
	for _, args := range [][]string{
		{"net", "policy", "--from", "shop/a", "--to", "shop/b", "-f", dir},
		{"net", "policy", "--from", "nonamespace", "--to", "shop/b", "--port", "1", "-f", dir},
		{"net", "policy", "--from", "shop/a", "--to", "shop/b", "--port", "1", "-f", dir, "--protocol", "icmp"},
	} {
		if code, _, errOut := runDbg(t, nil, args...); code != ExitUsage || strings.Count(strings.TrimSpace(errOut), "\n") > 0 {
			t.Errorf("%v: exit %d %q", args, code, errOut)
		}
	}
}

// The checklist's step 6 reads --pcap and --envoy-admin, and each network finding names the edge it explains.
func TestChecklistNetworkEvidence(t *testing.T) {
	code, out, errOut := runDbg(t, nil, "checklist", "--service", "payment", "--pcap", filepath.Join("..", "testdata", "net", "incident.pcap"),
		"--envoy-admin", filepath.Join("..", "testdata", "envoy"), "--output", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var rep struct {
		Steps []struct {
			Number   int
			Findings []investigate.Finding
		}
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	kinds := map[string]string{}
	for _, s := range rep.Steps {
		if s.Number != 6 {
			continue
		}
		for _, f := range s.Findings {
			kinds[f.Kind+" "+f.Service] = f.Title
		}
	}
	for _, want := range []string{"connection_refused 10.99.0.13:9000", "tcp_retransmits 10.99.0.15:8080", "saturation ledger", "dependency shipping"} {
		title, ok := kinds[want]
		if !ok || !strings.HasPrefix(title, "payment→") {
			t.Errorf("step 6 lacks %q on the payment edge (got %q); all: %v", want, title, kinds)
		}
	}
}

func TestNetMarkdown(t *testing.T) {
	code, out, errOut := runDbg(t, nil, "net", "--file", filepath.Join("..", "testdata", "net", "incident.pcap"), "-o", "markdown")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"## dbg net", "| connection_refused", "/shop.Inventory/Reserve"} {
		if !strings.Contains(out, want) {
			t.Errorf("markdown lacks %q", want)
		}
	}
	if strings.Contains(out, "\x1b[") {
		t.Error("markdown carries terminal escapes")
	}
}
