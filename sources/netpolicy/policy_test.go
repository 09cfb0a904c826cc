package netpolicy

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestEvaluate(t *testing.T) {
	m, err := Load([]string{filepath.Join("..", "..", "testdata", "netpolicy")})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Cluster.Policies) != 6 || len(m.Workloads) != 3 || len(m.Warnings) != 0 {
		t.Fatalf("read %d policies, %d workloads, warnings %v", len(m.Cluster.Policies), len(m.Workloads), m.Warnings)
	}
	cases := []struct {
		from, to string
		port     int32
		proto    string
		allowed  bool
		decision string // a part of the decision line
	}{
		{"shop/checkout", "shop/payment", 8080, "", true, "shop/checkout-egress egress rule 1"},
		{"shop/checkout", "shop/payment", 9090, "", false, "none of their egress rules allows shop/payment on TCP/9090"},
		{"shop/payment", "shop/ledger", 50051, "", false, "shop/payment is isolated for egress"},
		{"monitoring/prometheus", "shop/payment", 9090, "", true, "shop/payment-ingress ingress rule 2 allows it (namespaceSelector purpose=monitoring, port 9090)"},
		{"monitoring/prometheus", "shop/payment", 8080, "", false, "shop/payment is isolated for ingress"},
		{"shop/payment", "93.184.216.34", 443, "", true, "ipBlock 0.0.0.0/0"},
		{"shop/payment", "169.254.169.254", 443, "", false, "isolated for egress"},
		{"shop/checkout", "shop/payment", 8080, "UDP", false, "UDP/8080"},
		{"other/x", "shop/checkout", 8080, "", false, "shop/checkout is isolated for ingress by shop/default-deny-all"},
		{"shop/ledger", "kube-system/coredns", 53, "UDP", false, ""},
	}
	for _, c := range cases {
		var as []string
		from, err := m.Resolve(c.from, "", &as)
		if err != nil {
			t.Fatal(err)
		}
		to, err := m.Resolve(c.to, "", &as)
		if err != nil {
			t.Fatal(err)
		}
		q := Query{From: from, To: to, Port: c.port}
		if c.proto != "" {
			q.Protocol = "UDP"
		}
		v := Evaluate(&m.Cluster, q)
		if v.Allowed != c.allowed || !strings.Contains(v.Decision, c.decision) {
			t.Errorf("%s → %s:%d: allowed=%v %q; want %v with %q", c.from, c.to, c.port, v.Allowed, v.Decision, c.allowed, c.decision)
		}
	}
	// kube-dns pods carry k8s-app=kube-dns: with those labels the DNS rule allows the egress.
	var as []string
	from, _ := m.Resolve("shop/ledger", "", &as)
	to, _ := m.Resolve("kube-system/coredns", "k8s-app=kube-dns", &as)
	if v := Evaluate(&m.Cluster, Query{From: from, To: to, Port: 53, Protocol: "UDP"}); !v.Egress.Allowed || v.Egress.AllowedBy[0].Policy != "shop/allow-dns" {
		t.Errorf("DNS egress: %+v", v.Egress)
	}
}

func TestNamespaceLabels(t *testing.T) {
	m, err := Load([]string{filepath.Join("..", "..", "testdata", "netpolicy", "policies.yaml")})
	if err != nil {
		t.Fatal(err)
	}
	var as []string
	from, _ := m.Resolve("monitoring/prometheus", "", &as)
	to, _ := m.Resolve("shop/payment", "app=payment", &as)
	// The metrics port is named in the policy; without the Deployment its number is unknown.
	if v := Evaluate(&m.Cluster, Query{From: from, To: to, Port: 9090}); v.Allowed || len(v.Warnings) == 0 {
		t.Errorf("named port without the workload: %+v", v)
	}
	if err := m.SetNamespaceLabels("monitoring:purpose=monitoring"); err != nil {
		t.Fatal(err)
	}
	to.NamedPorts = map[string]int32{"metrics": 9090}
	if v := Evaluate(&m.Cluster, Query{From: from, To: to, Port: 9090}); !v.Allowed {
		t.Errorf("--namespace-labels not used: %s", v.Decision)
	}
	if !strings.Contains(strings.Join(as, "\n"), "no Namespace manifest") {
		t.Errorf("assumptions do not say where namespace labels came from: %v", as)
	}
}

// FuzzManifest: any bytes as a manifest document give policies or an error, never a panic, and any
// policies read evaluate.
func FuzzManifest(f *testing.F) {
	for _, n := range []string{"policies.yaml", "namespaces.yaml", "workloads.yaml"} {
		b, _ := os.ReadFile(filepath.Join("..", "..", "testdata", "netpolicy", n))
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m := &Manifests{Cluster: Cluster{NamespaceLabels: map[string]map[string]string{}}}
		for _, doc := range splitYAML(data) {
			_ = m.add(doc)
		}
		var as []string
		from, _ := m.Resolve("shop/checkout", "", &as)
		to, _ := m.Resolve("shop/payment", "", &as)
		_ = Evaluate(&m.Cluster, Query{From: from, To: to, Port: 8080})
	})
}
