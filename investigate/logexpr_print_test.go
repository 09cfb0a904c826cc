package investigate

import "testing"

// TestLogQueryPrintsOperatorCharactersAsLiterals: a field or word that is an operator when bare (a leading
// - or !, AND, OR, NOT) is printed escaped, so String() parses back to the same query (FuzzParseLogQuery
// found `\!:0` printed as `!:"0"`).
func TestLogQueryPrintsOperatorCharactersAsLiterals(t *testing.T) {
	for _, s := range []string{`\AND:0`, `\OR:x`, `\NOT:y`, `\-a:1`, `\!b:2`, `a\ b:3`, `\(x:1`, `_exists_:\!a`, `\AND`, `"AND"`, `x:\OR`} {
		e, err := ParseLogQuery(s)
		if err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		out := e.String()
		e2, err := ParseLogQuery(out)
		if err != nil || e2.String() != out {
			t.Errorf("%q printed %q: %v", s, out, err)
		}
	}
}
