package prometheus

import (
	"regexp"
	"strconv"
	"strings"
)

var (
	legacyLabel  = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)
	legacyMetric = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)
)

// Quote makes s a PromQL string literal. Every user-supplied label value goes through it,
// so a value can never end the string and change the query.
func Quote(s string) string {
	return strconv.Quote(s)
}

// LabelName returns a label name as PromQL takes it: bare when it is a classic name, quoted otherwise
// (Prometheus 3's UTF-8 names such as "http.route").
func LabelName(n string) string {
	if legacyLabel.MatchString(n) {
		return n
	}
	return Quote(n)
}

// Selector builds a vector selector for metric with the given matchers (already PromQL). Names that are
// not classic (dotted OpenTelemetry names in Prometheus 3) go inside the braces as a quoted string.
func Selector(metric string, matchers ...string) string {
	var ms []string
	for _, m := range matchers {
		if strings.TrimSpace(m) != "" {
			ms = append(ms, m)
		}
	}
	if legacyMetric.MatchString(metric) {
		if len(ms) == 0 {
			return metric
		}
		return metric + "{" + strings.Join(ms, ", ") + "}"
	}
	return "{" + strings.Join(append([]string{Quote(metric)}, ms...), ", ") + "}"
}

// Match is the matcher label="value", the value escaped.
func Match(label, value string) string { return LabelName(label) + "=" + Quote(value) }

// MatchRegex is the matcher label=~"regex"; regex is taken as PromQL regex, not escaped.
func MatchRegex(label, regex string) string { return LabelName(label) + "=~" + Quote(regex) }

// By is a comma-separated grouping list.
func By(labels ...string) string {
	out := make([]string, 0, len(labels))
	seen := map[string]bool{}
	for _, l := range labels {
		if l != "" && !seen[l] {
			seen[l] = true
			out = append(out, LabelName(l))
		}
	}
	return strings.Join(out, ", ")
}
