package tools

import (
	"bufio"
	"fmt"
	"os"
	"strings"
)

// ReadLabels reads candidate labels from a file, one per line, in any
// language the model supports. Blank lines, # comments and a UTF-8 byte
// order mark are skipped.
func ReadLabels(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var labels []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := strings.TrimSpace(strings.TrimPrefix(sc.Text(), "\ufeff"))
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		labels = append(labels, l)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(labels) == 0 {
		return nil, fmt.Errorf("%s: no labels in the file (one label per line)", path)
	}
	return labels, nil
}

// SplitList splits a list a person typed, such as "cat, dog" or
// "构造图，沉积图": items separated by ASCII or full-width commas or by
// line breaks, trimmed, empty ones dropped. Front ends use it for labels
// and tags given as one string.
func SplitList(s string) []string {
	var out []string
	for _, p := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '，' || r == '\n' || r == '\r' }) {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
