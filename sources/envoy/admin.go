// Package envoy reads an Envoy sidecar's admin API (/clusters, /stats, /config_dump, live or saved to
// files) and Istio's standard metrics from Prometheus, and turns them into investigate's mesh types.
// The parsers follow the shapes in Envoy's admin documentation
// (https://www.envoyproxy.io/docs/envoy/latest/operations/admin and the admin.v3 protos) and ignore
// fields they do not know, so newer Envoy versions keep working.
package envoy

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/dbgtool/dbg/investigate"
	"github.com/dbgtool/dbg/sources/httpx"
)

// Dump is what one sidecar's admin API said.
type Dump struct {
	Clusters []investigate.EnvoyCluster
	Routes   []investigate.EnvoyRoute
	Sources  []string
	Warnings []string
}

// Admin reads a live admin endpoint through httpx.
type Admin struct{ c *httpx.Client }

// NewAdmin connects to an admin endpoint (http://127.0.0.1:15000 for an Istio sidecar, through
// kubectl port-forward).
func NewAdmin(ep httpx.Endpoint) (*Admin, error) {
	if ep.Name == "" {
		ep.Name = "Envoy admin"
	}
	if ep.Flag == "" {
		ep.Flag = "--envoy-admin"
	}
	c, err := httpx.New(ep)
	if err != nil {
		return nil, err
	}
	return &Admin{c: c}, nil
}

// Check asks the admin endpoint for /ready.
func (a *Admin) Check(ctx context.Context) error {
	_, err := a.c.Do(ctx, httpx.Request{Path: "/ready"})
	return err
}

// Fetch reads /clusters, /stats and /config_dump. A failing endpoint is a warning when another answered.
func (a *Admin) Fetch(ctx context.Context) (*Dump, error) {
	b := newBuilder()
	var errs []error
	for _, p := range []struct {
		path string
		q    url.Values
	}{
		{"/config_dump", nil},
		{"/clusters", url.Values{"format": {"json"}}},
		{"/stats", url.Values{"format": {"json"}}},
	} {
		body, err := a.c.Do(ctx, httpx.Request{Path: p.path, Query: p.q})
		if err == nil {
			err = b.add(body, a.c.BaseURL()+p.path)
		}
		if err != nil {
			errs = append(errs, err)
			b.warn("%s: %v", p.path, err)
		}
	}
	if len(errs) == 3 {
		return nil, errs[0] // the same cause three times says no more than once
	}
	return b.dump(), nil
}

// ReadFiles reads responses saved from the admin API (curl localhost:15000/clusters > clusters.txt),
// each file or every file of a directory; which endpoint a file came from is told by its content.
func ReadFiles(paths []string) (*Dump, error) {
	b := newBuilder()
	var files []string
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("envoy admin file: %w", err)
		}
		if !st.IsDir() {
			files = append(files, p)
			continue
		}
		ents, err := os.ReadDir(p)
		if err != nil {
			return nil, fmt.Errorf("envoy admin directory: %w", err)
		}
		for _, e := range ents {
			if !e.IsDir() {
				files = append(files, filepath.Join(p, e.Name()))
			}
		}
	}
	sort.Strings(files)
	read := 0
	for _, f := range files {
		data, err := readLimited(f, 256<<20)
		if err != nil {
			return nil, fmt.Errorf("envoy admin file %s: %w", f, err)
		}
		if err := b.add(data, f); err != nil {
			if len(files) == 1 {
				return nil, fmt.Errorf("envoy admin file %s: %w", f, err)
			}
			b.warn("%s: %v", f, err)
			continue
		}
		read++
	}
	if read == 0 {
		return nil, fmt.Errorf("no Envoy admin response in %s (want the output of /clusters, /stats or /config_dump)", strings.Join(paths, ", "))
	}
	return b.dump(), nil
}

func readLimited(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var buf bytes.Buffer
	n, err := buf.ReadFrom(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if n > limit {
		return nil, fmt.Errorf("larger than %d bytes", limit)
	}
	return buf.Bytes(), nil
}

// builder merges what each endpoint says about the same clusters.
type builder struct {
	clusters map[string]*investigate.EnvoyCluster
	order    []string
	routes   []investigate.EnvoyRoute
	stats    map[string]float64
	sources  []string
	warnings []string
}

func newBuilder() *builder {
	return &builder{clusters: map[string]*investigate.EnvoyCluster{}, stats: map[string]float64{}}
}

func (b *builder) warn(format string, args ...any) {
	b.warnings = append(b.warnings, fmt.Sprintf(format, args...))
}

func (b *builder) cluster(name string) *investigate.EnvoyCluster {
	c := b.clusters[name]
	if c == nil {
		c = &investigate.EnvoyCluster{Name: name, Stats: map[string]float64{}}
		c.Direction, c.Port, c.Subset, c.FQDN, _ = investigate.ParseIstioCluster(name)
		b.clusters[name] = c
		b.order = append(b.order, name)
	}
	return c
}

// add detects which endpoint produced data and parses it.
func (b *builder) add(data []byte, source string) error {
	t := bytes.TrimSpace(data)
	if len(t) == 0 {
		return fmt.Errorf("empty response")
	}
	var err error
	switch {
	case t[0] == '{':
		var probe map[string]json.RawMessage
		if err = json.Unmarshal(t, &probe); err != nil {
			return fmt.Errorf("not JSON: %v", err)
		}
		switch {
		case probe["configs"] != nil:
			err = b.configDump(t)
		case probe["cluster_statuses"] != nil:
			err = b.clustersJSON(t)
		case probe["stats"] != nil:
			err = b.statsJSON(t)
		default:
			return fmt.Errorf("JSON without configs, cluster_statuses or stats: not /config_dump, /clusters?format=json or /stats?format=json")
		}
	case bytes.HasPrefix(t, []byte("# TYPE")) || bytes.HasPrefix(t, []byte("# HELP")) || bytes.HasPrefix(t, []byte("envoy_")):
		err = b.statsPrometheus(append(t, '\n'))
	case isClustersText(t):
		err = b.clustersText(t)
	default:
		err = b.statsText(t)
	}
	if err == nil {
		b.sources = append(b.sources, source)
	}
	return err
}

func (b *builder) dump() *Dump {
	b.applyStats()
	d := &Dump{Routes: b.routes, Sources: b.sources, Warnings: b.warnings}
	for _, n := range b.order {
		d.Clusters = append(d.Clusters, *b.clusters[n])
	}
	investigate.SortClusters(d.Clusters)
	return d
}
