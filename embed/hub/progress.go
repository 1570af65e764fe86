package hub

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/term"
)

// progress reports the bytes written through it: a redrawn bar on a
// terminal, a few plain lines otherwise.
type progress struct {
	w        io.Writer
	tty      bool
	label    string
	start    time.Time
	base     int64 // bytes present before this request (resume)
	n        int64 // bytes written through this request
	total    int64 // -1 when unknown
	last     time.Time
	interval time.Duration
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func newProgress(w io.Writer, label string, base, total int64) *progress {
	p := &progress{w: w, label: label, base: base, total: total, start: time.Now()}
	if w == nil {
		return p
	}
	p.tty = isTerminal(w)
	p.interval = 10 * time.Second
	if p.tty {
		p.interval = 200 * time.Millisecond
	}
	p.last = p.start
	if !p.tty {
		what := "downloading " + label
		if base > 0 {
			what = fmt.Sprintf("resuming %s at %s", label, human(base))
		}
		if total >= 0 {
			what += " (" + human(total) + ")"
		}
		fmt.Fprintln(w, what)
	}
	return p
}

func (p *progress) Write(b []byte) (int, error) {
	p.n += int64(len(b))
	if p.w != nil {
		if now := time.Now(); now.Sub(p.last) >= p.interval {
			p.last = now
			p.print(false)
		}
	}
	return len(b), nil
}

func (p *progress) rate() float64 {
	s := time.Since(p.start).Seconds()
	if s <= 0 {
		return 0
	}
	return float64(p.n) / s / 1e6
}

func (p *progress) print(final bool) {
	have := p.base + p.n
	pct := ""
	if p.total > 0 {
		pct = fmt.Sprintf(" %5.1f%%", 100*float64(have)/float64(p.total))
	}
	size := human(have)
	if p.total >= 0 {
		size += "/" + human(p.total)
	}
	if p.tty {
		bar := ""
		if p.total > 0 {
			const width = 24
			fill := int(float64(width) * float64(have) / float64(p.total))
			fill = min(max(fill, 0), width)
			bar = " [" + strings.Repeat("=", fill) + strings.Repeat(" ", width-fill) + "]"
		}
		end := ""
		if final {
			end = "\n"
		}
		fmt.Fprintf(p.w, "\r%s%s%s %s %.1f MB/s\x1b[K%s", p.label, bar, pct, size, p.rate(), end)
		return
	}
	fmt.Fprintf(p.w, "%s:%s %s %.1f MB/s\n", p.label, pct, size, p.rate())
}

// done ends the report; ok says whether the transfer completed.
func (p *progress) done(ok bool) {
	if p.w == nil {
		return
	}
	if p.tty {
		p.print(true)
		return
	}
	if ok {
		fmt.Fprintf(p.w, "done %s: %s in %.1fs (%.1f MB/s)\n", p.label, human(p.base+p.n), time.Since(p.start).Seconds(), p.rate())
	} else {
		fmt.Fprintf(p.w, "interrupted %s at %s\n", p.label, human(p.base+p.n))
	}
}

func human(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
