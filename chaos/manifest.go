package chaos

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"sigs.k8s.io/yaml"
)

// The Chaos Mesh custom resources dbg writes, as typed structs whose JSON names are the CRDs' own
// (chaos-mesh.org/v1alpha1: api/v1alpha1/*_types.go in chaos-mesh/chaos-mesh). Only the fields dbg
// sets are declared; the manifest test decodes every golden file strictly into Chaos Mesh's own API
// types and runs their admission validation, so a field name or value Chaos Mesh would reject fails it.

// APIVersion is the Chaos Mesh API group and version.
const APIVersion = "chaos-mesh.org/v1alpha1"

// Manifest is one Chaos Mesh object: NetworkChaos, HTTPChaos, StressChaos, PodChaos or IOChaos.
type Manifest struct {
	APIVersion string     `json:"apiVersion"`
	Kind       string     `json:"kind"`
	Metadata   ObjectMeta `json:"metadata"`
	Spec       any        `json:"spec"`
}

// ObjectMeta is the Kubernetes object metadata dbg sets.
type ObjectMeta struct {
	Name        string            `json:"name"`
	Namespace   string            `json:"namespace"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// PodSelectorSpec picks pods (Chaos Mesh's selector).
type PodSelectorSpec struct {
	Namespaces     []string          `json:"namespaces,omitempty"`
	LabelSelectors map[string]string `json:"labelSelectors,omitempty"`
}

// PodSelector is a selector with its mode (one, all, fixed, fixed-percent, random-max-percent).
type PodSelector struct {
	Selector PodSelectorSpec `json:"selector"`
	Mode     string          `json:"mode"`
	Value    string          `json:"value,omitempty"`
}

// NetworkChaosSpec is NetworkChaos's spec: tc netem on the selected pods' traffic (to the target).
type NetworkChaosSpec struct {
	PodSelector `json:",inline"`
	Action      string         `json:"action"`
	Duration    string         `json:"duration"`
	Direction   string         `json:"direction,omitempty"`
	Target      *PodSelector   `json:"target,omitempty"`
	Delay       *DelaySpec     `json:"delay,omitempty"`
	Loss        *LossSpec      `json:"loss,omitempty"`
	Bandwidth   *BandwidthSpec `json:"bandwidth,omitempty"`
}

// DelaySpec is netem's delay.
type DelaySpec struct {
	Latency     string `json:"latency"`
	Jitter      string `json:"jitter,omitempty"`
	Correlation string `json:"correlation,omitempty"`
}

// LossSpec is netem's packet loss, a percentage as a string.
type LossSpec struct {
	Loss        string `json:"loss"`
	Correlation string `json:"correlation,omitempty"`
}

// BandwidthSpec is tc tbf: rate ("1mbps"), queue limit and bucket size in bytes.
type BandwidthSpec struct {
	Rate   string `json:"rate"`
	Limit  uint32 `json:"limit"`
	Buffer uint32 `json:"buffer"`
}

// HTTPChaosSpec is HTTPChaos's spec: a fault on the HTTP requests or responses of the selected pods'
// port, matched by path and method.
type HTTPChaosSpec struct {
	PodSelector `json:",inline"`
	Target      string       `json:"target"` // Request or Response
	Port        int32        `json:"port"`
	Path        string       `json:"path,omitempty"`
	Method      string       `json:"method,omitempty"`
	Abort       *bool        `json:"abort,omitempty"`
	Delay       string       `json:"delay,omitempty"`
	Replace     *HTTPReplace `json:"replace,omitempty"`
	Duration    string       `json:"duration"`
}

// HTTPReplace replaces parts of the matched message; dbg replaces the status code.
type HTTPReplace struct {
	Code int32 `json:"code,omitempty"`
}

// StressChaosSpec is StressChaos's spec: CPU or memory stressors in the selected containers.
type StressChaosSpec struct {
	PodSelector    `json:",inline"`
	ContainerNames []string   `json:"containerNames,omitempty"`
	Stressors      *Stressors `json:"stressors"`
	Duration       string     `json:"duration"`
}

// Stressors are the stress-ng workers to run.
type Stressors struct {
	Memory *MemoryStressor `json:"memory,omitempty"`
	CPU    *CPUStressor    `json:"cpu,omitempty"`
}

// MemoryStressor allocates Size ("256MB", "50%") across Workers.
type MemoryStressor struct {
	Workers int    `json:"workers"`
	Size    string `json:"size"`
}

// CPUStressor loads Workers CPUs at Load percent.
type CPUStressor struct {
	Workers int `json:"workers"`
	Load    int `json:"load"`
}

// PodChaosSpec is PodChaos's spec: pod-kill or container-kill.
type PodChaosSpec struct {
	PodSelector    `json:",inline"`
	ContainerNames []string `json:"containerNames,omitempty"`
	Action         string   `json:"action"`
	Duration       string   `json:"duration"`
	GracePeriod    int64    `json:"gracePeriod,omitempty"`
}

// IOChaosSpec is IOChaos's spec: latency on file operations under a volume of the selected containers.
type IOChaosSpec struct {
	PodSelector    `json:",inline"`
	ContainerNames []string `json:"containerNames,omitempty"`
	Action         string   `json:"action"`
	VolumePath     string   `json:"volumePath"`
	Path           string   `json:"path,omitempty"`
	Delay          string   `json:"delay"`
	Percent        int      `json:"percent"`
	Duration       string   `json:"duration"`
}

// dnsLabel is what a Kubernetes name (RFC 1123 label) may hold.
var notName = regexp.MustCompile(`[^a-z0-9-]+`)

// objectName makes a valid object name (at most 63 characters) from parts.
func objectName(parts ...string) string {
	s := strings.ToLower(strings.Join(parts, "-"))
	s = strings.Trim(notName.ReplaceAllString(s, "-"), "-")
	for strings.Contains(s, "--") {
		s = strings.ReplaceAll(s, "--", "-")
	}
	if len(s) > 63 {
		s = strings.TrimRight(s[:63], "-")
	}
	if s == "" {
		s = "dbg-experiment"
	}
	return s
}

// notLabel is what a label value may not hold; values are at most 63 characters.
var notLabel = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// LabelValue makes a valid Kubernetes label value of s.
func LabelValue(s string) string {
	s = notLabel.ReplaceAllString(s, "-")
	if len(s) > 63 {
		s = s[:63]
	}
	return strings.Trim(s, "-_.")
}

// YAML writes manifests as one multi-document YAML stream, each preceded by a comment.
func YAML(ms []Manifest, comments []string) ([]byte, error) {
	var b bytes.Buffer
	for i, m := range ms {
		data, err := yaml.Marshal(m)
		if err != nil {
			return nil, fmt.Errorf("chaos: manifest %s: %w", m.Metadata.Name, err)
		}
		b.WriteString("---\n")
		if i < len(comments) && comments[i] != "" {
			for _, line := range strings.Split(comments[i], "\n") {
				b.WriteString("# " + line + "\n")
			}
		}
		b.Write(data)
	}
	return b.Bytes(), nil
}

// splitRoute reads "POST /score" into method and path; anything else matches every request.
func splitRoute(route string) (method, path string) {
	m, p, ok := strings.Cut(strings.TrimSpace(route), " ")
	if !ok || !strings.HasPrefix(p, "/") || m != strings.ToUpper(m) {
		return "", ""
	}
	if i := strings.IndexAny(p, "?{"); i > 0 {
		p = p[:i] + "*" // a templated route matches by prefix
	}
	return m, p
}

// manifest builds the Chaos Mesh object of an experiment: in the plan's namespace, the pods selected by
// the service label, labelled with the report and experiment, and always with its duration.
func manifest(e *Experiment, o PlanOptions, p *Plan) Manifest {
	f := e.Fault
	sel := func(service, mode string) PodSelector {
		return PodSelector{Selector: PodSelectorSpec{Namespaces: []string{o.Namespace}, LabelSelectors: map[string]string{o.LabelKey: LabelValue(service)}}, Mode: mode}
	}
	m := Manifest{APIVersion: APIVersion, Metadata: ObjectMeta{
		Name:      objectName("dbg", e.ID, f.Type, f.Service, f.Peer),
		Namespace: o.Namespace,
		Labels: map[string]string{
			"app.kubernetes.io/managed-by": "dbg",
			"dbg.dev/report":               LabelValue(firstNonEmpty(p.ReportID, "none")),
			"dbg.dev/experiment":           e.ID,
			"dbg.dev/hypothesis":           LabelValue(e.Hypothesis.Kind),
		},
		Annotations: map[string]string{
			"dbg.dev/inject":  e.Inject,
			"dbg.dev/observe": strings.Join(e.Observe, "; "),
		},
	}}
	ms := func(v float64) string { return fmt.Sprintf("%.0fms", v) }
	network := func(action string) *NetworkChaosSpec {
		s := &NetworkChaosSpec{PodSelector: sel(f.Service, "all"), Action: action, Duration: e.Duration}
		if f.Peer != "" {
			t := sel(f.Peer, "all")
			s.Direction, s.Target = "to", &t
		}
		return s
	}
	method, path := splitRoute(f.Route)
	http := func() *HTTPChaosSpec {
		return &HTTPChaosSpec{PodSelector: sel(f.Service, "all"), Target: "Request", Port: int32(o.HTTPPort), Method: method, Path: path, Duration: e.Duration}
	}
	switch f.Type {
	case FaultNetworkDelay:
		m.Kind = "NetworkChaos"
		s := network("delay")
		s.Delay = &DelaySpec{Latency: ms(f.LatencyMs), Jitter: ms(f.JitterMs), Correlation: "0"}
		m.Spec = s
	case FaultNetworkLoss:
		m.Kind = "NetworkChaos"
		s := network("loss")
		s.Loss = &LossSpec{Loss: fmt.Sprintf("%g", f.LossPercent), Correlation: "0"}
		m.Spec = s
	case FaultNetworkPartition:
		m.Kind = "NetworkChaos"
		m.Spec = network("partition")
	case FaultNetworkBandwidth:
		m.Kind = "NetworkChaos"
		s := network("bandwidth")
		s.Bandwidth = &BandwidthSpec{Rate: fmt.Sprintf("%dkbps", max(1, f.BandwidthBps/1024)), Limit: 20971520, Buffer: 10000}
		m.Spec = s
	case FaultHTTPDelay:
		m.Kind = "HTTPChaos"
		s := http()
		s.Delay = ms(f.LatencyMs)
		m.Spec = s
	case FaultHTTPAbort:
		m.Kind = "HTTPChaos"
		s := http()
		t := true
		s.Abort = &t
		m.Spec = s
	case FaultHTTPReplace:
		m.Kind = "HTTPChaos"
		s := http()
		s.Target = "Response"
		s.Replace = &HTTPReplace{Code: int32(f.Status)}
		m.Spec = s
	case FaultStressCPU:
		m.Kind = "StressChaos"
		m.Spec = &StressChaosSpec{PodSelector: sel(f.Service, "all"), Stressors: &Stressors{CPU: &CPUStressor{Workers: 1, Load: f.CPULoad}}, Duration: e.Duration}
	case FaultStressMemory:
		m.Kind = "StressChaos"
		m.Spec = &StressChaosSpec{PodSelector: sel(f.Service, "all"), Stressors: &Stressors{Memory: &MemoryStressor{Workers: 1, Size: f.MemorySize}}, Duration: e.Duration}
	case FaultPodKill:
		m.Kind = "PodChaos"
		m.Spec = &PodChaosSpec{PodSelector: sel(f.Service, "one"), Action: "pod-kill", Duration: e.Duration}
	case FaultContainerKill:
		m.Kind = "PodChaos"
		// The container is assumed to be named after the service, the usual convention; edit
		// containerNames otherwise.
		m.Spec = &PodChaosSpec{PodSelector: sel(f.Service, "one"), ContainerNames: []string{LabelValue(f.Service)}, Action: "container-kill", Duration: e.Duration}
	case FaultIOLatency:
		m.Kind = "IOChaos"
		m.Spec = &IOChaosSpec{PodSelector: sel(f.Service, "all"), Action: "latency", VolumePath: f.VolumePath, Path: strings.TrimRight(f.VolumePath, "/") + "/**/*",
			Delay: ms(f.LatencyMs), Percent: 100, Duration: e.Duration}
	}
	return m
}

// UnmarshalJSON reads a manifest back (a plan file, a checklist report) with its spec typed by kind, so
// writing it again gives the same document.
func (m *Manifest) UnmarshalJSON(b []byte) error {
	var v struct {
		APIVersion string          `json:"apiVersion"`
		Kind       string          `json:"kind"`
		Metadata   ObjectMeta      `json:"metadata"`
		Spec       json.RawMessage `json:"spec"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	m.APIVersion, m.Kind, m.Metadata = v.APIVersion, v.Kind, v.Metadata
	var spec any
	switch v.Kind {
	case "NetworkChaos":
		spec = &NetworkChaosSpec{}
	case "HTTPChaos":
		spec = &HTTPChaosSpec{}
	case "StressChaos":
		spec = &StressChaosSpec{}
	case "PodChaos":
		spec = &PodChaosSpec{}
	case "IOChaos":
		spec = &IOChaosSpec{}
	default:
		var raw map[string]any
		if len(v.Spec) > 0 {
			if err := json.Unmarshal(v.Spec, &raw); err != nil {
				return err
			}
		}
		m.Spec = raw
		return nil
	}
	if err := json.Unmarshal(v.Spec, spec); err != nil {
		return fmt.Errorf("%s spec: %w", v.Kind, err)
	}
	m.Spec = spec
	return nil
}
