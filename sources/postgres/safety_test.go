package postgres

import (
	"errors"
	"testing"
)

func TestCheckStatement(t *testing.T) {
	cases := []struct {
		name    string
		stmt    string
		analyze bool
		want    error // nil: allowed
		sent    string
	}{
		{"select", "SELECT * FROM t WHERE id = 1;", false, nil, "SELECT * FROM t WHERE id = 1"},
		{"select analyze", " select 1 ", true, nil, "select 1"},
		{"leading comment", "/* app:orders */ SELECT 1", true, nil, "/* app:orders */ SELECT 1"},
		{"with select analyze", "WITH x AS (SELECT 1) SELECT * FROM x", true, nil, "WITH x AS (SELECT 1) SELECT * FROM x"},
		{"update plain", "UPDATE t SET a = 1 WHERE id = 2", false, nil, "UPDATE t SET a = 1 WHERE id = 2"},
		{"update analyze", "UPDATE t SET a = 1 WHERE id = 2", true, ErrNotReadOnly, ""},
		{"insert analyze", "INSERT INTO t VALUES (1)", true, ErrNotReadOnly, ""},
		{"delete analyze", "delete from t", true, ErrNotReadOnly, ""},
		{"data-modifying CTE", "WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d", true, ErrNotReadOnly, ""},
		{"select into", "SELECT * INTO t2 FROM t", true, ErrNotReadOnly, ""},
		{"for update", "SELECT * FROM t WHERE id = 1 FOR UPDATE", true, ErrNotReadOnly, ""},
		{"for no key update", "SELECT * FROM t FOR NO KEY UPDATE", true, ErrNotReadOnly, ""},
		{"nextval", "SELECT nextval('s')", true, ErrNotReadOnly, ""},
		{"terminate", "SELECT pg_terminate_backend(123)", true, ErrNotReadOnly, ""},
		{"advisory lock", "SELECT pg_advisory_lock(1)", true, ErrNotReadOnly, ""},
		{"words in strings are fine", "SELECT * FROM t WHERE note = 'please UPDATE me; DELETE' AND x = \"into\"", true, nil, "SELECT * FROM t WHERE note = 'please UPDATE me; DELETE' AND x = \"into\""},
		{"escape string hides nothing", "SELECT E'\\'', nextval('s')", true, ErrNotReadOnly, ""},
		{"dollar quoted body", "SELECT $$ DELETE $$", true, nil, "SELECT $$ DELETE $$"},
		{"two statements", "SELECT 1; DELETE FROM t", false, ErrNotExplainable, ""},
		{"two statements after comment", "SELECT 1; -- x\n DROP TABLE t", false, ErrNotExplainable, ""},
		{"semicolon in string", "SELECT ';' FROM t", false, nil, "SELECT ';' FROM t"},
		{"ddl", "CREATE INDEX ON t (a)", false, ErrNotExplainable, ""},
		{"drop", "DROP TABLE t", false, ErrNotExplainable, ""},
		{"set", "SET search_path = x", false, ErrNotExplainable, ""},
		{"empty", "  ;  ", false, ErrNotExplainable, ""},
		{"only a comment", "-- nothing", false, ErrNotExplainable, ""},
		{"placeholders", "SELECT * FROM t WHERE id = $1", false, ErrPlaceholders, ""},
		{"question mark placeholder", "SELECT * FROM t WHERE id = ?", true, ErrPlaceholders, ""},
		{"explain itself", "EXPLAIN ANALYZE DELETE FROM t", false, ErrNotExplainable, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sent, err := CheckStatement(c.stmt, c.analyze)
			if c.want == nil {
				if err != nil || sent != c.sent {
					t.Fatalf("got (%q, %v), want (%q, nil)", sent, err, c.sent)
				}
				return
			}
			if !errors.Is(err, c.want) {
				t.Fatalf("got (%q, %v), want %v", sent, err, c.want)
			}
		})
	}
}

func FuzzCheckStatement(f *testing.F) {
	for _, s := range []string{"SELECT 1", "UPDATE t SET a=1", "SELECT E'\\'' ; x", "SELECT $a$ $a$; DELETE", "/* */ -- \n WITH"} {
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, s string, analyze bool) {
		sent, err := CheckStatement(s, analyze)
		if err != nil {
			return
		}
		if analyze {
			words, _ := sqlWords(sent)
			if len(words) == 0 || !analysable[words[0]] {
				t.Fatalf("analyze allowed %q", s)
			}
		}
	})
}
