package investigate

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// normalizeCases are real-world statement shapes (ORM output, driver placeholders, hand-written SQL).
// docs/db.md reports how DataDog/go-sqllexer does on the same table.
var normalizeCases = []struct{ name, in, want string }{
	{"numbers", "SELECT * FROM items WHERE id = 42", "SELECT * FROM items WHERE id = ?"},
	{"strings with quotes inside", "select name from users where name = 'O''Brien' and note = 'a\\'b'", "SELECT name FROM users WHERE name = ? AND note = ?"},
	{"comment markers inside a string", "SELECT * FROM t WHERE a = 'x -- y /* z */' AND b = 2", "SELECT * FROM t WHERE a = ? AND b = ?"},
	{"comments", "SELECT /* hint */ a FROM t -- trailing\nWHERE b = 1", "SELECT a FROM t WHERE b = ?"},
	{"multi-line comment", "/* controller='orders',\n action='show' */ SELECT a FROM t WHERE b = 1", "SELECT a FROM t WHERE b = ?"},
	{"in list 3", "SELECT * FROM t WHERE id IN (1, 2, 3)", "SELECT * FROM t WHERE id IN (?)"},
	{"in list 1", "SELECT * FROM t WHERE id IN (7)", "SELECT * FROM t WHERE id IN (?)"},
	{"in list of params", "SELECT * FROM t WHERE id IN ($1, $2, $3, $4)", "SELECT * FROM t WHERE id IN (?)"},
	{"in list of strings", "SELECT * FROM t WHERE s IN ( 'a' ,'b','c' )", "SELECT * FROM t WHERE s IN (?)"},
	{"positional", "SELECT * FROM t WHERE a = $1 AND b = $12", "SELECT * FROM t WHERE a = ? AND b = ?"},
	{"question marks", "SELECT * FROM t WHERE a = ? AND b = ?", "SELECT * FROM t WHERE a = ? AND b = ?"},
	{"sqlite numbered", "SELECT * FROM t WHERE a = ?1 AND b = ?2", "SELECT * FROM t WHERE a = ? AND b = ?"},
	{"named", "SELECT * FROM t WHERE a = :id AND b = @name", "SELECT * FROM t WHERE a = ? AND b = ?"},
	{"pyformat", "SELECT * FROM t WHERE a = %s AND b = %(name)s", "SELECT * FROM t WHERE a = ? AND b = ?"},
	{"modulo is not a param", "SELECT a % 2 FROM t", "SELECT a % ? FROM t"},
	{"postgres cast is not a param", "SELECT a::text FROM t", "SELECT a::text FROM t"},
	{"multi-line", "SELECT a,\n       b\n  FROM t\n WHERE c = 'x'", "SELECT a, b FROM t WHERE c = ?"},
	{"values rows", "INSERT INTO t (a, b) VALUES (1, 'x'), (2, 'y')", "INSERT INTO t (a, b) VALUES (?)"},
	{"identifier digits kept", "SELECT col1 FROM t2 WHERE x = -5", "SELECT col1 FROM t2 WHERE x = ?"},
	{"arithmetic", "SELECT a-1 FROM t", "SELECT a-? FROM t"},
	{"case folded", "select ID from Orders where Customer_Id = 1", "SELECT id FROM orders WHERE customer_id = ?"},
	{"limit offset", "SELECT * FROM t ORDER BY id LIMIT 10 OFFSET 20", "SELECT * FROM t ORDER BY id LIMIT ? OFFSET ?"},
	{"trailing semicolon", "SELECT 1;", "SELECT ?"},
	{"quoted identifiers kept", `SELECT "Order" FROM "T"`, `SELECT "Order" FROM "T"`},
	{"dollar quoted", "SELECT $$it's$$", "SELECT ?"},
	{"tagged dollar quoted", "SELECT $fn$ select 1 $fn$", "SELECT ?"},
	{"escape string", "SELECT * FROM t WHERE a = E'it\\'s'", "SELECT * FROM t WHERE a = ?"},
	{"hex and bit strings", "SELECT X'ff', B'0101'", "SELECT ?"},
	{"unterminated literal", "SELECT 'abc", "SELECT ?"},
	{"float", "SELECT * FROM t WHERE p > 1.5e3", "SELECT * FROM t WHERE p > ?"},
	{"update", "UPDATE orders SET status = 'paid', updated_at = now() WHERE id = 991", "UPDATE orders SET status = ?, updated_at = now() WHERE id = ?"},
	{"join", "SELECT o.id, c.name FROM orders o JOIN customers c ON c.id = o.customer_id WHERE o.total > 100.50",
		"SELECT o.id, c.name FROM orders o JOIN customers c ON c.id = o.customer_id WHERE o.total > ?"},
}

func TestNormalizeStatement(t *testing.T) {
	for _, c := range normalizeCases {
		t.Run(c.name, func(t *testing.T) {
			got := NormalizeStatement(c.in)
			if got != c.want {
				t.Errorf("NormalizeStatement(%q)\n got %q\nwant %q", c.in, got, c.want)
			}
			if again := NormalizeStatement(got); again != got {
				t.Errorf("not idempotent: %q -> %q", got, again)
			}
		})
	}
}

// TestNormalizeStatementGroups checks the property the ranking relies on: executions of one query with
// different arguments and list lengths share one fingerprint, different queries do not.
func TestNormalizeStatementGroups(t *testing.T) {
	same := [][]string{
		{"SELECT * FROM t WHERE id IN (1)", "select *\n from T where ID in (1,2,3,4,5,6,7,8)", "SELECT * FROM t WHERE id IN ($1, $2)"},
		{"SELECT * FROM items WHERE order_id = 1", "SELECT * FROM items WHERE order_id = 99 -- retry", "SELECT * FROM items WHERE order_id = $1"},
	}
	for _, g := range same {
		want := NormalizeStatement(g[0])
		for _, s := range g[1:] {
			if got := NormalizeStatement(s); got != want {
				t.Errorf("%q -> %q, want %q (same query as %q)", s, got, want, g[0])
			}
		}
	}
	if NormalizeStatement("SELECT a FROM t WHERE b = 1") == NormalizeStatement("SELECT a FROM t WHERE c = 1") {
		t.Error("different columns share a fingerprint")
	}
}

func BenchmarkNormalizeStatement(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		for _, c := range normalizeCases {
			NormalizeStatement(c.in)
		}
	}
}

func FuzzNormalizeStatement(f *testing.F) {
	for _, c := range normalizeCases {
		f.Add(c.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		HasPlaceholders(s) // must not panic or hang on any input
		got := NormalizeStatement(s)
		if utf8.ValidString(s) && !utf8.ValidString(got) {
			t.Fatalf("valid UTF-8 in, invalid out: %q -> %q", s, got)
		}
		if len(got) > 2*len(s)+1 {
			t.Fatalf("fingerprint longer than twice the input: %q -> %q", s, got)
		}
		// Idempotence holds for statements that lex cleanly; an unterminated quote or comment swallows the
		// rest of the input, which the second pass then reads differently.
		if !utf8.ValidString(s) || strings.ContainsAny(s, "'\"`$/-\\") {
			return
		}
		if again := NormalizeStatement(got); again != got {
			t.Fatalf("not idempotent: %q -> %q -> %q", s, got, again)
		}
	})
}

func TestHasPlaceholders(t *testing.T) {
	cases := []struct {
		in   string
		want bool
	}{
		{"SELECT * FROM t WHERE id = $1", true},
		{"SELECT * FROM t WHERE id = ?", true},
		{"SELECT * FROM t WHERE id = :id", true},
		{"SELECT * FROM t WHERE id = @id", true},
		{"SELECT * FROM t WHERE id = %s", true},
		{"SELECT * FROM t WHERE id = %(id)s", true},
		{"SELECT * FROM t WHERE id = 5", false},
		{"SELECT * FROM t WHERE note = 'what? $1 :x'", false},
		{"SELECT a::text FROM t -- why? $1", false},
		{"SELECT /* ? */ 1", false},
		{"SELECT $$ ? $$", false},
		{"SELECT $tag$ $1 $tag$ FROM t", false},
		{"SELECT a % 2 FROM t", false},
		{"SELECT email FROM users WHERE email LIKE '%@example.com'", false},
	}
	for _, c := range cases {
		if got := HasPlaceholders(c.in); got != c.want {
			t.Errorf("HasPlaceholders(%q) = %v, want %v", c.in, got, c.want)
		}
	}
}
