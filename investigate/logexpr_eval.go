package investigate

import (
	"cmp"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// LogMatcher tests records against a query on the client side (files, stdin, bundles): the same
// semantics every backend compiler targets (docs/logs.md).
type LogMatcher struct {
	start, end time.Time
	root       *matchNode
}

type matchNode struct {
	op   ExprOp
	args []*matchNode
	t    LogTerm
	// lower is the lower-cased phrase of a TermText; re the compiled message pattern of a TermWildcard
	// on the message.
	lower      string
	boundStart bool
	boundEnd   bool
	re         *regexp.Regexp
}

// Matcher compiles q once for many records.
func (q *LogQuery) Matcher() *LogMatcher {
	return &LogMatcher{start: q.Start, end: q.End, root: compileMatch(q.Filter())}
}

// Match reports whether r satisfies q, for sources (files) that filter on the client side. A zero Start
// or End leaves that side open. For many records, compile once with Matcher.
func (q *LogQuery) Match(r *LogRecord) bool { return q.Matcher().Match(r) }

// Match reports whether r is in the window and satisfies the filter.
func (m *LogMatcher) Match(r *LogRecord) bool {
	if !m.start.IsZero() && !r.Time.IsZero() && r.Time.Before(m.start) {
		return false
	}
	if !m.end.IsZero() && !r.Time.IsZero() && !r.Time.Before(m.end) {
		return false
	}
	return m.root == nil || m.root.match(r)
}

func compileMatch(e *LogExpr) *matchNode {
	if e == nil {
		return nil
	}
	n := &matchNode{op: e.Op, t: e.Term}
	for _, a := range e.Args {
		n.args = append(n.args, compileMatch(a))
	}
	if e.Op != ExprTerm {
		return n
	}
	switch e.Term.Kind {
	case TermText:
		n.lower = strings.ToLower(e.Term.Value)
		n.boundStart, n.boundEnd = PhraseBounds(e.Term.Value)
	case TermWildcard:
		if e.Term.Field == "" {
			n.re = regexp.MustCompile(MessagePattern(&e.Term))
		}
	}
	return n
}

func (n *matchNode) match(r *LogRecord) bool {
	switch n.op {
	case ExprAnd:
		for _, a := range n.args {
			if !a.match(r) {
				return false
			}
		}
		return true
	case ExprOr:
		for _, a := range n.args {
			if a.match(r) {
				return true
			}
		}
		return false
	case ExprNot:
		return !n.args[0].match(r)
	}
	t := &n.t
	switch t.Kind {
	case TermText:
		return containsPhrase(strings.ToLower(r.Message), n.lower, n.boundStart, n.boundEnd)
	case TermContains:
		return strings.Contains(r.Message, t.Value)
	case TermWildcard:
		if n.re != nil {
			return n.re.MatchString(r.Message)
		}
		v, ok := FieldValue(r, t.Field)
		return ok && globMatch(v, t)
	case TermExists:
		v, ok := FieldValue(r, t.Field)
		return ok && v != ""
	case TermEq:
		v, ok := FieldValue(r, t.Field)
		if !ok {
			return false
		}
		switch t.Field {
		case FieldLevel:
			return strings.EqualFold(v, t.Value)
		case FieldTraceID, FieldSpanID:
			return sameID(v, t.Value)
		}
		return v == t.Value
	case TermRange:
		v, ok := FieldValue(r, t.Field)
		if !ok {
			return false
		}
		f, ok := numericValue(v)
		if !ok {
			return false
		}
		want := t.Num
		if t.IsDur {
			want = float64(t.Dur)
		}
		c := cmp.Compare(f, want)
		switch t.Cmp {
		case ">":
			return c > 0
		case ">=":
			return c >= 0
		case "<":
			return c < 0
		}
		return c <= 0
	}
	return false
}

// numericValue reads a field for a comparison as LogsQL does: a number, or a duration ("1.5s",
// "250ms") as its nanoseconds. So duration:>1s holds for "1.2s" and for 2000000000, not for "1500".
func numericValue(v string) (float64, bool) {
	v = strings.TrimSpace(v)
	if f, err := strconv.ParseFloat(v, 64); err == nil && !isNaNOrInf(v) {
		return f, true
	}
	if d, err := time.ParseDuration(v); err == nil {
		return float64(d), true
	}
	return 0, false
}

// FieldValue is a record's value of a canonical field: its own parts, else Fields.
func FieldValue(r *LogRecord, field string) (string, bool) {
	switch field {
	case FieldService:
		return r.Service, r.Service != ""
	case FieldLevel:
		return r.Level, r.Level != ""
	case FieldMessage:
		return r.Message, true
	case FieldTraceID:
		return r.TraceID, r.TraceID != ""
	case FieldSpanID:
		return r.SpanID, r.SpanID != ""
	case FieldCorrelationID:
		return r.CorrelationID, r.CorrelationID != ""
	}
	v, ok := r.Fields[field]
	return v, ok
}

// IsWordRune: letters, digits and '_' make words (as LogsQL splits them).
func IsWordRune(c rune) bool { return c == '_' || unicode.IsLetter(c) || unicode.IsDigit(c) }

// PhraseBounds says whether a phrase must start and end at a word boundary: where its first or last
// character is a word character ("error" does not match "errors"; "/api/" matches inside a path).
func PhraseBounds(phrase string) (start, end bool) {
	first, _ := utf8.DecodeRuneInString(phrase)
	last, _ := utf8.DecodeLastRuneInString(phrase)
	return phrase != "" && IsWordRune(first), phrase != "" && IsWordRune(last)
}

func containsPhrase(s, phrase string, boundStart, boundEnd bool) bool {
	if phrase == "" {
		return true
	}
	for off := 0; off <= len(s)-len(phrase); {
		i := strings.Index(s[off:], phrase)
		if i < 0 {
			return false
		}
		i += off
		ok := true
		if boundStart && i > 0 {
			c, _ := utf8.DecodeLastRuneInString(s[:i])
			ok = !IsWordRune(c)
		}
		if ok && boundEnd && i+len(phrase) < len(s) {
			c, _ := utf8.DecodeRuneInString(s[i+len(phrase):])
			ok = !IsWordRune(c)
		}
		if ok {
			return true
		}
		_, n := utf8.DecodeRuneInString(s[i:])
		off = i + n
	}
	return false
}

// globMatch is a field wildcard: the whole value, case-sensitive, '*' any run of characters.
func globMatch(v string, t *LogTerm) bool {
	parts := t.Parts
	if len(parts) == 0 {
		return true
	}
	if !t.LeadStar {
		if !strings.HasPrefix(v, parts[0]) {
			return false
		}
		v = v[len(parts[0]):]
		parts = parts[1:]
		if len(parts) == 0 {
			return t.TrailStar || v == ""
		}
	}
	last := len(parts) - 1
	for i, p := range parts {
		if i == last && !t.TrailStar {
			return len(v) >= len(p) && strings.HasSuffix(v, p)
		}
		j := strings.Index(v, p)
		if j < 0 {
			return false
		}
		v = v[j+len(p):]
	}
	return true
}

// MessagePattern is the RE2 regexp of a wildcard on the message: case-insensitive, anywhere in the
// message, '*' any run of characters, a word boundary where the pattern begins or ends with a word
// character that no '*' precedes or follows (ASCII, as RE2's \\b). Backends with RE2 (Loki, VictoriaLogs) use the same text.
func MessagePattern(t *LogTerm) string {
	var b strings.Builder
	b.WriteString("(?is)")
	for i, p := range t.Parts {
		if i > 0 {
			b.WriteString(".*")
		}
		if i == 0 && !t.LeadStar {
			if p[0] < utf8.RuneSelf && IsWordRune(rune(p[0])) {
				b.WriteString(`\b`)
			}
		}
		b.WriteString(regexp.QuoteMeta(p))
		if i == len(t.Parts)-1 && !t.TrailStar {
			if c := p[len(p)-1]; c < utf8.RuneSelf && IsWordRune(rune(c)) {
				b.WriteString(`\b`)
			}
		}
	}
	return b.String()
}

// FieldPattern is the RE2 regexp of a wildcard on a field's whole value, case-sensitive.
func FieldPattern(t *LogTerm) string {
	return "(?s)^" + WildcardPattern(t, ".*", regexp.QuoteMeta) + "$"
}

// WildcardPattern writes a wildcard in a backend's own pattern syntax: each literal piece through
// quote, star for each '*' (".*" in a regexp, "*" in Elasticsearch's wildcard query).
func WildcardPattern(t *LogTerm, star string, quote func(string) string) string {
	var b strings.Builder
	if t.LeadStar {
		b.WriteString(star)
	}
	for i, p := range t.Parts {
		if i > 0 {
			b.WriteString(star)
		}
		b.WriteString(quote(p))
	}
	if t.TrailStar {
		b.WriteString(star)
	}
	return b.String()
}
