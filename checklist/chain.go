package checklist

import (
	"strings"

	"github.com/dbgtool/dbg/investigate"
)

// NoTrigger is the trigger of a chain when no state change was found: said, never invented.
const NoTrigger = "no trigger found in the window"

// isTrigger reports whether a finding is a state change that can set a mechanism off: a version,
// config or restart change from the recent-changes step, or more traffic than the baseline.
func isTrigger(f *investigate.Finding) bool {
	switch f.Kind {
	case investigate.KindRecentChange:
		return true
	case investigate.KindTrafficSpike:
		return investigate.EvidenceNum(f.Evidence["ratio"]) > 1
	}
	return false
}

// attachChain gives the top hypothesis (root or likely cause) its causal chain: the trigger (the
// strongest state change on its service, else the strongest anywhere in the window; the hypothesis
// itself when it is one), the mechanism (the hypothesis), and the symptom users see (the strongest
// symptom finding).
func attachChain(ranked []investigate.Finding) {
	top := -1
	for i := range ranked {
		if t := ranked[i].Tier; t == TierRootCause || t == TierLikelyCause {
			top = i
			break
		}
	}
	if top < 0 {
		return
	}
	f := &ranked[top]
	link := func(role string, g *investigate.Finding) investigate.ChainLink {
		return investigate.ChainLink{Role: role, Kind: g.Kind, Service: g.Service, Operation: g.Operation, Title: g.Title}
	}
	var chain []investigate.ChainLink
	if isTrigger(f) {
		chain = append(chain, link(investigate.RoleTrigger, f))
	} else {
		var trig *investigate.Finding
		for i := range ranked {
			g := &ranked[i]
			if i == top || !isTrigger(g) {
				continue
			}
			if trig == nil || g.Service == f.Service && trig.Service != f.Service {
				trig = g // ranked best first: the first is the strongest, one on the same service preferred
			}
		}
		if trig != nil {
			chain = append(chain, link(investigate.RoleTrigger, trig))
		} else {
			chain = append(chain, investigate.ChainLink{Role: investigate.RoleTrigger, Title: NoTrigger})
		}
		chain = append(chain, link(investigate.RoleMechanism, f))
	}
	for i := range ranked {
		if ranked[i].Tier == TierSymptom {
			chain = append(chain, link(investigate.RoleSymptom, &ranked[i]))
			break
		}
	}
	f.Chain = chain
}

// ChainLine is a chain as one line: trigger → mechanism → symptom.
func ChainLine(chain []investigate.ChainLink) string {
	parts := make([]string, len(chain))
	for i, l := range chain {
		parts[i] = l.Title
	}
	return strings.Join(parts, " → ")
}
