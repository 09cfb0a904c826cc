package render

import (
	"fmt"
	"io"
	"strings"

	"github.com/dbgtool/dbg/sources/netpolicy"
)

// NetPolicy writes a NetworkPolicy verdict: the answer, the deciding line, then each direction.
func NetPolicy(w io.Writer, v netpolicy.Verdict, md bool, o Options) error {
	p := newPrinter(w, md, o)
	st := p.style()
	word := st.red("DENIED")
	if v.Allowed {
		word = st.bold("ALLOWED")
	}
	line := fmt.Sprintf("%s → %s %s/%d", v.From, v.To, v.Protocol, v.Port)
	if md {
		fmt.Fprintf(w, "## %s %s\n\n", map[bool]string{true: "ALLOWED", false: "DENIED"}[v.Allowed], mdText(Clean(line)))
	} else {
		fmt.Fprintf(w, "%s  %s\n", word, Clean(line))
	}
	p.fact("decision", Clean(v.Decision))
	for _, side := range []struct {
		name string
		s    netpolicy.Side
	}{{"egress of " + v.From, v.Egress}, {"ingress of " + v.To, v.Ingress}} {
		p.section(side.name)
		verdict := "denied"
		if side.s.Allowed {
			verdict = "allowed"
		}
		p.fact("verdict", verdict+": "+Clean(side.s.Reason))
		if side.s.Isolated {
			p.fact("isolated by", Clean(strings.Join(side.s.Selecting, ", ")))
		} else {
			p.fact("isolated by", "nothing (no policy selects it for this direction)")
		}
		rows := [][]string{}
		for _, r := range side.s.AllowedBy {
			rows = append(rows, []string{p.cell(r.Policy, 0), fmt.Sprint(r.Index), p.cell(r.Why, 0)})
		}
		if len(rows) > 0 {
			if err := p.table([]string{"POLICY", "RULE", "MATCHES"}, rows); err != nil {
				return err
			}
		}
	}
	if len(v.Assumptions) > 0 {
		p.section("Assumptions")
		for _, a := range v.Assumptions {
			p.note(a)
		}
	}
	for _, warn := range v.Warnings {
		p.warning(warn)
	}
	return nil
}
