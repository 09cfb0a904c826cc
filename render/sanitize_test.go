package render

import "testing"

func TestClean(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"plain", "GET /api/items", "GET /api/items"},
		{"csi colour", "\x1b[31mred\x1b[0m text", "red text"},
		{"cursor moves", "a\x1b[2J\x1b[Hb", "ab"},
		{"osc title bel", "\x1b]0;pwned\x07span", "span"},
		{"osc hyperlink st", "\x1b]8;;http://evil\x1b\\click\x1b]8;;\x1b\\", "click"},
		{"newlines tabs", "line1\nline2\tx\r", "line1 line2 x "},
		{"c0 and del", "a\x00b\x07c\x7fd", "abcd"},
		{"c1 csi", "a\u009b31mb", "a31mb"},
		{"bidi override", "user\u202egnp.exe", "usergnp.exe"},
		{"invalid utf8", "a\xffb", "a\uFFFDb"},
		{"unterminated escape", "abc\x1b[", "abc"},
		{"unicode kept", "café ✓ 日本", "café ✓ 日本"},
		{"clear screen and home", "\x1b[2J\x1b[3J\x1b[Hx", "x"},
		{"title via C1 OSC", "a\u009d0;pwned\u0007b", "a0;pwnedb"},
		{"osc 8 with params bel", "\x1b]8;id=1;http://evil\x07text\x1b]8;;\x07", "text"},
		{"line separators", "a\u2028b\u2029c\u0085d", "a b c d"},
		{"arabic letter mark and isolates", "a\u061cb\u2067c\u2069", "abc"},
		{"raw C1 bytes", "a\x9b31mb", "a\uFFFD31mb"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := Clean(c.in); got != c.want {
				t.Errorf("Clean(%q) = %q, want %q", c.in, got, c.want)
			}
		})
	}
	if got := CleanMultiline("a\nb\x1b[1m"); got != "a\nb" {
		t.Errorf("CleanMultiline kept %q", got)
	}
}

func FuzzClean(f *testing.F) {
	for _, s := range []string{"\x1b[31mx", "\x1b]0;t\x07", "a\nb", "\xff\xfe", "\u202e"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := Clean(s)
		for i := 0; i < len(out); i++ {
			if c := out[i]; c < 0x20 || c == 0x7f {
				t.Fatalf("Clean(%q) left control byte %#x in %q", s, c, out)
			}
		}
	})
}
