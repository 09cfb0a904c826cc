package netpolicy

import (
	"bytes"
	"encoding/json"
	"strconv"
)

// The types below mirror the parts of k8s.io/api's networking/v1 NetworkPolicy, core/v1 Namespace, Pod and
// pod template, and apimachinery's LabelSelector and IntOrString that the evaluator reads, with the
// Kubernetes JSON field names. They are this package's own so that the dbg binary does not link k8s.io/api
// and apimachinery (about 9 MB of generated code; issue #17). TestMirrorMatchesK8sAPI decodes every test
// manifest into both and checks they agree.

// Protocol is a NetworkPolicy port's protocol: TCP, UDP or SCTP.
type Protocol string

// The protocols NetworkPolicy knows.
const (
	ProtocolTCP  Protocol = "TCP"
	ProtocolUDP  Protocol = "UDP"
	ProtocolSCTP Protocol = "SCTP"
)

// PolicyType is Ingress or Egress.
type PolicyType string

// The policy types.
const (
	PolicyTypeIngress PolicyType = "Ingress"
	PolicyTypeEgress  PolicyType = "Egress"
)

// ObjectMeta is the part of metav1.ObjectMeta read here.
type ObjectMeta struct {
	Name      string            `json:"name,omitempty"`
	Namespace string            `json:"namespace,omitempty"`
	Labels    map[string]string `json:"labels,omitempty"`
}

// NetworkPolicy mirrors networking/v1 NetworkPolicy.
type NetworkPolicy struct {
	ObjectMeta `json:"metadata"`
	Spec       NetworkPolicySpec `json:"spec"`
}

// NetworkPolicySpec mirrors networking/v1 NetworkPolicySpec.
type NetworkPolicySpec struct {
	PodSelector LabelSelector              `json:"podSelector"`
	Ingress     []NetworkPolicyIngressRule `json:"ingress,omitempty"`
	Egress      []NetworkPolicyEgressRule  `json:"egress,omitempty"`
	PolicyTypes []PolicyType               `json:"policyTypes,omitempty"`
}

// NetworkPolicyIngressRule mirrors networking/v1 NetworkPolicyIngressRule.
type NetworkPolicyIngressRule struct {
	Ports []NetworkPolicyPort `json:"ports,omitempty"`
	From  []NetworkPolicyPeer `json:"from,omitempty"`
}

// NetworkPolicyEgressRule mirrors networking/v1 NetworkPolicyEgressRule.
type NetworkPolicyEgressRule struct {
	Ports []NetworkPolicyPort `json:"ports,omitempty"`
	To    []NetworkPolicyPeer `json:"to,omitempty"`
}

// NetworkPolicyPort mirrors networking/v1 NetworkPolicyPort.
type NetworkPolicyPort struct {
	Protocol *Protocol    `json:"protocol,omitempty"`
	Port     *IntOrString `json:"port,omitempty"`
	EndPort  *int32       `json:"endPort,omitempty"`
}

// NetworkPolicyPeer mirrors networking/v1 NetworkPolicyPeer.
type NetworkPolicyPeer struct {
	PodSelector       *LabelSelector `json:"podSelector,omitempty"`
	NamespaceSelector *LabelSelector `json:"namespaceSelector,omitempty"`
	IPBlock           *IPBlock       `json:"ipBlock,omitempty"`
}

// IPBlock mirrors networking/v1 IPBlock.
type IPBlock struct {
	CIDR   string   `json:"cidr"`
	Except []string `json:"except,omitempty"`
}

// LabelSelector mirrors metav1.LabelSelector.
type LabelSelector struct {
	MatchLabels      map[string]string          `json:"matchLabels,omitempty"`
	MatchExpressions []LabelSelectorRequirement `json:"matchExpressions,omitempty"`
}

// LabelSelectorRequirement mirrors metav1.LabelSelectorRequirement.
type LabelSelectorRequirement struct {
	Key      string   `json:"key"`
	Operator string   `json:"operator"`
	Values   []string `json:"values,omitempty"`
}

// IntOrString mirrors intstr.IntOrString: a port number or a port name. As in apimachinery, a JSON string
// is a name (even "80") and a JSON number is a number.
type IntOrString struct {
	IsString bool
	IntVal   int32
	StrVal   string
}

// UnmarshalJSON reads a number or a string, as intstr.IntOrString does.
func (p *IntOrString) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		p.IsString = true
		return json.Unmarshal(b, &p.StrVal)
	}
	p.IsString = false
	return json.Unmarshal(b, &p.IntVal)
}

// String is the name or the number.
func (p IntOrString) String() string {
	if p.IsString {
		return p.StrVal
	}
	return strconv.Itoa(int(p.IntVal))
}

// Namespace mirrors core/v1 Namespace (its labels).
type Namespace struct {
	ObjectMeta `json:"metadata"`
}

// Pod mirrors core/v1 Pod (labels and container ports).
type Pod struct {
	ObjectMeta `json:"metadata"`
	Spec       PodSpec `json:"spec"`
}

// PodSpec mirrors the containers of core/v1 PodSpec.
type PodSpec struct {
	Containers []Container `json:"containers,omitempty"`
}

// Container mirrors the ports of core/v1 Container.
type Container struct {
	Name  string          `json:"name"`
	Ports []ContainerPort `json:"ports,omitempty"`
}

// ContainerPort mirrors core/v1 ContainerPort.
type ContainerPort struct {
	Name          string `json:"name,omitempty"`
	ContainerPort int32  `json:"containerPort"`
}

// PodTemplateSpec mirrors core/v1 PodTemplateSpec.
type PodTemplateSpec struct {
	ObjectMeta `json:"metadata"`
	Spec       PodSpec `json:"spec"`
}
