package investigate

import "strings"

// isNetworkKind says whether a finding is about the network or the mesh between services.
func isNetworkKind(f *Finding) bool {
	switch f.Kind {
	case KindTCPRetransmits, KindTCPResets, KindConnectionRefused, KindTLSFailure, KindConnectionChurn:
		return true
	}
	_, flag := f.Evidence["response_flag"]
	_, cluster := f.Evidence["cluster"] // an Envoy upstream cluster's finding
	return flag || cluster
}

// EvidenceString reads a string evidence value ("" when absent or another type).
func EvidenceString(v any) string { s, _ := v.(string); return s }

// JoinEdges attaches network and mesh findings to the call-graph edge they explain. A finding about a
// server (a capture's server, a sidecar's upstream cluster) whose name is the peer of an edge joins that
// edge: its title says which edge ("checkout→shipping fails: ..."), its evidence names the edge and the
// caller, and its service stays the server's, so it corroborates what else is found there and the edge's
// own dependency finding yields to it (checklist.Rank's depth rule). caller is who the evidence belongs
// to when no edge names the server (the investigated service, whose sidecar or capture it is). A mesh
// edge (istio_requests_total by response flag) names its caller itself and is kept as it is.
func JoinEdges(fs []Finding, edges []Edge, caller string) []Finding {
	out := make([]Finding, 0, len(fs))
	for _, f := range fs {
		f.Normalize()
		if _, meshEdge := f.Evidence["response_flag"]; meshEdge || !isNetworkKind(&f) {
			out = append(out, f)
			continue
		}
		server := f.Service
		from := ""
		for _, e := range edges {
			if e.Peer == server {
				from = e.Caller
				break
			}
		}
		if from == "" {
			from = caller
		}
		if from != "" && from != server {
			f.Evidence["edge"] = from + "→" + server
			f.Evidence["caller"] = from
			if !strings.HasPrefix(f.Title, from+"→"+server) {
				f.Title = from + "→" + server + " fails: " + f.Title
			}
		}
		out = append(out, f)
	}
	return out
}
