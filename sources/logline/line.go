package logline

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/go-logfmt/logfmt"

	"github.com/dbgtool/dbg/investigate"
)

// Format is how a line is read.
type Format string

// Line formats. FormatAuto looks at each line: a JSON object, logfmt (the first token is key=value), or
// plain text.
const (
	FormatAuto   Format = ""
	FormatJSON   Format = "json"
	FormatLogfmt Format = "logfmt"
	FormatPlain  Format = "plain"
)

// ParseFormat checks a --format value.
func ParseFormat(s string) (Format, error) {
	switch f := Format(strings.ToLower(s)); f {
	case FormatAuto, FormatJSON, FormatLogfmt, FormatPlain:
		return f, nil
	case "auto":
		return FormatAuto, nil
	}
	return "", fmt.Errorf("log format %q: want auto, json, logfmt or plain", s)
}

// Parser turns lines into records.
type Parser struct {
	Format Format
	Names  investigate.FieldNames
	// Plain, when set, reads plain-text lines: its named groups are field names (time, level, service,
	// msg, trace_id, ...); a line it does not match is kept whole as the message.
	Plain *regexp.Regexp
	// Now is the clock for formats whose timestamps have no year (klog); nil is time.Now.
	Now func() time.Time
}

// NewParser builds a parser with the default field names plus overrides.
func NewParser(f Format, overrides investigate.FieldNames, plain *regexp.Regexp) *Parser {
	return &Parser{Format: f, Names: investigate.DefaultFieldNames().Prepend(overrides), Plain: plain}
}

// Parse reads one line. It understands the prefixes `kubectl logs` adds: --prefix ("[pod/name/container] ")
// and --timestamps (an RFC 3339 time and a space). It never fails: what it cannot read becomes the message.
func (p *Parser) Parse(line string) investigate.LogRecord { return p.parseLine(line, 0) }

// parseLine is Parse at a nesting depth: a line inside a JSON envelope (Docker, journald) is parsed once
// more, never deeper.
func (p *Parser) parseLine(line string, depth int) investigate.LogRecord {
	line = strings.TrimRight(line, "\r\n")
	var pod string
	if strings.HasPrefix(line, "[pod/") {
		if i := strings.Index(line, "] "); i > 0 {
			pod, line = line[1:i], line[i+2:]
		}
	}
	prefixTime, rest := cutTimePrefix(line)
	if prefixTime.IsZero() {
		prefixTime, rest, _ = bracketTime(line)
	}
	var rec investigate.LogRecord
	ok := false
	if p.Plain != nil && p.Plain.MatchString(line) {
		// The user's regex sees the whole line, its timestamp included.
		rec, ok = p.plain(line), true
	} else {
		rec, ok = p.parseBody(rest, prefixTime, depth)
	}
	if !ok {
		rec = investigate.LogRecord{Message: rest}
	}
	if rec.Time.IsZero() {
		rec.Time = prefixTime
	}
	if pod != "" {
		if rec.Fields == nil {
			rec.Fields = map[string]string{}
		}
		rec.Fields["kubernetes.pod"] = pod
		if rec.Service == "" {
			// pod/<name>/<container>: the container name is the closest thing to a service.
			if parts := strings.Split(pod, "/"); len(parts) == 3 {
				rec.Service = parts[2]
			}
		}
	}
	return rec
}

func (p *Parser) parseBody(s string, ref time.Time, depth int) (investigate.LogRecord, bool) {
	trimmed := strings.TrimLeft(s, " \t")
	switch p.Format {
	case FormatJSON:
		return p.json(trimmed, depth)
	case FormatLogfmt:
		return p.logfmt(trimmed)
	case FormatPlain:
		return p.plain(s), true
	}
	if strings.HasPrefix(trimmed, "{") {
		if r, ok := p.json(trimmed, depth); ok {
			return r, true
		}
	}
	if ref.IsZero() && p.Now != nil {
		ref = p.Now()
	}
	if r, ok := klog(trimmed, ref); ok {
		return r, true
	}
	if looksLogfmt(trimmed) {
		if r, ok := p.logfmt(trimmed); ok {
			return r, true
		}
	}
	return p.plain(s), true
}

func (p *Parser) json(s string, depth int) (investigate.LogRecord, bool) {
	kv, err := DecodeJSON([]byte(s))
	if err != nil {
		return investigate.LogRecord{}, false
	}
	if r, ok := p.envelope(kv, depth); ok {
		return r, true
	}
	return investigate.RecordFromFields(kv, p.Names), true
}

// looksLogfmt: the first token is key=value with a plain key.
func looksLogfmt(s string) bool {
	end := strings.IndexAny(s, " \t")
	if end < 0 {
		end = len(s)
	}
	eq := strings.IndexByte(s[:end], '=')
	if eq <= 0 {
		return false
	}
	for i := 0; i < eq; i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-' || c == '@') {
			return false
		}
	}
	return true
}

func (p *Parser) logfmt(s string) (investigate.LogRecord, bool) {
	d := logfmt.NewDecoder(strings.NewReader(s))
	kv := map[string]string{}
	for d.ScanRecord() {
		for d.ScanKeyval() {
			kv[string(d.Key())] = string(d.Value())
		}
	}
	if d.Err() != nil {
		// Loggers write escapes the logfmt library rejects (\x1b); read such lines leniently.
		kv = lenientLogfmt(s)
	}
	if len(kv) == 0 {
		return investigate.LogRecord{}, false
	}
	return investigate.RecordFromFields(kv, p.Names), true
}

// lenientLogfmt splits key=value pairs on spaces outside double quotes, unquoting values with Go's rules
// where it can and keeping the raw text where it cannot. A token without '=' is a key with no value.
func lenientLogfmt(s string) map[string]string {
	kv := map[string]string{}
	for i := 0; i < len(s); {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
			i++
		}
		start := i
		inQuote := false
		for i < len(s) {
			c := s[i]
			if c == '\\' && inQuote && i+1 < len(s) {
				i += 2
				continue
			}
			if c == '"' {
				inQuote = !inQuote
			} else if !inQuote && (c == ' ' || c == '\t') {
				break
			}
			i++
		}
		tok := s[start:i]
		if tok == "" {
			continue
		}
		k, v, _ := strings.Cut(tok, "=")
		if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
			if u, err := strconv.Unquote(v); err == nil {
				v = u
			} else {
				v = v[1 : len(v)-1]
			}
		}
		if k != "" {
			kv[k] = v
		}
	}
	return kv
}

var levelWords = map[string]string{
	"TRACE": "trace", "DEBUG": "debug", "DBG": "debug", "INFO": "info", "INF": "info", "NOTICE": "info",
	"WARN": "warn", "WARNING": "warn", "WRN": "warn", "ERROR": "error", "ERR": "error", "EROR": "error",
	"FATAL": "fatal", "FTL": "fatal", "CRITICAL": "fatal", "CRIT": "fatal", "PANIC": "panic", "SEVERE": "error",
	"I": "info", "W": "warn", "E": "error", "F": "fatal", "D": "debug",
}

// plain reads a plain-text line: with the configured regex when there is one, otherwise a leading level
// word ("ERROR", "[warn]", "level:") and key=value pairs for trace, span and correlation IDs anywhere.
func (p *Parser) plain(s string) investigate.LogRecord {
	if p.Plain != nil {
		if m := p.Plain.FindStringSubmatch(s); m != nil {
			kv := map[string]string{}
			for i, name := range p.Plain.SubexpNames() {
				if i > 0 && name != "" && m[i] != "" {
					kv[name] = m[i]
				}
			}
			r := investigate.RecordFromFields(kv, p.Names)
			if r.Message == "" {
				r.Message = s
			}
			return r
		}
		return investigate.LogRecord{Message: s}
	}
	var r investigate.LogRecord
	msg := strings.TrimLeft(s, " \t")
	if lv, rest, ok := leadingLevel(msg); ok {
		r.Level = lv
		msg = rest
	}
	r.Message = msg
	if strings.IndexByte(msg, '=') > 0 {
		for _, tok := range strings.Fields(msg) {
			k, v, ok := strings.Cut(tok, "=")
			if !ok || v == "" {
				continue
			}
			v = strings.Trim(v, `",;'`)
			switch {
			case r.TraceID == "" && contains(p.Names.TraceID, k):
				r.TraceID = v
			case r.SpanID == "" && contains(p.Names.SpanID, k):
				r.SpanID = v
			case r.CorrelationID == "" && contains(p.Names.CorrelationID, k):
				r.CorrelationID = v
			case r.Service == "" && contains(p.Names.Service, k):
				r.Service = v
			}
		}
	}
	return r
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// cutTimePrefix splits a leading timestamp off a line: RFC 3339 (kubectl --timestamps, most loggers),
// "2006-01-02 15:04:05[.000]" and Go's log package "2006/01/02 15:04:05[.000000]".
func cutTimePrefix(s string) (time.Time, string) {
	if len(s) < 19 || s[0] < '0' || s[0] > '9' || (s[4] != '-' && s[4] != '/') {
		return time.Time{}, s
	}
	end := strings.IndexByte(s, ' ')
	if end < 0 {
		end = len(s)
	}
	if t, err := time.Parse(time.RFC3339Nano, s[:end]); err == nil {
		return t.UTC(), strings.TrimLeft(s[end:], " ")
	}
	// date and time separated by a space
	if end == 10 && len(s) >= 19 {
		end2 := strings.IndexByte(s[11:], ' ')
		if end2 < 0 {
			end2 = len(s) - 11
		}
		stamp := strings.Replace(s[:11+end2], "/", "-", 2)
		for _, layout := range []string{"2006-01-02 15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999", "2006-01-02 15:04:05,999"} {
			if t, err := time.Parse(layout, stamp); err == nil {
				return t.UTC(), strings.TrimLeft(s[11+end2:], " ")
			}
		}
	}
	return time.Time{}, s
}
