package files

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/dbgtool/dbg/investigate"
	"github.com/dbgtool/dbg/sources/logline"
)

// MaxLogLine bounds one log line; the rest of a longer line is dropped and the record says so.
const MaxLogLine = 1 << 20

// LogFile reads log lines from a file or stdin: JSON lines, logfmt, plain text (with a configurable
// regex) and `kubectl logs` output, with or without --timestamps and --prefix. It streams: memory does
// not grow with the file.
type LogFile struct {
	// Path is the file; "-" reads Stdin.
	Path   string
	Stdin  io.Reader
	Parser *logline.Parser
	// Renames maps field names as typed in a query to the names in the file (log-query-fields).
	Renames map[string]string
}

// Name says where the records come from, for messages.
func (f *LogFile) Name() string {
	if f.Path == "-" {
		return "stdin"
	}
	return f.Path
}

// Check opens the file, for `dbg doctor`.
func (f *LogFile) Check(context.Context) error {
	if f.Path == "-" {
		return nil
	}
	fh, err := os.Open(f.Path)
	if err != nil {
		return fmt.Errorf("log file: %w", err)
	}
	return fh.Close()
}

// Explain says what Logs does with q: dbg evaluates the query itself on each parsed record, so the
// "query" is q's filter in dbg's own syntax, with the time range.
func (f *LogFile) Explain(_ context.Context, q investigate.LogQuery) (investigate.LogRequest, error) {
	q.Expr = q.Expr.Rename(f.Renames)
	r := investigate.LogRequest{Backend: "file (evaluated by dbg on each parsed record)", URL: f.Name(), Query: q.Filter().String(),
		Params: map[string]string{}}
	if r.Query == "" {
		r.Query = "*"
	}
	if !q.Start.IsZero() {
		r.Params["start"] = q.Start.UTC().Format(time.RFC3339Nano)
	}
	if !q.End.IsZero() {
		r.Params["end"] = q.End.UTC().Format(time.RFC3339Nano)
	}
	return r, nil
}

// Logs streams the records matching q, in file order, to emit. The file's lines are not reordered:
// one process's log is already in time order.
func (f *LogFile) Logs(ctx context.Context, q investigate.LogQuery, emit func(investigate.LogRecord) error) ([]string, error) {
	var r io.Reader = f.Stdin
	if f.Path != "-" {
		fh, err := os.Open(f.Path)
		if err != nil {
			return nil, fmt.Errorf("log file: %w", err)
		}
		defer fh.Close()
		if st, err := fh.Stat(); err == nil && st.IsDir() {
			return nil, fmt.Errorf("log file %s: is a directory", f.Path)
		}
		r = fh
	}
	if r == nil {
		return nil, errors.New("log file: no input")
	}
	p := f.Parser
	if p == nil {
		p = logline.NewParser(logline.FormatAuto, investigate.FieldNames{}, nil)
	}
	n := 0
	emitted := false // the error came from emit: return it as it is
	q.Expr = q.Expr.Rename(f.Renames)
	m := q.Matcher()
	err := readLogs(ctx, r, p, lineHints(q.Filter()), func(rec investigate.LogRecord) error {
		if !m.Match(&rec) {
			return nil
		}
		n++
		if err := emit(rec); err != nil {
			emitted = true
			return err
		}
		if q.Limit > 0 && n >= q.Limit {
			return errLimit
		}
		return nil
	})
	if errors.Is(err, errLimit) {
		err = nil
	}
	if err != nil && !errors.Is(err, context.Canceled) && !emitted {
		return nil, fmt.Errorf("log file %s: %w", f.Name(), err)
	}
	return nil, err
}

var errLimit = errors.New("limit reached")

type emitError struct{ err error }

func (e *emitError) Error() string { return e.err.Error() }

// ReadLogs parses r line by line and calls emit for each record. Indented lines that follow a record
// (stack traces, wrapped messages) join its message. Errors returned by emit end the read and are returned
// as they are.
func ReadLogs(ctx context.Context, r io.Reader, p *logline.Parser, emit func(investigate.LogRecord) error) error {
	return readLogs(ctx, r, p, nil, emit)
}

// readLogs is ReadLogs that skips, without parsing, records whose first line lacks one of the
// literals every match must contain (lineHints): parsing is most of the cost of a query on a file.
func readLogs(ctx context.Context, r io.Reader, p *logline.Parser, need []string, emit func(investigate.LogRecord) error) error {
	br := bufio.NewReaderSize(r, 256<<10)
	skipping := false // the current record cannot match: its continuation lines go with it
	var pending *investigate.LogRecord
	var rec investigate.LogRecord
	flush := func() error {
		if pending == nil {
			return nil
		}
		err := emit(*pending)
		pending = nil
		if err != nil {
			return &emitError{err: err}
		}
		return nil
	}
	lineNo := 0
	for {
		line, cut, err := readLine(br)
		if err != nil && err != io.EOF {
			return err
		}
		if line == "" && err == io.EOF {
			break
		}
		lineNo++
		if lineNo%4096 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		if skipping && isContinuation(line) {
			// a skipped record's stack trace
		} else if pending != nil && isContinuation(line) && len(pending.Message) < MaxLogLine {
			pending.Message += "\n" + strings.TrimRight(line, "\r\n")
		} else if strings.TrimSpace(line) != "" {
			if ferr := flush(); ferr != nil {
				return unwrapEmit(ferr)
			}
			if skipping = !hasAll(line, need); skipping {
				if err == io.EOF {
					break
				}
				continue
			}
			rec = p.Parse(line)
			if cut {
				if rec.Fields == nil {
					rec.Fields = map[string]string{}
				}
				rec.Fields["dbg.truncated"] = "true"
			}
			pending = &rec
		}
		if err == io.EOF {
			break
		}
	}
	return unwrapEmit(flush())
}

// lineHints are literals that the first line of every record matching e contains: the values of
// field:value and field wildcard terms that must all hold (the top-level AND), when they are plain
// ASCII that no JSON or logfmt writer escapes. Fields come from a record's first line, and a value
// in the record is a substring of it. Level (normalised by the parser), IDs (compared without case
// and leading zeros) and message text (which continuation lines extend) give none.
func lineHints(e *investigate.LogExpr) []string {
	if e == nil {
		return nil
	}
	parts := []*investigate.LogExpr{e}
	if e.Op == investigate.ExprAnd {
		parts = e.Args
	}
	var out []string
	for _, p := range parts {
		t := &p.Term
		if p.Op != investigate.ExprTerm || t.Field == "" {
			continue
		}
		switch t.Field {
		case investigate.FieldLevel, investigate.FieldTraceID, investigate.FieldSpanID, investigate.FieldMessage:
			continue
		}
		switch t.Kind {
		case investigate.TermEq:
			if literalSafe(t.Value) {
				out = append(out, t.Value)
			}
		case investigate.TermWildcard:
			for _, part := range t.Parts {
				if literalSafe(part) {
					out = append(out, part)
				}
			}
		}
	}
	return out
}

// literalSafe: non-empty, and only characters that JSON encoders (Go's escapes <, > and &) and
// logfmt quoting write as themselves; '/', which some encoders (PHP's) write as \/, is looked for in
// both spellings.
func literalSafe(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte(" -_.:@,;#%+!?()[]{}|~^$=/", c) >= 0) {
			return false
		}
	}
	return true
}

func hasAll(line string, need []string) bool {
	for _, n := range need {
		if !strings.Contains(line, n) && (!strings.Contains(n, "/") || !strings.Contains(line, strings.ReplaceAll(n, "/", `\/`))) {
			return false
		}
	}
	return true
}

func unwrapEmit(err error) error {
	var e *emitError
	if errors.As(err, &e) {
		return e.err
	}
	return err
}

// readLine reads one line up to MaxLogLine bytes, discarding the rest of a longer one.
func readLine(br *bufio.Reader) (string, bool, error) {
	var sb strings.Builder
	cut := false
	for {
		chunk, err := br.ReadSlice('\n')
		if sb.Len() < MaxLogLine {
			room := MaxLogLine - sb.Len()
			if len(chunk) > room {
				chunk, cut = chunk[:room], true
			}
			sb.Write(chunk)
		} else if len(chunk) > 0 {
			cut = true
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		return sb.String(), cut, err
	}
}

func isContinuation(line string) bool {
	if line == "" || (line[0] != ' ' && line[0] != '\t') {
		return strings.HasPrefix(line, "Caused by:") || strings.HasPrefix(line, "Traceback ")
	}
	t := strings.TrimSpace(line)
	return t != "" && !strings.HasPrefix(t, "{") && !standaloneLogfmt(t)
}

// standaloneLogfmt: an indented line that is a logfmt record of its own (some loggers and shippers indent
// every line with a tab) rather than a stack frame or a wrapped message: its first token is key=value and it
// names a level or a time.
func standaloneLogfmt(t string) bool {
	end := strings.IndexAny(t, " \t")
	if end < 0 {
		end = len(t)
	}
	k, _, ok := strings.Cut(t[:end], "=")
	if !ok || k == "" || strings.ContainsAny(k, "()/:\"'") {
		return false
	}
	for _, key := range []string{"level=", "lvl=", "severity=", "ts=", "time=", "timestamp=", "t="} {
		if strings.HasPrefix(t, key) || strings.Contains(t, " "+key) || strings.Contains(t, "\t"+key) {
			return true
		}
	}
	return false
}
