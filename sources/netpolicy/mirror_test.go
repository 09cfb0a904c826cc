package netpolicy

import (
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"
)

// The evaluator's types mirror k8s.io/api's so that the dbg binary does not link it (issue #17). These
// tests decode every manifest into both and check that everything the evaluator reads agrees, and that
// the selector matching agrees with apimachinery's labels.Selector. The test binary links k8s.io/api;
// dbg does not (cmd's TestBinaryLinksNoTestTooling).

// edgeManifests are the shapes testdata/netpolicy does not have: a List, a string port that looks like a
// number, SCTP, endPort, except, no policyTypes with egress rules, every operator, a Pod.
const edgeManifests = `
apiVersion: v1
kind: List
items:
- apiVersion: networking.k8s.io/v1
  kind: NetworkPolicy
  metadata: {name: edge-ops, namespace: edge}
  spec:
    podSelector:
      matchLabels: {app: api}
      matchExpressions:
      - {key: tier, operator: NotIn, values: [db, cache]}
      - {key: canary, operator: DoesNotExist}
      - {key: team, operator: Exists}
    egress:
    - to:
      - ipBlock: {cidr: 10.0.0.0/8, except: [10.1.0.0/16, 10.2.3.4/32]}
      - ipBlock: {cidr: "2001:db8::/32", except: ["2001:db8:1::/48"]}
      ports:
      - {protocol: SCTP, port: 3868}
      - {port: 8000, endPort: 8100}
      - {protocol: UDP}
    - to:
      - namespaceSelector:
          matchExpressions: [{key: env, operator: In, values: [prod, staging]}]
        podSelector: {}
      ports: [{port: "80"}, {port: web}]
- apiVersion: networking.k8s.io/v1
  kind: NetworkPolicy
  metadata: {name: edge-ingress-only}
  spec:
    podSelector: {}
    ingress:
    - {}
---
apiVersion: v1
kind: Pod
metadata: {name: api-0, namespace: edge, labels: {app: api, team: core}}
spec:
  containers:
  - name: api
    ports: [{name: web, containerPort: 8080}, {containerPort: 9000}]
  - name: sidecar
    ports: [{name: admin, containerPort: 15000, protocol: TCP}]
`

// labelSets are the pods and namespaces every selector is tried on.
var labelSets = []map[string]string{
	{},
	{"app": "payment"},
	{"app": "payment", "tier": "backend"},
	{"app": "checkout", "tier": "web"},
	{"k8s-app": "kube-dns"},
	{"kubernetes.io/metadata.name": "kube-system"},
	{"kubernetes.io/metadata.name": "monitoring", "purpose": "monitoring"},
	{"app": "api", "team": "core"},
	{"app": "api", "team": "core", "tier": "db"},
	{"app": "api", "team": "core", "canary": "true"},
	{"app": "api", "team": ""},
	{"env": "prod"},
	{"env": "dev"},
	{"env": ""},
}

// checkSelector: the mirror selects what apimachinery selects, fails when it fails, and prints the same.
func checkSelector(t *testing.T, where string, k *metav1.LabelSelector, m *LabelSelector) {
	t.Helper()
	if (k == nil) != (m == nil) {
		t.Errorf("%s: k8s selector %v, mirror %v", where, k, m)
		return
	}
	ks, kerr := metav1.LabelSelectorAsSelector(k)
	if got := m.String(); got != metav1.FormatLabelSelector(k) {
		t.Errorf("%s: mirror prints %q, apimachinery %q", where, got, metav1.FormatLabelSelector(k))
	}
	for _, l := range labelSets {
		ok, err := m.Matches(l)
		if (err != nil) != (kerr != nil) {
			t.Errorf("%s: mirror error %v, apimachinery error %v", where, err, kerr)
			return
		}
		if kerr == nil && ok != ks.Matches(labels.Set(l)) {
			t.Errorf("%s on %v: mirror %v, apimachinery %v", where, l, ok, !ok)
		}
	}
}

// k8sPolicyTypes is the API server's defaulting (SetDefaults_NetworkPolicySpec in
// kubernetes/pkg/apis/networking/v1/defaults.go): Ingress always, Egress when there are egress rules.
func k8sPolicyTypes(p *networkingv1.NetworkPolicy) (in, eg bool) {
	ts := p.Spec.PolicyTypes
	if len(ts) == 0 {
		ts = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}
		if len(p.Spec.Egress) > 0 {
			ts = append(ts, networkingv1.PolicyTypeEgress)
		}
	}
	return slices.Contains(ts, networkingv1.PolicyTypeIngress), slices.Contains(ts, networkingv1.PolicyTypeEgress)
}

func checkPorts(t *testing.T, where string, k []networkingv1.NetworkPolicyPort, m []NetworkPolicyPort) {
	t.Helper()
	if len(k) != len(m) {
		t.Errorf("%s: %d ports in k8s, %d in the mirror", where, len(k), len(m))
		return
	}
	for i := range k {
		kp, mp := k[i], m[i]
		kproto, mproto := "TCP", "TCP"
		if kp.Protocol != nil {
			kproto = string(*kp.Protocol)
		}
		if mp.Protocol != nil {
			mproto = string(*mp.Protocol)
		}
		if kproto != mproto || (kp.Port == nil) != (mp.Port == nil) || (kp.EndPort == nil) != (mp.EndPort == nil) ||
			(kp.EndPort != nil && *kp.EndPort != *mp.EndPort) {
			t.Errorf("%s port %d: k8s %+v, mirror %+v", where, i, kp, mp)
			continue
		}
		if kp.Port != nil && ((kp.Port.Type == intstr.String) != mp.Port.IsString || kp.Port.IntVal != mp.Port.IntVal || kp.Port.StrVal != mp.Port.StrVal) {
			t.Errorf("%s port %d: k8s %v (string %v), mirror %v (string %v)", where, i, kp.Port, kp.Port.Type == intstr.String, mp.Port, mp.Port.IsString)
		}
	}
}

func checkPeers(t *testing.T, where string, k []networkingv1.NetworkPolicyPeer, m []NetworkPolicyPeer) {
	t.Helper()
	if len(k) != len(m) {
		t.Errorf("%s: %d peers in k8s, %d in the mirror", where, len(k), len(m))
		return
	}
	for i := range k {
		checkSelector(t, where+" podSelector", k[i].PodSelector, m[i].PodSelector)
		checkSelector(t, where+" namespaceSelector", k[i].NamespaceSelector, m[i].NamespaceSelector)
		kb, mb := k[i].IPBlock, m[i].IPBlock
		if (kb == nil) != (mb == nil) || (kb != nil && (kb.CIDR != mb.CIDR || !slices.Equal(kb.Except, mb.Except))) {
			t.Errorf("%s peer %d ipBlock: k8s %+v, mirror %+v", where, i, kb, mb)
		}
	}
}

func checkPolicy(t *testing.T, k *networkingv1.NetworkPolicy, m *NetworkPolicy) {
	t.Helper()
	where := k.Namespace + "/" + k.Name
	if k.Name != m.Name || k.Namespace != m.Namespace {
		t.Errorf("%s: mirror is %s/%s", where, m.Namespace, m.Name)
	}
	ki, ke := k8sPolicyTypes(k)
	if mi, me := policyTypes(m); ki != mi || ke != me {
		t.Errorf("%s policy types: k8s ingress=%v egress=%v, mirror %v %v", where, ki, ke, mi, me)
	}
	checkSelector(t, where+" podSelector", &k.Spec.PodSelector, &m.Spec.PodSelector)
	if len(k.Spec.Ingress) != len(m.Spec.Ingress) || len(k.Spec.Egress) != len(m.Spec.Egress) {
		t.Fatalf("%s: rules differ: k8s %d/%d, mirror %d/%d", where, len(k.Spec.Ingress), len(k.Spec.Egress), len(m.Spec.Ingress), len(m.Spec.Egress))
	}
	for i, r := range k.Spec.Ingress {
		checkPorts(t, where+" ingress", r.Ports, m.Spec.Ingress[i].Ports)
		checkPeers(t, where+" ingress", r.From, m.Spec.Ingress[i].From)
	}
	for i, r := range k.Spec.Egress {
		checkPorts(t, where+" egress", r.Ports, m.Spec.Egress[i].Ports)
		checkPeers(t, where+" egress", r.To, m.Spec.Egress[i].To)
	}
}

// k8sTemplate is any workload kind's pod template, in k8s.io/api's types.
type k8sTemplate struct {
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		Template corev1.PodTemplateSpec `json:"template"`
	} `json:"spec"`
}

func k8sPorts(spec corev1.PodSpec) map[string]int32 {
	out := map[string]int32{}
	for _, c := range spec.Containers {
		for _, p := range c.Ports {
			if p.Name != "" {
				out[p.Name] = p.ContainerPort
			}
		}
	}
	return out
}

// TestMirrorMatchesK8sAPI: every document of testdata/netpolicy and edgeManifests, decoded into
// k8s.io/api's types and into the mirror (straight from the YAML, and from the k8s object marshalled to
// JSON), agrees on everything the evaluator reads.
func TestMirrorMatchesK8sAPI(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "testdata", "netpolicy", "*.yaml"))
	var docs [][]byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, splitYAML(b)...)
	}
	docs = append(docs, splitYAML([]byte(edgeManifests))...)
	kinds := map[string]int{}
	m := &Manifests{Cluster: Cluster{NamespaceLabels: map[string]map[string]string{}}}
	for len(docs) > 0 {
		doc := docs[0]
		docs = docs[1:]
		var head struct {
			Kind  string            `json:"kind"`
			Items []json.RawMessage `json:"items"`
		}
		if err := yaml.Unmarshal(doc, &head); err != nil {
			t.Fatal(err)
		}
		kinds[head.Kind]++
		if strings.HasSuffix(head.Kind, "List") {
			for _, it := range head.Items {
				docs = append(docs, it)
			}
			continue
		}
		if err := m.add(doc); err != nil {
			t.Fatalf("%s: %v", head.Kind, err)
		}
		switch head.Kind {
		case "NetworkPolicy":
			var k networkingv1.NetworkPolicy
			var fromYAML, fromJSON NetworkPolicy
			if err := yaml.Unmarshal(doc, &k); err != nil {
				t.Fatal(err)
			}
			if err := yaml.Unmarshal(doc, &fromYAML); err != nil {
				t.Fatal(err)
			}
			j, _ := json.Marshal(&k)
			if err := json.Unmarshal(j, &fromJSON); err != nil {
				t.Fatal(err)
			}
			checkPolicy(t, &k, &fromYAML)
			checkPolicy(t, &k, &fromJSON)
			if k.Namespace == "" {
				k.Namespace = "default"
			}
			if got := m.Cluster.Policies[len(m.Cluster.Policies)-1]; got.Namespace != k.Namespace || got.Name != k.Name {
				t.Errorf("Load kept %s/%s for %s/%s", got.Namespace, got.Name, k.Namespace, k.Name)
			}
		case "Namespace":
			var k corev1.Namespace
			if err := yaml.Unmarshal(doc, &k); err != nil {
				t.Fatal(err)
			}
			if !maps.Equal(m.Cluster.NamespaceLabels[k.Name], k.Labels) {
				t.Errorf("namespace %s: Load read %v, k8s %v", k.Name, m.Cluster.NamespaceLabels[k.Name], k.Labels)
			}
		case "Pod":
			var k corev1.Pod
			if err := yaml.Unmarshal(doc, &k); err != nil {
				t.Fatal(err)
			}
			w := m.Workloads[len(m.Workloads)-1]
			if w.Name != k.Name || !maps.Equal(w.Labels, k.Labels) || !maps.Equal(w.Ports, k8sPorts(k.Spec)) {
				t.Errorf("pod %s: Load read %+v, k8s labels %v ports %v", k.Name, w, k.Labels, k8sPorts(k.Spec))
			}
		default:
			var k k8sTemplate
			if err := yaml.Unmarshal(doc, &k); err != nil {
				t.Fatal(err)
			}
			w := m.Workloads[len(m.Workloads)-1]
			if w.Name != k.Name || w.Namespace != k.Namespace || !maps.Equal(w.Labels, k.Spec.Template.Labels) || !maps.Equal(w.Ports, k8sPorts(k.Spec.Template.Spec)) {
				t.Errorf("%s %s: Load read %+v, k8s labels %v ports %v", head.Kind, k.Name, w, k.Spec.Template.Labels, k8sPorts(k.Spec.Template.Spec))
			}
		}
	}
	if kinds["NetworkPolicy"] < 8 || kinds["Namespace"] == 0 || kinds["Deployment"] == 0 || kinds["StatefulSet"] == 0 || kinds["Pod"] == 0 || kinds["List"] == 0 {
		t.Errorf("the manifests did not cover every kind: %v", kinds)
	}
}

// TestSelectorMatchesApimachinery: selectors valid and invalid, as metav1.LabelSelectorAsSelector reads
// them: the same matches, the same failures, the same printed form.
func TestSelectorMatchesApimachinery(t *testing.T) {
	long := strings.Repeat("a", 64)
	for _, s := range []string{
		`{}`,
		`{matchLabels: {app: payment}}`,
		`{matchLabels: {app: api, team: core}}`,
		`{matchLabels: {env: ""}}`,
		`{matchExpressions: [{key: env, operator: In, values: [staging, prod]}]}`,
		`{matchExpressions: [{key: tier, operator: NotIn, values: [db]}]}`,
		`{matchExpressions: [{key: team, operator: Exists}, {key: canary, operator: DoesNotExist}]}`,
		`{matchLabels: {app: api}, matchExpressions: [{key: tier, operator: NotIn, values: [db, cache]}]}`,
		`{matchExpressions: [{key: kubernetes.io/metadata.name, operator: In, values: [kube-system, monitoring]}]}`,
		// invalid: apimachinery refuses them, and so must the mirror.
		`{matchExpressions: [{key: env, operator: Equals, values: [prod]}]}`,
		`{matchExpressions: [{key: env, operator: In}]}`,
		`{matchExpressions: [{key: env, operator: NotIn, values: []}]}`,
		`{matchExpressions: [{key: env, operator: Exists, values: [x]}]}`,
		`{matchLabels: {"-app": x}}`,
		`{matchLabels: {"a/b/c": x}}`,
		`{matchLabels: {"Example.com/app": x}}`,
		`{matchLabels: {"/app": x}}`,
		`{matchLabels: {"example.com/": x}}`,
		`{matchLabels: {app: "has space"}}`,
		`{matchLabels: {app: "-x"}}`,
		`{matchLabels: {` + long + `: x}}`,
		`{matchLabels: {app: ` + long + `}}`,
		`{matchExpressions: [{key: "bad key", operator: Exists}]}`,
		`{matchExpressions: [{key: env, operator: In, values: ["bad value"]}]}`,
	} {
		var k metav1.LabelSelector
		var m LabelSelector
		if err := yaml.Unmarshal([]byte(s), &k); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		if err := yaml.Unmarshal([]byte(s), &m); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		checkSelector(t, s, &k, &m)
	}
	checkSelector(t, "nil", nil, nil)
}
