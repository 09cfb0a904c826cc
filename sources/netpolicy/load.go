package netpolicy

import (
	"bytes"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"sigs.k8s.io/yaml"
	"sort"
	"strings"
)

// Workload is a pod template found in the manifests: what a NS/APP name resolves to.
type Workload struct {
	Namespace, Name, Kind string
	Labels                map[string]string
	Ports                 map[string]int32
}

// Manifests is everything read from -f: policies, namespaces and workloads.
type Manifests struct {
	Cluster   Cluster
	Workloads []Workload
	Files     int
	Warnings  []string
}

const maxManifest = 16 << 20

// Load reads every .yaml, .yml and .json file under the paths (files or directories, recursively),
// multi-document YAML and kind: List included. Kinds other than NetworkPolicy, Namespace and workloads
// are skipped.
func Load(paths []string) (*Manifests, error) {
	m := &Manifests{Cluster: Cluster{NamespaceLabels: map[string]map[string]string{}}}
	var files []string
	for _, p := range paths {
		err := filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			ext := strings.ToLower(filepath.Ext(path))
			if !d.IsDir() && (ext == ".yaml" || ext == ".yml" || ext == ".json" || path == p) {
				files = append(files, path)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("read manifests: %w", err)
		}
	}
	sort.Strings(files)
	for _, f := range files {
		st, err := os.Stat(f)
		if err != nil {
			return nil, fmt.Errorf("read manifests: %w", err)
		}
		if st.Size() > maxManifest {
			m.Warnings = append(m.Warnings, fmt.Sprintf("%s: larger than %d bytes, skipped", f, maxManifest))
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("read manifests: %w", err)
		}
		m.Files++
		for i, doc := range splitYAML(data) {
			if err := m.add(doc); err != nil {
				m.Warnings = append(m.Warnings, fmt.Sprintf("%s document %d: %v", f, i+1, err))
			}
		}
	}
	if m.Files == 0 {
		return nil, fmt.Errorf("no .yaml, .yml or .json manifests under %s", strings.Join(paths, ", "))
	}
	return m, nil
}

// splitYAML cuts a stream at "---" document separators.
func splitYAML(data []byte) [][]byte {
	var out [][]byte
	var cur bytes.Buffer
	for _, line := range bytes.SplitAfter(data, []byte("\n")) {
		if t := bytes.TrimRight(line, "\r\n \t"); bytes.Equal(t, []byte("---")) || bytes.HasPrefix(t, []byte("--- ")) {
			out = append(out, bytes.Clone(cur.Bytes()))
			cur.Reset()
			continue
		}
		cur.Write(line)
	}
	out = append(out, cur.Bytes())
	var docs [][]byte
	for _, d := range out {
		if len(bytes.TrimSpace(d)) > 0 {
			docs = append(docs, d)
		}
	}
	return docs
}

type typed struct {
	Kind  string    `json:"kind"`
	Items []jsonRaw `json:"items"`
}

type jsonRaw []byte

func (r *jsonRaw) UnmarshalJSON(b []byte) error { *r = bytes.Clone(b); return nil }

// podTemplate is the part of any workload kind that matters here.
type podTemplate struct {
	Metadata ObjectMeta `json:"metadata"`
	Spec     struct {
		Template PodTemplateSpec `json:"template"`
	} `json:"spec"`
}

func (m *Manifests) add(doc []byte) error {
	var t typed
	if err := yaml.Unmarshal(doc, &t); err != nil {
		return err
	}
	switch t.Kind {
	case "List", "NetworkPolicyList", "NamespaceList", "DeploymentList", "PodList":
		for _, it := range t.Items {
			if err := m.add(it); err != nil {
				return err
			}
		}
	case "NetworkPolicy":
		var p NetworkPolicy
		if err := yaml.Unmarshal(doc, &p); err != nil {
			return err
		}
		if p.Namespace == "" {
			p.Namespace = "default"
			m.Warnings = append(m.Warnings, fmt.Sprintf("NetworkPolicy %s has no namespace: taken as default (kubectl apply -n would set it)", p.Name))
		}
		m.Cluster.Policies = append(m.Cluster.Policies, p)
	case "Namespace":
		var ns Namespace
		if err := yaml.Unmarshal(doc, &ns); err != nil {
			return err
		}
		l := map[string]string{}
		for k, v := range ns.Labels {
			l[k] = v
		}
		m.Cluster.NamespaceLabels[ns.Name] = l
	case "Pod":
		var p Pod
		if err := yaml.Unmarshal(doc, &p); err != nil {
			return err
		}
		m.Workloads = append(m.Workloads, workload(p.Namespace, p.Name, "Pod", p.Labels, p.Spec))
	case "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "ReplicationController":
		var w podTemplate
		if err := yaml.Unmarshal(doc, &w); err != nil {
			return err
		}
		m.Workloads = append(m.Workloads, workload(w.Metadata.Namespace, w.Metadata.Name, t.Kind, w.Spec.Template.Labels, w.Spec.Template.Spec))
	}
	return nil
}

func workload(ns, name, kind string, l map[string]string, spec PodSpec) Workload {
	if ns == "" {
		ns = "default"
	}
	w := Workload{Namespace: ns, Name: name, Kind: kind, Labels: l, Ports: map[string]int32{}}
	for _, c := range spec.Containers {
		for _, p := range c.Ports {
			if p.Name != "" {
				w.Ports[p.Name] = p.ContainerPort
			}
		}
	}
	return w
}

// Resolve turns NS/APP (or an IP address) into an endpoint. NS/APP is a workload of that name in the
// manifests when there is one (its pod template's labels), otherwise a pod labelled app=APP and
// app.kubernetes.io/name=APP, which the verdict lists as an assumption. extra labels (k=v,...) replace
// the labels when given.
func (m *Manifests) Resolve(spec, extra string, assumptions *[]string) (Endpoint, error) {
	if a, err := netip.ParseAddr(spec); err == nil {
		return Endpoint{IP: a}, nil
	}
	ns, app, ok := strings.Cut(spec, "/")
	if !ok || ns == "" || app == "" {
		return Endpoint{}, fmt.Errorf("%q: want NAMESPACE/APP (a workload or app label) or an IP address", spec)
	}
	e := Endpoint{Namespace: ns, Name: app}
	for _, w := range m.Workloads {
		if w.Namespace == ns && w.Name == app {
			e.Labels, e.NamedPorts = w.Labels, w.Ports
			*assumptions = append(*assumptions, fmt.Sprintf("%s: labels of %s %s in the manifests: %s", spec, w.Kind, w.Name, labelString(w.Labels)))
			break
		}
	}
	if extra != "" {
		l, err := parseLabels(extra)
		if err != nil {
			return Endpoint{}, err
		}
		e.Labels = l
		*assumptions = append(*assumptions, fmt.Sprintf("%s: labels given: %s", spec, labelString(l)))
	}
	if e.Labels == nil {
		e.Labels = map[string]string{"app": app, "app.kubernetes.io/name": app}
		*assumptions = append(*assumptions, fmt.Sprintf("%s: no workload named %s in the manifests; assumed pod labels app=%s, app.kubernetes.io/name=%s (give --from-labels/--to-labels, or the Deployment in -f)", spec, app, app, app))
	}
	if _, ok := m.Cluster.NamespaceLabels[ns]; ok {
		*assumptions = append(*assumptions, fmt.Sprintf("namespace %s: labels from its Namespace manifest plus kubernetes.io/metadata.name", ns))
	} else {
		*assumptions = append(*assumptions, fmt.Sprintf("namespace %s: no Namespace manifest or --namespace-labels; only kubernetes.io/metadata.name=%s (set on every namespace since Kubernetes 1.21)", ns, ns))
	}
	return e, nil
}

func parseLabels(s string) (map[string]string, error) {
	out := map[string]string{}
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("labels %q: want key=value,key=value", s)
		}
		out[k] = v
	}
	return out, nil
}

// SetNamespaceLabels applies --namespace-labels NS=k=v,k=v (labels of a namespace without a manifest,
// or in place of its manifest's).
func (m *Manifests) SetNamespaceLabels(spec string) error {
	ns, rest, ok := strings.Cut(spec, ":")
	if !ok || ns == "" {
		return fmt.Errorf("--namespace-labels %q: want NAMESPACE:key=value,key=value", spec)
	}
	l, err := parseLabels(rest)
	if err != nil {
		return fmt.Errorf("--namespace-labels: %w", err)
	}
	m.Cluster.NamespaceLabels[ns] = l
	return nil
}

func labelString(l map[string]string) string {
	keys := make([]string, 0, len(l))
	for k := range l {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + l[k]
	}
	return strings.Join(parts, ",")
}
