package local

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/cliprag/cliprag/retriever"
)

// Defaults for the options.
const (
	// DefaultExactThreshold is the number of records up to which a store
	// scans every row; above it, a writer builds an IVF index.
	DefaultExactThreshold = 20000
	// DefaultTargetRecall is the recall@10 the IVF index is calibrated to
	// reach on queries drawn near the stored vectors.
	DefaultTargetRecall = 0.97
	// DefaultBuildDelay is how long a writer waits after its last write
	// before it builds the index in the background.
	DefaultBuildDelay = 2 * time.Second
	// DefaultLockTimeout is how long Open waits for another writer.
	DefaultLockTimeout = 2 * time.Second
	// DefaultRefreshInterval is how often a read-only store looks for a
	// writer's commits.
	DefaultRefreshInterval = 2 * time.Second
	defaultBusyTimeout     = 30 * time.Second
)

// ErrLocked is wrapped by Open when another process is writing the index.
var ErrLocked = errors.New("index is locked by another process")

// ErrReadOnly is returned by writes to a store opened with ReadOnly.
var ErrReadOnly = errors.New("index is open read-only")

// Options configures Open and OpenMemory. The zero value (or a nil
// *Options) gives the Default… values above.
type Options struct {
	// ReadOnly opens the index for reading. A read-only store does not
	// take the writer lock, so rag-search and rag-mcp can read while
	// rag-ingest writes: it loads the committed state, then applies the
	// writer's later commits when the file changes (checked at most every
	// RefreshInterval). It never builds an index: it uses the one the
	// writer persisted, or scans every row until there is one.
	ReadOnly bool
	// LockTimeout is how long Open waits for another writer to finish
	// before failing with ErrLocked; 0 means DefaultLockTimeout.
	LockTimeout time.Duration
	// ExactThreshold is the number of records above which a writer builds
	// the approximate IVF index; 0 means DefaultExactThreshold, a negative
	// value never builds one.
	ExactThreshold int
	// TargetRecall is the recall@10 the IVF index is calibrated to; 0
	// means DefaultTargetRecall.
	TargetRecall float64
	// RefreshInterval is how often a read-only store checks the file for
	// commits by a writer; 0 means DefaultRefreshInterval.
	RefreshInterval time.Duration
	// BuildDelay is how long a writer waits after its last write before it
	// builds or rebuilds the index in the background, so a bulk load
	// builds once, at its end; 0 means DefaultBuildDelay. BuildIndex
	// builds at once.
	BuildDelay time.Duration
}

// options are Options with the defaults filled in.
type options struct {
	readOnly     bool
	lockTimeout  time.Duration
	busyTimeout  time.Duration
	threshold    int
	targetRecall float64
	refresh      time.Duration
	buildDelay   time.Duration
}

func (o *Options) resolve() options {
	if o == nil {
		o = &Options{}
	}
	r := options{readOnly: o.ReadOnly, lockTimeout: o.LockTimeout, busyTimeout: defaultBusyTimeout,
		threshold: o.ExactThreshold, targetRecall: o.TargetRecall, refresh: o.RefreshInterval, buildDelay: o.BuildDelay}
	if r.lockTimeout == 0 {
		r.lockTimeout = DefaultLockTimeout
	}
	if r.threshold == 0 {
		r.threshold = DefaultExactThreshold
	}
	if r.targetRecall == 0 {
		r.targetRecall = DefaultTargetRecall
	}
	if r.refresh == 0 {
		r.refresh = DefaultRefreshInterval
	}
	if r.buildDelay == 0 {
		r.buildDelay = DefaultBuildDelay
	}
	return r
}

// Store is the embedded index. It is safe for concurrent use.
type Store struct {
	dir  string // the index directory (a temporary one for OpenMemory)
	path string // the bbolt file
	temp bool   // OpenMemory: no fsync, directory removed at Close
	opt  options

	wmu sync.Mutex // serialises writes and index installs
	// fileMu orders this process's bbolt transactions (view, update) so
	// that a writer is not starved by a stream of searches.
	fileMu sync.RWMutex
	lock   *os.File // the writer lock, nil when read-only or in memory

	mu   sync.RWMutex // guards coll and t; held for scans and in-memory changes
	coll *retriever.Collection
	t    *table

	ctx    context.Context
	cancel context.CancelFunc
	bg     sync.WaitGroup
	closed atomic.Bool
	// bgMu orders starting background work against Close: spawn checks
	// closed and adds to bg under it, Close sets closed under it, so no
	// task is added once Close has begun waiting.
	bgMu      sync.Mutex
	bgStarted atomic.Int64 // background tasks started, for tests
	timer     *time.Timer  // the pending background build, under bgMu
	buildMu   sync.Mutex   // held by an index build
	builds    atomic.Int64 // index builds finished, for tests and IndexInfo

	// Read-only refresh.
	lastCheck atomic.Int64 // unix nanos
	stamp     atomic.Pointer[fileStamp]
	reloading atomic.Bool

	openErr error // OpenMemory's failure, returned by every call
}

func newStore(dir string, o options) *Store {
	s := &Store{dir: dir, opt: o, path: filepath.Join(dir, dbName)}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	return s
}

// OpenMemory returns a store for searching a folder that was never indexed:
// it behaves as an opened store, keeps its file in a temporary directory
// (written without fsync) and removes it on Close.
// Options.ReadOnly is ignored.
func OpenMemory(opts *Options) *Store {
	dir, err := os.MkdirTemp("", "cliprag-mem-")
	o := opts.resolve()
	o.readOnly = false
	s := newStore(dir, o)
	s.temp = true
	if err != nil {
		s.openErr = fmt.Errorf("in-memory index: %w", err)
		s.dir, s.path = "", ""
		return s
	}
	if err := s.load(); err != nil {
		s.openErr = fmt.Errorf("in-memory index: %w", err)
	}
	return s
}

// Open opens (creating if needed) the index in dir; opts may be nil.
// Without Options.ReadOnly, it
// takes the writer lock: a second writer waits LockTimeout, then fails with
// an error wrapping ErrLocked that names the process holding it. A writer
// upgrades an index of an older format in place.
func Open(dir string, opts *Options) (*Store, error) {
	if dir == "" {
		return nil, errors.New("local store: empty directory")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("local store %s: %w", dir, err)
	}
	s := newStore(abs, opts.resolve())
	if !s.opt.readOnly {
		if err := os.MkdirAll(abs, 0o755); err != nil {
			return nil, fmt.Errorf("create index directory: %w", err)
		}
		if s.lock, err = acquireWriterLock(abs, s.opt.lockTimeout); err != nil {
			return nil, err
		}
		if err := s.migrate(); err != nil {
			s.Close()
			return nil, err
		}
		if err := s.upgradeText(); err != nil {
			s.Close()
			return nil, err
		}
	} else if _, err := os.Stat(s.path); err != nil {
		return nil, fmt.Errorf("no index at %s (run rag-ingest first): %w", abs, err)
	}
	if err := s.load(); err != nil {
		s.Close()
		return nil, err
	}
	s.afterWrite()
	return s, nil
}

// load reads the whole index from disk into a fresh table and swaps it in.
func (s *Store) load() error {
	st, _ := statFile(s.path)
	var coll *retriever.Collection
	var t *table
	db, err := s.openDB(s.opt.readOnly)
	if err != nil {
		return err
	}
	err = db.View(func(tx *bolt.Tx) error {
		var err error
		if coll, err = collectionOf(tx); err != nil || coll == nil {
			return err
		}
		t, err = loadTable(tx, coll.Dim)
		return err
	})
	db.Close()
	if err != nil {
		return fmt.Errorf("load index %s: %w", s.path, err)
	}
	s.mu.Lock()
	old := s.t
	s.coll, s.t = coll, t
	s.mu.Unlock()
	if old != nil {
		old.release()
	}
	s.stamp.Store(&st)
	s.lastCheck.Store(time.Now().UnixNano())
	return nil
}

// String returns the index directory, or ":memory:".
func (s *Store) String() string {
	if s.temp {
		return ":memory:"
	}
	return s.dir
}

// Close stops background work (an index build in progress is abandoned),
// waits for a write in progress, and releases the writer lock. It is safe
// to call more than once, and concurrently with other calls: those that
// start after it fail.
func (s *Store) Close() error {
	s.bgMu.Lock()
	if s.closed.Load() {
		s.bgMu.Unlock()
		return nil
	}
	s.closed.Store(true)
	if s.timer != nil {
		s.timer.Stop()
	}
	s.bgMu.Unlock()
	s.cancel()
	s.bg.Wait()
	// A write that passed its closed check before Close began still holds
	// wmu: let it finish before another process may take the lock.
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.mu.Lock()
	if s.t != nil {
		s.t.release()
		s.t = nil
	}
	s.mu.Unlock()
	var err error
	if s.lock != nil {
		err = releaseWriterLock(s.lock)
	}
	if s.temp && s.dir != "" {
		if rerr := os.RemoveAll(s.dir); err == nil && rerr != nil {
			err = fmt.Errorf("remove in-memory index: %w", rerr)
		}
	}
	return err
}

// spawn runs fn in the background unless the store is closed, and reports
// whether it did. Close waits for every task spawn started.
func (s *Store) spawn(fn func()) bool {
	s.bgMu.Lock()
	defer s.bgMu.Unlock()
	if s.closed.Load() {
		return false
	}
	s.bgStarted.Add(1)
	s.bg.Go(fn)
	return true
}

func (s *Store) usable() error {
	if s.openErr != nil {
		return s.openErr
	}
	if s.closed.Load() {
		return fmt.Errorf("index %s: store is closed", s)
	}
	return nil
}

func (s *Store) writable() error {
	if err := s.usable(); err != nil {
		return err
	}
	if s.opt.readOnly {
		return fmt.Errorf("index %s: %w", s, ErrReadOnly)
	}
	return nil
}

// lockWrite takes wmu for a write, checking again that the store is usable
// (Close may have run while the caller waited). The caller unlocks.
func (s *Store) lockWrite() error {
	if err := s.writable(); err != nil {
		return err
	}
	s.wmu.Lock()
	if err := s.usable(); err != nil {
		s.wmu.Unlock()
		return err
	}
	return nil
}

// Ensure creates the collection, or checks the existing one.
func (s *Store) Ensure(ctx context.Context, c retriever.Collection) error {
	if err := s.usable(); err != nil {
		return err
	}
	if c.Model == "" || c.Dim <= 0 {
		return fmt.Errorf("index %s: invalid collection %+v: need a model id and a positive dimension", s, c)
	}
	s.refreshIfStale()
	s.mu.RLock()
	have := s.coll
	s.mu.RUnlock()
	if have != nil {
		if *have != c {
			return &retriever.MismatchError{Store: s.String(), Have: *have, Want: c}
		}
		return nil
	}
	if s.opt.readOnly {
		return fmt.Errorf("index %s has no collection yet (run rag-ingest first): %w", s, ErrReadOnly)
	}
	if err := s.lockWrite(); err != nil {
		return err
	}
	defer s.wmu.Unlock()
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.RLock()
	have = s.coll
	s.mu.RUnlock()
	if have != nil { // created by a concurrent Ensure
		if *have != c {
			return &retriever.MismatchError{Store: s.String(), Have: *have, Want: c}
		}
		return nil
	}
	if err := s.writeMeta(c); err != nil {
		return fmt.Errorf("index %s: %w", s, err)
	}
	s.mu.Lock()
	s.coll, s.t = &c, newTable(c.Dim)
	s.mu.Unlock()
	return nil
}

// Collection returns the collection, or an error wrapping
// retriever.ErrNotFound.
func (s *Store) Collection(ctx context.Context) (retriever.Collection, error) {
	if err := s.usable(); err != nil {
		return retriever.Collection{}, err
	}
	s.refreshIfStale()
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.coll == nil {
		return retriever.Collection{}, fmt.Errorf("index %s has no collection: %w", s, retriever.ErrNotFound)
	}
	return *s.coll, nil
}

// current returns the current table, or an error when the store has no
// collection yet. The caller holds mu.
func (s *Store) current() (*table, error) {
	if s.t == nil {
		return nil, fmt.Errorf("index %s has no collection (nothing indexed yet): %w", s, retriever.ErrNotFound)
	}
	return s.t, nil
}

// Count returns the number of records.
func (s *Store) Count(ctx context.Context) (int, error) {
	if err := s.usable(); err != nil {
		return 0, err
	}
	s.refreshIfStale()
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.t == nil {
		return 0, nil
	}
	return s.t.live, nil
}

// Tags returns every tag label with the number of images carrying it.
func (s *Store) Tags(ctx context.Context) (map[string]int, error) {
	if err := s.usable(); err != nil {
		return nil, err
	}
	s.refreshIfStale()
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := map[string]int{}
	if s.t != nil {
		for l, n := range s.t.tagCount {
			out[l] = n
		}
	}
	return out, nil
}

// IndexInfo describes the search structure a store currently uses.
type IndexInfo struct {
	Records int     // live records
	Kind    string  // "flat" (every row scanned) or "ivf"
	Lists   int     // IVF lists
	Probe   int     // lists probed per search
	Recall  float64 // calibrated recall@10 of the IVF index
	Bytes   int64   // memory held by the in-memory table and index
	Builds  int     // index builds this store has finished (not loads)
}

// Index reports the search structure in use.
func (s *Store) Index() IndexInfo {
	s.mu.RLock()
	defer s.mu.RUnlock()
	info := IndexInfo{Kind: "flat", Builds: int(s.builds.Load())}
	if s.t == nil {
		return info
	}
	info.Records, info.Bytes = s.t.live, s.t.bytes()
	if x := s.t.ivf; x != nil && !x.flat {
		info.Kind, info.Lists, info.Probe, info.Recall = "ivf", x.nlist(), x.nprobe, x.recall
	}
	return info
}

// --- writes ---

// prepared is a batch checked and quantised, ready to write.
type prepared struct {
	vecs   [][]float32 // normalised
	codes  [][]int8
	scales []float32
	lists  []int32
}

// prepare validates a batch and quantises its vectors, outside every lock
// but wmu.
func (s *Store) prepare(recs []retriever.Record, dim int) (*prepared, error) {
	p := &prepared{vecs: make([][]float32, len(recs)), codes: make([][]int8, len(recs)), scales: make([]float32, len(recs)), lists: make([]int32, len(recs))}
	paths := make(map[string]string, len(recs)) // path → id
	for i, r := range recs {
		if r.ID == "" {
			return nil, fmt.Errorf("index %s: record %d (%s) has no id", s, i, r.Payload.Path)
		}
		if pth := r.Payload.Path; pth != "" {
			if other, ok := paths[pth]; ok && other != r.ID {
				return nil, fmt.Errorf("index %s: records %s and %s in one batch have the same path %s", s, other, r.ID, pth)
			}
			paths[pth] = r.ID
		}
		if len(r.Vector) != dim {
			return nil, fmt.Errorf("index %s: record %s (%s): vector has %d dimensions, the collection %d", s, r.ID, r.Payload.Path, len(r.Vector), dim)
		}
		v := slices.Clone(r.Vector)
		if !normalize(v) {
			return nil, fmt.Errorf("index %s: record %s (%s): zero or non-finite vector", s, r.ID, r.Payload.Path)
		}
		p.vecs[i], p.codes[i] = v, make([]int8, dim)
		p.scales[i] = quantize(v, p.codes[i])
		p.lists[i] = -1
	}
	return p, nil
}

// applied is what a committed write changes in the table.
type applied struct {
	rows    []int32   // row of each record
	metas   []rowMeta // with stamps
	deleted []int32
	folders map[string]uint32
	tagsets map[uint32][]string
	free    []int32
	next    int
	seq     uint64
}

// Upsert writes the records, and deletes the other records at their paths,
// in one transaction, then makes the change visible to searches. The batch
// is rejected whole when a record is invalid.
func (s *Store) Upsert(ctx context.Context, recs []retriever.Record) error {
	if len(recs) == 0 {
		return s.writable()
	}
	if err := s.lockWrite(); err != nil {
		return err
	}
	defer s.wmu.Unlock()
	s.mu.RLock()
	coll, t := s.coll, s.t
	s.mu.RUnlock()
	if coll == nil {
		return fmt.Errorf("index %s: upsert before Ensure: %w", s, retriever.ErrNotFound)
	}
	p, err := s.prepare(recs, coll.Dim)
	if err != nil {
		return err
	}
	// Only this goroutine (holding wmu) changes t's rows, interning tables
	// and index, so reading them without mu is safe.
	x := t.ivf
	gen := uint32(0)
	if x != nil && !x.flat {
		gen = t.gen
		for i := range p.lists {
			p.lists[i] = x.nearestCode(p.codes[i])
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	a := &applied{folders: map[string]uint32{}, tagsets: map[uint32][]string{}}
	err = s.update(func(tx *bolt.Tx) error { return s.writeBatch(tx, t, recs, p, gen, a) })
	if err != nil {
		return fmt.Errorf("index %s: %w", s, err)
	}
	s.mu.Lock()
	s.apply(t, a, p)
	s.mu.Unlock()
	s.afterWrite()
	return nil
}

// writeBatch is Upsert's transaction.
func (s *Store) writeBatch(tx *bolt.Tx, t *table, recs []retriever.Record, p *prepared, gen uint32, a *applied) error {
	w, err := beginWrite(tx, t.dim)
	if err != nil {
		return err
	}
	a.seq = w.seq
	in := make(map[string]bool, len(recs))
	for _, r := range recs {
		in[r.ID] = true
	}
	// Other records at the batch's paths are replaced.
	for _, r := range recs {
		for _, row := range w.rowsAt(r.Payload.Path) {
			if id := w.idAt(row); !in[id] && !slices.Contains(a.deleted, row) {
				if err := w.delRow(row, id); err != nil {
					return err
				}
				a.deleted = append(a.deleted, row)
			}
		}
	}
	a.free, a.next = slices.Clone(t.free), t.rows
	a.rows, a.metas = make([]int32, len(recs)), make([]rowMeta, len(recs))
	for i := range recs {
		r := &recs[i]
		row, ok := w.rowOf(r.ID)
		if !ok {
			if n := len(a.free); n > 0 {
				row, a.free = a.free[n-1], a.free[:n-1]
			} else {
				row = int32(a.next)
				a.next++
			}
		}
		folder, err := s.internFolder(w, t, a, r.Payload.Folder)
		if err != nil {
			return err
		}
		tagset, err := s.internTagset(w, t, a, tagLabels(r.Payload.Tags))
		if err != nil {
			return err
		}
		m := rowMeta{scale: p.scales[i], stamp: w.stamp, folder: folder, tagset: tagset, list: p.lists[i]}
		if err := w.putRow(row, r, p.vecs[i], p.codes[i], m, gen); err != nil {
			return err
		}
		a.rows[i], a.metas[i] = row, m
	}
	a.free = append(a.free, a.deleted...)
	return w.finish()
}

func (s *Store) internFolder(w *wtx, t *table, a *applied, folder string) (uint32, error) {
	if id, ok := t.folderID[folder]; ok {
		return id, nil
	}
	if id, ok := a.folders[folder]; ok {
		return id, nil
	}
	id := uint32(len(t.folders) + len(a.folders))
	a.folders[folder] = id
	if err := w.folders.Put(u32key(id), []byte(folder)); err != nil {
		return 0, fmt.Errorf("write folder: %w", err)
	}
	return id, nil
}

func (s *Store) internTagset(w *wtx, t *table, a *applied, labels []string) (uint32, error) {
	key := tagKey(labels)
	if id, ok := t.tagsetID[key]; ok {
		return id, nil
	}
	for id, l := range a.tagsets {
		if tagKey(l) == key {
			return id, nil
		}
	}
	id := uint32(len(t.tagsets) + len(a.tagsets))
	a.tagsets[id] = labels
	if err := w.tagsets.Put(u32key(id), encodeLabels(labels)); err != nil {
		return 0, fmt.Errorf("write tag set: %w", err)
	}
	return id, nil
}

// apply makes a committed write visible in t. The caller holds mu.
func (s *Store) apply(t *table, a *applied, p *prepared) {
	for f, id := range a.folders {
		t.addFolder(id, f)
	}
	for id, labels := range a.tagsets {
		t.addTagset(id, labels)
	}
	for _, r := range a.deleted {
		t.clear(r)
	}
	t.ensureRows(a.next)
	for i, r := range a.rows {
		t.set(r, p.codes[i], a.metas[i])
	}
	t.free = a.free
	t.seq = a.seq
}

// Delete removes records by id.
func (s *Store) Delete(ctx context.Context, ids []string) error {
	if len(ids) == 0 {
		return s.writable()
	}
	if err := s.lockWrite(); err != nil {
		return err
	}
	defer s.wmu.Unlock()
	s.mu.RLock()
	t, err := s.current()
	s.mu.RUnlock()
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	var deleted []int32
	var seq uint64
	err = s.update(func(tx *bolt.Tx) error {
		w, err := beginWrite(tx, t.dim)
		if err != nil {
			return err
		}
		seq = w.seq
		for _, id := range ids {
			if r, ok := w.rowOf(id); ok && !slices.Contains(deleted, r) {
				if err := w.delRow(r, id); err != nil {
					return err
				}
				deleted = append(deleted, r)
			}
		}
		if len(deleted) == 0 {
			return errNothing
		}
		return w.finish()
	})
	if errors.Is(err, errNothing) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("index %s: %w", s, err)
	}
	s.mu.Lock()
	for _, r := range deleted {
		t.clear(r)
	}
	t.free = append(t.free, deleted...)
	t.seq = seq
	s.mu.Unlock()
	s.afterWrite()
	return nil
}

// errNothing rolls back a transaction that has nothing to do.
var errNothing = errors.New("nothing to write")
