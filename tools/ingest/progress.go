package ingest

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/term"
)

// progress reports how far a run is: a redrawn bar on a terminal, a plain
// line every interval otherwise.
type progress struct {
	w        io.Writer
	tty      bool
	total    int
	done     atomic.Int64
	start    time.Time
	quit     chan struct{}
	wg       sync.WaitGroup
	interval time.Duration
}

func startProgress(w io.Writer, interval time.Duration, total int) *progress {
	p := &progress{w: w, total: total, start: time.Now(), quit: make(chan struct{}), interval: interval}
	if w == nil || total == 0 {
		return p
	}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.tty = true
		p.interval = 200 * time.Millisecond
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		t := time.NewTicker(p.interval)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				p.print(false)
			case <-p.quit:
				p.print(true)
				return
			}
		}
	}()
	return p
}

// set records that n files are done.
func (p *progress) set(n int) { p.done.Store(int64(n)) }

func (p *progress) stop() {
	if p.w == nil || p.total == 0 {
		return
	}
	close(p.quit)
	p.wg.Wait()
}

func (p *progress) print(final bool) {
	n := int(p.done.Load())
	el := time.Since(p.start)
	rate := float64(n) / el.Seconds()
	eta := "?"
	if rate > 0 && n < p.total {
		eta = time.Duration(float64(p.total-n) / rate * float64(time.Second)).Round(time.Second).String()
	} else if n >= p.total {
		eta = "0s"
	}
	if !p.tty {
		if final && n == 0 {
			return
		}
		fmt.Fprintf(p.w, "ingest: %d/%d files (%.0f%%), %.1f files/s, ETA %s\n", n, p.total, pct(n, p.total), rate, eta)
		return
	}
	const width = 30
	fill := int(pct(n, p.total) / 100 * width)
	bar := strings.Repeat("█", fill) + strings.Repeat("░", width-fill)
	fmt.Fprintf(p.w, "\r%s %d/%d %5.1f files/s ETA %-8s", bar, n, p.total, rate, eta)
	if final {
		fmt.Fprintln(p.w)
	}
}

func pct(n, total int) float64 {
	if total == 0 {
		return 100
	}
	return 100 * float64(min(n, total)) / float64(total)
}
