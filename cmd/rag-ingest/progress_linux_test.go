package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/cliprag/cliprag/tools/toolstest"
)

// openPty opens a pseudo-terminal pair: the master, read by the test, and
// the terminal the command writes to.
func openPty(t *testing.T) (master, tty *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	fd := int(m.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		t.Skipf("unlock pty: %v", err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		t.Skipf("pty number: %v", err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("open pty: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return m, s
}

// TestProgressOutput runs rag-ingest with stderr on a terminal and on a
// pipe: progress goes to stderr only, a bar drawn on the terminal is
// cleared when the run ends (the summary on stdout is then the only line
// left), and a pipe gets no progress lines for a run as short as the
// README's.
func TestProgressOutput(t *testing.T) {
	images := t.TempDir()
	toolstest.Draw(t, images, toolstest.DrawOptions{Seed: 9, PerClass: 8})
	tests := []struct {
		name     string
		terminal bool
	}{
		{"terminal", true},
		{"pipe", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			store := filepath.Join(t.TempDir(), "index")
			var stdout bytes.Buffer
			var stderr io.Writer
			var pipeErr bytes.Buffer
			var got chan []byte
			var tty *os.File
			if tc.terminal {
				var master *os.File
				master, tty = openPty(t)
				got = make(chan []byte)
				go func() {
					b, _ := io.ReadAll(master) // ends with EIO once tty is closed
					got <- b
				}()
				stderr = tty
			} else {
				stderr = &pipeErr
			}
			code := run(context.Background(), []string{"-model", "tiny-shapes", "-store", store, "-workers", "1", "-batch", "1", images}, &stdout, stderr)
			var errOut string
			if tc.terminal {
				tty.Close()
				errOut = string(<-got)
			} else {
				errOut = pipeErr.String()
			}
			if code == exitFatal && toolstest.RuntimeMissing(errOut) {
				t.Skipf("ONNX Runtime not available: %s", errOut)
			}
			if code != exitOK || !strings.HasPrefix(stdout.String(), "indexed 160,") {
				t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%q", code, stdout.String(), errOut)
			}
			if !tc.terminal {
				if errOut != "" {
					t.Errorf("progress lines on a pipe:\n%s", errOut)
				}
				return
			}
			drawn := strings.Count(errOut, "ingest [")
			t.Logf("%d bars drawn", drawn)
			// Whatever was drawn, the line is cleared at the end.
			if drawn > 0 && !strings.HasSuffix(errOut, "\r\x1b[K") {
				t.Errorf("the bar is left on the terminal: %q", tail(errOut, 200))
			}
			if strings.Contains(errOut, "\n") {
				t.Errorf("progress wrote whole lines to the terminal: %q", tail(errOut, 200))
			}
		})
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
