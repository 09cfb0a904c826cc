// Package netpolicy evaluates Kubernetes NetworkPolicy manifests offline: would a connection from one
// pod (or address) to another on a port be allowed, and which policy and rule decide it. It follows the
// NetworkPolicy semantics of the Kubernetes documentation
// (https://kubernetes.io/docs/concepts/services-networking/network-policies/): a pod is isolated for a
// direction when any policy selecting it has that policy type; an isolated pod's traffic is allowed when
// any rule of those policies allows it (rules add up, nothing denies explicitly); a connection needs
// both the source's egress and the destination's ingress to allow it. Its types mirror k8s.io/api's (types.go)
// and its selectors apimachinery's LabelSelectorAsSelector (selector.go); tests check both against the
// libraries, which the dbg binary does not link (issue #17: its size).
package netpolicy

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// Endpoint is one end of a connection: a pod (namespace, labels) or an address outside the cluster.
type Endpoint struct {
	Namespace string            `json:"namespace,omitempty"`
	Name      string            `json:"name,omitempty"`
	Labels    map[string]string `json:"labels,omitempty"`
	// IP is set for an address (an ipBlock peer); for a pod it is its IP when known.
	IP netip.Addr `json:"-"`
	// NamedPorts are the pod's container ports by name, to resolve named ports in policies.
	NamedPorts map[string]int32 `json:"-"`
}

// IsPod says whether the endpoint is a pod (rather than an external address).
func (e Endpoint) IsPod() bool { return e.Namespace != "" }

// String is NS/NAME for a pod, the address otherwise.
func (e Endpoint) String() string {
	if e.IsPod() {
		return e.Namespace + "/" + e.Name
	}
	return e.IP.String()
}

// Query is one connection to judge.
type Query struct {
	From, To Endpoint
	Port     int32
	Protocol Protocol // TCP when empty
}

// Rule names one rule: which policy, which direction, its index (from 1, as people count them).
type Rule struct {
	Policy    string `json:"policy"` // namespace/name
	Direction string `json:"direction"`
	Index     int    `json:"rule"`
	Why       string `json:"why"`
}

// Side is the verdict of one direction: the source's egress or the destination's ingress.
type Side struct {
	// Isolated says some policy selects the pod for this direction; an unisolated pod allows all.
	Isolated bool `json:"isolated"`
	// Selecting are the policies that select the pod for this direction.
	Selecting []string `json:"selecting"`
	// AllowedBy are the rules that allow the connection (any one is enough).
	AllowedBy []Rule `json:"allowed_by"`
	Allowed   bool   `json:"allowed"`
	// Reason is one sentence a person reads.
	Reason string `json:"reason"`
}

// Verdict is the answer.
type Verdict struct {
	From     string `json:"from"`
	To       string `json:"to"`
	Port     int32  `json:"port"`
	Protocol string `json:"protocol"`
	Allowed  bool   `json:"allowed"`
	Egress   Side   `json:"egress"`
	Ingress  Side   `json:"ingress"`
	// Decision is the one line: which policy and rule decided, or which policies deny by omission.
	Decision    string   `json:"decision"`
	Assumptions []string `json:"assumptions"`
	Warnings    []string `json:"warnings"`
	Policies    int      `json:"policies_read"`
}

// Cluster is what the manifests say: policies, and namespace labels.
type Cluster struct {
	Policies []NetworkPolicy
	// NamespaceLabels by namespace; kubernetes.io/metadata.name is always added, as the API server does.
	NamespaceLabels map[string]map[string]string
}

func (c *Cluster) nsLabels(ns string) map[string]string {
	out := map[string]string{"kubernetes.io/metadata.name": ns}
	for k, v := range c.NamespaceLabels[ns] {
		out[k] = v
	}
	return out
}

func policyTypes(p *NetworkPolicy) (ingress, egress bool) {
	if len(p.Spec.PolicyTypes) == 0 {
		// The API's default: Ingress always, Egress when the policy has egress rules.
		return true, len(p.Spec.Egress) > 0
	}
	for _, t := range p.Spec.PolicyTypes {
		switch t {
		case PolicyTypeIngress:
			ingress = true
		case PolicyTypeEgress:
			egress = true
		}
	}
	return ingress, egress
}

func selects(sel *LabelSelector, l map[string]string) (bool, error) { return sel.Matches(l) }

// Evaluate judges q against the cluster's policies.
func Evaluate(c *Cluster, q Query) Verdict {
	if q.Protocol == "" {
		q.Protocol = ProtocolTCP
	}
	v := Verdict{From: q.From.String(), To: q.To.String(), Port: q.Port, Protocol: string(q.Protocol), Policies: len(c.Policies)}
	v.Egress = c.side(q, true, &v)
	v.Ingress = c.side(q, false, &v)
	v.Allowed = v.Egress.Allowed && v.Ingress.Allowed
	switch {
	case !v.Egress.Allowed && !v.Ingress.Allowed:
		v.Decision = "denied twice: " + v.Egress.Reason + "; and " + v.Ingress.Reason
	case !v.Egress.Allowed:
		v.Decision = "denied: " + v.Egress.Reason
	case !v.Ingress.Allowed:
		v.Decision = "denied: " + v.Ingress.Reason
	default:
		v.Decision = "allowed: " + v.Egress.Reason + "; " + v.Ingress.Reason
	}
	if v.Assumptions == nil {
		v.Assumptions = []string{}
	}
	if v.Warnings == nil {
		v.Warnings = []string{}
	}
	return v
}

// side judges one direction: egress of q.From, or ingress of q.To.
func (c *Cluster) side(q Query, egress bool, v *Verdict) Side {
	self, peer := q.To, q.From
	dir := "ingress"
	if egress {
		self, peer, dir = q.From, q.To, "egress"
	}
	s := Side{Selecting: []string{}, AllowedBy: []Rule{}}
	if !self.IsPod() {
		s.Allowed = true
		s.Reason = fmt.Sprintf("%s is outside the cluster: NetworkPolicy does not govern its %s", self, dir)
		return s
	}
	for i := range c.Policies {
		p := &c.Policies[i]
		if p.Namespace != self.Namespace {
			continue
		}
		in, eg := policyTypes(p)
		if (egress && !eg) || (!egress && !in) {
			continue
		}
		ok, err := selects(&p.Spec.PodSelector, self.Labels)
		if err != nil {
			v.Warnings = append(v.Warnings, fmt.Sprintf("%s/%s: podSelector: %v", p.Namespace, p.Name, err))
			continue
		}
		if !ok {
			continue
		}
		name := p.Namespace + "/" + p.Name
		s.Isolated = true
		s.Selecting = append(s.Selecting, name)
		if egress {
			for j, r := range p.Spec.Egress {
				if why, ok := c.ruleAllows(p, r.To, r.Ports, peer, q, v); ok {
					s.AllowedBy = append(s.AllowedBy, Rule{Policy: name, Direction: dir, Index: j + 1, Why: why})
				}
			}
		} else {
			for j, r := range p.Spec.Ingress {
				if why, ok := c.ruleAllows(p, r.From, r.Ports, peer, q, v); ok {
					s.AllowedBy = append(s.AllowedBy, Rule{Policy: name, Direction: dir, Index: j + 1, Why: why})
				}
			}
		}
	}
	switch {
	case !s.Isolated:
		s.Allowed = true
		s.Reason = fmt.Sprintf("no policy selects %s for %s, so all its %s is allowed", self, map[string]string{"egress": "Egress", "ingress": "Ingress"}[dir], dir)
	case len(s.AllowedBy) > 0:
		s.Allowed = true
		r := s.AllowedBy[0]
		s.Reason = fmt.Sprintf("%s %s rule %d allows it (%s)", r.Policy, dir, r.Index, r.Why)
	default:
		s.Reason = fmt.Sprintf("%s is isolated for %s by %s and none of their %s rules allows %s on %s/%d",
			self, dir, strings.Join(s.Selecting, ", "), dir, peer, q.Protocol, q.Port)
	}
	return s
}

// ruleAllows: a rule allows when one of its peers matches (no peers: any) and one of its ports matches
// (no ports: any).
func (c *Cluster) ruleAllows(p *NetworkPolicy, peers []NetworkPolicyPeer, ports []NetworkPolicyPort, peer Endpoint, q Query, v *Verdict) (string, bool) {
	portWhy, ok := portMatches(ports, q, peerOrSelf(peer, q), v)
	if !ok {
		return "", false
	}
	if len(peers) == 0 {
		return "any peer, " + portWhy, true
	}
	for _, pr := range peers {
		if why, ok := c.peerMatches(p, pr, peer, v); ok {
			return why + ", " + portWhy, true
		}
	}
	return "", false
}

// peerOrSelf is the endpoint whose named ports resolve the rule's port: the destination.
func peerOrSelf(_ Endpoint, q Query) Endpoint { return q.To }

func portMatches(ports []NetworkPolicyPort, q Query, dst Endpoint, v *Verdict) (string, bool) {
	if len(ports) == 0 {
		return "any port", true
	}
	for _, pp := range ports {
		proto := ProtocolTCP
		if pp.Protocol != nil {
			proto = *pp.Protocol
		}
		if proto != q.Protocol {
			continue
		}
		if pp.Port == nil {
			return "any " + string(proto) + " port", true
		}
		var lo int32
		if pp.Port.IsString { // a named port: the destination's container port of that name
			n, ok := dst.NamedPorts[pp.Port.StrVal]
			if !ok {
				note := fmt.Sprintf("named port %q: no container port of that name known for %s (give the workload manifest in -f DIR)", pp.Port.StrVal, dst)
				if !slices.Contains(v.Warnings, note) {
					v.Warnings = append(v.Warnings, note)
				}
				continue
			}
			lo = n
		} else {
			lo = pp.Port.IntVal
		}
		hi := lo
		if pp.EndPort != nil {
			hi = *pp.EndPort
		}
		if q.Port >= lo && q.Port <= hi {
			if hi != lo {
				return fmt.Sprintf("port %d-%d", lo, hi), true
			}
			return "port " + strconv.Itoa(int(lo)), true
		}
	}
	return "", false
}

func (c *Cluster) peerMatches(p *NetworkPolicy, pr NetworkPolicyPeer, peer Endpoint, v *Verdict) (string, bool) {
	if pr.IPBlock != nil {
		if !peer.IP.IsValid() {
			return "", false
		}
		pf, err := netip.ParsePrefix(pr.IPBlock.CIDR)
		if err != nil {
			v.Warnings = append(v.Warnings, fmt.Sprintf("%s/%s: ipBlock %q: %v", p.Namespace, p.Name, pr.IPBlock.CIDR, err))
			return "", false
		}
		if !pf.Contains(peer.IP) {
			return "", false
		}
		for _, ex := range pr.IPBlock.Except {
			if e, err := netip.ParsePrefix(ex); err == nil && e.Contains(peer.IP) {
				return "", false
			}
		}
		return "ipBlock " + pr.IPBlock.CIDR, true
	}
	if !peer.IsPod() {
		return "", false // selectors only ever match pods
	}
	nsOK, nsWhy := peer.Namespace == p.Namespace, "same namespace"
	if pr.NamespaceSelector != nil {
		ok, err := selects(pr.NamespaceSelector, c.nsLabels(peer.Namespace))
		if err != nil {
			v.Warnings = append(v.Warnings, fmt.Sprintf("%s/%s: namespaceSelector: %v", p.Namespace, p.Name, err))
			return "", false
		}
		nsOK, nsWhy = ok, "namespaceSelector "+pr.NamespaceSelector.String()
	}
	if !nsOK {
		return "", false
	}
	if pr.PodSelector == nil {
		return nsWhy, true
	}
	ok, err := selects(pr.PodSelector, peer.Labels)
	if err != nil {
		v.Warnings = append(v.Warnings, fmt.Sprintf("%s/%s: podSelector: %v", p.Namespace, p.Name, err))
		return "", false
	}
	if !ok {
		return "", false
	}
	return nsWhy + ", podSelector " + pr.PodSelector.String(), true
}
