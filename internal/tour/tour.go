// Package tour keeps the documentation true: it finds the shell sessions
// in Markdown files (```console blocks: "$ command" lines followed by the
// output the command printed), runs the commands, and either checks that
// they still print what the document shows or rewrites the document with
// what they print now.
//
// Its test, TestDocs, runs every session of README.md and the examples'
// READMEs with freshly built commands, so a change that alters a documented
// output fails CI until the document is regenerated with scripts/tour.sh.
// Outputs are compared after Mask, which blanks what differs from run to run
// (durations, rates, timestamps, random temporary names).
package tour

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Command is one "$ ..." line of a session (with its continuation lines)
// and the output the document shows for it.
type Command struct {
	Line   int      // 1-based line of the "$ " in the document
	Text   string   // the command, continuation lines joined with "\n"
	Output []string // the lines shown after it
}

// Background reports whether the command is started in the background
// (it ends in "&"), as a server is before a client talks to it.
func (c Command) Background() bool { return strings.HasSuffix(strings.TrimSpace(c.Text), "&") }

// Session is one ```console block.
type Session struct {
	Start, End int // 1-based lines of the opening and closing fences
	Commands   []Command
	// OCR is set for a block preceded by the line "<!-- tour: ocr -->": its
	// commands need the OCR models (TestDocs leaves it out without them,
	// except under CI=true).
	OCR bool
}

// Parse returns the console sessions of a Markdown document. A block
// preceded by the line "<!-- tour: skip -->" is left out.
func Parse(doc []byte) []Session {
	lines := strings.Split(string(doc), "\n")
	var out []Session
	for i := 0; i < len(lines); i++ {
		if strings.TrimSpace(lines[i]) != "```console" {
			continue
		}
		skip := i > 0 && strings.TrimSpace(lines[i-1]) == "<!-- tour: skip -->"
		s := Session{Start: i + 1, OCR: i > 0 && strings.TrimSpace(lines[i-1]) == "<!-- tour: ocr -->"}
		j := i + 1
		for ; j < len(lines) && strings.TrimSpace(lines[j]) != "```"; j++ {
			l := lines[j]
			switch {
			case strings.HasPrefix(l, "$ "):
				s.Commands = append(s.Commands, Command{Line: j + 1, Text: strings.TrimPrefix(l, "$ ")})
			case len(s.Commands) > 0 && continues(s.Commands[len(s.Commands)-1]):
				c := &s.Commands[len(s.Commands)-1]
				c.Text += "\n" + l
			case len(s.Commands) > 0:
				c := &s.Commands[len(s.Commands)-1]
				c.Output = append(c.Output, l)
			}
		}
		s.End = j + 1
		i = j
		if !skip {
			out = append(out, s)
		}
	}
	return out
}

// continues reports whether c's text goes on on the next line (it ends
// in a backslash and no output has been seen yet).
func continues(c Command) bool {
	return len(c.Output) == 0 && strings.HasSuffix(c.Text, `\`)
}

// Runner runs sessions.
type Runner struct {
	Dir     string        // working directory of every command
	Env     []string      // the whole environment of the shell
	Timeout time.Duration // for all sessions of a document (default 5 minutes)
	// Update, when set, makes Run wait less for background commands: it
	// takes what they printed within a second of their first line, since
	// there is no document to match yet.
	Update bool
}

const marker = "@@tour-command "

// Run runs the commands of the sessions in one bash process, in order (so
// that a session sees what earlier ones exported or wrote), and returns
// each command's output (stdout and stderr together) as lines:
// out[session][command]. A background command's output is what it printed
// before the next command started: as many lines as the document shows
// (waiting up to 10 s for them), or in Update mode whatever appeared within
// a second of its first line. Background commands are killed at the end.
func (r Runner) Run(ctx context.Context, sessions []Session) ([][][]string, error) {
	timeout := r.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	bg, err := os.MkdirTemp("", "tour-bg-*")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(bg)

	var script strings.Builder
	// Job control gives each background job its own process group, so that
	// the end of the script can stop it with everything it started.
	script.WriteString("exec 2>&1\nset -m\n")
	script.WriteString(`tour_wait() { # file lines seconds
  local i=0
  while [ $i -lt $(($3 * 20)) ]; do
    [ -f "$1" ] && [ "$(wc -l <"$1")" -ge "$2" ] && break
    sleep 0.05; i=$((i + 1))
  done
}
`)
	n := 0
	for si, s := range sessions {
		for ci, c := range s.Commands {
			fmt.Fprintf(&script, "echo '%s%d.%d'\n", marker, si, ci)
			r.writeCommand(&script, c, filepath.Join(bg, strconv.Itoa(n)))
			n++
		}
	}
	script.WriteString("for p in $(jobs -p); do kill -- -$p 2>/dev/null; done; wait 2>/dev/null\n")

	cmd := exec.CommandContext(ctx, "bash", "--norc", "--noprofile")
	cmd.Dir, cmd.Env = r.Dir, r.Env
	cmd.Stdin = strings.NewReader(script.String())
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.WaitDelay = 5 * time.Second
	err = cmd.Run()
	if ctx.Err() != nil {
		return nil, fmt.Errorf("run sessions: %w", ctx.Err())
	}
	if err != nil && out.Len() == 0 {
		return nil, fmt.Errorf("run sessions: %w", err)
	}
	return split(out.Bytes(), sessions)
}

// writeCommand adds c to the script; a background command's output goes
// to the file f, of which the script then prints the first lines.
func (r Runner) writeCommand(w *strings.Builder, c Command, f string) {
	if !c.Background() {
		w.WriteString(c.Text + "\n")
		return
	}
	cmd := strings.TrimSuffix(strings.TrimSpace(c.Text), "&")
	fmt.Fprintf(w, "( %s ) >%q 2>&1 &\n", cmd, f)
	if r.Update {
		fmt.Fprintf(w, "tour_wait %q 1 10; sleep 1; cat %q\n", f, f)
		return
	}
	fmt.Fprintf(w, "tour_wait %q %d 10; head -n %d %q\n", f, len(c.Output), len(c.Output), f)
}

// split cuts the shell's output at the markers.
func split(b []byte, sessions []Session) ([][][]string, error) {
	res := make([][][]string, len(sessions))
	for i, s := range sessions {
		res[i] = make([][]string, len(s.Commands))
	}
	var cur *[]string
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		l := sc.Text()
		if rest, ok := strings.CutPrefix(l, marker); ok {
			a, b, _ := strings.Cut(rest, ".")
			si, err1 := strconv.Atoi(a)
			ci, err2 := strconv.Atoi(b)
			if err1 != nil || err2 != nil || si >= len(res) || ci >= len(res[si]) {
				return nil, fmt.Errorf("bad marker %q", l)
			}
			cur = &res[si][ci]
			continue
		}
		if cur != nil {
			*cur = append(*cur, strings.TrimRight(l, " \t\r"))
		}
	}
	return res, sc.Err()
}

// masks blank what legitimately changes between runs, in this order.
var masks = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:?\d\d)?`), "<time>"},
	{regexp.MustCompile(`\b\d+(\.\d+)? (images|files)/s\b`), "<rate> $2/s"},
	{regexp.MustCompile(`\b\d+(\.\d+)?(ns|µs|us|ms|s|m)\b`), "<duration>"},
	{regexp.MustCompile(`(/tmp/[A-Za-z0-9._-]*?)\d{5,}`), "$1<n>"},
}

// Mask blanks durations, rates, timestamps and the random part of
// temporary names in a line, so that outputs of two runs compare equal.
func Mask(line string) string {
	for _, m := range masks {
		line = m.re.ReplaceAllString(line, m.with)
	}
	return strings.TrimRight(line, " \t")
}

// Diff compares what the document shows with what ran, after Mask, and
// describes the first difference; "" when they agree.
func Diff(doc, got []string) string {
	doc, got = trimBlank(doc), trimBlank(got)
	for i := 0; i < max(len(doc), len(got)); i++ {
		var d, g string
		if i < len(doc) {
			d = doc[i]
		}
		if i < len(got) {
			g = got[i]
		}
		if Mask(d) != Mask(g) {
			return fmt.Sprintf("output line %d:\n  document: %q\n  now:      %q", i+1, d, g)
		}
	}
	return ""
}

// trimBlank drops trailing blank lines.
func trimBlank(l []string) []string {
	for len(l) > 0 && strings.TrimSpace(l[len(l)-1]) == "" {
		l = l[:len(l)-1]
	}
	return l
}

// Rewrite returns doc with the outputs of its sessions replaced by outs
// (outs[i][j]: session i, command j, as Run returns them).
func Rewrite(doc []byte, sessions []Session, outs [][][]string) []byte {
	lines := strings.Split(string(doc), "\n")
	var res []string
	next := 0 // next document line (0-based) to copy
	for si, s := range sessions {
		for ci, c := range s.Commands {
			// Copy up to and including the command's lines.
			last := c.Line - 1 + strings.Count(c.Text, "\n")
			res = append(res, lines[next:last+1]...)
			res = append(res, trimBlank(outs[si][ci])...)
			next = last + 1 + len(c.Output)
		}
	}
	res = append(res, lines[next:]...)
	return []byte(strings.Join(res, "\n"))
}
