// Command splice replaces one section of a Markdown report with new text:
// the lines between "<!-- bench:NAME -->" and "<!-- /bench:NAME -->". A
// section that is not in the report yet is appended. scripts/bench.sh uses
// it so that each benchmark section can be re-measured on its own.
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
)

func main() {
	file := flag.String("file", "BENCHMARKS.md", "the report to update")
	section := flag.String("section", "", "section name")
	from := flag.String("from", "", "file holding the section's new Markdown")
	flag.Parse()
	if *section == "" || *from == "" {
		fmt.Fprintln(os.Stderr, "usage: splice -file REPORT -section NAME -from FILE")
		os.Exit(2)
	}
	if err := run(*file, *section, *from); err != nil {
		fmt.Fprintln(os.Stderr, "splice:", err)
		os.Exit(1)
	}
}

func run(file, section, from string) error {
	body, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	old, err := os.ReadFile(file)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	out, err := splice(string(old), section, string(body))
	if err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	tmp := file + ".tmp"
	if err := os.WriteFile(tmp, []byte(out), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, file)
}

// splice returns report with section's block replaced by body (or appended).
func splice(report, section, body string) (string, error) {
	begin, end := "<!-- bench:"+section+" -->", "<!-- /bench:"+section+" -->"
	block := begin + "\n" + strings.TrimRight(body, "\n") + "\n" + end + "\n"
	i := strings.Index(report, begin)
	if i < 0 {
		if report != "" && !strings.HasSuffix(report, "\n\n") {
			report = strings.TrimRight(report, "\n") + "\n\n"
		}
		return report + block, nil
	}
	j := strings.Index(report[i:], end)
	if j < 0 {
		return "", fmt.Errorf("section %s begins but never ends (%s missing)", section, end)
	}
	rest := report[i+j+len(end):]
	rest = strings.TrimPrefix(rest, "\n")
	return report[:i] + block + rest, nil
}
