package cmd

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestLogsQueryOnFile(t *testing.T) {
	tests := []struct {
		args []string
		want []string // messages, in order
	}{
		{[]string{`level:error AND NOT service:payment`}, []string{"order failed"}},
		{[]string{`service:checkout`, `"placing order"`}, []string{"placing order", "placing order"}}, // several args: AND
		{[]string{`correlation_id:req-77 OR level:warn`}, []string{"placing order", "retry"}},
		{[]string{`_exists_:error.type`}, []string{"card declined"}},
		{[]string{`declined OR retry`, "--service", "payment"}, []string{"card declined"}}, // flags join by AND
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			args := append([]string{"logs", "--file", logsFixture("mixed.log"), "-o", "jsonl"}, tt.args...)
			code, out, errOut := runDbg(t, nil, args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			var got []string
			for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
				if line == "" {
					continue
				}
				var r struct{ Message string }
				if err := json.Unmarshal([]byte(line), &r); err != nil {
					t.Fatal(err)
				}
				got = append(got, r.Message)
			}
			ok := len(got) == len(tt.want)
			for i := 0; ok && i < len(got); i++ {
				ok = strings.Contains(got[i], tt.want[i])
			}
			if !ok {
				t.Errorf("got %q, want messages containing %q", got, tt.want)
			}
		})
	}
}

func TestLogsBadQuery(t *testing.T) {
	code, out, errOut := runDbg(t, nil, "logs", "--file", logsFixture("mixed.log"), `level:error AND (service:a`)
	if code != 2 {
		t.Fatalf("exit %d, want 2 (usage): %s", code, errOut)
	}
	if out != "" || strings.Count(strings.TrimSpace(errOut), "\n") != 0 || !strings.Contains(errOut, `column 17: unclosed "("`) {
		t.Errorf("want one line naming column 17, got stdout %q stderr %q", out, errOut)
	}
}

func TestLogsExplain(t *testing.T) {
	q := `error_type:"DatabaseError" AND service:"payment"`
	for _, tt := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"DBG_VICTORIALOGS_URL": "http://127.0.0.1:1"}, `"error_type":="DatabaseError" ("service.name":="payment" or`},
		{map[string]string{"DBG_LOKI_URL": "http://127.0.0.1:1", "DBG_LOKI_FORMAT": "logfmt"}, `{service_name="payment"} | logfmt | error_type="DatabaseError" | __error__=""`},
		{map[string]string{"DBG_ELASTICSEARCH_URL": "http://127.0.0.1:1"}, `"error_type": "DatabaseError"`},
	} {
		code, out, errOut := runDbg(t, tt.env, "logs", q, "--explain", "--since", "2026-11-03T03:00:00Z", "--until", "2026-11-03T04:00:00Z")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		if !strings.Contains(out, tt.want) || !strings.Contains(out, "2026-11-03T03:00:00Z") {
			t.Errorf("explain output lacks %q or the window:\n%s", tt.want, out)
		}
	}
	code, out, _ := runDbg(t, nil, "logs", "--file", logsFixture("mixed.log"), "level:error", "--explain", "-o", "json")
	if code != 0 || !strings.Contains(out, `"queries"`) || !strings.Contains(out, `level:\"error\"`) {
		t.Errorf("file explain JSON: exit %d\n%s", code, out)
	}
}
