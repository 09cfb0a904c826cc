package pprof

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/google/pprof/profile"

	"github.com/dbgtool/dbg/investigate"
	"github.com/dbgtool/dbg/sources/safeio"
)

// maxDumpFrames bounds the frames kept per goroutine; the runtime itself elides beyond 100.
const maxDumpFrames = 128

// ParseGoroutineDump reads the text goroutine dump net/http/pprof serves with debug=2 (the format of an
// unrecovered panic): one block per goroutine with its state, wait time, stack and creator.
// A gzipped dump (what `curl … | gzip` or a support bundle stores) is decompressed first, bounded.
func ParseGoroutineDump(data []byte, from string) ([]investigate.GoroutineStack, error) {
	if safeio.IsGzip(data) {
		raw, err := safeio.GunzipBytes(data, safeio.DefaultMaxReadBytes, from, safeio.RaiseBudget)
		if err != nil {
			return nil, err
		}
		data = raw
	}
	var out []investigate.GoroutineStack
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	var cur *investigate.GoroutineStack
	var pending string // a function line waiting for its file:line
	inCreator := false
	flush := func() {
		if cur != nil {
			out = append(out, *cur)
		}
		cur, pending, inCreator = nil, "", false
	}
	lineNo := 0
	for sc.Scan() {
		lineNo++
		line := sc.Text()
		if strings.HasPrefix(line, "goroutine ") && strings.HasSuffix(line, ":") {
			flush()
			g, ok := parseGoroutineHeader(line)
			if !ok {
				return nil, fmt.Errorf("%s line %d: not a goroutine header: %q", from, lineNo, trim(line))
			}
			cur = &g
			continue
		}
		if cur == nil {
			if strings.TrimSpace(line) == "" {
				continue
			}
			return nil, fmt.Errorf("%s is not a goroutine dump (line %d starts with %q)", from, lineNo, trim(line))
		}
		switch {
		case strings.TrimSpace(line) == "":
			flush()
		case strings.HasPrefix(line, "\t"):
			file, ln := parseFileLine(line)
			if inCreator {
				cur.CreatedByFile, cur.CreatedByLine = file, ln
				inCreator = false
			} else if pending != "" && len(cur.Frames) < maxDumpFrames {
				cur.Frames = append(cur.Frames, investigate.ProfileFrame{Function: pending, File: file, Line: ln})
			}
			pending = ""
		case strings.HasPrefix(line, "created by "):
			fn := strings.TrimPrefix(line, "created by ")
			if i := strings.Index(fn, " in goroutine "); i >= 0 {
				fn = fn[:i]
			}
			cur.CreatedBy = fn
			inCreator = true
		case strings.HasPrefix(line, "..."): // "...additional frames elided..."
		default:
			pending = funcName(line)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", from, err)
	}
	flush()
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no goroutines in the dump", from)
	}
	return out, nil
}

// parseGoroutineHeader reads "goroutine 18 [chan receive, 5 minutes]:" (with optional gp=/m= fields and
// the " (leaked)" mark of Go 1.26's leak detector).
func parseGoroutineHeader(line string) (investigate.GoroutineStack, bool) {
	g := investigate.GoroutineStack{Count: 1}
	open := strings.IndexByte(line, '[')
	end := strings.LastIndexByte(line, ']')
	if open < 0 || end < open {
		return g, false
	}
	fields := strings.Fields(line[len("goroutine "):open])
	if len(fields) == 0 {
		return g, false
	}
	if _, err := strconv.ParseUint(fields[0], 10, 64); err != nil {
		return g, false
	}
	parts := strings.Split(line[open+1:end], ", ")
	state := parts[0]
	for _, mark := range []string{" (leaked)", " (scan)", " (durable)"} {
		if strings.Contains(state, mark) {
			if mark == " (leaked)" {
				g.Leaked = true
			}
			state = strings.Replace(state, mark, "", 1)
		}
	}
	g.State = state
	for _, p := range parts[1:] {
		if m, ok := strings.CutSuffix(p, " minutes"); ok {
			if n, err := strconv.Atoi(m); err == nil && n >= 0 {
				g.WaitMinutes = n
			}
		}
	}
	return g, true
}

// funcName strips the argument list from "main.(*T).run(0xc000010000, ...)".
func funcName(line string) string {
	line = strings.TrimSpace(line)
	if strings.HasSuffix(line, ")") {
		if i := strings.LastIndexByte(line, '('); i > 0 {
			return line[:i]
		}
	}
	return line
}

// parseFileLine reads "\t/src/main.go:42 +0x1d".
func parseFileLine(line string) (string, int64) {
	line = strings.TrimSpace(line)
	if i := strings.LastIndex(line, " +0x"); i >= 0 {
		line = line[:i]
	}
	i := strings.LastIndexByte(line, ':')
	if i < 0 {
		return line, 0
	}
	n, err := strconv.ParseInt(line[i+1:], 10, 64)
	if err != nil {
		return line, 0
	}
	return line[:i], n
}

func trim(s string) string {
	if len(s) > 60 {
		return s[:60]
	}
	return s
}

// GoroutinesFromProfile reads a binary goroutine profile (debug=0) as groups of identical stacks: no wait
// states or creators, which only the text dump has.
func GoroutinesFromProfile(p *profile.Profile) []investigate.GoroutineStack {
	out := make([]investigate.GoroutineStack, 0, len(p.Sample))
	for _, s := range p.Sample {
		var frames []investigate.ProfileFrame
		for _, loc := range s.Location {
			frames = append(frames, investigate.LocationFrames(loc)...)
		}
		var n int64
		if len(s.Value) > 0 {
			n = s.Value[0]
		}
		out = append(out, investigate.GoroutineStack{Frames: frames, Count: int(n)})
	}
	return out
}

// ProfileFromGoroutines builds a goroutine profile (sample type goroutine/count) from a dump, so the
// top table works the same for a dump as for a binary goroutine profile: one location per frame.
func ProfileFromGoroutines(gs []investigate.GoroutineStack) *profile.Profile {
	p := &profile.Profile{
		SampleType: []*profile.ValueType{{Type: "goroutine", Unit: "count"}},
		PeriodType: &profile.ValueType{Type: "goroutine", Unit: "count"},
		Period:     1,
	}
	type fnKey struct{ name, file string }
	fns := map[fnKey]*profile.Function{}
	locs := map[investigate.ProfileFrame]*profile.Location{}
	for _, g := range gs {
		s := &profile.Sample{Value: []int64{int64(max(g.Count, 1))}}
		for _, f := range g.Frames {
			loc := locs[f]
			if loc == nil {
				fn := fns[fnKey{f.Function, f.File}]
				if fn == nil {
					fn = &profile.Function{ID: uint64(len(p.Function) + 1), Name: f.Function, SystemName: f.Function, Filename: f.File}
					fns[fnKey{f.Function, f.File}] = fn
					p.Function = append(p.Function, fn)
				}
				loc = &profile.Location{ID: uint64(len(p.Location) + 1), Line: []profile.Line{{Function: fn, Line: f.Line}}}
				locs[f] = loc
				p.Location = append(p.Location, loc)
			}
			s.Location = append(s.Location, loc)
		}
		p.Sample = append(p.Sample, s)
	}
	return p
}

// IsGoroutineDump says whether bytes look like a debug=2 goroutine dump rather than a binary profile.
// A gzipped dump counts: only its first bytes are decompressed to tell.
func IsGoroutineDump(data []byte) bool {
	if safeio.IsGzip(data) {
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			return false
		}
		head := make([]byte, 64)
		n, _ := io.ReadFull(zr, head)
		data = head[:n]
	}
	return bytes.HasPrefix(bytes.TrimLeft(data[:min(len(data), 64)], " \r\n\t"), []byte("goroutine "))
}
