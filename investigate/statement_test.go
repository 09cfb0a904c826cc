package investigate

import "testing"

func TestNormalizeStatement(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"numbers", "SELECT * FROM items WHERE id = 42", "SELECT * FROM items WHERE id = ?"},
		{"strings with quotes inside", "select name from users where name = 'O''Brien' and note = 'a\\'b'", "SELECT name FROM users WHERE name = ? AND note = ?"},
		{"comments", "SELECT /* hint */ a FROM t -- trailing\nWHERE b = 1", "SELECT a FROM t WHERE b = ?"},
		{"in lists of different lengths 1", "SELECT * FROM t WHERE id IN (1, 2, 3)", "SELECT * FROM t WHERE id IN (?)"},
		{"in lists of different lengths 2", "SELECT * FROM t WHERE id IN (7)", "SELECT * FROM t WHERE id IN (?)"},
		{"positional", "SELECT * FROM t WHERE a = $1 AND b = $12", "SELECT * FROM t WHERE a = ? AND b = ?"},
		{"named", "SELECT * FROM t WHERE a = :id AND b = @name", "SELECT * FROM t WHERE a = ? AND b = ?"},
		{"postgres cast is not a param", "SELECT a::text FROM t", "SELECT a::text FROM t"},
		{"multi-line", "SELECT a,\n       b\n  FROM t\n WHERE c = 'x'", "SELECT a, b FROM t WHERE c = ?"},
		{"values rows", "INSERT INTO t (a, b) VALUES (1, 'x'), (2, 'y')", "INSERT INTO t (a, b) VALUES (?)"},
		{"identifier digits kept", "SELECT col1 FROM t2 WHERE x = -5", "SELECT col1 FROM t2 WHERE x = ?"},
		{"arithmetic", "SELECT a-1 FROM t", "SELECT a-? FROM t"},
		{"quoted identifiers kept", `SELECT "Order" FROM "T"`, `SELECT "Order" FROM "T"`},
		{"dollar quoted", "SELECT $$it's$$", "SELECT ?"},
		{"unterminated literal", "SELECT 'abc", "SELECT ?"},
		{"float", "SELECT * FROM t WHERE p > 1.5e3", "SELECT * FROM t WHERE p > ?"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := NormalizeStatement(c.in); got != c.want {
				t.Errorf("NormalizeStatement(%q)\n got %q\nwant %q", c.in, got, c.want)
			}
		})
	}
}
