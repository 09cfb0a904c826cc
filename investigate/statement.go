package investigate

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// NormalizeStatement fingerprints a SQL (or similar) statement: string and numeric literals, positional
// ($1, ?, ?1), named (:id, @id) and pyformat (%s, %(id)s) parameters become ?, IN/VALUES lists of any
// length collapse to (?), comments and a trailing semicolon are removed, keywords are upper-cased,
// unquoted identifiers lower-cased (SQL folds them anyway) and whitespace is folded. Two executions of
// the same query with different arguments get the same fingerprint, which is what N+1 detection and the
// slow-query ranking group by. Normalising a fingerprint again returns it unchanged.
//
// It is a hand-written lexer rather than a library: measured against DataDog/go-sqllexer (the maintained
// Go SQL obfuscator) on the table in statement_test.go it gets every case right where go-sqllexer misses
// eight (it splits "::" casts, keeps :named params and VALUES rows, drops identifier quotes), and it is
// about twice as fast (docs/db.md).
func NormalizeStatement(sql string) string {
	var b strings.Builder
	b.Grow(len(sql))
	space := false
	emit := func(s string) {
		if space && b.Len() > 0 && s != "," && s != ")" {
			if out := b.String(); out[len(out)-1] != '(' {
				b.WriteByte(' ')
			}
		}
		space = false
		b.WriteString(s)
	}
	i := 0
	for i < len(sql) {
		c := sql[i]
		switch {
		case c == '-' && i+1 < len(sql) && sql[i+1] == '-':
			for i < len(sql) && sql[i] != '\n' {
				i++
			}
			space = true
		case c == '/' && i+1 < len(sql) && sql[i+1] == '*':
			end := strings.Index(sql[i+2:], "*/")
			if end < 0 {
				i = len(sql)
			} else {
				i += end + 4
			}
			space = true
		case c == '\'' || isStringPrefix(c) && i+1 < len(sql) && sql[i+1] == '\'' && !prevIsWord(sql, i):
			if c != '\'' {
				i++
			}
			i = skipQuoted(sql, i, '\'')
			emit("?")
		case c == '$' && i+1 < len(sql) && (isDigit(sql[i+1]) || sql[i+1] == '$' || isWordStart(sql[i+1])):
			// $1 parameter, or a $$/$tag$ dollar-quoted string.
			if isDigit(sql[i+1]) {
				i++
				for i < len(sql) && isDigit(sql[i]) {
					i++
				}
				emit("?")
				break
			}
			j := strings.IndexByte(sql[i+1:], '$')
			if j < 0 {
				emit("$")
				i++
				break
			}
			tag := sql[i : i+j+2]
			end := strings.Index(sql[i+len(tag):], tag)
			if end < 0 {
				i = len(sql)
			} else {
				i += len(tag) + end + len(tag)
			}
			emit("?")
		case (c == ':' || c == '@') && i+1 < len(sql) && isWordStart(sql[i+1]) && !(c == ':' && i > 0 && sql[i-1] == ':'):
			i++
			for i < len(sql) && isWordByte(sql[i]) {
				i++
			}
			emit("?")
		case c == '?':
			i++
			for i < len(sql) && isDigit(sql[i]) { // SQLite's ?NNN
				i++
			}
			emit("?")
		case c == '%' && i+1 < len(sql) && (sql[i+1]|0x20 == 's' || sql[i+1]|0x20 == 'd') && (i+2 == len(sql) || !isWordByte(sql[i+2])):
			i += 2 // pyformat %s
			emit("?")
		case c == '%' && i+1 < len(sql) && sql[i+1] == '(':
			end := strings.IndexByte(sql[i:], ')')
			if end < 0 || end+1 >= len(sql)-i || !isWordStart(sql[i+end+1]) {
				emit("%")
				i++
				break
			}
			i += end + 2 // pyformat %(name)s
			emit("?")
		case isDigit(c) || (c == '.' || c == '-' || c == '+') && i+1 < len(sql) && isDigit(sql[i+1]) && !prevIsWord(sql, i) && !prevIsValue(b.String()):
			if c == '-' || c == '+' {
				i++
			}
			for i < len(sql) && (isDigit(sql[i]) || sql[i] == '.' || sql[i] == 'e' || sql[i] == 'E' || sql[i] == 'x' || sql[i] == 'X' || isHex(sql[i])) {
				i++
			}
			emit("?")
		case c == '"' || c == '`':
			j := skipQuoted(sql, i, c)
			emit(sql[i:j])
			i = j
		case isWordStart(c):
			j := i
			for j < len(sql) && isWordByte(sql[j]) {
				j++
			}
			word := sql[i:j]
			if isKeyword(word) {
				word = strings.ToUpper(word)
			} else {
				word = asciiLower(word)
			}
			emit(word)
			i = j
		case c < utf8.RuneSelf && unicode.IsSpace(rune(c)):
			space = true
			i++
		default:
			r, size := utf8.DecodeRuneInString(sql[i:])
			if unicode.IsSpace(r) {
				space = true
			} else {
				if c == ',' || c == ')' {
					space = false
				}
				emit(string(r))
				if c == '(' {
					space = false
				}
			}
			i += size
		}
	}
	return strings.TrimRight(collapseLists(b.String()), "; ")
}

// asciiLower lower-cases ASCII letters only, so bytes that are not valid UTF-8 pass through unchanged.
func asciiLower(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if b[j] >= 'A' && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// isStringPrefix reports whether c before a quote makes a prefixed string literal: E'..' (escapes),
// B'..' (bits), X'..' (hex), N'..' (national).
func isStringPrefix(c byte) bool {
	switch c {
	case 'E', 'e', 'B', 'b', 'X', 'x', 'N', 'n':
		return true
	}
	return false
}

// collapseLists turns "(?, ?, ?)" into "(?)" and "VALUES (?), (?)" into "VALUES (?)".
func collapseLists(s string) string {
	for {
		n := strings.ReplaceAll(s, "?, ?", "?")
		n = strings.ReplaceAll(n, "?,?", "?")
		n = strings.ReplaceAll(n, "(?), (?)", "(?)")
		if n == s {
			return n
		}
		s = n
	}
}

func skipQuoted(s string, i int, q byte) int {
	i++
	for i < len(s) {
		if s[i] == '\\' && q == '\'' {
			i += 2
			continue
		}
		if s[i] == q {
			if i+1 < len(s) && s[i+1] == q { // doubled quote inside the literal
				i += 2
				continue
			}
			return i + 1
		}
		i++
	}
	return len(s)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isHex(c byte) bool   { return isDigit(c) || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }
func isWordStart(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}
func isWordByte(c byte) bool { return isWordStart(c) || isDigit(c) || c == '$' || c == '.' }

func prevIsWord(s string, i int) bool { return i > 0 && isWordByte(s[i-1]) }

// prevIsValue reports whether the fingerprint so far ends in something a +/- would be an operator after.
func prevIsValue(out string) bool {
	out = strings.TrimRight(out, " ")
	if out == "" {
		return false
	}
	c := out[len(out)-1]
	return c == '?' || c == ')' || isWordByte(c)
}

var sqlKeywords = map[string]bool{}

func init() {
	for _, k := range strings.Fields(`select from where and or not in is null like ilike between exists insert into values
		update set delete join inner left right outer full cross on using group by order having limit offset as
		distinct union all case when then else end asc desc with returning count sum avg min max upsert conflict
		do nothing begin commit rollback create index table drop alter primary key for share nowait skip locked
		true false coalesce cast interval any some lateral natural recursive fetch first next rows only
		ilike similar to escape window over partition`) {
		sqlKeywords[k] = true
	}
}

func isKeyword(w string) bool { return sqlKeywords[strings.ToLower(w)] }

// HasPlaceholders reports whether a statement carries bind parameters ($1, ?, :name, @name, %s) outside
// its string literals and comments: such a statement as recorded in a trace has no values, so a database
// cannot plan it as it ran.
func HasPlaceholders(sql string) bool {
	for i := 0; i < len(sql); i++ {
		c := sql[i]
		next := byte(0)
		if i+1 < len(sql) {
			next = sql[i+1]
		}
		switch {
		case c == '\'' || c == '"' || c == '`':
			i = skipQuoted(sql, i, c) - 1
		case c == '-' && next == '-':
			for i < len(sql) && sql[i] != '\n' {
				i++
			}
		case c == '/' && next == '*':
			end := strings.Index(sql[i+2:], "*/")
			if end < 0 {
				return false
			}
			i += end + 3
		case c == '$' && isDigit(next), c == '?':
			return true
		case c == '$' && (next == '$' || isWordStart(next)) && !prevIsWord(sql, i):
			j := strings.IndexByte(sql[i+1:], '$')
			if j < 0 {
				return false
			}
			tag := sql[i : i+j+2]
			end := strings.Index(sql[i+len(tag):], tag)
			if end < 0 {
				return false
			}
			i += 2*len(tag) + end - 1
		case (c == ':' || c == '@') && isWordStart(next) && !(i > 0 && (sql[i-1] == ':' || isWordByte(sql[i-1]))) && !(c == ':' && next == ':'):
			return true
		case c == '%' && (next == 's' || next == '('):
			return true
		}
	}
	return false
}
