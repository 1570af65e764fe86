package tools

import "testing"

func TestPrintable(t *testing.T) {
	tests := []struct{ in, want string }{
		{"examples/shapes/red-circle.png", "examples/shapes/red-circle.png"},
		{"照片/中国宝塔.jpg", "照片/中国宝塔.jpg"},
		{"emoji 👩‍💻.png", "emoji 👩‍💻.png"},
		{"a\nb.png", `a\nb.png`},
		{"tab\there\r", `tab\there\r`},
		{"\x1b[31mred\x1b[0m.png", `\x1b[31mred\x1b[0m.png`},
		{"\x1b]0;title\x07.png", `\x1b]0;title\x07.png`},
		{"bell\x7f", `bell\x7f`},
		{"c1 \u009b31m", `c1 \u009b31m`},
		{"caf\xe9.jpg", `caf\xe9.jpg`},
		{"evil\u202egnp.exe", `evil\u202egnp.exe`},
		{"line\u2028sep", `line\u2028sep`},
		{"", ""},
	}
	for _, tc := range tests {
		if got := Printable(tc.in); got != tc.want {
			t.Errorf("Printable(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
