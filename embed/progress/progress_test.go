package progress

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// run renders events with a clock that moves step per event.
func run(t *testing.T, tty bool, step time.Duration, events []Event) string {
	t.Helper()
	var buf bytes.Buffer
	r := NewRenderer(&buf, Options{Terminal: &tty})
	now := time.Unix(0, 0)
	r.now = func() time.Time { now = now.Add(step); return now }
	for _, e := range events {
		r.Report(e)
	}
	return buf.String()
}

func download(base, total int64, end State) []Event {
	n := total
	if n < 0 {
		n = base + 1<<20
	}
	return []Event{
		{Task: "f", State: Start, N: base, Total: total, Verb: "downloading"},
		{Task: "f", State: Update, N: (base + n) / 2, Total: total},
		{Task: "f", State: Update, N: n, Total: total},
		{Task: "f", State: end, N: n, Total: total},
	}
}

func TestRender(t *testing.T) {
	files := func(end State, summary string) []Event {
		return []Event{
			{Task: "ingest", State: Start, Total: 10, Unit: Items, Items: "files"},
			{Task: "ingest", State: Update, N: 4, Total: 10, Unit: Items, Items: "files"},
			{Task: "ingest", State: end, N: 10, Total: 10, Unit: Items, Items: "files", Summary: summary},
		}
	}
	tests := []struct {
		name    string
		tty     bool
		step    time.Duration
		events  []Event
		want    []string
		notWant []string
	}{
		{"plain", false, time.Second, download(0, 2<<20, Done), []string{"downloading f (2.0 MB)\n", "done f: 2.0 MB"}, []string{"\r", "\x1b"}},
		{"plain resume", false, time.Second, download(1<<20, 2<<20, Done), []string{"resuming f at 1.0 MB (2.0 MB)\n", "done f: 2.0 MB"}, nil},
		{"plain unknown size", false, time.Second, download(0, -1, Done), []string{"downloading f\n", "done f: 1.0 MB"}, nil},
		{"plain periodic lines", false, 11 * time.Second, download(0, 2<<20, Done), []string{"f:  50.0% 1.0 MB/2.0 MB", "f: 100.0% 2.0 MB/2.0 MB"}, nil},
		{"plain failed", false, time.Second, download(0, 2<<20, Failed), []string{"interrupted f at 2.0 MB"}, []string{"done f"}},
		{"terminal bar replaced by the summary", true, time.Second, download(0, 2<<20, Done),
			[]string{"\rf [", "100.0%", "2.0 MB/2.0 MB", "MB/s\x1b[K", "\r\x1b[Kdone f: 2.0 MB in "}, []string{"downloading f"}},
		{"terminal items cleared", true, time.Second, files(Done, ""),
			[]string{"\ringest [=========", "4/10 files (40%)", "\r\x1b[K"}, []string{"\n"}},
		{"terminal items with a summary", true, time.Second, files(Done, "indexed 10"), []string{"\r\x1b[Kindexed 10\n"}, nil},
		{"plain items", false, 11 * time.Second, files(Done, ""), []string{"ingest: 4/10 files (40%), 0.4 files/s, ETA "}, []string{"\r"}},
		{"items with a detail", true, time.Second, []Event{
			{Task: "ingest", State: Start, Total: 10, Unit: Items, Items: "files"},
			{Task: "ingest", State: Update, N: 4, Total: 10, Unit: Items, Items: "files", Detail: "text read in 3"},
		}, []string{"4/10 files (40%), text read in 3 "}, nil},
		{"no line sooner than the interval", false, time.Millisecond, download(0, 2<<20, Done), []string{"downloading f", "done f"}, []string{"50.0%"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := run(t, tt.tty, tt.step, tt.events)
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("output %q lacks %q", out, w)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(out, w) {
					t.Errorf("output %q has %q", out, w)
				}
			}
		})
	}
}

func TestSize(t *testing.T) {
	for n, want := range map[int64]string{512: "512 B", 1536: "1.5 KB", 2 << 20: "2.0 MB", 5 << 29: "2.50 GB"} {
		if got := Size(n); got != want {
			t.Errorf("Size(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestWriterNil(t *testing.T) {
	if Writer(nil) != nil {
		t.Error("Writer(nil) reports")
	}
}
