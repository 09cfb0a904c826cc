package investigate

import (
	"strings"
	"testing"
	"time"
)

func TestParseLogQuery(t *testing.T) {
	tests := []struct{ in, want string }{
		// the method's three examples
		{`correlation_id:"abc-123" AND level:error`, `correlation_id:"abc-123" AND level:"error"`},
		{`duration:>1000 AND path:"/api/orders"`, `duration:>1000 AND path:"/api/orders"`},
		{`error_type:"DatabaseError" AND service:"payment"`, `error_type:"DatabaseError" AND service:"payment"`},
		// field names made canonical (OpenTelemetry, ECS, logger spellings)
		{`service.name:payment severity_text:ERROR trace.id:abc`, `service:"payment" AND level:"ERROR" AND trace_id:"abc"`},
		{`msg:timeout`, `"timeout"`},
		// comparisons with numbers and durations
		{`duration:>=1.5s latency_ms:<250 size:<=1e3 n:>-2`, `duration:>=1.5s AND latency_ms:<250 AND size:<=1000 AND n:>-2`},
		// wildcards, exists, bare words, phrases
		{`path:*orders* host:web-*`, `path:*orders* AND host:web-*`},
		{`time*out "connection reset"`, `time*out AND "connection reset"`},
		{`_exists_:trace_id user:*`, `_exists_:trace_id AND _exists_:user`},
		// boolean structure and precedence: NOT > AND > OR
		{`a OR b c`, `"a" OR ("b" AND "c")`},
		{`(a OR b) c`, `("a" OR "b") AND "c"`},
		{`NOT a -b !c`, `NOT "a" AND NOT "b" AND NOT "c"`},
		{`level:(error OR warn)`, `level:"error" OR level:"warn"`},
		{`a && b || c`, `("a" AND "b") OR "c"`},
		// lower-case operators are words; operators as values are values
		{`connection not found`, `"connection" AND "not" AND "found"`},
		{`op:AND`, `op:"AND"`},
		// values with colons (URLs, times) and escapes
		{`url:http://x/y?a=b time:12:00`, `url:"http://x/y?a=b" AND time:"12:00"`},
		{`path:\*literal\*`, `path:"*literal*"`},
		{`"say \"hi\" \\ now"`, `"say \"hi\" \\ now"`},
		{`a-b`, `"a-b"`},
		{"", ""},
		{"   ", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			e, err := ParseLogQuery(tt.in)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			if got := e.String(); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
			// What String writes parses back to the same thing.
			e2, err := ParseLogQuery(e.String())
			if err != nil {
				t.Fatalf("reparse %q: %v", e.String(), err)
			}
			if e2.String() != e.String() {
				t.Errorf("round trip: %s → %s", e.String(), e2.String())
			}
		})
	}
}

func TestParseLogQueryTerms(t *testing.T) {
	e, err := ParseLogQuery(`duration:>1s`)
	if err != nil {
		t.Fatal(err)
	}
	if tm := e.Term; tm.Kind != TermRange || !tm.IsDur || tm.Dur != time.Second || tm.Cmp != ">" || tm.Field != "duration" {
		t.Errorf("duration:>1s = %+v", tm)
	}
	e, _ = ParseLogQuery(`*ord*ers`)
	if tm := e.Term; tm.Kind != TermWildcard || tm.Field != "" || !tm.LeadStar || tm.TrailStar || strings.Join(tm.Parts, "|") != "ord|ers" {
		t.Errorf("*ord*ers = %+v", tm)
	}
}

func TestParseLogQueryErrors(t *testing.T) {
	tests := []struct {
		in   string
		col  int
		want string
	}{
		{`level:error AND (service:a`, 17, `unclosed "("`},
		{`a)`, 2, `")" without a matching "("`},
		{`msg:"unterminated`, 5, "unclosed quote"},
		{`duration:>fast`, 11, "neither a number nor a duration"},
		{`duration:>`, 11, "wants a number or a duration"},
		{`level:`, 7, "wants a value"},
		{`:x`, 1, `":" without a field name`},
		{`a AND`, 6, "ends where a term was expected"},
		{`()`, 2, `empty "()"`},
		{`_exists_:`, 10, "_exists_: wants a field name"},
		{`é é:(`, 6, "ends where a term was expected"},
		{`trailing\`, 9, "escapes nothing"},
		{strings.Repeat("(", 100) + "a" + strings.Repeat(")", 100), 65, "nests deeper"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			_, err := ParseLogQuery(tt.in)
			qe, ok := err.(*QueryError)
			if !ok {
				t.Fatalf("err = %v (%T), want a *QueryError", err, err)
			}
			if qe.Col != tt.col || !strings.Contains(qe.Msg, tt.want) {
				t.Errorf("got column %d %q, want column %d containing %q", qe.Col, qe.Msg, tt.col, tt.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
		})
	}
}

func TestLogMatcher(t *testing.T) {
	recs := []LogRecord{
		{Service: "payment", Level: "ERROR", Message: "DB timeout after 1200ms on /api/orders", CorrelationID: "abc-123",
			Fields: map[string]string{"duration": "1.2s", "duration_ms": "1200", "path": "/api/orders", "error_type": "DatabaseError"}},
		{Service: "payment", Level: "info", Message: "timeouts are configured", Fields: map[string]string{"duration": "20ms", "duration_ms": "20", "path": "/api/orders/7"}},
		{Service: "checkout", Level: "warn", Message: "retrying Timeout", TraceID: "00ab", Fields: map[string]string{"duration_ms": "x"}},
	}
	tests := []struct {
		q    string
		want string // indexes of matching records
	}{
		{`correlation_id:"abc-123" AND level:error`, "0"},
		{`duration_ms:>1000 AND path:"/api/orders"`, "0"},
		{`error_type:"DatabaseError" AND service:"payment"`, "0"},
		{`duration:>1s`, "0"},
		{`duration:<=20ms`, "1"},
		{`duration_ms:<100`, "1"}, // "x" is not a number: no match
		{`timeout`, "0,2"},        // a word, any case; "timeouts" is another word
		{`timeout*`, "0,1,2"},
		{`*out`, "0,2"},
		{`path:/api/orders*`, "0,1"},
		{`path:*orders`, "0"},
		{`"after 1200ms"`, "0"},
		{`"/api/"`, "0"},
		{`_exists_:error_type`, "0"},
		{`NOT _exists_:error_type`, "1,2"},
		{`-service:payment`, "2"},
		{`service:payment AND NOT level:error`, "1"},
		{`level:(warn OR error)`, "0,2"},
		{`trace_id:ab`, "2"}, // IDs compare without leading zeros
		{`app:checkout`, "2"},
	}
	for _, tt := range tests {
		t.Run(tt.q, func(t *testing.T) {
			e, err := ParseLogQuery(tt.q)
			if err != nil {
				t.Fatal(err)
			}
			q := LogQuery{Expr: e}
			m := q.Matcher()
			var got []string
			for i := range recs {
				if m.Match(&recs[i]) {
					got = append(got, string(rune('0'+i)))
				}
			}
			if strings.Join(got, ",") != tt.want {
				t.Errorf("matched %v, want %s", got, tt.want)
			}
		})
	}
}

func FuzzParseLogQuery(f *testing.F) {
	for _, s := range []string{`correlation_id:"abc-123" AND level:error`, `duration:>1000 AND path:"/api/orders"`,
		`a OR (b -c) NOT d`, `f:*x*`, `_exists_:f`, `x:"\"\\"`, `level:(a OR b)`, `a\ b:c`, `-`, `f:>1.5s`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := ParseLogQuery(s)
		if err != nil {
			if _, ok := err.(*QueryError); !ok {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		// Whatever parses is printed in a form that parses to the same expression.
		out := e.String()
		e2, err := ParseLogQuery(out)
		if err != nil {
			t.Fatalf("%q printed as %q, which does not parse: %v", s, out, err)
		}
		if e2.String() != out {
			t.Fatalf("%q: %q reparses as %q", s, out, e2.String())
		}
		q := LogQuery{Expr: e}
		q.Matcher().Match(&LogRecord{Message: s, Fields: map[string]string{"f": s}})
	})
}

// TestParseHostileValues: quoted values with query syntax of every backend in them come out of the
// parser as the same literal, in field values and in message phrases.
func TestParseHostileValues(t *testing.T) {
	for _, v := range []string{`pay"ment`, `a\" or service:*`, `\`, `svc | delete`, `"} |= "`, `{"a":1}`, "line\nbreak\ttab",
		`x" OR level:*`, `_msg:* or i("x")`, `(a OR b) AND NOT c`, `*:*`, `a?b*c~2^3`, `-minus`, `!bang`, "`raw`", `) (`} {
		e, err := ParseLogQuery(`service:` + QuoteQueryValue(v) + ` ` + QuoteQueryValue(v))
		if err != nil {
			t.Fatalf("%q: %v", v, err)
		}
		if e.Op != ExprAnd || len(e.Args) != 2 || e.Args[0].Term.Kind != TermEq || e.Args[0].Term.Value != v ||
			e.Args[1].Term.Kind != TermText || e.Args[1].Term.Value != v {
			t.Errorf("%q parsed as %s", v, e)
		}
	}
}

func TestRename(t *testing.T) {
	e, _ := ParseLogQuery(`duration:>1s AND (service:a OR NOT dur:1) AND level:error`)
	got := e.Rename(map[string]string{"duration": "duration_ms", "service": "app", "dur": "d"}).String()
	if want := `duration_ms:>1s AND (service:"a" OR NOT d:"1") AND level:"error"`; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if e.String() == got {
		t.Error("Rename changed its input")
	}
}
