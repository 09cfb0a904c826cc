package checklist

import (
	"fmt"
	"sort"
	"strings"

	"github.com/dbgtool/dbg/investigate"
)

// symptomKinds describe what users feel, never why. A traffic drop is a symptom; a traffic increase can
// be a cause (load the service was not sized for), so it stays a candidate.
func isSymptom(f *investigate.Finding) bool {
	switch f.Kind {
	case investigate.KindLatencyHotspot, investigate.KindErrorHotspot:
		return true
	case investigate.KindTrafficSpike:
		return investigate.EvidenceNum(f.Evidence["ratio"]) < 1
	}
	return false
}

// mechanismKinds name how something is slow or failing; a bare slow_span or a version change is less
// specific than these.
var mechanismKinds = map[string]bool{
	investigate.KindNPlusOne: true, investigate.KindSlowQuery: true, investigate.KindErrorOrigin: true,
	investigate.KindMemoryLeak: true, investigate.KindGoroutineLeak: true, investigate.KindCPUHotspot: true,
	investigate.KindFanout: true, investigate.KindContention: true,
}

// Rank merges the findings of every step into one list of hypotheses: duplicates folded, each candidate
// cause corroborated by evidence from other signals about the same service, causes deeper in the call
// graph preferred over the edges that merely carry them, and a tier for each — one root cause, the other
// candidates contributing, and symptoms last, so a symptom is never presented as its own cause.
// window is the trace sample used to test hypotheses against (may be empty).
func Rank(all []investigate.Finding, window []*investigate.TraceReport) []investigate.Finding {
	fs := dedupe(all)
	var cands, symptoms []*investigate.Finding
	for i := range fs {
		f := &fs[i]
		f.Normalize()
		if isSymptom(f) {
			f.Tier = TierSymptom
			symptoms = append(symptoms, f)
		} else {
			cands = append(cands, f)
		}
	}
	// Corroboration: other kinds of evidence about the same service (or naming it as the peer).
	for _, f := range cands {
		kinds := map[string]bool{}
		for i := range fs {
			g := &fs[i]
			if g == f || g.Kind == f.Kind {
				continue
			}
			if g.Service == f.Service || peerOf(g) == f.Service {
				kinds[g.Kind] = true
			}
		}
		if len(kinds) > 0 {
			list := sortedKeys(kinds)
			f.Evidence["corroborated_by"] = list
			f.Score = investigate.Clamp01(f.Score + min(0.2, 0.07*float64(len(list))))
		}
	}
	// Depth: an edge (dependency, client slow span) whose peer has its own candidate yields to it, and
	// never ranks above it: along a chain of edges (frontend → checkout → payment → fraud-check) each
	// edge stays below what explains it, so the deepest cause comes first.
	explainer := map[*investigate.Finding]*investigate.Finding{}
	for _, f := range cands {
		p := peerOf(f)
		if p == "" || p == f.Service {
			continue
		}
		for _, g := range cands {
			if g != f && g.Service == p && g.Score >= 0.5*f.Score {
				f.Score *= 0.75
				f.Evidence["explained_by"] = g.Kind + " in " + p
				explainer[f] = g
				break
			}
		}
	}
	for range len(cands) {
		changed := false
		for _, f := range cands {
			if g := explainer[f]; g != nil && f.Score > 0.95*g.Score {
				f.Score = 0.95 * g.Score
				changed = true
			}
		}
		if !changed {
			break
		}
	}
	// A version change is the trigger of a mechanism on the same service, and the cause when no
	// mechanism was found there.
	for _, f := range cands {
		if f.Kind != investigate.KindRecentChange {
			continue
		}
		mech := false
		for _, g := range cands {
			if g.Service == f.Service && mechanismKinds[g.Kind] && g.Score >= 0.4 {
				mech = true
				g.Evidence["after_change"] = fmt.Sprintf("%v → %v", f.Evidence["from"], f.Evidence["to"])
			}
		}
		if mech {
			f.Score *= 0.8
		} else if f.Score >= 0.6 {
			// No mechanism: slow spans on the same service are the change's effect, not separate causes.
			for _, g := range cands {
				if g.Service == f.Service && g.Kind == investigate.KindSlowSpan {
					g.Score *= 0.8
				}
			}
		}
	}
	absorbedByRetries(cands, window)
	explainSameSpan(cands)
	changeOutranksPresence(cands)
	for _, f := range cands {
		if f.Kind == investigate.KindLogPattern {
			// What the code said is evidence for a mechanism found elsewhere, seldom the cause itself;
			// a non-error line that got more frequent even less so.
			if isErrorPattern(f) {
				f.Score *= 0.85
			} else {
				f.Score *= 0.6
			}
		}
	}
	logsYieldToMechanisms(cands)
	surgesTrackingTraffic(cands)
	for _, f := range cands {
		checkHypothesis(f, window)
	}
	sort.SliceStable(cands, func(i, j int) bool { return better(cands[i], cands[j]) })
	sort.SliceStable(symptoms, func(i, j int) bool { return better(symptoms[i], symptoms[j]) })
	out := make([]investigate.Finding, 0, len(fs))
	for i, f := range cands {
		f.Tier = TierContributing
		if i == 0 && f.Score >= 0.3 {
			f.Tier = TierRootCause
		}
		f.Severity = investigate.SeverityFor(f.Score)
		out = append(out, *f)
	}
	for _, f := range symptoms {
		f.Severity = investigate.SeverityFor(f.Score)
		out = append(out, *f)
	}
	return out
}

// logsYieldToMechanisms: a log pattern on a service says what the code saw ("request failed", "downstream
// unavailable"); when the traces locate a mechanism (error origin, N+1, slow query, leak, CPU, fan-out,
// or a slow span) on that service or on a service it calls — directly or through others, by the edges the
// findings name — with at least half the pattern's score, that mechanism is the hypothesis and the
// pattern its evidence: the pattern yields 25% and stays below it, as an edge does to its peer (rule 2),
// and names it in explained_by. The mechanism already counts the pattern as corroboration.
func logsYieldToMechanisms(cands []*investigate.Finding) {
	calls := map[string]map[string]bool{} // caller → callees, from the edges the findings name
	for _, f := range cands {
		if p := peerOf(f); p != "" && p != f.Service {
			if calls[f.Service] == nil {
				calls[f.Service] = map[string]bool{}
			}
			calls[f.Service][p] = true
		}
	}
	reach := func(from string) map[string]bool {
		seen := map[string]bool{from: true}
		queue := []string{from}
		for len(queue) > 0 {
			s := queue[0]
			queue = queue[1:]
			for c := range calls[s] {
				if !seen[c] {
					seen[c] = true
					queue = append(queue, c)
				}
			}
		}
		return seen
	}
	for _, f := range cands {
		if f.Kind != investigate.KindLogPattern && !waitingCount(f) {
			continue
		}
		below := reach(f.Service)
		var best *investigate.Finding
		for _, g := range cands {
			if g == f || !(mechanismKinds[g.Kind] || g.Kind == investigate.KindSlowSpan) || !below[g.Service] || g.Score < 0.5*f.Score {
				continue
			}
			if best == nil || better(g, best) {
				best = g
			}
		}
		if best != nil {
			f.Score = min(f.Score*0.75, 0.95*best.Score) // and, like an edge, never above what explains it
			f.Evidence["explained_by"] = best.Kind + " in " + best.Service
		}
	}
}

// standing reports whether a finding is merely present: as common in the baseline's traces as in the
// window's (not new, in at least half of the baseline traces, and in less than 1.5 times as many window
// traces). It is real, but it is not what changed.
func standing(f *investigate.Finding) bool {
	if n, ok := f.Evidence["new"].(bool); !ok || n {
		return false
	}
	bs, ws := investigate.EvidenceNum(f.Evidence["baseline_trace_share"]), investigate.EvidenceNum(f.Evidence["trace_share"])
	return bs >= 0.5 && ws < 1.5*bs
}

// explainsChange reports whether a finding accounts for a change against the baseline: a latency
// increase attributed to it, a problem new since the baseline (or in 1.5 times as many traces), an error
// or latency rise on an edge, a changed statement, a version change.
func explainsChange(f *investigate.Finding) bool {
	if _, ok := f.Evidence["new"].(bool); ok {
		return !standing(f)
	}
	switch f.Kind {
	case investigate.KindSlowSpan:
		return investigate.EvidenceNum(f.Evidence["delta_ms"]) > 0
	case investigate.KindSlowQuery:
		return investigate.MaterialQueryChange(f.Evidence)
	case investigate.KindDependency, investigate.KindRecentChange, investigate.KindContention:
		return true
	}
	return false
}

// changeOutranksPresence: a finding merely present in baseline and window alike ranks below every
// candidate that explains the change (capped at 95% of the weakest of them that is at least 0.15): the
// incident is what changed, and a standing problem is listed, not blamed. With nothing that explains a
// change, standing findings keep their scores.
func changeOutranksPresence(cands []*investigate.Finding) {
	floor := -1.0
	for _, f := range cands {
		if explainsChange(f) && f.Score >= 0.15 && (floor < 0 || f.Score < floor) {
			floor = f.Score
		}
	}
	if floor < 0 {
		return
	}
	for _, f := range cands {
		if standing(f) && f.Score > 0.95*floor {
			f.Score = 0.95 * floor
			f.Evidence["standing"] = fmt.Sprintf("present in %.0f%% of baseline traces too: ranked below what explains the change",
				100*investigate.EvidenceNum(f.Evidence["baseline_trace_share"]))
		}
	}
}

// surgesTrackingTraffic: a log template that grew by no more than the traffic did (within 30%) is load,
// not a surge: 14 templates "surging" by exactly the traffic ratio say only that there were more
// requests. Its score falls to 30% and tracks_traffic says why. The traffic ratio is the strongest
// traffic increase on the pattern's service, else anywhere in the window.
func surgesTrackingTraffic(cands []*investigate.Finding) {
	traffic := map[string]float64{}
	anyRatio := 0.0
	for _, f := range cands {
		if f.Kind == investigate.KindTrafficSpike {
			if r := investigate.EvidenceNum(f.Evidence["ratio"]); r > 1 {
				traffic[f.Service] = max(traffic[f.Service], r)
				anyRatio = max(anyRatio, r)
			}
		}
	}
	if anyRatio == 0 {
		return
	}
	for _, f := range cands {
		n, b := investigate.EvidenceNum(f.Evidence["count"]), investigate.EvidenceNum(f.Evidence["baseline_count"])
		if f.Kind != investigate.KindLogPattern || b <= 0 {
			continue
		}
		t := traffic[f.Service]
		if t == 0 {
			t = anyRatio
		}
		if r := n / b; r <= 1.3*t {
			f.Score *= 0.3
			f.Evidence["tracks_traffic"] = fmt.Sprintf("grew %.1fx with traffic up %.1fx: load, not a surge", r, t)
		}
	}
}

// absorbedByRetries: an error origin whose failed calls were retried under the same parent and whose
// requests never failed is absorbed — real, but users saw at most the retry's delay. It is low (0.25 at
// most), says "retried, N% of calls, no request failed", and folds nothing else on its operation (an
// N+1 of the same call stays its own hypothesis).
func absorbedByRetries(cands []*investigate.Finding, window []*investigate.TraceReport) {
	for _, f := range cands {
		if f.Kind != investigate.KindErrorOrigin || len(window) == 0 {
			continue
		}
		st := investigate.Retries(window, f.Service, f.Operation)
		if st.Errors == 0 || st.FailedRequests > 0 || 2*st.Retried < st.Errors {
			continue
		}
		share := float64(st.Errors) / float64(st.Calls)
		f.Score = min(f.Score, 0.25)
		f.Evidence["retried"] = st.Retried
		f.Evidence["failed_call_share"] = float64(int64(share*1000+0.5)) / 1000
		f.Evidence["failed_requests"] = 0
		f.Title = fmt.Sprintf("%s %s errors absorbed: retried, %.0f%% of calls, no request failed", f.Service, f.Operation, 100*share)
		f.Recommendation = "No request failed: the retries absorb these errors at the cost of their delay. Look at why the call fails when latency matters; it is not this incident's failure."
	}
}

// specificity orders the kinds that can describe one operation: the more specific names the mechanism.
var specificity = map[string]int{
	investigate.KindErrorOrigin: 7, investigate.KindContention: 6, investigate.KindNPlusOne: 5, investigate.KindSlowQuery: 4, investigate.KindFanout: 3,
	investigate.KindDependency: 2, investigate.KindSlowSpan: 1,
}

// explainSameSpan folds findings that describe the same operation of the same service towards the same
// downstream (a slow span, the dependency edge it calls through, the N+1 or failing call it is) into one
// hypothesis: the most specific kind is the hypothesis, the others stay as evidence with less weight.
// The key is (service, operation, peer): two client spans both named "HTTP GET" to different
// downstreams are different hypotheses. A finding that names no peer joins only an operation whose
// findings name one downstream at most (with several, which one it describes is unknown). Each finding
// keeps its own score: folding never lends one finding another's.
func explainSameSpan(cands []*investigate.Finding) {
	type opKey [2]string
	peers := map[opKey]map[string]bool{}
	for _, f := range cands {
		if specificity[f.Kind] == 0 {
			continue
		}
		k := opKey{f.Service, f.Operation}
		if peers[k] == nil {
			peers[k] = map[string]bool{}
		}
		if p := peerOf(f); p != "" {
			peers[k][p] = true
		}
	}
	groups := map[[3]string][]*investigate.Finding{}
	var order [][3]string
	for _, f := range cands {
		if specificity[f.Kind] == 0 || f.Evidence["retried"] != nil {
			continue // an error the retries absorbed explains nothing else on its operation
		}
		ok := opKey{f.Service, f.Operation}
		p := peerOf(f)
		if p == "" {
			switch len(peers[ok]) {
			case 0:
			case 1:
				p = sortedKeys(peers[ok])[0]
			default:
				continue // ambiguous: stays its own hypothesis
			}
		}
		k := [3]string{f.Service, f.Operation, p}
		if _, seen := groups[k]; !seen {
			order = append(order, k)
		}
		groups[k] = append(groups[k], f)
	}
	for _, k := range order {
		g := rareErrorsApart(groups[k])
		if len(g) < 2 {
			continue
		}
		best := g[0]
		for _, f := range g {
			if specificity[f.Kind] > specificity[best.Kind] {
				best = f
			}
		}
		var others []string
		for _, f := range g {
			if f != best {
				others = append(others, f.Kind)
				f.Score *= 0.6
				f.Evidence["explained_by"] = best.Kind
			}
		}
		best.Evidence["also_seen_as"] = others
	}
}

// rareErrorsApart takes an error origin out of its operation's group when it fails in fewer than a
// quarter of the calls the group's other findings describe: errors in 4 of 190 slow calls (timeouts the
// slowness caused) are a second, smaller observation, not the name of the slowdown, so the error origin
// keeps its own score instead of the slow edge's.
func rareErrorsApart(g []*investigate.Finding) []*investigate.Finding {
	calls := 0.0
	for _, f := range g {
		if f.Kind != investigate.KindErrorOrigin {
			calls = max(calls, investigate.EvidenceNum(f.Evidence["calls"]), investigate.EvidenceNum(f.Evidence["count"]), investigate.EvidenceNum(f.Evidence["requests"]))
		}
	}
	out := g[:0:0]
	for _, f := range g {
		if f.Kind == investigate.KindErrorOrigin && calls > 0 && investigate.EvidenceNum(f.Evidence["traces"]) > 0 && investigate.EvidenceNum(f.Evidence["traces"]) < 0.25*calls {
			continue
		}
		out = append(out, f)
	}
	return out
}

// waitingCount reports whether a finding is the growth of a count of requests in flight (goroutines):
// by Little's law in-flight = rate × latency, so when a call below got slower the count grows with it —
// it is the waiting, not its cause, and yields to the mechanism below like a log pattern does.
func waitingCount(f *investigate.Finding) bool {
	r, _ := f.Evidence["resource"].(string)
	return f.Kind == investigate.KindSaturation && r == "goroutines"
}

func isErrorPattern(f *investigate.Finding) bool {
	t, _ := f.Evidence["template"].(string)
	return strings.Contains(strings.ToLower(f.Title), "error") || strings.HasPrefix(t, "[")
}

func better(a, b *investigate.Finding) bool {
	if a.Score != b.Score {
		return a.Score > b.Score
	}
	if a.Kind != b.Kind {
		return a.Kind < b.Kind
	}
	if a.Service != b.Service {
		return a.Service < b.Service
	}
	return a.Operation < b.Operation
}

func peerOf(f *investigate.Finding) string {
	p, _ := f.Evidence["peer"].(string)
	return p
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// findingKey is what makes two findings the same hypothesis.
func findingKey(f *investigate.Finding) string {
	k := f.Kind + "\x00" + f.Service + "\x00" + f.Operation
	for _, e := range []string{"statement", "route", "exception_type", "template", "peer", "resource", "function", "to"} {
		if v, ok := f.Evidence[e]; ok {
			k += "\x00" + fmt.Sprint(v)
		}
	}
	return k
}

func dedupe(all []investigate.Finding) []investigate.Finding {
	idx := map[string]int{}
	var out []investigate.Finding
	for _, f := range all {
		f = cloneFinding(f)
		k := findingKey(&f)
		if j, ok := idx[k]; ok {
			if f.Score > out[j].Score {
				out[j] = f
			}
			continue
		}
		idx[k] = len(out)
		out = append(out, f)
	}
	return out
}

// cloneFinding copies the evidence map so ranking never changes a step's own findings.
func cloneFinding(f investigate.Finding) investigate.Finding {
	ev := make(map[string]any, len(f.Evidence)+2)
	for k, v := range f.Evidence {
		ev[k] = v
	}
	f.Evidence = ev
	return f
}

// checkHypothesis tries to refute a hypothesis about an operation with the trace sample: if the traces
// that do not involve it are as slow (or fail as often) as those that do, it does not explain the symptom.
func checkHypothesis(f *investigate.Finding, window []*investigate.TraceReport) {
	switch f.Kind {
	case investigate.KindSlowSpan, investigate.KindNPlusOne, investigate.KindSlowQuery, investigate.KindErrorOrigin:
	default:
		return
	}
	var with, without []float64
	var withBad, withoutBad int
	for _, r := range window {
		has := false
		for _, i := range r.Tree.Order {
			s := r.Tree.Span(i)
			if s.Service == f.Service && s.Operation == f.Operation {
				has = true
				break
			}
		}
		bad := r.RequestFailed()
		if has {
			with = append(with, r.DurationMs)
			if bad {
				withBad++
			}
		} else {
			without = append(without, r.DurationMs)
			if bad {
				withoutBad++
			}
		}
	}
	if len(with) < 2 || len(without) < 3 {
		return
	}
	if f.Kind == investigate.KindErrorOrigin {
		rw, ro := float64(withBad)/float64(len(with)), float64(withoutBad)/float64(len(without))
		check := fmt.Sprintf("requests through %s %s fail %.0f%%, others %.0f%%", f.Service, f.Operation, rw*100, ro*100)
		if ro >= 0.9*rw && ro > 0 {
			f.Score *= 0.6
			check = "refuted: " + check
		} else {
			check = "supported: " + check
		}
		f.Evidence["check"] = check
		return
	}
	mw, mo := mean(with), mean(without)
	check := fmt.Sprintf("requests through %s %s average %.0fms, others %.0fms", f.Service, f.Operation, mw, mo)
	if mo >= 0.9*mw {
		f.Score *= 0.6
		check = "refuted: " + check
	} else {
		check = "supported: " + check
	}
	f.Evidence["check"] = check
}

func mean(xs []float64) float64 {
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(max(len(xs), 1))
}

// FailOn reports whether any finding reaches the severity threshold.
func FailOn(fs []investigate.Finding, threshold investigate.Severity) bool {
	for _, f := range fs {
		if f.Tier != TierSymptom && f.Severity.Rank() <= threshold.Rank() {
			return true
		}
	}
	return false
}
