package investigate

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// QueryError is a query that does not parse: the 1-based column (in characters) and what was expected.
type QueryError struct {
	Col int
	Msg string
}

func (e *QueryError) Error() string { return fmt.Sprintf("column %d: %s", e.Col, e.Msg) }

// MaxQueryLen and maxQueryDepth bound what ParseLogQuery reads: a query is typed by a person.
const (
	MaxQueryLen   = 16 << 10
	maxQueryDepth = 64
)

// ParseLogQuery reads the query syntax people type in Kibana (KQL/Lucene), Grafana and Datadog:
//
//	field:value  field:"a phrase"  field:>1000  field:<=1.5s  field:*partial*  field:(a OR b)
//	word  "a phrase"  a*b  _exists_:field  field:*  NOT x  -x  a AND b  a OR b  (…)
//
// Juxtaposed terms are joined by AND; NOT binds tighter than AND, AND tighter than OR. The operators
// are upper case (lower-case and, or, not are words, as in Lucene). A backslash makes the next
// character literal outside quotes; inside quotes \" and \\ are the only escapes. An empty query
// gives a nil expression.
func ParseLogQuery(s string) (*LogExpr, error) {
	if len(s) > MaxQueryLen {
		return nil, &QueryError{Col: 1, Msg: fmt.Sprintf("the query is longer than %d bytes", MaxQueryLen)}
	}
	if !utf8.ValidString(s) {
		return nil, &QueryError{Col: 1, Msg: "the query is not valid UTF-8"}
	}
	p := &parser{src: s}
	p.next()
	if p.err != nil {
		return nil, p.err
	}
	if p.tok.kind == tokEOF {
		return nil, nil
	}
	e, err := p.or("")
	if err != nil {
		return nil, err
	}
	if p.tok.kind != tokEOF {
		if p.tok.kind == tokRParen {
			return nil, p.errAt(p.tok, `")" without a matching "("`)
		}
		return nil, p.errAt(p.tok, "unexpected "+p.tok.describe())
	}
	return e, nil
}

type tokKind int

const (
	tokEOF tokKind = iota
	tokWord
	tokQuoted
	tokLParen
	tokRParen
	tokColon
	tokAnd
	tokOr
	tokNot
	tokMinus
)

type token struct {
	kind tokKind
	text string // unescaped text of a word or a quoted string
	raw  string // as typed
	pos  int    // byte offset
	// stars are the byte offsets in text of unescaped '*' in a word.
	stars []int
}

func (t token) describe() string {
	switch t.kind {
	case tokEOF:
		return "end of query"
	case tokLParen:
		return `"("`
	case tokRParen:
		return `")"`
	case tokColon:
		return `":"`
	}
	return strconv.Quote(t.raw)
}

type parser struct {
	src   string
	pos   int
	tok   token
	depth int
	// afterColon: the next word is a value, which may hold ':' (a URL, a time) and start with '>'.
	afterColon bool
	err        *QueryError
}

func (p *parser) col(pos int) int { return utf8.RuneCountInString(p.src[:pos]) + 1 }

func (p *parser) errAt(t token, msg string) error { return &QueryError{Col: p.col(t.pos), Msg: msg} }

func isQuerySpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// isSpecial: the characters that end a bare word.
func isSpecial(c byte) bool {
	return isQuerySpace(c) || c == '(' || c == ')' || c == ':' || c == '"' || c == '\\'
}

func (p *parser) next() {
	if p.err != nil {
		p.tok = token{kind: tokEOF, pos: len(p.src)}
		return
	}
	value := p.afterColon
	p.afterColon = false
	for p.pos < len(p.src) && isQuerySpace(p.src[p.pos]) {
		p.pos++
	}
	start := p.pos
	if p.pos >= len(p.src) {
		p.tok = token{kind: tokEOF, pos: start}
		return
	}
	switch c := p.src[p.pos]; c {
	case '(':
		p.pos++
		p.tok = token{kind: tokLParen, pos: start, raw: "("}
		return
	case ')':
		p.pos++
		p.tok = token{kind: tokRParen, pos: start, raw: ")"}
		return
	case ':':
		p.pos++
		p.tok = token{kind: tokColon, pos: start, raw: ":"}
		return
	case '"':
		p.quoted(start)
		return
	case '-', '!':
		if !value && p.pos+1 < len(p.src) && !isQuerySpace(p.src[p.pos+1]) && p.src[p.pos+1] != ')' {
			p.pos++
			p.tok = token{kind: tokMinus, pos: start, raw: string(c)}
			return
		}
	}
	var b strings.Builder
	var stars []int
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		if c == ':' && value {
			b.WriteByte(c)
			p.pos++
			continue
		}
		if c == '\\' {
			if p.pos+1 >= len(p.src) {
				p.err = &QueryError{Col: p.col(p.pos), Msg: `"\" at the end of the query escapes nothing`}
				p.tok = token{kind: tokEOF, pos: len(p.src)}
				return
			}
			_, n := utf8.DecodeRuneInString(p.src[p.pos+1:])
			b.WriteString(p.src[p.pos+1 : p.pos+1+n])
			p.pos += 1 + n
			continue
		}
		if isSpecial(c) {
			break
		}
		if c == '*' {
			stars = append(stars, b.Len())
		}
		b.WriteByte(c)
		p.pos++
	}
	raw := p.src[start:p.pos]
	t := token{kind: tokWord, text: b.String(), raw: raw, pos: start, stars: stars}
	switch raw {
	case "AND", "&&":
		t.kind = tokAnd
	case "OR", "||":
		t.kind = tokOr
	case "NOT", "!":
		t.kind = tokNot
	}
	if value && t.kind != tokWord {
		t.kind = tokWord // field:AND is the value "AND"
	}
	p.tok = t
}

func (p *parser) quoted(start int) {
	var b strings.Builder
	i := start + 1
	for i < len(p.src) {
		c := p.src[i]
		switch c {
		case '"':
			p.pos = i + 1
			p.tok = token{kind: tokQuoted, text: b.String(), raw: p.src[start:p.pos], pos: start}
			return
		case '\\':
			if i+1 < len(p.src) && (p.src[i+1] == '"' || p.src[i+1] == '\\') {
				b.WriteByte(p.src[i+1])
				i += 2
				continue
			}
		}
		b.WriteByte(c)
		i++
	}
	p.err = &QueryError{Col: p.col(start), Msg: `unclosed quote: add a closing "`}
	p.tok = token{kind: tokEOF, pos: len(p.src)}
}

// check turns a lexer error into the parse error.
func (p *parser) check() error {
	if p.err != nil {
		return p.err
	}
	return nil
}

// or: and { OR and }. field is the default field inside field:( … ).
func (p *parser) or(field string) (*LogExpr, error) {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > maxQueryDepth {
		return nil, p.errAt(p.tok, fmt.Sprintf("the query nests deeper than %d levels", maxQueryDepth))
	}
	var alts []*LogExpr
	for {
		e, err := p.and(field)
		if err != nil {
			return nil, err
		}
		alts = append(alts, e)
		if p.tok.kind != tokOr {
			break
		}
		p.next()
	}
	return Or(alts...), p.check()
}

func (p *parser) and(field string) (*LogExpr, error) {
	var all []*LogExpr
	for {
		e, err := p.unary(field)
		if err != nil {
			return nil, err
		}
		all = append(all, e)
		switch p.tok.kind {
		case tokAnd:
			p.next()
			continue
		case tokWord, tokQuoted, tokLParen, tokNot, tokMinus:
			continue // juxtaposition is AND
		}
		break
	}
	return And(all...), p.check()
}

func (p *parser) unary(field string) (*LogExpr, error) {
	if p.tok.kind == tokNot || p.tok.kind == tokMinus {
		p.next()
		if err := p.check(); err != nil {
			return nil, err
		}
		p.depth++
		defer func() { p.depth-- }()
		if p.depth > maxQueryDepth {
			return nil, p.errAt(p.tok, fmt.Sprintf("the query nests deeper than %d levels", maxQueryDepth))
		}
		e, err := p.unary(field)
		if err != nil {
			return nil, err
		}
		return Not(e), nil
	}
	return p.primary(field)
}

func (p *parser) primary(field string) (*LogExpr, error) {
	t := p.tok
	switch t.kind {
	case tokLParen:
		p.next()
		if p.tok.kind == tokRParen {
			return nil, p.errAt(p.tok, `empty "()": put a term inside`)
		}
		e, err := p.or(field)
		if err != nil {
			return nil, err
		}
		if p.tok.kind != tokRParen {
			return nil, p.errAt(t, `unclosed "(": add ")"`)
		}
		p.next()
		return e, p.check()
	case tokQuoted:
		p.next()
		if field != "" {
			return p.value(field, t)
		}
		return Term(LogTerm{Kind: TermText, Value: t.text, Col: p.col(t.pos)}), p.check()
	case tokWord:
		// field:value? A word followed directly by ':' is a field name.
		if p.pos < len(p.src) && p.src[p.pos] == ':' && field == "" {
			p.afterColon = true
			p.next() // the colon
			p.afterColon = true
			p.next() // the value
			if err := p.check(); err != nil {
				return nil, err
			}
			name := t.text
			if name == "" {
				return nil, p.errAt(t, "empty field name")
			}
			if name == "_exists_" {
				v := p.tok
				if v.kind != tokWord && v.kind != tokQuoted || v.text == "" {
					return nil, p.errAt(v, "_exists_: wants a field name (_exists_:trace_id)")
				}
				p.next()
				return Term(LogTerm{Kind: TermExists, Field: CanonicalField(v.text), Col: p.col(t.pos)}), p.check()
			}
			switch p.tok.kind {
			case tokLParen:
				return p.primary(CanonicalField(name)) // field:(a OR b)
			case tokWord, tokQuoted:
				v := p.tok
				p.next()
				if err := p.check(); err != nil {
					return nil, err
				}
				e, err := p.value(CanonicalField(name), v)
				if e != nil {
					e.Term.Col = p.col(t.pos)
				}
				return e, err
			}
			return nil, p.errAt(p.tok, fmt.Sprintf("%s: wants a value after the colon (%s:value, %s:\"a phrase\", %s:>100)", name, name, name, name))
		}
		p.next()
		if field != "" {
			return p.value(field, t)
		}
		if len(t.stars) > 0 {
			return wildcard("", t, p.col(t.pos)), p.check()
		}
		return Term(LogTerm{Kind: TermText, Value: t.text, Col: p.col(t.pos)}), p.check()
	case tokColon:
		return nil, p.errAt(t, `":" without a field name before it`)
	case tokRParen:
		return nil, p.errAt(t, `")" without a matching "("`)
	case tokEOF:
		if err := p.check(); err != nil {
			return nil, err
		}
		return nil, p.errAt(t, "the query ends where a term was expected")
	}
	return nil, p.errAt(t, t.describe()+" where a term was expected")
}

// value is the value of field:value: quoted (literal), a comparison, '*' (exists), a wildcard or a word.
func (p *parser) value(field string, v token) (*LogExpr, error) {
	col := p.col(v.pos)
	if v.kind == tokQuoted {
		return FieldEq(field, v.text), nil
	}
	if v.text == "*" && len(v.stars) == 1 {
		return Term(LogTerm{Kind: TermExists, Field: field, Col: col}), nil
	}
	for _, op := range []string{">=", "<=", ">", "<"} {
		if strings.HasPrefix(v.raw, op) {
			return comparison(field, op, v.text[len(op):], col+len(op))
		}
	}
	if len(v.stars) > 0 {
		if field == FieldMessage {
			field = ""
		}
		return wildcard(field, v, col), nil
	}
	return FieldEq(field, v.text), nil
}

func comparison(field, op, lit string, col int) (*LogExpr, error) {
	t := LogTerm{Kind: TermRange, Field: field, Cmp: op, Col: col}
	if lit == "" {
		return nil, &QueryError{Col: col, Msg: fmt.Sprintf("%s:%s wants a number or a duration after %q (%s:%s1000, %s:%s1.5s)", field, op, op, field, op, field, op)}
	}
	if n, err := strconv.ParseFloat(lit, 64); err == nil && !isNaNOrInf(lit) {
		t.Num = n
		return Term(t), nil
	}
	if d, err := time.ParseDuration(lit); err == nil {
		t.Dur, t.IsDur = d, true
		return Term(t), nil
	}
	return nil, &QueryError{Col: col, Msg: fmt.Sprintf("%q is neither a number nor a duration (1000, 2.5, 250ms, 1.5s, 2m)", lit)}
}

func isNaNOrInf(s string) bool {
	s = strings.ToLower(strings.TrimLeft(s, "+-"))
	return strings.HasPrefix(s, "inf") || s == "nan"
}

// wildcard splits a word at its unescaped stars into the pattern's literal pieces.
func wildcard(field string, t token, col int) *LogExpr {
	var parts []string
	last := 0
	for _, at := range t.stars {
		if at > last {
			parts = append(parts, t.text[last:at])
		}
		last = at + 1
	}
	if last < len(t.text) {
		parts = append(parts, t.text[last:])
	}
	if len(parts) == 0 { // "*" or "**": any value
		if field == "" {
			return Term(LogTerm{Kind: TermExists, Field: FieldMessage, Col: col})
		}
		return Term(LogTerm{Kind: TermExists, Field: field, Col: col})
	}
	return Term(LogTerm{Kind: TermWildcard, Field: field, Value: t.text, Parts: parts, Col: col,
		LeadStar: t.stars[0] == 0, TrailStar: t.stars[len(t.stars)-1] == len(t.text)-1})
}
