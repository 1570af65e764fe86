package web

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"
)

// thumbCache is a bounded cache of thumbnails, on disk in a directory of
// its own, or in memory when it has none. Entries are keyed by what makes
// a thumbnail (see thumbKey), so they never go stale: a changed file has a
// new key, and the old entry ages out. When the cache holds more than its
// limit, the least recently used entries are removed until it holds at most
// 90 % of it. Concurrent requests for one key make the thumbnail once, and
// at most GOMAXPROCS thumbnails are made at a time, so that a page of 100
// results does not decode 100 images at once.
type thumbCache struct {
	dir   string // "" keeps entries in memory
	limit int64
	log   *slog.Logger

	mu       sync.Mutex
	entries  map[string]*thumbEntry
	total    int64
	inflight map[string]*thumbCall
	clock    func() time.Time // tests replace it

	sem chan struct{}
}

type thumbEntry struct {
	size    int64
	used    time.Time
	touched time.Time // when the file's mtime was last set to record use
	data    []byte    // memory mode only
}

type thumbCall struct {
	done chan struct{}
	data []byte
	err  error
}

// touchEvery is how often a hit updates the cached file's mtime, which
// records its last use across restarts.
const touchEvery = time.Hour

// openThumbCache opens the cache in dir (created if missing; "" for
// memory), registering the thumbnails already there and removing leftovers
// of interrupted writes.
func openThumbCache(dir string, limit int64, log *slog.Logger) (*thumbCache, error) {
	c := &thumbCache{
		dir: dir, limit: limit, log: log,
		entries: map[string]*thumbEntry{}, inflight: map[string]*thumbCall{},
		clock: time.Now, sem: make(chan struct{}, runtime.GOMAXPROCS(0)),
	}
	if dir == "" {
		return c, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("thumbnail cache: %w", err)
	}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		name := d.Name()
		if strings.HasPrefix(name, ".tmp-") {
			return os.Remove(p)
		}
		key, ok := strings.CutSuffix(name, ".jpg")
		if !ok || c.path(key) != p {
			return nil // not ours
		}
		info, err := d.Info()
		if err != nil {
			return nil // removed meanwhile
		}
		c.entries[key] = &thumbEntry{size: info.Size(), used: info.ModTime(), touched: info.ModTime()}
		c.total += info.Size()
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("thumbnail cache %s: %w", dir, err)
	}
	c.mu.Lock()
	c.evictLocked()
	c.mu.Unlock()
	return c, nil
}

// path is where the entry key lives on disk: two levels, so that no
// directory holds more than a few thousand files.
func (c *thumbCache) path(key string) string {
	return filepath.Join(c.dir, key[:2], key+".jpg")
}

// get returns the thumbnail for key, making it with build when it is not
// cached. hit says whether it came from the cache.
func (c *thumbCache) get(key string, build func() ([]byte, error)) (data []byte, hit bool, err error) {
	if data, ok := c.lookup(key); ok {
		return data, true, nil
	}
	c.mu.Lock()
	if call, ok := c.inflight[key]; ok {
		c.mu.Unlock()
		<-call.done
		return call.data, false, call.err
	}
	call := &thumbCall{done: make(chan struct{})}
	c.inflight[key] = call
	c.mu.Unlock()

	c.sem <- struct{}{}
	call.data, call.err = build()
	<-c.sem
	if call.err == nil {
		c.store(key, call.data)
	}
	c.mu.Lock()
	delete(c.inflight, key)
	c.mu.Unlock()
	close(call.done)
	return call.data, false, call.err
}

// lookup returns a cached entry and records its use.
func (c *thumbCache) lookup(key string) ([]byte, bool) {
	c.mu.Lock()
	e, ok := c.entries[key]
	if !ok {
		c.mu.Unlock()
		return nil, false
	}
	now := c.clock()
	e.used = now
	if c.dir == "" {
		data := e.data
		c.mu.Unlock()
		return data, true
	}
	touch := now.Sub(e.touched) > touchEvery
	if touch {
		e.touched = now
	}
	c.mu.Unlock()
	p := c.path(key)
	data, err := os.ReadFile(p)
	if err != nil {
		// Removed behind our back: forget it and make it again.
		c.forget(key)
		return nil, false
	}
	if touch {
		_ = os.Chtimes(p, now, now)
	}
	return data, true
}

// store adds a new entry, writing it atomically, and evicts what the
// limit requires. A failed write is logged and the thumbnail still served.
func (c *thumbCache) store(key string, data []byte) {
	if int64(len(data)) > c.limit {
		return
	}
	e := &thumbEntry{size: int64(len(data)), used: c.clock()}
	e.touched = e.used
	if c.dir == "" {
		e.data = data
	} else if err := c.write(key, data); err != nil {
		c.log.Warn("thumbnail cache", "err", err)
		return
	}
	c.mu.Lock()
	if old, ok := c.entries[key]; ok {
		c.total -= old.size
	}
	c.entries[key] = e
	c.total += e.size
	c.evictLocked()
	c.mu.Unlock()
}

func (c *thumbCache) write(key string, data []byte) error {
	p := c.path(key)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(p), ".tmp-")
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), p)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}

func (c *thumbCache) forget(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[key]; ok {
		c.total -= e.size
		delete(c.entries, key)
	}
}

// evictLocked removes the least recently used entries while the cache
// holds more than its limit, down to 90 % of it.
func (c *thumbCache) evictLocked() {
	if c.total <= c.limit {
		return
	}
	keys := make([]string, 0, len(c.entries))
	for k := range c.entries {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return c.entries[keys[i]].used.Before(c.entries[keys[j]].used) })
	target := c.limit / 10 * 9
	for _, k := range keys {
		if c.total <= target {
			break
		}
		if c.dir != "" {
			if err := os.Remove(c.path(k)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				c.log.Warn("thumbnail cache: evict", "err", err)
				continue
			}
		}
		c.total -= c.entries[k].size
		delete(c.entries, k)
	}
}

// stats returns the number of entries and their bytes.
func (c *thumbCache) stats() (int, int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries), c.total
}
