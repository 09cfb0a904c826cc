package probe

import (
	"strings"
	"testing"
)

// FuzzGateInputs: --expect, --rate and a probe JSON file (--compare, --verify-probe) come from users
// and files; none may panic, and what parses must evaluate.
func FuzzGateInputs(f *testing.F) {
	f.Add("p99<300ms,errors<1%", "50/s", `{"url":"http://x/","requests":10,"success_ratio":0.9,"latency":{"p99_ms":12}}`)
	f.Add("rate>=45, success>0.99", "5/100ms", `{"requests":1e400}`)
	f.Add("=", "/", `[]`)
	f.Fuzz(func(t *testing.T, expect, rate, doc string) {
		r, _ := Decode([]byte(doc))
		if r == nil {
			r = &Result{}
		}
		if exp, err := ParseExpect(expect); err == nil {
			v := Evaluate(r, exp)
			if len(v.Checks) != len(exp) {
				t.Fatalf("%d checks for %d conditions", len(v.Checks), len(exp))
			}
		}
		if rt, err := ParseRate(rate); err == nil && (rt.Freq <= 0 || rt.Per <= 0) {
			t.Fatalf("ParseRate(%q) = %+v", rate, rt)
		}
		_ = CompareTo(r, r)
		_ = strings.TrimSpace(expect)
	})
}
