package investigate

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// LogReader streams the records matching q to emit, as every log source does, and returns warnings
// about partial results. An error from emit ends the read and is returned as it is.
type LogReader func(ctx context.Context, q LogQuery, emit func(LogRecord) error) ([]string, error)

// MineOptions shape MinePatterns.
type MineOptions struct {
	Drain    DrainConfig
	Patterns PatternOptions
	// MaxLines caps the lines read per window (0: no cap); the counts are then of those lines.
	MaxLines int
	// OnePass reads once without a time range and places each record by its own time (a file or
	// stdin); otherwise the baseline and the window are two queries.
	OnePass bool
}

// PatternResult is the window and the baseline mined into templates and compared: what `dbg logs
// --patterns` prints and the checklist's step 5 ranks.
type PatternResult struct {
	Window               Window
	Lines, BaselineLines int
	// Templates is how many templates the miner holds.
	Templates int
	Patterns  []Pattern
	Findings  []Finding
	Warnings  []string
}

// PatternMiner mines one window and its baseline into one Drain miner. It is the one place log
// patterns are mined: MinePatterns feeds it from a source, the checklist from records it already has.
type PatternMiner struct {
	w                    Window
	m                    *Miner
	lines, base, untimed int
	warnings             []string
}

// NewPatternMiner starts mining for window w.
func NewPatternMiner(w Window, cfg DrainConfig) *PatternMiner {
	return &PatternMiner{w: w, m: NewMiner(cfg)}
}

// Add counts r in the baseline or in the window.
func (p *PatternMiner) Add(r *LogRecord, baseline bool) {
	if baseline {
		p.base++
	} else {
		p.lines++
	}
	p.m.AddRecord(r, baseline)
}

// Place counts r where its time falls. A record without a time cannot be placed and counts in the
// window (there is no baseline for it); one outside both ranges is left out.
func (p *PatternMiner) Place(r *LogRecord) {
	switch {
	case r.Time.IsZero():
		p.untimed++
		p.Add(r, false)
	case !p.w.End.IsZero() && inRange(r.Time, p.w.Start, p.w.End):
		p.Add(r, false)
	case !p.w.BaselineEnd.IsZero() && inRange(r.Time, p.w.BaselineStart, p.w.BaselineEnd):
		p.Add(r, true)
	}
}

// Warn adds a warning to the result.
func (p *PatternMiner) Warn(w ...string) { p.warnings = append(p.warnings, w...) }

// Result compares the templates of the window with the baseline's and turns new and surging ones into
// findings.
func (p *PatternMiner) Result(o PatternOptions) *PatternResult {
	res := &PatternResult{Window: p.w, Lines: p.lines, BaselineLines: p.base, Templates: p.m.Len(), Warnings: p.warnings}
	if p.untimed > 0 {
		res.Warnings = append(res.Warnings, fmt.Sprintf("%d lines had no timestamp and were counted in the window; the baseline holds only timestamped lines", p.untimed))
	}
	if p.m.Evicted > 0 {
		res.Warnings = append(res.Warnings, fmt.Sprintf("%d lines belonged to rare templates dropped to keep memory bounded (%d templates kept)", p.m.Evicted, p.m.Len()))
	}
	res.Warnings = append(res.Warnings, PatternWarnings(p.m, p.w)...)
	res.Patterns = ComparePatterns(p.m, p.w, o)
	res.Findings = PatternFindings(res.Patterns)
	return res
}

var errMineCap = errors.New("pattern line cap reached")

// MinePatterns reads the window and the baseline of q through read (two queries, or one pass with
// OnePass) and mines them. q's own Start and End are replaced by the window's.
func MinePatterns(ctx context.Context, read LogReader, q LogQuery, w Window, o MineOptions) (*PatternResult, error) {
	p := NewPatternMiner(w, o.Drain)
	capHit := false
	if o.OnePass {
		q.Start, q.End, q.Limit = time.Time{}, time.Time{}, 0
		warns, err := read(ctx, q, func(r LogRecord) error {
			p.Place(&r)
			return nil
		})
		p.Warn(warns...)
		if err != nil {
			return nil, err
		}
	} else {
		for _, part := range []struct {
			from, to time.Time
			baseline bool
			count    *int
		}{{w.BaselineStart, w.BaselineEnd, true, &p.base}, {w.Start, w.End, false, &p.lines}} {
			qq := q
			qq.Start, qq.End, qq.Limit = part.from, part.to, o.MaxLines
			warns, err := read(ctx, qq, func(r LogRecord) error {
				if o.MaxLines > 0 && *part.count >= o.MaxLines {
					capHit = true
					return errMineCap
				}
				p.Add(&r, part.baseline)
				return nil
			})
			p.Warn(warns...)
			if o.MaxLines > 0 && *part.count >= o.MaxLines {
				capHit = true // the store stopped at the limit itself
			}
			if err != nil && !errors.Is(err, errMineCap) {
				return nil, err
			}
		}
	}
	if capHit {
		p.Warn(fmt.Sprintf("read at most %d lines per window (pattern-max-lines); counts are of those lines", o.MaxLines))
	}
	return p.Result(o.Patterns), nil
}

// AnchorWindow moves w (and its baseline, by the same shift) to end just after last, keeping length
// d (or w's own length when d is 0): a file's window ends at its last record, not now.
func AnchorWindow(w Window, last time.Time, d time.Duration) Window {
	if last.IsZero() {
		return w
	}
	shift := w.End.Sub(w.BaselineEnd)
	if d <= 0 {
		d = w.Length()
	}
	w.End = last.Add(time.Nanosecond)
	w.Start = w.End.Add(-d)
	w.BaselineEnd, w.BaselineStart = w.End.Add(-shift), w.Start.Add(-shift)
	return w
}

// PatternQuery is a query that finds a template's lines on every backend: its service and level and
// each run of the template's literal words as a phrase (runs broken by variables). It finds every
// line of the template, and may find a few more.
func PatternQuery(p *Pattern) *LogExpr {
	var es []*LogExpr
	if p.Service != "" {
		es = append(es, FieldEq(FieldService, p.Service))
	}
	if p.Level != "" {
		es = append(es, FieldEq(FieldLevel, p.Level))
	}
	var run []string
	flush := func() {
		phrase := strings.Join(run, " ")
		run = run[:0]
		for _, c := range phrase {
			if IsWordRune(c) {
				es = append(es, Text(phrase))
				return
			}
		}
	}
	for _, tok := range strings.Fields(p.Template) {
		if strings.Contains(tok, Param) {
			flush()
			continue
		}
		run = append(run, tok)
	}
	flush()
	return And(es...)
}
