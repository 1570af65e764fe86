package main

import "testing"

func TestSplice(t *testing.T) {
	tests := []struct {
		name, report, section, body, want string
	}{
		{"append to empty", "", "a", "## A\nx\n", "<!-- bench:a -->\n## A\nx\n<!-- /bench:a -->\n"},
		{"append after header", "# B\n", "a", "## A", "# B\n\n<!-- bench:a -->\n## A\n<!-- /bench:a -->\n"},
		{"replace keeps others",
			"# B\n\n<!-- bench:a -->\nold\n<!-- /bench:a -->\n\n<!-- bench:b -->\nkeep\n<!-- /bench:b -->\n",
			"a", "new\n",
			"# B\n\n<!-- bench:a -->\nnew\n<!-- /bench:a -->\n\n<!-- bench:b -->\nkeep\n<!-- /bench:b -->\n"},
		{"prefix names do not collide",
			"<!-- bench:ab -->\nx\n<!-- /bench:ab -->\n", "a", "y",
			"<!-- bench:ab -->\nx\n<!-- /bench:ab -->\n\n<!-- bench:a -->\ny\n<!-- /bench:a -->\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := splice(tt.report, tt.section, tt.body)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
	if _, err := splice("<!-- bench:a -->\nno end", "a", "x"); err == nil {
		t.Error("unterminated section: no error")
	}
}
