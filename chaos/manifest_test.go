package chaos

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chaos-mesh/chaos-mesh/api/v1alpha1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
	"sigs.k8s.io/yaml"

	"github.com/dbgtool/dbg/internal/golden"
	"github.com/dbgtool/dbg/investigate"
)

// findingsForEveryFault are hypotheses whose experiments cover every fault type dbg writes.
func findingsForEveryFault() []investigate.Finding {
	f := func(kind, svc, op string, ev map[string]any) investigate.Finding {
		return investigate.Finding{Kind: kind, Service: svc, Operation: op, Tier: "root_cause", Score: 0.9, Title: kind + " in " + svc, Evidence: ev}
	}
	return []investigate.Finding{
		f("slow_span", "payment", "POST /charge", map[string]any{"peer": "fraud-check", "delta_ms": 296.4, "self_ms": 310.0}),
		f("tcp_retransmits", "checkout", "", map[string]any{"server": "inventory:8080"}),
		f("error_origin", "shipping", "GET", map[string]any{"peer": "redis", "exception_type": "redis.PoolTimeoutError", "trace_share": 0.433}),
		f("saturation", "gateway", "", map[string]any{"resource": "network_transmit_bytes", "value": 9e6}),
		f("error_origin", "payment", "POST /charge", map[string]any{"exception_type": "PaymentDeclined", "trace_share": 0.3}),
		f("slow_span", "fraud-check", "POST /score", map[string]any{"peer": "", "delta_ms": 586.6}),
		f("dependency", "checkout", "POST /charge", map[string]any{"peer": "payment", "error_ratio": 0.25, "baseline_error_ratio": 0.0, "p99_ms": 120.0}),
		f("cpu_hotspot", "fraud-check", "", map[string]any{"function": "main.score", "value": 0.8}),
		f("memory_leak", "payment", "cache.Put", map[string]any{"heap_inuse_bytes": 210200000.0, "growth_bytes_per_min": 54e6}),
		f("connection_refused", "checkout", "", map[string]any{"server": "payment:8080"}),
		f("tcp_resets", "checkout", "", map[string]any{"server": "inventory:8080"}),
		f("slow_query", "inventory", "SELECT items", map[string]any{"db_system": "postgresql", "p99_ms": 180.0, "baseline_p99_ms": 11.0, "statement": "SELECT * FROM items WHERE sku = ?"}),
	}
}

// TestManifestsValidateAgainstChaosMesh writes one golden manifest per fault type, then decodes each
// strictly into Chaos Mesh's own API types (unknown fields fail) and runs Chaos Mesh's admission
// defaulting and validation on it, as the cluster would on kubectl apply.
func TestManifestsValidateAgainstChaosMesh(t *testing.T) {
	o := DefaultPlanOptions()
	o.ReportID, o.Service, o.Namespace, o.Top, o.Duration = "rep-2026-12-01T19-21-39Z", "frontend", "staging", 100, 3*time.Minute
	p := NewPlan(findingsForEveryFault(), o)
	seen := map[string]bool{}
	for _, e := range p.Experiments {
		if seen[e.Fault.Type] {
			continue
		}
		seen[e.Fault.Type] = true
		data, err := YAML([]Manifest{e.Manifest}, []string{e.Inject})
		if err != nil {
			t.Fatal(err)
		}
		golden.Check(t, filepath.Join("testdata", "manifests", e.Fault.Type+".yaml"), data)
		validateChaosMesh(t, e.Fault.Type, e.Manifest.Kind, data)
		md := e.Manifest.Metadata
		if md.Namespace != "staging" || md.Labels["dbg.dev/report"] != "rep-2026-12-01T19-21-39Z" || md.Labels["dbg.dev/experiment"] != e.ID {
			t.Errorf("%s: metadata %+v", e.Fault.Type, md)
		}
		if !strings.Contains(string(data), "duration: 3m0s") {
			t.Errorf("%s: no duration:\n%s", e.Fault.Type, data)
		}
	}
	for _, typ := range []string{FaultNetworkDelay, FaultNetworkLoss, FaultNetworkPartition, FaultNetworkBandwidth, FaultHTTPAbort, FaultHTTPDelay,
		FaultHTTPReplace, FaultStressCPU, FaultStressMemory, FaultPodKill, FaultContainerKill, FaultIOLatency} {
		if !seen[typ] {
			t.Errorf("no experiment of type %s planned: %+v", typ, p.Skipped)
		}
	}
}

// chaosMeshCheck decodes one manifest as the API server would and runs Chaos Mesh's webhooks on it.
func chaosMeshCheck(kind string, data []byte) error {
	doc := strings.TrimPrefix(string(data), "---\n")
	var obj runtime.Object
	switch kind {
	case "NetworkChaos":
		obj = &v1alpha1.NetworkChaos{}
	case "HTTPChaos":
		obj = &v1alpha1.HTTPChaos{}
	case "StressChaos":
		obj = &v1alpha1.StressChaos{}
	case "PodChaos":
		obj = &v1alpha1.PodChaos{}
	case "IOChaos":
		obj = &v1alpha1.IOChaos{}
	default:
		return fmt.Errorf("unknown kind %q", kind)
	}
	// As kubectl does: YAML to JSON first (without the target type), then the API server's decoding
	// into the type, here strict: a field Chaos Mesh does not have fails.
	js, err := yaml.YAMLToJSON([]byte(doc))
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	if err := dec.Decode(obj); err != nil {
		return fmt.Errorf("does not decode strictly into chaos-mesh v1alpha1.%s: %w", kind, err)
	}
	// The selector mode is an enum of the CRD's OpenAPI schema, which the webhook does not check.
	var modes struct {
		Spec struct {
			Mode   string          `json:"mode"`
			Target json.RawMessage `json:"target"`
		} `json:"spec"`
	}
	var target *struct {
		Mode string `json:"mode"`
	}
	_ = json.Unmarshal(js, &modes)
	if bytes.HasPrefix(modes.Spec.Target, []byte("{")) { // NetworkChaos's target is a selector; HTTPChaos's is "Request"
		_ = json.Unmarshal(modes.Spec.Target, &target)
	}
	known := map[v1alpha1.SelectorMode]bool{v1alpha1.OneMode: true, v1alpha1.AllMode: true, v1alpha1.FixedMode: true,
		v1alpha1.FixedPercentMode: true, v1alpha1.RandomMaxPercentMode: true}
	if !known[v1alpha1.SelectorMode(modes.Spec.Mode)] || target != nil && !known[v1alpha1.SelectorMode(target.Mode)] {
		return fmt.Errorf("selector mode %q is not one of Chaos Mesh's", modes.Spec.Mode)
	}
	ctx := context.Background()
	type defaulter interface {
		Default(ctx context.Context, obj runtime.Object) error
	}
	type createValidator interface {
		ValidateCreate(ctx context.Context, obj runtime.Object) (admission.Warnings, error)
	}
	if d, ok := obj.(defaulter); ok {
		if err := d.Default(ctx, obj); err != nil {
			return fmt.Errorf("chaos-mesh defaulting: %w", err)
		}
	}
	v, ok := obj.(createValidator)
	if !ok {
		return fmt.Errorf("v1alpha1.%s has no ValidateCreate", kind)
	}
	if _, err := v.ValidateCreate(ctx, obj); err != nil {
		return fmt.Errorf("chaos-mesh rejects it: %w", err)
	}
	return nil
}

func validateChaosMesh(t *testing.T, name, kind string, data []byte) {
	t.Helper()
	if err := chaosMeshCheck(kind, data); err != nil {
		t.Errorf("%s: %v\n%s", name, err, data)
	}
}

// TestChaosMeshCheckRejects: the check above fails what Chaos Mesh would refuse, so its passing means
// something.
func TestChaosMeshCheckRejects(t *testing.T) {
	good, err := os.ReadFile(filepath.Join("testdata", "manifests", "network-delay.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := chaosMeshCheck("NetworkChaos", good); err != nil {
		t.Fatalf("the golden delay: %v", err)
	}
	for name, bad := range map[string]string{
		"unknown field": strings.Replace(string(good), "latency:", "latencyy:", 1),
		"bad duration":  strings.Replace(string(good), "duration: 3m0s", "duration: three minutes", 1),
		"bad latency":   strings.Replace(string(good), "latency: 300ms", "latency: slow", 1),
		"bad mode":      strings.Replace(string(good), "mode: all", "mode: most", 1),
	} {
		if bad == string(good) {
			t.Fatalf("%s: the replacement did not apply", name)
		}
		if err := chaosMeshCheck("NetworkChaos", []byte(bad)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
