package safefs

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// tree builds root/ and outside/ under a temporary folder:
//
//	root/sub/a.txt  "inside"     outside/secret.txt  "secret"
//	root/abs     → /…/root/sub/a.txt  (absolute, inside)
//	root/rel     → sub/a.txt
//	root/out     → ../outside/secret.txt
//	root/outabs  → /…/outside/secret.txt
//	root/outdir  → /…/outside
//	root/loop    → loop
//	root/fifo    (a FIFO)
func tree(t *testing.T) (root, outside string) {
	t.Helper()
	base, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	root, outside = filepath.Join(base, "root"), filepath.Join(base, "outside")
	for _, d := range []string{filepath.Join(root, "sub"), outside} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write := func(p, s string) {
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(root, "sub", "a.txt"), "inside")
	write(filepath.Join(outside, "secret.txt"), "secret")
	for name, target := range map[string]string{
		"abs":    filepath.Join(root, "sub", "a.txt"),
		"rel":    filepath.Join("sub", "a.txt"),
		"out":    filepath.Join("..", "outside", "secret.txt"),
		"outabs": filepath.Join(outside, "secret.txt"),
		"outdir": outside,
		"loop":   "loop",
	} {
		if err := os.Symlink(target, filepath.Join(root, name)); err != nil {
			t.Fatal(err)
		}
	}
	if err := syscall.Mkfifo(filepath.Join(root, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	return root, outside
}

func TestOpenIn(t *testing.T) {
	root, _ := tree(t)
	r, err := os.OpenRoot(root)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	tests := []struct {
		name string
		want string // content, or "" for an error
		err  error
	}{
		{"sub/a.txt", "inside", nil},
		{"abs", "inside", nil},
		{"rel", "inside", nil},
		{"out", "", ErrOutside},
		{"outabs", "", ErrOutside},
		{"outdir/secret.txt", "", ErrOutside},
		{"../outside/secret.txt", "", ErrOutside},
		{"fifo", "", ErrNotRegular},
		{"sub", "", ErrNotRegular},
		{"missing", "", fs.ErrNotExist},
		{"loop", "", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data, _, err := ReadFileIn(context.Background(), r, tc.name, 1<<20)
			if tc.want != "" {
				if err != nil || string(data) != tc.want {
					t.Fatalf("read %q, %v; want %q", data, err, tc.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("read %q, want an error", data)
			}
			if tc.err != nil && !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
		})
	}
}

// TestOpenNeverBlocks: a FIFO with no writer, a FIFO with a writer that
// never writes, and character devices are refused at once.
func TestOpenNeverBlocks(t *testing.T) {
	root, _ := tree(t)
	fifo := filepath.Join(root, "fifo")
	w, err := os.OpenFile(fifo, os.O_RDWR, 0) // keeps a writer open
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for _, p := range []string{fifo, filepath.Join(root, "sub"), "/dev/null", "/dev/zero", "/dev/tty"} {
			_, _, err := ReadFile(context.Background(), p, 1<<20)
			if p == "/dev/tty" && err != nil && !errors.Is(err, ErrNotRegular) {
				continue // no terminal here
			}
			if !errors.Is(err, ErrNotRegular) {
				t.Errorf("%s: err = %v, want ErrNotRegular", p, err)
			}
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("opening a non-regular file blocked")
	}
}

func TestReadLimit(t *testing.T) {
	p := filepath.Join(t.TempDir(), "big")
	if err := os.WriteFile(p, bytes.Repeat([]byte("x"), 1000), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ReadFile(context.Background(), p, 999); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err = %v, want ErrTooLarge", err)
	}
	if data, fi, err := ReadFile(context.Background(), p, 1000); err != nil || len(data) != 1000 || fi.Size() != 1000 {
		t.Fatalf("read %d bytes, %v", len(data), err)
	}
}

// TestReadReturnsAtDeadline: an open stuck in the kernel (a hung mount)
// does not hold the caller past its deadline.
func TestReadReturnsAtDeadline(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := Do(ctx, "stuck", func() (int, error) {
		<-release
		return 0, errors.New("released")
	}, nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the deadline", err)
	}
}

// TestDoCleansUpAbandoned: what a call abandoned at its deadline returns
// later (an open file) is released, not leaked.
func TestDoCleansUpAbandoned(t *testing.T) {
	release := make(chan struct{})
	cleaned := make(chan int, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := Do(ctx, "stuck", func() (int, error) {
		<-release
		return 42, nil
	}, func(v int) { cleaned <- v })
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
	close(release)
	select {
	case v := <-cleaned:
		if v != 42 {
			t.Fatalf("cleaned %d", v)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the abandoned result was not cleaned up")
	}
}

// TestSymlinkSwapRace: another process swaps a link between a file inside
// the root and one outside while we open it through the root, many times:
// nothing outside is ever read.
func TestSymlinkSwapRace(t *testing.T) {
	root, outside := tree(t)
	r, err := os.OpenRoot(root)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	link := filepath.Join(root, "swap")
	targets := []string{filepath.Join(root, "sub", "a.txt"), filepath.Join(outside, "secret.txt"), "sub/a.txt", "../outside/secret.txt", outside}
	var stop atomic.Bool
	var wg sync.WaitGroup
	wg.Go(func() {
		tmp := link + ".tmp"
		for i := 0; !stop.Load(); i++ {
			os.Remove(tmp)
			if err := os.Symlink(targets[i%len(targets)], tmp); err != nil {
				t.Error(err)
				return
			}
			if err := os.Rename(tmp, link); err != nil { // atomic swap
				t.Error(err)
				return
			}
		}
	})
	inside := 0
	for range 2000 {
		for _, name := range []string{"swap", "swap/secret.txt"} {
			data, _, err := ReadFileIn(context.Background(), r, name, 1<<20)
			if err == nil && string(data) != "inside" {
				t.Fatalf("read %q through the root", data)
			}
			if err == nil {
				inside++
			}
		}
	}
	stop.Store(true)
	wg.Wait()
	if inside == 0 {
		t.Fatal("the link never pointed inside when read: the test did not race")
	}
	t.Logf("%d reads inside, none outside", inside)
}
