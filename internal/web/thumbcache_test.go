package web

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func key(i int) string { return fmt.Sprintf("%032x", i) }

func TestThumbCache(t *testing.T) {
	for _, mode := range []string{"disk", "memory"} {
		t.Run(mode, func(t *testing.T) {
			dir := ""
			if mode == "disk" {
				dir = t.TempDir()
			}
			c, err := openThumbCache(dir, 1000, slog.Default())
			if err != nil {
				t.Fatal(err)
			}
			now := time.Unix(1_000_000, 0)
			c.clock = func() time.Time { now = now.Add(time.Second); return now }
			made := 0
			get := func(i int) []byte {
				t.Helper()
				data, _, err := c.get(key(i), func() ([]byte, error) {
					made++
					return bytes.Repeat([]byte{byte(i)}, 100), nil
				})
				if err != nil {
					t.Fatal(err)
				}
				return data
			}
			for i := range 10 {
				get(i)
			}
			if n, size := c.stats(); n != 10 || size != 1000 || made != 10 {
				t.Fatalf("%d entries, %d bytes, %d made", n, size, made)
			}
			get(0) // used: 1 is now the oldest
			if made != 10 {
				t.Fatal("a cached entry was made again")
			}
			get(10) // over the limit: down to 90 %
			if n, size := c.stats(); n != 9 || size != 900 {
				t.Errorf("after eviction: %d entries, %d bytes; want 9, 900", n, size)
			}
			before := made
			if d := get(0); d[0] != 0 || made != before {
				t.Error("the recently used entry was evicted")
			}
			get(1)
			get(2)
			if made != before+2 {
				t.Errorf("the least recently used entries were kept (%d made)", made-before)
			}
		})
	}
}

func TestThumbCacheReopen(t *testing.T) {
	dir := t.TempDir()
	c, err := openThumbCache(dir, 1<<20, slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, _, err := c.get(key(i), func() ([]byte, error) { return []byte("jpeg"), nil }); err != nil {
			t.Fatal(err)
		}
	}
	// Left over from a write that was interrupted, and a file that is not ours.
	tmp := filepath.Join(dir, "00", ".tmp-123")
	other := filepath.Join(dir, "notes.txt")
	for _, p := range []string{tmp, other} {
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	c2, err := openThumbCache(dir, 1<<20, slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	if n, size := c2.stats(); n != 3 || size != 12 {
		t.Errorf("reopened: %d entries, %d bytes", n, size)
	}
	if _, hit, _ := c2.get(key(1), func() ([]byte, error) { return nil, fmt.Errorf("should not be made") }); !hit {
		t.Error("an entry made before the restart was not found")
	}
	if _, err := os.Stat(tmp); !os.IsNotExist(err) {
		t.Error("the temporary file was left")
	}
	if _, err := os.Stat(other); err != nil {
		t.Error("a file that is not the cache's was removed")
	}
	// Over a smaller limit, reopening evicts.
	c3, err := openThumbCache(dir, 10, slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	if _, size := c3.stats(); size > 10 {
		t.Errorf("reopened with limit 10: %d bytes", size)
	}
	// An entry removed behind the cache's back is made again.
	if err := os.RemoveAll(filepath.Join(dir, "00")); err != nil {
		t.Fatal(err)
	}
	if _, hit, err := c2.get(key(1), func() ([]byte, error) { return []byte("new"), nil }); hit || err != nil {
		t.Errorf("removed entry: hit %v, err %v", hit, err)
	}
}

// TestThumbCacheConcurrent: requests for one key make it once.
func TestThumbCacheConcurrent(t *testing.T) {
	c, err := openThumbCache(t.TempDir(), 1<<20, slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	var made atomic.Int32
	release := make(chan struct{})
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			data, _, err := c.get(key(7), func() ([]byte, error) {
				made.Add(1)
				<-release
				return []byte("thumb"), nil
			})
			if err != nil || string(data) != "thumb" {
				t.Errorf("got %q, %v", data, err)
			}
		}()
	}
	time.Sleep(50 * time.Millisecond)
	close(release)
	wg.Wait()
	if made.Load() != 1 {
		t.Errorf("made %d times", made.Load())
	}
	// A failure is not cached.
	if _, _, err := c.get(key(8), func() ([]byte, error) { return nil, fmt.Errorf("decode failed") }); err == nil {
		t.Fatal("no error")
	}
	if _, hit, err := c.get(key(8), func() ([]byte, error) { return []byte("ok"), nil }); hit || err != nil {
		t.Errorf("after a failure: hit %v, err %v", hit, err)
	}
}
