package local

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/cliprag/cliprag/retriever"
)

// On-disk layout: one bbolt file, index.db, in the store's directory.
//
//	meta      "format" → "1", "model" → model id, "dim" → decimal
//	vectors   id → dim little-endian float32s (raw bytes)
//	payloads  id → JSON of retriever.Payload (times in RFC 3339, nanoseconds)
//
// and a LOCK file beside it that the writer holds with flock for its
// lifetime, holding the writer's pid and command for error messages.
const (
	dbName   = "index.db"
	lockName = "LOCK"
	format   = "1"
)

var (
	bucketMeta     = []byte("meta")
	bucketVectors  = []byte("vectors")
	bucketPayloads = []byte("payloads")
)

// openDB opens the bbolt file for one transaction. The writer closes it
// after each write, so readers in other processes (which need bbolt's
// shared flock) get in between batches.
func openDB(path string, readOnly bool, timeout time.Duration) (*bolt.DB, error) {
	db, err := bolt.Open(path, 0o644, &bolt.Options{Timeout: timeout, ReadOnly: readOnly, FreelistType: bolt.FreelistMapType})
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, fmt.Errorf("index %s is busy: another process's write did not finish within %s; retry: %w", filepath.Dir(path), timeout, ErrLocked)
	}
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return db, nil
}

func update(path string, timeout time.Duration, fn func(tx *bolt.Tx) error) error {
	db, err := openDB(path, false, timeout)
	if err != nil {
		return err
	}
	err = db.Update(fn)
	if cerr := db.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("close %s: %w", path, cerr)
	}
	return err
}

func writeMeta(path string, c retriever.Collection, timeout time.Duration) error {
	return update(path, timeout, func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketMeta)
		if err != nil {
			return err
		}
		for k, v := range map[string]string{"format": format, "model": c.Model, "dim": strconv.Itoa(c.Dim)} {
			if err := b.Put([]byte(k), []byte(v)); err != nil {
				return fmt.Errorf("write meta %s: %w", k, err)
			}
		}
		for _, name := range [][]byte{bucketVectors, bucketPayloads} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return fmt.Errorf("create bucket %s: %w", name, err)
			}
		}
		return nil
	})
}

func encodeVector(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

// writeRecords puts recs and deletes the records stale (other records at
// their paths) in one transaction.
func writeRecords(path string, recs []retriever.Record, vecs [][]float32, stale []string, timeout time.Duration) error {
	pays := make([][]byte, len(recs))
	for i, r := range recs {
		b, err := encodePayload(r.Payload)
		if err != nil {
			return fmt.Errorf("encode payload of %s: %w", r.Payload.Path, err)
		}
		pays[i] = b
	}
	return update(path, timeout, func(tx *bolt.Tx) error {
		vb, pb := tx.Bucket(bucketVectors), tx.Bucket(bucketPayloads)
		if vb == nil || pb == nil {
			return errors.New("index file has no collection buckets")
		}
		for i, r := range recs {
			if err := vb.Put([]byte(r.ID), encodeVector(vecs[i])); err != nil {
				return fmt.Errorf("write vector %s: %w", r.ID, err)
			}
			if err := pb.Put([]byte(r.ID), pays[i]); err != nil {
				return fmt.Errorf("write payload %s: %w", r.ID, err)
			}
		}
		return deleteIn(vb, pb, stale)
	})
}

func deleteIn(vb, pb *bolt.Bucket, ids []string) error {
	for _, id := range ids {
		if err := vb.Delete([]byte(id)); err != nil {
			return fmt.Errorf("delete vector %s: %w", id, err)
		}
		if err := pb.Delete([]byte(id)); err != nil {
			return fmt.Errorf("delete payload %s: %w", id, err)
		}
	}
	return nil
}

func deleteRecords(path string, ids []string, timeout time.Duration) error {
	return update(path, timeout, func(tx *bolt.Tx) error {
		vb, pb := tx.Bucket(bucketVectors), tx.Bucket(bucketPayloads)
		if vb == nil || pb == nil {
			return errors.New("index file has no collection buckets")
		}
		return deleteIn(vb, pb, ids)
	})
}

// loadFile reads the collection and every record. A read-write open creates
// the file; a read-only open of a missing file fails with fs.ErrNotExist.
func loadFile(path string, readOnly bool, timeout time.Duration) (*retriever.Collection, *table, error) {
	if readOnly {
		if _, err := os.Stat(path); err != nil {
			return nil, nil, fmt.Errorf("no index at %s (run rag-ingest first): %w", filepath.Dir(path), err)
		}
	}
	db, err := openDB(path, readOnly, timeout)
	if err != nil {
		return nil, nil, err
	}
	defer db.Close()
	var coll *retriever.Collection
	var t *table
	err = db.View(func(tx *bolt.Tx) error {
		mb := tx.Bucket(bucketMeta)
		if mb == nil {
			return nil // new, empty
		}
		if f := string(mb.Get([]byte("format"))); f != format {
			return fmt.Errorf("index format %q, this cliprag reads %q", f, format)
		}
		dim, err := strconv.Atoi(string(mb.Get([]byte("dim"))))
		model := string(mb.Get([]byte("model")))
		if err != nil || dim <= 0 || model == "" {
			return fmt.Errorf("corrupt meta: model %q dim %q", model, mb.Get([]byte("dim")))
		}
		coll = &retriever.Collection{Model: model, Dim: dim}
		t, err = loadTable(tx, dim)
		return err
	})
	if err != nil {
		return nil, nil, fmt.Errorf("load index %s: %w", path, err)
	}
	return coll, t, nil
}

// loadTable reads the vectors into one slab and decodes the payloads on
// every CPU.
func loadTable(tx *bolt.Tx, dim int) (*table, error) {
	vb, pb := tx.Bucket(bucketVectors), tx.Bucket(bucketPayloads)
	if vb == nil || pb == nil {
		return nil, errors.New("missing vectors or payloads bucket")
	}
	n := vb.Stats().KeyN
	t := newTable(dim)
	t.ids = make([]string, 0, n)
	t.vecs = make([]float32, 0, n*dim)
	raw := make([][]byte, 0, n) // payload bytes, valid during tx
	c := vb.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if len(v) != 4*dim {
			return nil, fmt.Errorf("record %s: vector of %d bytes, want %d", k, len(v), 4*dim)
		}
		p := pb.Get(k)
		if p == nil {
			return nil, fmt.Errorf("record %s has a vector but no payload", k)
		}
		for i := range dim {
			t.vecs = append(t.vecs, math.Float32frombits(binary.LittleEndian.Uint32(v[4*i:])))
		}
		t.ids = append(t.ids, string(k))
		raw = append(raw, p)
	}
	t.pays = make([]retriever.Payload, len(t.ids))
	workers := runtime.GOMAXPROCS(0)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < len(raw); i += workers {
				if err := decodePayload(raw[i], &t.pays[i]); err != nil {
					errs[w] = fmt.Errorf("record %s: decode payload: %w", t.ids[i], err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	for r, id := range t.ids {
		t.rowOf[id] = int32(r)
		p := &t.pays[r]
		t.paths.add(p.Path, int32(r))
		p.Folder = t.str(p.Folder)
		p.Model = t.str(p.Model)
		for i := range p.Tags {
			p.Tags[i].Label = t.str(p.Tags[i].Label)
			t.tags[p.Tags[i].Label]++
		}
	}
	if pn := pb.Stats().KeyN; pn != len(t.ids) {
		return nil, fmt.Errorf("%d payloads for %d vectors", pn, len(t.ids))
	}
	return t, nil
}

// --- the writer lock ---

// acquireWriterLock takes an exclusive flock on dir/LOCK, waiting up to
// timeout, and records who holds it.
func acquireWriterLock(dir string, timeout time.Duration) (*os.File, error) {
	path := filepath.Join(dir, lockName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open lock %s: %w", path, err)
	}
	deadline := time.Now().Add(timeout)
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		if time.Now().After(deadline) {
			holder, _ := os.ReadFile(path)
			f.Close()
			who := strings.TrimSpace(string(holder))
			if who == "" {
				who = "unknown process"
			}
			return nil, fmt.Errorf("index %s is being written by another process (%s); retry when it finishes, or open it read-only: %w", dir, who, ErrLocked)
		}
		time.Sleep(50 * time.Millisecond)
	}
	info := fmt.Sprintf("pid %d, %s, since %s", os.Getpid(), filepath.Base(os.Args[0]), time.Now().Format(time.RFC3339))
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(info+"\n"), 0)
	}
	return f, nil
}

func releaseWriterLock(f *os.File) error {
	f.Truncate(0)
	syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	if err := f.Close(); err != nil {
		return fmt.Errorf("release lock: %w", err)
	}
	return nil
}

// --- read-only refresh ---

type fileStamp struct {
	size  int64
	mtime time.Time
}

func statFile(path string) (fileStamp, error) {
	if path == "" {
		return fileStamp{}, fs.ErrNotExist
	}
	fi, err := os.Stat(path)
	if err != nil {
		return fileStamp{}, err
	}
	return fileStamp{fi.Size(), fi.ModTime()}, nil
}

// refreshIfStale, on a read-only store, checks at most every
// RefreshInterval whether a writer committed since the last load, and if so
// reloads in the background; reads go on against the loaded state.
func (s *Store) refreshIfStale() {
	if !s.opt.readOnly || s.path == "" {
		return
	}
	now := time.Now().UnixNano()
	last := s.lastCheck.Load()
	if now-last < int64(s.opt.refresh) || !s.lastCheck.CompareAndSwap(last, now) {
		return
	}
	st, err := statFile(s.path)
	if err != nil {
		return
	}
	if old := s.stamp.Load(); old != nil && old.size == st.size && old.mtime.Equal(st.mtime) {
		return
	}
	if !s.reloading.CompareAndSwap(false, true) {
		return
	}
	started := s.spawn(func() {
		defer s.reloading.Store(false)
		if err := s.load(); err == nil {
			s.maybeBuild()
		}
	})
	if !started {
		s.reloading.Store(false)
	}
}
