// Package progress renders how far long tasks (downloads, ingest runs) have
// got, for people watching: on a terminal a bar redrawn in place, cleared
// and replaced by one summary line when the task ends; elsewhere (a log, a
// pipe) a plain line now and then. Libraries do not render: they report
// Events to a Func, and the commands pass one that New makes, writing to
// stderr.
package progress

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"
)

// Unit is what a task counts.
type Unit int

const (
	// Bytes counts bytes, shown as KB, MB, GB and MB/s.
	Bytes Unit = iota
	// Items counts things named by Event.Items ("files").
	Items
)

// State is where a task is.
type State int

const (
	// Start begins a task.
	Start State = iota
	// Update reports that N has moved.
	Update
	// Done ends a task that completed.
	Done
	// Failed ends a task that did not.
	Failed
	// Note is a one-off line about a task (Summary), such as where a
	// library is being fetched from.
	Note
)

// Event is one report about a task.
type Event struct {
	Task  string // names the task in every line ("Xenova/clip-vit-base-patch32/onnx/vision_model.onnx", "ingest"); a task's events share it
	State State
	// N is how much is done, Total how much there is (-1: unknown). A
	// resumed download starts with N above zero.
	N, Total int64
	Unit     Unit
	Items    string // with Unit Items, what is counted: "files"
	// Detail, with Unit Items, is shown after the count ("text read in
	// 12"); empty: nothing.
	Detail string
	// Verb, for Start, is what plain output says the task does
	// ("downloading"); empty: Start prints nothing.
	Verb string
	// Summary, for Done, is the line that replaces the bar; empty: a line
	// of the renderer's own for Bytes, nothing for Items (the caller prints
	// its own summary). For Note it is the line.
	Summary string
}

// Func receives a task's events. A nil Func is allowed where a library
// takes one: nothing is reported.
type Func func(Event)

// Options tune a Renderer.
type Options struct {
	// Terminal says whether w is a terminal; nil: detect it.
	Terminal *bool
	// Interval is the least time between two plain lines of a task;
	// 0: DefaultInterval. A terminal bar is redrawn every TerminalInterval.
	Interval time.Duration
}

// Intervals between two lines of one task.
const (
	DefaultInterval  = 10 * time.Second
	TerminalInterval = 200 * time.Millisecond
)

// Renderer draws events on a writer. It is safe for concurrent use.
type Renderer struct {
	w        io.Writer
	tty      bool
	interval time.Duration

	mu    sync.Mutex
	tasks map[string]*task
	now   func() time.Time
}

type task struct {
	start time.Time
	base  int64 // N at Start: a resumed download's rate counts only new bytes
	last  time.Time
	drawn bool // a bar is on the terminal line
}

// New returns the Func of a Renderer on w (os.Stderr when w is nil), which
// detects whether w is a terminal.
func New(w io.Writer) Func {
	return NewRenderer(w, Options{}).Report
}

// NewRenderer returns a Renderer on w (os.Stderr when w is nil).
func NewRenderer(w io.Writer, o Options) *Renderer {
	if w == nil {
		w = os.Stderr
	}
	r := &Renderer{w: w, interval: o.Interval, tasks: map[string]*task{}, now: time.Now}
	if o.Terminal != nil {
		r.tty = *o.Terminal
	} else {
		r.tty = IsTerminal(w)
	}
	if r.interval <= 0 {
		r.interval = DefaultInterval
	}
	if r.tty {
		r.interval = TerminalInterval
	}
	return r
}

// IsTerminal reports whether w is a terminal.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// Report renders e.
func (r *Renderer) Report(e Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	if e.State == Note {
		if r.tty {
			fmt.Fprint(r.w, "\r\x1b[K")
		}
		fmt.Fprintln(r.w, e.Summary)
		return
	}
	t := r.tasks[e.Task]
	if t == nil || e.State == Start {
		t = &task{start: now, base: e.N, last: now}
		r.tasks[e.Task] = t
	}
	switch e.State {
	case Start:
		if !r.tty && e.Verb != "" {
			fmt.Fprintln(r.w, startLine(e))
		}
	case Update:
		if now.Sub(t.last) < r.interval {
			return
		}
		t.last = now
		if r.tty {
			fmt.Fprintf(r.w, "\r%s\x1b[K", barLine(e, t, now))
			t.drawn = true
			return
		}
		fmt.Fprintln(r.w, plainLine(e, t, now))
	case Done, Failed:
		delete(r.tasks, e.Task)
		line := endLine(e, t, now)
		if r.tty && t.drawn {
			fmt.Fprint(r.w, "\r\x1b[K")
		}
		if line != "" {
			fmt.Fprintln(r.w, line)
		}
	}
}

func startLine(e Event) string {
	s := e.Verb + " " + e.Task
	if e.N > 0 {
		s = fmt.Sprintf("resuming %s at %s", e.Task, amount(e, e.N))
	}
	if e.Total >= 0 {
		s += " (" + amount(e, e.Total) + ")"
	}
	return s
}

// rate is units per second since Start, counting only what this run did.
func rate(e Event, t *task, now time.Time) float64 {
	s := now.Sub(t.start).Seconds()
	if s <= 0 {
		return 0
	}
	return float64(e.N-t.base) / s
}

// pct is the percentage done, "" when the total is unknown.
func pct(e Event) string {
	if e.Total <= 0 {
		return ""
	}
	if e.Unit == Items {
		return fmt.Sprintf("%.0f%%", 100*float64(e.N)/float64(e.Total))
	}
	return fmt.Sprintf("%5.1f%%", 100*float64(e.N)/float64(e.Total))
}

func plainLine(e Event, t *task, now time.Time) string {
	if e.Unit == Items {
		return fmt.Sprintf("%s: %s, %.1f %s/s, ETA %s", e.Task, itemCount(e), rate(e, t, now), e.Items, eta(e, t, now))
	}
	p := pct(e)
	if p != "" {
		p = " " + p
	}
	return fmt.Sprintf("%s:%s %s %.1f MB/s", e.Task, p, sizes(e), rate(e, t, now)/1e6)
}

func barLine(e Event, t *task, now time.Time) string {
	b := e.Task
	if e.Total > 0 {
		const width = 24
		fill := min(max(int(float64(width)*float64(e.N)/float64(e.Total)), 0), width)
		b += " [" + strings.Repeat("=", fill) + strings.Repeat(" ", width-fill) + "] " + pct(e)
	}
	if e.Unit == Items {
		return fmt.Sprintf("%s %s %.1f %s/s ETA %s", b, itemCount(e), rate(e, t, now), e.Items, eta(e, t, now))
	}
	return fmt.Sprintf("%s %s %.1f MB/s", b, sizes(e), rate(e, t, now)/1e6)
}

func endLine(e Event, t *task, now time.Time) string {
	if e.State == Failed {
		return fmt.Sprintf("interrupted %s at %s", e.Task, amount(e, e.N))
	}
	if e.Summary != "" || e.Unit == Items {
		return e.Summary
	}
	return fmt.Sprintf("done %s: %s in %.1fs (%.1f MB/s)", e.Task, Size(e.N), now.Sub(t.start).Seconds(), rate(e, t, now)/1e6)
}

func itemCount(e Event) string {
	s := fmt.Sprintf("%d", e.N)
	if e.Total >= 0 {
		s += fmt.Sprintf("/%d", e.Total)
	}
	s += " " + e.Items
	if p := pct(e); p != "" {
		s += " (" + p + ")"
	}
	if e.Detail != "" {
		s += ", " + e.Detail
	}
	return s
}

func eta(e Event, t *task, now time.Time) string {
	r := rate(e, t, now)
	switch {
	case e.Total >= 0 && e.N >= e.Total:
		return "0s"
	case r > 0 && e.Total > 0:
		return time.Duration(float64(e.Total-e.N) / r * float64(time.Second)).Round(time.Second).String()
	}
	return "?"
}

func sizes(e Event) string {
	s := Size(e.N)
	if e.Total >= 0 {
		s += "/" + Size(e.Total)
	}
	return s
}

func amount(e Event, n int64) string {
	if e.Unit == Items {
		return fmt.Sprintf("%d %s", n, e.Items)
	}
	return Size(n)
}

// Size writes a byte count for people: "512 B", "1.5 KB", "2.0 MB", "1.25 GB".
func Size(n int64) string {
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

// Writer returns a Func that renders on w when w is not nil, and nil (no
// reporting) when it is: the bridge for APIs that take an io.Writer.
func Writer(w io.Writer) Func {
	if w == nil {
		return nil
	}
	return New(w)
}
