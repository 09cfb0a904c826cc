package postgres

import (
	"errors"
	"fmt"
	"strings"

	"github.com/dbgtool/dbg/investigate"
)

// Reasons a statement is not sent to the database. Callers branch on them to say "skipped" rather than
// "failed".
var (
	// ErrNotExplainable: the statement is not one EXPLAIN can plan (DDL, several statements, ...).
	ErrNotExplainable = errors.New("cannot be explained")
	// ErrPlaceholders: the trace recorded the statement with bind parameters and no values.
	ErrPlaceholders = errors.New("has placeholders and no values")
	// ErrNotReadOnly: --analyze would run a statement that is not a plain SELECT.
	ErrNotReadOnly = errors.New("refused for --analyze")
)

// explainable are the statements PostgreSQL's EXPLAIN plans; analysable the ones dbg lets EXPLAIN
// ANALYZE execute.
var (
	explainable = map[string]bool{"SELECT": true, "WITH": true, "VALUES": true, "TABLE": true,
		"INSERT": true, "UPDATE": true, "DELETE": true, "MERGE": true}
	analysable = map[string]bool{"SELECT": true, "WITH": true, "VALUES": true, "TABLE": true}
	// Words that make a SELECT write, lock or reach outside the transaction. A READ ONLY transaction
	// stops most writes already; these are refused before anything is sent.
	unsafeWords = map[string]bool{"INSERT": true, "UPDATE": true, "DELETE": true, "MERGE": true, "INTO": true,
		"TRUNCATE": true, "COPY": true, "CALL": true, "DO": true, "NEXTVAL": true, "SETVAL": true, "SET_CONFIG": true,
		"DBLINK": true, "DBLINK_EXEC": true, "LO_IMPORT": true, "LO_EXPORT": true, "LO_UNLINK": true,
		"PG_TERMINATE_BACKEND": true, "PG_CANCEL_BACKEND": true, "PG_RELOAD_CONF": true, "PG_ROTATE_LOGFILE": true,
		"PG_PROMOTE": true, "PG_ADVISORY_LOCK": true, "PG_ADVISORY_XACT_LOCK": true, "PG_NOTIFY": true}
)

// CheckStatement decides whether stmt may be explained, and with analyze whether it may be executed
// under EXPLAIN ANALYZE. It returns the statement to send (comments around it and a trailing semicolon
// removed) or an error wrapping one of ErrNotExplainable, ErrPlaceholders or ErrNotReadOnly that says
// why not in one line.
func CheckStatement(stmt string, analyze bool) (string, error) {
	s := strings.TrimSpace(stmt)
	for strings.HasSuffix(s, ";") {
		s = strings.TrimSpace(strings.TrimSuffix(s, ";"))
	}
	words, multi := sqlWords(s)
	if len(words) == 0 {
		return "", fmt.Errorf("%w: the statement is empty", ErrNotExplainable)
	}
	if multi {
		return "", fmt.Errorf("%w: it holds more than one statement", ErrNotExplainable)
	}
	verb := words[0]
	if !explainable[verb] {
		return "", fmt.Errorf("%w: EXPLAIN plans SELECT, INSERT, UPDATE, DELETE and MERGE; this is %s", ErrNotExplainable, article(verb))
	}
	if investigate.HasPlaceholders(s) {
		return "", fmt.Errorf("%w: the trace recorded it with bind parameters ($1, ?) and not their values, so the database cannot plan it as it ran", ErrPlaceholders)
	}
	if analyze {
		if !analysable[verb] {
			return "", fmt.Errorf("%w: --analyze executes the statement, so dbg runs only SELECTs and this is %s; drop --analyze to see its plan", ErrNotReadOnly, article(verb))
		}
		for i, w := range words {
			if unsafeWords[w] || w == "FOR" && i+1 < len(words) && (words[i+1] == "UPDATE" || words[i+1] == "SHARE" || words[i+1] == "NO" || words[i+1] == "KEY") {
				return "", fmt.Errorf("%w: --analyze executes the statement and this SELECT contains %s, which writes or locks; drop --analyze to see its plan", ErrNotReadOnly, w)
			}
		}
	}
	return s, nil
}

func article(verb string) string {
	if strings.ContainsRune("AEIOU", rune(verb[0])) {
		return "an " + verb
	}
	return "a " + verb
}

// sqlWords returns the upper-cased words of s outside string literals, quoted identifiers and comments,
// and whether a semicolon separates two statements.
func sqlWords(s string) (words []string, multi bool) {
	semi := false
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '-' && i+1 < len(s) && s[i+1] == '-':
			for i < len(s) && s[i] != '\n' {
				i++
			}
		case c == '/' && i+1 < len(s) && s[i+1] == '*':
			end := strings.Index(s[i+2:], "*/")
			if end < 0 {
				return words, multi
			}
			i += end + 4
		case (c == 'E' || c == 'e') && i+1 < len(s) && s[i+1] == '\'' && (i == 0 || !isIdent(s[i-1])):
			i = skipEscapeLiteral(s, i+1)
		case c == '\'' || c == '"':
			i = skipLiteral(s, i, c)
		case c == '$' && i+1 < len(s) && (s[i+1] == '$' || isIdentStart(s[i+1])) && (i == 0 || !isIdent(s[i-1])):
			j := strings.IndexByte(s[i+1:], '$')
			if j < 0 {
				i++
				continue
			}
			tag := s[i : i+j+2]
			end := strings.Index(s[i+len(tag):], tag)
			if end < 0 {
				return words, multi
			}
			i += 2*len(tag) + end
		case c == ';':
			semi = true
			i++
		case isIdentStart(c):
			j := i
			for j < len(s) && isIdent(s[j]) {
				j++
			}
			if semi {
				multi = true
			}
			words = append(words, strings.ToUpper(s[i:j]))
			i = j
		default:
			if semi && c > ' ' {
				multi = true
			}
			i++
		}
	}
	return words, multi
}

func skipLiteral(s string, i int, q byte) int {
	for i++; i < len(s); i++ {
		if s[i] == q {
			if i+1 < len(s) && s[i+1] == q {
				i++
				continue
			}
			return i + 1
		}
	}
	return len(s)
}

// skipEscapeLiteral skips an E'...' string, where a backslash escapes the next character.
func skipEscapeLiteral(s string, i int) int {
	for i++; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '\'':
			if i+1 < len(s) && s[i+1] == '\'' {
				i++
				continue
			}
			return i + 1
		}
	}
	return len(s)
}

func isIdentStart(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}
func isIdent(c byte) bool { return isIdentStart(c) || c >= '0' && c <= '9' || c == '$' }
