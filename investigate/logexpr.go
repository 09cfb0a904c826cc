package investigate

import (
	"strconv"
	"strings"
	"time"
)

// ExprOp is the kind of a LogExpr node.
type ExprOp int

// The nodes of a log query: boolean operators over terms.
const (
	ExprTerm ExprOp = iota
	ExprAnd
	ExprOr
	ExprNot
)

// TermKind is what a term tests.
type TermKind int

// The terms of a log query.
const (
	// TermText is a bare word or quoted phrase: the message holds it, case-insensitively, at word
	// boundaries where the phrase begins or ends with a letter, digit or underscore.
	TermText TermKind = iota + 1
	// TermEq is field:value, the field's whole value (case-insensitive for level, IDs compared as IDs).
	// On the message field it is TermText.
	TermEq
	// TermWildcard is field:a*b (the field's whole value) or a bare a*b (somewhere in the message).
	TermWildcard
	// TermRange is field:>N, >=, <, <= with a number or a duration.
	TermRange
	// TermExists is _exists_:field or field:*: the field is present and not empty.
	TermExists
	// TermContains is a case-sensitive substring of the message (--grep).
	TermContains
)

// Canonical field names: what users type (and their OpenTelemetry/ECS/logger spellings) map to these,
// and each backend maps them to its own names.
const (
	FieldService       = "service"
	FieldLevel         = "level"
	FieldMessage       = "message"
	FieldTraceID       = "trace_id"
	FieldSpanID        = "span_id"
	FieldCorrelationID = "correlation_id"
)

// LogExpr is one node of a parsed log query (ParseLogQuery). And and Or hold two or more Args, Not one;
// a term node holds Term.
type LogExpr struct {
	Op   ExprOp
	Args []*LogExpr
	Term LogTerm
}

// LogTerm is a leaf of a log query.
type LogTerm struct {
	Kind TermKind
	// Field is the canonical field name (CanonicalField); empty for message text.
	Field string
	// Value is the literal for TermText, TermEq and TermContains. A TermWildcard's literal pieces are
	// in Parts (a*b → ["a", "b"]), with LeadStar and TrailStar saying whether a '*' begins or ends it;
	// its Value is the pattern unescaped, for messages only.
	Value               string
	Parts               []string
	LeadStar, TrailStar bool
	// Cmp is ">", ">=", "<" or "<=" for TermRange, with Num, or Dur when IsDur.
	Cmp   string
	Num   float64
	Dur   time.Duration
	IsDur bool
	// Col is the 1-based column where the term starts in the query text (0 for terms built in code).
	Col int
}

// CanonicalField maps a field name as typed to dbg's canonical name for the fields every log record has
// (service, level, message, trace_id, span_id, correlation_id): the OpenTelemetry log data model names
// (service.name, severity_text, body, trace_id), ECS (log.level, trace.id) and the common logger
// spellings are all recognised. Other names are returned as they are.
func CanonicalField(name string) string {
	if c, ok := canonicalFields[name]; ok {
		return c
	}
	return name
}

var canonicalFields = func() map[string]string {
	d := DefaultFieldNames()
	m := map[string]string{}
	add := func(canon string, names []string) {
		m[canon] = canon
		for _, n := range names {
			if _, taken := m[n]; !taken {
				m[n] = canon
			}
		}
	}
	add(FieldService, d.Service)
	add(FieldLevel, d.Level)
	add(FieldMessage, d.Message)
	add(FieldTraceID, d.TraceID)
	add(FieldSpanID, d.SpanID)
	add(FieldCorrelationID, d.CorrelationID)
	m["service.name"], m["severity_text"], m["body"] = FieldService, FieldLevel, FieldMessage
	return m
}()

// And joins expressions by AND, dropping nils; nil when none is left.
func And(es ...*LogExpr) *LogExpr { return join(ExprAnd, es) }

// Or joins expressions by OR; nil when es is empty.
func Or(es ...*LogExpr) *LogExpr { return join(ExprOr, es) }

// join flattens nested nodes of the same operator: a AND (b AND c) is one AND of three.
func join(op ExprOp, es []*LogExpr) *LogExpr {
	var args []*LogExpr
	for _, e := range es {
		switch {
		case e == nil:
		case e.Op == op:
			args = append(args, e.Args...)
		default:
			args = append(args, e)
		}
	}
	switch len(args) {
	case 0:
		return nil
	case 1:
		return args[0]
	}
	return &LogExpr{Op: op, Args: args}
}

// Rename returns e with the fields named in m renamed (m maps a name as typed, or its canonical form,
// to the stored name); e itself is not changed. Canonical fields keep their meaning: only other
// fields are renamed.
func (e *LogExpr) Rename(m map[string]string) *LogExpr {
	if e == nil || len(m) == 0 {
		return e
	}
	out := *e
	if e.Op == ExprTerm {
		if to := m[e.Term.Field]; to != "" && CanonicalField(e.Term.Field) == e.Term.Field && !isCanonical(e.Term.Field) {
			out.Term.Field = to
		}
		return &out
	}
	out.Args = make([]*LogExpr, len(e.Args))
	for i, a := range e.Args {
		out.Args[i] = a.Rename(m)
	}
	return &out
}

func isCanonical(f string) bool {
	switch f {
	case FieldService, FieldLevel, FieldMessage, FieldTraceID, FieldSpanID, FieldCorrelationID:
		return true
	}
	return false
}

// Not negates e.
func Not(e *LogExpr) *LogExpr {
	if e.Op == ExprNot {
		return e.Args[0]
	}
	return &LogExpr{Op: ExprNot, Args: []*LogExpr{e}}
}

// Term wraps a term as an expression.
func Term(t LogTerm) *LogExpr { return &LogExpr{Op: ExprTerm, Term: t} }

// FieldEq is field:value with the field name made canonical.
func FieldEq(field, value string) *LogExpr {
	f := CanonicalField(field)
	if f == FieldMessage {
		return Term(LogTerm{Kind: TermText, Value: value})
	}
	return Term(LogTerm{Kind: TermEq, Field: f, Value: value})
}

// Text is a message phrase.
func Text(phrase string) *LogExpr { return Term(LogTerm{Kind: TermText, Value: phrase}) }

// Filter is the query's whole filter: the flag fields (service, trace, correlation ID, level, grep)
// and Expr, joined by AND; nil when the query filters on time alone.
func (q *LogQuery) Filter() *LogExpr {
	var es []*LogExpr
	if q.Service != "" {
		es = append(es, FieldEq(FieldService, q.Service))
	}
	if q.TraceID != "" {
		es = append(es, FieldEq(FieldTraceID, q.TraceID))
	}
	if q.CorrelationID != "" {
		es = append(es, FieldEq(FieldCorrelationID, q.CorrelationID))
	}
	if q.Level != "" {
		es = append(es, FieldEq(FieldLevel, q.Level))
	}
	if q.Grep != "" {
		es = append(es, Term(LogTerm{Kind: TermContains, Value: q.Grep}))
	}
	return And(append(es, q.Expr)...)
}

// String writes e back in dbg's query syntax, every value quoted, so that ParseLogQuery(e.String())
// gives e again. A TermContains (--grep) has no syntax of its own and is written as a phrase.
func (e *LogExpr) String() string {
	if e == nil {
		return ""
	}
	var b strings.Builder
	e.write(&b, false)
	return b.String()
}

func (e *LogExpr) write(b *strings.Builder, nested bool) {
	switch e.Op {
	case ExprAnd, ExprOr:
		sep := " AND "
		if e.Op == ExprOr {
			sep = " OR "
		}
		if nested {
			b.WriteByte('(')
		}
		for i, a := range e.Args {
			if i > 0 {
				b.WriteString(sep)
			}
			a.write(b, true)
		}
		if nested {
			b.WriteByte(')')
		}
	case ExprNot:
		b.WriteString("NOT ")
		e.Args[0].write(b, true)
	default:
		e.Term.write(b)
	}
}

func (t *LogTerm) write(b *strings.Builder) {
	field := func() {
		b.WriteString(quoteFieldName(t.Field))
		b.WriteByte(':')
	}
	switch t.Kind {
	case TermText, TermContains:
		b.WriteString(QuoteQueryValue(t.Value))
	case TermEq:
		field()
		b.WriteString(QuoteQueryValue(t.Value))
	case TermWildcard:
		if t.Field != "" {
			field()
		}
		for i, p := range t.Parts {
			if i > 0 || t.LeadStar {
				b.WriteByte('*')
			}
			b.WriteString(escapeBare(p))
		}
		if t.TrailStar {
			b.WriteByte('*')
		}
	case TermRange:
		field()
		b.WriteString(t.Cmp)
		if t.IsDur {
			b.WriteString(t.Dur.String())
		} else {
			b.WriteString(strconv.FormatFloat(t.Num, 'g', -1, 64))
		}
	case TermExists:
		b.WriteString("_exists_:")
		b.WriteString(quoteFieldName(t.Field))
	}
}

// QuoteQueryValue writes s as a quoted value of dbg's query syntax: only '"' and '\' are escaped.
func QuoteQueryValue(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

func quoteFieldName(f string) string {
	if f != "" && (f[0] == '-' || f[0] == '!') || isQueryKeyword(f) {
		return escapeBare(f) // a leading - or !, or a bare AND/OR/NOT, would read as an operator
	}
	for i := 0; i < len(f); i++ {
		if isSpecial(f[i]) || f[i] == '*' || f[i] == '>' || f[i] == '<' {
			return escapeBare(f)
		}
	}
	return f
}

// escapeBare backslash-escapes the characters that end or change a bare word.
func escapeBare(s string) string {
	var b strings.Builder
	if isQueryKeyword(s) {
		b.WriteByte('\\') // AND, OR and NOT as words, not operators
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isSpecial(c) || c == '*' || c == '>' || c == '<' || (c == '-' || c == '!') && i == 0 {
			b.WriteByte('\\')
		}
		b.WriteByte(c)
	}
	return b.String()
}

// isQueryKeyword says whether a bare word would be read as an operator.
func isQueryKeyword(s string) bool { return s == "AND" || s == "OR" || s == "NOT" }
