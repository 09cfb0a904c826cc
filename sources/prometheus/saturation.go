package prometheus

import (
	"context"
	"math"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/dbgtool/dbg/investigate"
)

// satCheck is one saturation reading. value and limit are PromQL templates: {by} is the grouping list,
// {sel} the service matchers after a comma (", job=~...") and {sel0} the same without it, {w} the range.
type satCheck struct {
	resource string
	unit     string
	metrics  []string // all must exist for the check to run
	value    string
	limit    string  // empty: constLimit (0: compared with the baseline)
	constLim float64 // the limit when value is already a fraction
	group    []string
	warnAt   float64
	growthAt float64
}

var saturationChecks = []satCheck{
	{resource: "cpu_throttling", unit: "ratio",
		metrics:  []string{"container_cpu_cfs_throttled_periods_total", "container_cpu_cfs_periods_total"},
		value:    `sum by ({by}) (rate(container_cpu_cfs_throttled_periods_total{container!=""{sel}}[{w}])) / sum by ({by}) (rate(container_cpu_cfs_periods_total{container!=""{sel}}[{w}]))`,
		constLim: 1, warnAt: 0.25, group: []string{"container"}},
	{resource: "memory", unit: "bytes",
		metrics: []string{"container_memory_working_set_bytes", "container_spec_memory_limit_bytes"},
		value:   `sum by ({by}) (container_memory_working_set_bytes{container!=""{sel}})`,
		limit:   `sum by ({by}) (container_spec_memory_limit_bytes{container!=""{sel}}) > 0`,
		warnAt:  0.9, group: []string{"container"}},
	{resource: "goroutines", unit: "count", metrics: []string{"go_goroutines"},
		value: `sum by ({by}) (go_goroutines{{sel0}})`, group: []string{"job"}, growthAt: 2},
	{resource: "heap", unit: "bytes", metrics: []string{"go_memstats_heap_inuse_bytes"},
		// Averaged: Go's heap swings up to 2x between collections, so two instants would be noise.
		value: `sum by ({by}) (avg_over_time(go_memstats_heap_inuse_bytes{{sel0}}[{w}]))`, group: []string{"job"}, growthAt: 2},
	{resource: "open_fds", unit: "ratio", metrics: []string{"process_open_fds", "process_max_fds"},
		value:    `max by ({by}) (process_open_fds{{sel0}} / process_max_fds{{sel0}})`,
		constLim: 1, warnAt: 0.8, group: []string{"job"}},
	{resource: "db_pool", unit: "ratio", metrics: []string{"go_sql_stats_connections_in_use", "go_sql_stats_connections_max_open"},
		value:    `max by ({by}) (go_sql_stats_connections_in_use{{sel0}} / (go_sql_stats_connections_max_open{{sel0}} > 0))`,
		constLim: 1, warnAt: 0.9, group: []string{"job", "db_name"}},
	{resource: "db_pool", unit: "ratio", metrics: []string{"pgxpool_acquired_conns", "pgxpool_max_conns"},
		value:    `max by ({by}) (pgxpool_acquired_conns{{sel0}} / (pgxpool_max_conns{{sel0}} > 0))`,
		constLim: 1, warnAt: 0.9, group: []string{"job"}},
	{resource: "db_pool", unit: "ratio", metrics: []string{"hikaricp_connections_active", "hikaricp_connections_max"},
		value:    `max by ({by}) (hikaricp_connections_active{{sel0}} / (hikaricp_connections_max{{sel0}} > 0))`,
		constLim: 1, warnAt: 0.9, group: []string{"job", "pool"}},
	{resource: "db_pool", unit: "ratio", metrics: []string{"db_client_connections_usage", "db_client_connections_max"},
		value:    `sum by ({by}) (db_client_connections_usage{state="used"{sel}}) / sum by ({by}) (db_client_connections_max{{sel0}} > 0)`,
		constLim: 1, warnAt: 0.9, group: []string{"job", "pool_name"}},
	{resource: "circuit_breaker", unit: "ratio", metrics: []string{"resilience4j_circuitbreaker_state"},
		value:    `max by ({by}) (resilience4j_circuitbreaker_state{state=~"open|forced_open"{sel}})`,
		constLim: 1, warnAt: 1, group: []string{"job", "name"}},
	{resource: "bulkhead", unit: "ratio",
		metrics:  []string{"resilience4j_bulkhead_available_concurrent_calls", "resilience4j_bulkhead_max_allowed_concurrent_calls"},
		value:    `max by ({by}) (1 - resilience4j_bulkhead_available_concurrent_calls{{sel0}} / (resilience4j_bulkhead_max_allowed_concurrent_calls{{sel0}} > 0))`,
		constLim: 1, warnAt: 0.9, group: []string{"job", "name"}},
}

// satScope is the service saturation is read for and its processes: the instances (and pods) whose
// request series carry the service, so that a job shared by many services ("kubernetes-pods") is
// narrowed to this service's own targets, under the same identity as its request metrics.
type satScope struct {
	service   string
	instances []string
	pods      []string
}

// maxTargets bounds the instances or pods spelled out in a matcher; beyond it the job or container
// is matched by the service's name.
const maxTargets = 100

// matcher is the saturation matcher for a check grouped by group ("" without --service).
func (sc satScope) matcher(group string) string {
	anyOf := func(label string, vals []string) string {
		q := make([]string, len(vals))
		for i, v := range vals {
			q[i] = regexp.QuoteMeta(v)
		}
		return MatchRegex(label, strings.Join(q, "|"))
	}
	switch {
	case sc.service == "":
		return ""
	case group == "job" && len(sc.instances) > 0 && len(sc.instances) <= maxTargets:
		return anyOf("instance", sc.instances)
	case group == "container" && len(sc.pods) > 0 && len(sc.pods) <= maxTargets:
		return anyOf("pod", sc.pods)
	}
	return serviceMatcher(group, sc.service)
}

func (c satCheck) expr(tmpl string, scope satScope, w string) string {
	sel0 := scope.matcher(c.group[0])
	sel := ""
	if sel0 != "" {
		sel = ", " + sel0
	}
	q := strings.NewReplacer("{by}", By(c.group...), "{sel0}", sel0, "{sel}", sel, "{w}", w).Replace(tmpl)
	return strings.ReplaceAll(q, "{}", "")
}

type satKey struct{ service, op string }

func (c satCheck) key(l map[string]string, service string) satKey {
	k := satKey{service: l[c.group[0]]}
	if k.service == "" || service != "" {
		k.service = service // with --service, the service asked for, whatever its job is called
	}
	var ops []string
	for _, g := range c.group[1:] {
		if l[g] != "" {
			ops = append(ops, l[g])
		}
	}
	k.op = strings.Join(ops, "/")
	return k
}

// saturationJobs returns the queries of every check whose metrics exist, and whether any did.
func saturationJobs(rec *recorder, have map[string]bool, si *investigate.SaturationInput, scope satScope, w investigate.Window, win, rangeWin string, step time.Duration, mu *sync.Mutex) ([]job, bool) {
	service := scope.service
	var jobs []job
	found := false
	for _, c := range saturationChecks {
		ok := true
		for _, m := range c.metrics {
			ok = ok && have[m]
		}
		if !ok {
			continue
		}
		found = true
		value := c.expr(c.value, scope, win)
		rangeValue := c.expr(c.value, scope, rangeWin)
		cur, base, lim := map[satKey]float64{}, map[satKey]float64{}, map[satKey]float64{}
		sparks := map[satKey][]float64{}
		into := func(q string, t time.Time, dst map[satKey]float64) job {
			return job{func(ctx context.Context) error {
				smp, err := rec.query(ctx, q, t)
				if err != nil {
					return err
				}
				mu.Lock()
				defer mu.Unlock()
				for _, x := range smp {
					if !math.IsNaN(x.Value) && !math.IsInf(x.Value, 0) {
						dst[c.key(x.Labels, service)] = x.Value
					}
				}
				return nil
			}}
		}
		parts := []job{into(value, w.End, cur), into(value, w.BaselineEnd, base),
			{func(ctx context.Context) error {
				ss, err := rec.queryRange(ctx, rangeValue, w.Start, w.End, step)
				if err != nil {
					return err
				}
				mu.Lock()
				defer mu.Unlock()
				for _, x := range ss {
					sparks[c.key(x.Labels, service)] = x.Resample(w.Start, w.End, step)
				}
				return nil
			}}}
		limitQ := ""
		if c.limit != "" {
			limitQ = c.expr(c.limit, scope, win)
			parts = append(parts, into(limitQ, w.End, lim))
		}
		var once sync.Once
		finish := func() {
			mu.Lock()
			defer mu.Unlock()
			for k, v := range cur {
				o := investigate.SaturationObservation{Resource: c.resource, Service: k.service, Operation: k.op,
					Value: v, Baseline: base[k], Unit: c.unit, WarnAt: c.warnAt, GrowthAt: c.growthAt,
					Query: value, Link: rec.s.link(rangeValue, w), Spark: sparks[k]}
				if c.limit != "" {
					o.Limit = lim[k]
				} else {
					o.Limit = c.constLim
				}
				si.Rows = append(si.Rows, o)
			}
		}
		// The last of the check's queries to finish turns the answers into rows.
		n := len(parts)
		var done int
		var dmu sync.Mutex
		for _, inner := range parts {
			jobs = append(jobs, job{func(ctx context.Context) error {
				if err := inner.run(ctx); err != nil {
					return err
				}
				dmu.Lock()
				done++
				last := done == n
				dmu.Unlock()
				if last {
					once.Do(finish)
				}
				return nil
			}})
		}
	}
	return jobs, found
}
