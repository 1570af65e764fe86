package main

import (
	"strings"
	"testing"
)

// TestTableEscapesNames: a file name with a newline, terminal escape codes
// or invalid UTF-8 stays on its row and reaches the terminal escaped.
func TestTableEscapesNames(t *testing.T) {
	tab := &table{}
	tab.add("RANK", "PATH")
	tab.add("1", "a\nfake row.png")
	tab.add("2", "\x1b[2J\x1b]0;pwned\x07.png")
	tab.add("3", "caf\xe9.jpg")
	var b strings.Builder
	if err := tab.write(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if strings.ContainsAny(out, "\x1b\x07") || strings.Count(out, "\n") != 4 {
		t.Fatalf("table output carries raw control characters or extra lines:\n%q", out)
	}
	for _, want := range []string{`a\nfake row.png`, `\x1b[2J\x1b]0;pwned\x07.png`, `caf\xe9.jpg`} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if got := oneLine("open \x1b[31mx.png\x1b[0m: no such file\nsecond"); got != `open \x1b[31mx.png\x1b[0m: no such file; second` {
		t.Errorf("oneLine = %q", got)
	}
}
