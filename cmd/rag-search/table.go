package main

import (
	"io"
	"strings"
	"unicode"

	"golang.org/x/text/width"

	"github.com/cliprag/cliprag/tools"
)

// table prints rows as aligned columns, each cell made printable
// (tools.Printable: a file name cannot emit escape codes or break a row),
// measuring cells in terminal
// columns: East Asian Wide and Fullwidth characters (hanzi, kana,
// full-width punctuation) count two, combining marks and zero-width
// characters none. text/tabwriter counts every rune as one column, which
// misaligns Chinese labels, so the padding is done here.
type table struct {
	rows [][]string
}

func (t *table) add(cells ...string) {
	row := make([]string, len(cells))
	for i, c := range cells {
		row[i] = tools.Printable(c)
	}
	t.rows = append(t.rows, row)
}

// write prints the table with two spaces between columns; the last column
// of each row is not padded.
func (t *table) write(w io.Writer) error {
	var widths []int
	for _, r := range t.rows {
		for i, c := range r {
			if i >= len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], displayWidth(c))
		}
	}
	var b, b2 strings.Builder
	for _, r := range t.rows {
		start := b.Len()
		for i, c := range r {
			b.WriteString(c)
			if i < len(r)-1 {
				b.WriteString(strings.Repeat(" ", widths[i]-displayWidth(c)+2))
			}
		}
		line := strings.TrimRight(b.String()[start:], " ")
		b2.WriteString(line)
		b2.WriteByte('\n')
	}
	_, err := io.WriteString(w, b2.String())
	return err
}

// displayWidth returns the number of terminal columns s takes.
func displayWidth(s string) int {
	n := 0
	for _, r := range s {
		n += runeWidth(r)
	}
	return n
}

func runeWidth(r rune) int {
	switch {
	case r == 0 || r == '\u200b' || r == '\u200c' || r == '\u200d' || r == '\ufeff':
		return 0
	case unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Me, r) || unicode.IsControl(r):
		return 0
	}
	switch width.LookupRune(r).Kind() {
	case width.EastAsianWide, width.EastAsianFullwidth:
		return 2
	}
	return 1
}

// oneLine makes an error message fit on one printable line: line breaks
// between messages become "; ", other control characters (in a quoted
// file name, say) are escaped.
func oneLine(s string) string {
	s = strings.TrimSpace(s)
	s = strings.ReplaceAll(s, "\r\n", "; ")
	return tools.Printable(strings.ReplaceAll(s, "\n", "; "))
}
