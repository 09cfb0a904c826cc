package investigate

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Param is the placeholder a template shows for a variable token, as Loki's pattern ingester does.
const Param = "<_>"

// DrainConfig tunes the template miner. The defaults follow Drain (He et al., 2017) as Loki's pattern
// ingester configures it: similarity 0.3, bounded clusters, long lines cut.
type DrainConfig struct {
	// Similarity is the share of a template's tokens a line must equal to join it.
	Similarity float64
	// MaxClusters bounds memory: past it the least recently used template is dropped (and counted).
	MaxClusters int
	// MaxPerLeaf bounds the templates compared against one line (same level, error type, length and
	// first token), keeping the work per line bounded too.
	MaxPerLeaf int
	// MaxLineBytes and MaxTokens cut long lines before mining.
	MaxLineBytes int
	MaxTokens    int
	// MaxTraceIDs caps the example trace IDs kept per template.
	MaxTraceIDs int
}

// DefaultDrainConfig is what dbg ships with.
func DefaultDrainConfig() DrainConfig {
	return DrainConfig{Similarity: 0.3, MaxClusters: 5000, MaxPerLeaf: 100, MaxLineBytes: 2048, MaxTokens: 80, MaxTraceIDs: 5}
}

// Cluster is one mined template with its counts in the window and the baseline.
type Cluster struct {
	Tokens        []string
	ErrorType     string
	Level         string
	Service       string
	Count         int
	BaselineCount int
	// Sample is the first line seen in the window (in the baseline when the window had none).
	Sample     string
	SampleTime time.Time
	TraceIDs   []string

	leaf       *drainLeaf
	prev, next *Cluster // LRU list, most recent at the head
}

// Template is the cluster's tokens joined, variables shown as <_>.
func (c *Cluster) Template() string { return strings.Join(c.Tokens, " ") }

type leafKey struct {
	level, errType string
	n              int
	first          string
}

type drainLeaf struct {
	key      leafKey
	clusters []*Cluster
}

// Miner groups log messages into templates. It holds at most MaxClusters templates whatever the number
// of lines, so memory is bounded by templates, not lines. Not safe for concurrent use.
type Miner struct {
	cfg    DrainConfig
	leaves map[leafKey]*drainLeaf
	// firsts counts the distinct first tokens under one (level, error type, length), to route new ones to
	// a shared wildcard leaf past MaxPerLeaf, as Drain's maxChildren does.
	firsts     map[leafKey]int
	head, tail *Cluster
	n          int
	// Lines is every line added; Evicted counts the lines of templates dropped to stay under MaxClusters.
	Lines, Evicted int
	// BaselineLines counts the lines added to the baseline: with none, no template can be called new.
	BaselineLines int
	tok           []string
	buf           []byte
}

// NewMiner builds a miner; zero fields of cfg take their defaults.
func NewMiner(cfg DrainConfig) *Miner {
	d := DefaultDrainConfig()
	if cfg.Similarity <= 0 || cfg.Similarity > 1 {
		cfg.Similarity = d.Similarity
	}
	if cfg.MaxClusters <= 0 {
		cfg.MaxClusters = d.MaxClusters
	}
	if cfg.MaxPerLeaf <= 0 {
		cfg.MaxPerLeaf = d.MaxPerLeaf
	}
	if cfg.MaxLineBytes <= 0 {
		cfg.MaxLineBytes = d.MaxLineBytes
	}
	if cfg.MaxTokens <= 0 {
		cfg.MaxTokens = d.MaxTokens
	}
	if cfg.MaxTraceIDs <= 0 {
		cfg.MaxTraceIDs = d.MaxTraceIDs
	}
	return &Miner{cfg: cfg, leaves: map[leafKey]*drainLeaf{}, firsts: map[leafKey]int{}}
}

// Len is the number of templates held.
func (m *Miner) Len() int { return m.n }

// AddRecord mines r's message, grouped by its level and structured error type.
func (m *Miner) AddRecord(r *LogRecord, baseline bool) *Cluster {
	c := m.Add(r.Message, normLevel(r.Level), r.ErrorType(), baseline)
	if c == nil {
		return nil
	}
	if !baseline {
		if c.Count == 1 || c.SampleTime.IsZero() {
			c.SampleTime = r.Time
		}
		if r.TraceID != "" && len(c.TraceIDs) < m.cfg.MaxTraceIDs && !slices.Contains(c.TraceIDs, r.TraceID) {
			c.TraceIDs = append(c.TraceIDs, r.TraceID)
		}
	}
	if c.Service == "" {
		c.Service = r.Service
	}
	return c
}

// Add mines one message and returns its cluster (nil for an empty message).
func (m *Miner) Add(msg, level, errType string, baseline bool) *Cluster {
	line := msg
	if len(line) > m.cfg.MaxLineBytes {
		line = cutUTF8(line, m.cfg.MaxLineBytes)
	}
	toks := m.tokenize(line)
	if len(toks) == 0 {
		return nil
	}
	m.Lines++
	key := leafKey{level: level, errType: errType, n: len(toks), first: toks[0]}
	leaf := m.leaves[key]
	if leaf == nil {
		group := leafKey{level: level, errType: errType, n: len(toks)}
		if m.firsts[group] >= m.cfg.MaxPerLeaf || toks[0] == Param {
			key.first = Param
			leaf = m.leaves[key]
		}
		if leaf == nil {
			leaf = &drainLeaf{key: key}
			m.leaves[key] = leaf
			if key.first != Param {
				m.firsts[group]++
			}
		}
	}
	best, bestSim, bestParams := (*Cluster)(nil), -1.0, -1
	for _, c := range leaf.clusters {
		sim, params := similarity(c.Tokens, toks)
		if sim > bestSim || (sim == bestSim && params > bestParams) {
			best, bestSim, bestParams = c, sim, params
		}
	}
	if best != nil && bestSim >= m.cfg.Similarity {
		for i, t := range toks {
			if best.Tokens[i] != Param && best.Tokens[i] != t {
				best.Tokens[i] = Param
			}
		}
		m.touch(best)
	} else {
		if len(leaf.clusters) >= m.cfg.MaxPerLeaf {
			m.evict(m.leafLRU(leaf))
		}
		if m.n >= m.cfg.MaxClusters {
			m.evict(m.tail)
		}
		best = &Cluster{Tokens: cloneTokens(toks), Level: level, ErrorType: errType, leaf: leaf}
		leaf.clusters = append(leaf.clusters, best)
		m.pushFront(best)
		m.n++
	}
	if baseline {
		m.BaselineLines++
		best.BaselineCount++
		if best.Sample == "" {
			best.Sample = strings.Clone(cutUTF8(msg, 1000))
		}
	} else {
		best.Count++
		if best.Count == 1 {
			best.Sample = strings.Clone(cutUTF8(msg, 1000))
		}
	}
	return best
}

// Clusters returns the templates held, most lines in the window first.
func (m *Miner) Clusters() []*Cluster {
	out := make([]*Cluster, 0, m.n)
	for c := m.head; c != nil; c = c.next {
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b *Cluster) int {
		if c := cmp.Compare(b.Count, a.Count); c != 0 {
			return c
		}
		if c := cmp.Compare(b.BaselineCount, a.BaselineCount); c != 0 {
			return c
		}
		return cmp.Compare(a.Template(), b.Template())
	})
	return out
}

func (m *Miner) leafLRU(l *drainLeaf) *Cluster {
	// The leaf's list is small (MaxPerLeaf); the global list is ordered by use, so the leaf member that
	// comes last in it is the least recently used. Walking from the tail finds it quickly.
	for c := m.tail; c != nil; c = c.prev {
		if c.leaf == l {
			return c
		}
	}
	return nil
}

func (m *Miner) evict(c *Cluster) {
	if c == nil {
		return
	}
	m.Evicted += c.Count + c.BaselineCount
	l := c.leaf
	if i := slices.Index(l.clusters, c); i >= 0 {
		l.clusters = slices.Delete(l.clusters, i, i+1)
	}
	m.unlink(c)
	m.n--
}

func (m *Miner) pushFront(c *Cluster) {
	c.prev, c.next = nil, m.head
	if m.head != nil {
		m.head.prev = c
	}
	m.head = c
	if m.tail == nil {
		m.tail = c
	}
}

func (m *Miner) unlink(c *Cluster) {
	if c.prev != nil {
		c.prev.next = c.next
	} else {
		m.head = c.next
	}
	if c.next != nil {
		c.next.prev = c.prev
	} else {
		m.tail = c.prev
	}
	c.prev, c.next = nil, nil
}

func (m *Miner) touch(c *Cluster) {
	if m.head == c {
		return
	}
	m.unlink(c)
	m.pushFront(c)
}

// similarity is Drain's sequence similarity: the share of positions where the template equals the line,
// variables not counted; params breaks ties towards the more general template.
func similarity(tmpl, toks []string) (sim float64, params int) {
	same := 0
	for i, t := range tmpl {
		if t == Param {
			params++
			continue
		}
		if t == toks[i] {
			same++
		}
	}
	return float64(same) / float64(len(tmpl)), params
}

func cloneTokens(toks []string) []string {
	out := make([]string, len(toks))
	for i, t := range toks {
		out[i] = strings.Clone(t)
	}
	return out
}

// tokenize splits on whitespace and masks variable tokens. The returned slice and the unmasked tokens
// alias the miner's buffer and the line; callers clone what they keep.
func (m *Miner) tokenize(line string) []string {
	toks := m.tok[:0]
	for i := 0; i < len(line) && len(toks) < m.cfg.MaxTokens; {
		for i < len(line) && isSpace(line[i]) {
			i++
		}
		j := i
		for j < len(line) && !isSpace(line[j]) {
			j++
		}
		if j > i {
			toks = append(toks, m.mask(line[i:j]))
		}
		i = j
	}
	m.tok = toks
	return toks
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

// MaskToken replaces the variable parts of one token (numbers, IDs, UUIDs, IPs, hex, durations) with
// <_>, keeping the punctuation and words around them: "user_id=42," becomes "user_id=<_>,".
func MaskToken(tok string) string { return (&Miner{}).mask(tok) }

func (m *Miner) mask(tok string) string {
	if !hasDigit(tok) {
		return tok
	}
	b := m.buf[:0]
	changed := false
	start := 0
	for i := 0; i <= len(tok); i++ {
		if i < len(tok) && !isDelim(tok[i]) {
			continue
		}
		seg := tok[start:i]
		if seg != "" && hasDigit(seg) && isVariable(seg) {
			b = append(b, Param...)
			changed = true
		} else {
			b = append(b, seg...)
		}
		if i < len(tok) {
			b = append(b, tok[i])
		}
		start = i + 1
	}
	m.buf = b
	if !changed {
		return tok
	}
	return collapseParams(string(b))
}

// collapseParams turns runs like "<_>:<_>" or "<_>.<_>" into one <_>, so an IP:port or a dotted version
// reads as one variable.
func collapseParams(s string) string {
	for _, sep := range []string{"::", ":", ".", "-", "/"} {
		pair := Param + sep + Param
		for strings.Contains(s, pair) {
			s = strings.ReplaceAll(s, pair, Param)
		}
	}
	return s
}

func hasDigit(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			return true
		}
	}
	return false
}

func isDelim(c byte) bool {
	switch c {
	case '=', ':', ',', ';', '(', ')', '[', ']', '{', '}', '"', '\'', '/', '<', '>', '@', '#', '&', '?', '|', '`':
		return true
	}
	return false
}

// isVariable says whether a token that contains a digit is a value rather than a word: a number (with a
// unit: 12ms, 3.5s, 99%), a hex string or UUID, an IP, or a long identifier mixing letters and digits.
// Short words with a digit (v1, http2, utf8, sha256) stay.
func isVariable(s string) bool {
	s = strings.TrimLeft(s, "+-")
	if s == "" {
		return false
	}
	if s[0] >= '0' && s[0] <= '9' {
		return true
	}
	if (strings.HasPrefix(s, "0x") || strings.HasPrefix(s, "0X")) && len(s) > 2 {
		return true
	}
	hexish := true
	letters, digits := 0, 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			digits++
		case c >= 'a' && c <= 'f', c >= 'A' && c <= 'F':
			letters++
		case c == '-' || c == '.' || c == '_':
		case c >= 'g' && c <= 'z', c >= 'G' && c <= 'Z':
			letters++
			hexish = false
		default:
			hexish = false
		}
	}
	if hexish && digits > 0 && len(s) >= 4 {
		return true
	}
	return len(s) >= 12 && digits >= 2 && letters > 0
}

func cutUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func normLevel(l string) string {
	switch strings.ToLower(strings.TrimSpace(l)) {
	case "":
		return ""
	case "err", "error", "eror", "fatal", "crit", "critical", "panic", "alert", "emerg", "emergency", "severe":
		return "error"
	case "warn", "warning":
		return "warn"
	case "info", "information", "informational", "notice":
		return "info"
	case "debug", "dbug", "trace", "verbose":
		return "debug"
	}
	return strings.ToLower(l)
}

// Pattern statuses.
const (
	PatternNew     = "new"
	PatternSurging = "surging"
	PatternSteady  = "steady"
	PatternGone    = "gone"
	// PatternNoBaseline: the baseline held no lines at all, so the template cannot be compared.
	PatternNoBaseline = "no_baseline"
)

// Pattern is one template compared between the window and the baseline, as `dbg logs --patterns` lists it.
type Pattern struct {
	Template      string   `json:"template"`
	Level         string   `json:"level"`
	ErrorType     string   `json:"error_type"`
	Service       string   `json:"service"`
	Count         int      `json:"count"`
	BaselineCount int      `json:"baseline_count"`
	Ratio         float64  `json:"ratio"` // window rate over baseline rate; 0 when the baseline had none
	Status        string   `json:"status"`
	Score         float64  `json:"score"`
	Sample        string   `json:"sample"`
	TraceIDs      []string `json:"trace_ids"`
}

// PatternOptions are the thresholds for flagging templates.
type PatternOptions struct {
	// SurgeRatio is how many times its baseline rate a template must reach to be surging.
	SurgeRatio float64
	// MinCount is the fewest window lines a non-error template needs to be flagged; error templates
	// are flagged from their first line.
	MinCount int
}

// DefaultPatternOptions are dbg's thresholds.
func DefaultPatternOptions() PatternOptions { return PatternOptions{SurgeRatio: 3, MinCount: 3} }

// ComparePatterns ranks the miner's templates for window w: new ones first, then surging, then the
// rest, errors before other levels, each group by score.
func ComparePatterns(m *Miner, w Window, o PatternOptions) []Pattern {
	if o.SurgeRatio <= 1 {
		o.SurgeRatio = DefaultPatternOptions().SurgeRatio
	}
	if o.MinCount <= 0 {
		o.MinCount = 1
	}
	scale := 1.0 // baseline counts scaled to the window's length
	if bl := w.BaselineEnd.Sub(w.BaselineStart); bl > 0 && w.Length() > 0 {
		scale = float64(w.Length()) / float64(bl)
	}
	out := []Pattern{}
	for _, c := range m.Clusters() {
		p := Pattern{
			Template: c.Template(), Level: c.Level, ErrorType: c.ErrorType, Service: c.Service, Count: c.Count,
			BaselineCount: c.BaselineCount, Sample: c.Sample, TraceIDs: append([]string{}, c.TraceIDs...),
		}
		isErr := c.Level == "error" || c.ErrorType != ""
		expected := float64(c.BaselineCount) * scale
		if expected > 0 {
			p.Ratio = round3(float64(c.Count) / expected)
		}
		enough := c.Count >= o.MinCount || (isErr && c.Count > 0)
		volume := math.Min(1, math.Log10(float64(c.Count)+1)/3)
		errBoost := 0.0
		if isErr {
			errBoost = 0.15
		}
		switch {
		case c.Count == 0:
			p.Status = PatternGone
		case m.BaselineLines == 0:
			// Nothing to compare with (the baseline predates the logs, or the source keeps less): every
			// template would be "new". Rank by level and volume only, below any real comparison.
			p.Status = PatternNoBaseline
			p.Score = 0.1*volume + errBoost
		case c.BaselineCount == 0 && enough:
			p.Status = PatternNew
			p.Score = 0.5 + errBoost + 0.3*volume
		case p.Ratio >= o.SurgeRatio && enough:
			p.Status = PatternSurging
			p.Score = 0.3 + errBoost + 0.2*math.Min(1, math.Log2(p.Ratio)/6) + 0.15*volume
		default:
			p.Status = PatternSteady
			p.Score = 0.1 * volume
		}
		p.Score = round3(clamp01(p.Score))
		out = append(out, p)
	}
	rank := map[string]int{PatternNew: 0, PatternSurging: 1, PatternNoBaseline: 2, PatternSteady: 2, PatternGone: 3}
	slices.SortStableFunc(out, func(a, b Pattern) int {
		if c := cmp.Compare(rank[a.Status], rank[b.Status]); c != 0 {
			return c
		}
		if c := cmp.Compare(b.Score, a.Score); c != 0 {
			return c
		}
		return cmp.Compare(b.Count, a.Count)
	})
	return out
}

// PatternFindings turns new and surging templates into log_pattern findings.
func PatternFindings(ps []Pattern) []Finding {
	var fs []Finding
	for _, p := range ps {
		isErr := p.Level == "error" || p.Level == "fatal" || p.ErrorType != ""
		if p.Status != PatternNew && p.Status != PatternSurging && !(p.Status == PatternNoBaseline && isErr) {
			continue
		}
		what := "new log pattern"
		detail := fmt.Sprintf("%d in the window, none in the baseline", p.Count)
		switch p.Status {
		case PatternNoBaseline:
			what = "log pattern"
			detail = fmt.Sprintf("%d in the window; the baseline had no lines to compare with", p.Count)
		case PatternSurging:
			what = "surging log pattern"
			detail = fmt.Sprintf("%d in the window vs %d in the baseline (%.1fx)", p.Count, p.BaselineCount, p.Ratio)
		}
		if p.Level != "" {
			what = strings.Replace(what, "log pattern", p.Level+" log pattern", 1)
		}
		tmpl := p.Template
		if p.ErrorType != "" {
			tmpl = "[" + p.ErrorType + "] " + tmpl
		}
		f := Finding{
			Kind: KindLogPattern, Score: p.Score, Service: p.Service,
			Title: fmt.Sprintf("%s: %s (%s)", what, oneLineCut(tmpl, 120), detail),
			Evidence: map[string]any{"template": p.Template, "count": p.Count, "baseline_count": p.BaselineCount, "sample": p.Sample,
				"query": PatternQuery(&p).String()},
			TraceIDs: append([]string{}, p.TraceIDs...),
			Recommendation: "Read the sample line and the trace IDs: a template that appeared with the incident usually " +
				"names the failing dependency or input.",
		}
		if p.Status == PatternNoBaseline {
			f.Recommendation = "Read the sample line and the trace IDs; whether this is new cannot be told without a baseline: " +
				"compare with an earlier window the log store still holds (--baseline)."
		}
		if p.ErrorType != "" {
			f.Evidence["error_type"] = p.ErrorType
		}
		if p.Ratio > 0 {
			f.Evidence["ratio"] = p.Ratio
		}
		fs = append(fs, f)
	}
	return RankFindings(fs)
}

// PatternWarnings says what limits the comparison ComparePatterns made: an empty baseline.
func PatternWarnings(m *Miner, w Window) []string {
	if m.BaselineLines > 0 || m.Lines == 0 {
		return nil
	}
	span := "the baseline window"
	if !w.BaselineStart.IsZero() {
		span += " (" + w.BaselineStart.UTC().Format(time.RFC3339) + " to " + w.BaselineEnd.UTC().Format(time.RFC3339) + ")"
	}
	return []string{span + " held no log lines, so no pattern can be called new or surging; " +
		"move --baseline to a time the source still holds logs for"}
}

func oneLineCut(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) > n {
		r := []rune(s)
		return string(r[:n-1]) + "…"
	}
	return s
}
