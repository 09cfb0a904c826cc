// Package render writes dbg's results for people and programs: tables (tablewriter), markdown, JSON and
// HTML, the waterfall and sparklines, and the one sanitizer every untrusted string passes through before a
// terminal sees it.
package render

import (
	"strings"
	"unicode/utf8"
)

// Clean makes an untrusted string (a span name, a log line, a label value) safe to print on one line of a
// terminal: ANSI escape sequences are removed, newlines and tabs become spaces, other control characters,
// bidirectional overrides and invalid UTF-8 are dropped or replaced, so nothing a service emitted can move
// the cursor, recolour the screen, rewrite the title, or hide text.
func Clean(s string) string { return clean(s, false) }

// CleanMultiline is Clean but keeps newlines, for multi-line log messages shown as blocks.
func CleanMultiline(s string) string { return clean(s, true) }

func clean(s string, keepNewlines bool) string {
	if isPlain(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		c := s[i]
		if c == 0x1b { // ESC: skip the whole sequence
			i = skipEscape(s, i)
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case r == utf8.RuneError && size == 1:
			b.WriteRune('\uFFFD')
		case r == '\n' && keepNewlines:
			b.WriteByte('\n')
		case r == '\n' || r == '\r' || r == '\t' || r == '\v' || r == '\f' || r == 0x2028 || r == 0x2029 || r == 0x85:
			// (U+2028/2029 and NEL end a line on some terminals and viewers)
			b.WriteByte(' ')
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f):
			// other C0/C1 controls: dropped (0x9b is a one-byte CSI on some terminals)
		case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069, r == 0x200e || r == 0x200f, r == 0x061c:
			// bidi overrides and isolates can make a line read differently from what it contains
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func isPlain(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f {
			return false
		}
	}
	return true
}

// skipEscape returns the index after the escape sequence starting at s[i] (an ESC).
func skipEscape(s string, i int) int {
	i++
	if i >= len(s) {
		return i
	}
	switch s[i] {
	case '[': // CSI: parameters and intermediates, then one final byte 0x40-0x7e
		i++
		for i < len(s) && !(s[i] >= 0x40 && s[i] <= 0x7e) {
			i++
		}
		return min(i+1, len(s))
	case ']', 'P', '_', '^', 'X': // OSC, DCS, APC, PM, SOS: until BEL or ESC \
		i++
		for i < len(s) {
			if s[i] == 0x07 {
				return i + 1
			}
			if s[i] == 0x1b && i+1 < len(s) && s[i+1] == '\\' {
				return i + 2
			}
			i++
		}
		return i
	default: // two-byte sequences (ESC c, ESC 7, ...); charset selection takes one more byte
		if s[i] == '(' || s[i] == ')' || s[i] == '#' || s[i] == '%' {
			return min(i+2, len(s))
		}
		return i + 1
	}
}

// Truncate cuts s to at most n runes, marking the cut with an ellipsis.
func Truncate(s string, n int) string {
	if n <= 0 || utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	if n == 1 {
		return "…"
	}
	return string(r[:n-1]) + "…"
}
