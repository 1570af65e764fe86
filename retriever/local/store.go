package local

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cliprag/cliprag/retriever"
)

// DefaultExactThreshold is the number of records up to which a store
// searches exactly; above it, it builds an IVF index in the background.
const DefaultExactThreshold = 20000

// DefaultTargetRecall is the recall@10 against exact search that the IVF
// index is calibrated to reach on queries drawn near the stored vectors.
const DefaultTargetRecall = 0.97

// ErrLocked is wrapped by Open when another process is writing the index.
var ErrLocked = errors.New("index is locked by another process")

// ErrReadOnly is returned by writes to a store opened with ReadOnly.
var ErrReadOnly = errors.New("index is open read-only")

// Option configures Open.
type Option func(*options)

type options struct {
	readOnly     bool
	lockTimeout  time.Duration
	busyTimeout  time.Duration
	threshold    int
	targetRecall float64
	refresh      time.Duration
}

// ReadOnly opens the index for reading. A read-only store does not take the
// writer lock, so rag-search and rag-mcp can read while rag-ingest writes: it
// loads the committed state, then reloads it in the background when the
// file changes (checked at most every RefreshInterval).
func ReadOnly() Option { return func(o *options) { o.readOnly = true } }

// LockTimeout sets how long Open waits for another writer to finish before
// failing with ErrLocked (default 2s).
func LockTimeout(d time.Duration) Option { return func(o *options) { o.lockTimeout = d } }

// ExactThreshold sets the number of records above which searches use the
// approximate IVF index (default DefaultExactThreshold). A negative value
// never builds one.
func ExactThreshold(n int) Option { return func(o *options) { o.threshold = n } }

// TargetRecall sets the recall@10 the IVF index is calibrated to
// (default DefaultTargetRecall).
func TargetRecall(r float64) Option { return func(o *options) { o.targetRecall = r } }

// RefreshInterval sets how often a read-only store checks the file for
// commits by a writer (default 2s).
func RefreshInterval(d time.Duration) Option { return func(o *options) { o.refresh = d } }

// Store is the embedded index. It is safe for concurrent use.
type Store struct {
	dir  string // "" for OpenMemory
	path string // the bbolt file
	opt  options

	wmu  sync.Mutex // serialises writes
	lock *os.File   // the writer lock, nil when read-only or in memory

	mu   sync.RWMutex // guards coll and t; held for searches and in-memory swaps
	coll *retriever.Collection
	t    *table

	ctx      context.Context
	cancel   context.CancelFunc
	bg       sync.WaitGroup
	building atomic.Bool
	closed   atomic.Bool
	// bgMu orders starting background work against Close: spawn checks
	// closed and adds to bg under it, Close sets closed under it, so no
	// task is added once Close has begun waiting.
	bgMu      sync.Mutex
	bgStarted atomic.Int64 // background tasks started, for tests

	// Read-only refresh.
	lastCheck atomic.Int64 // unix nanos
	stamp     atomic.Pointer[fileStamp]
	reloading atomic.Bool
}

// OpenMemory returns a store that lives in memory only, for searching a
// folder that was never indexed. It has the same behaviour as an opened
// store, and loses everything on Close.
func OpenMemory(opts ...Option) *Store {
	s := newStore("", opts)
	return s
}

func newStore(dir string, opts []Option) *Store {
	o := options{lockTimeout: 2 * time.Second, busyTimeout: 30 * time.Second, threshold: DefaultExactThreshold, targetRecall: DefaultTargetRecall, refresh: 2 * time.Second}
	for _, f := range opts {
		f(&o)
	}
	s := &Store{dir: dir, opt: o}
	if dir != "" {
		s.path = filepath.Join(dir, dbName)
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	return s
}

// Open opens (creating if needed) the index in dir. Without ReadOnly, it
// takes the writer lock: a second writer waits LockTimeout, then fails with
// an error wrapping ErrLocked that names the process holding it.
func Open(dir string, opts ...Option) (*Store, error) {
	if dir == "" {
		return nil, errors.New("local store: empty directory")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("local store %s: %w", dir, err)
	}
	s := newStore(abs, opts)
	if !s.opt.readOnly {
		if err := os.MkdirAll(abs, 0o755); err != nil {
			return nil, fmt.Errorf("create index directory: %w", err)
		}
		if s.lock, err = acquireWriterLock(abs, s.opt.lockTimeout); err != nil {
			return nil, err
		}
	}
	if err := s.load(); err != nil {
		s.Close()
		return nil, err
	}
	s.maybeBuild()
	return s, nil
}

// load reads the whole index from disk into a fresh table and swaps it in.
func (s *Store) load() error {
	st, _ := statFile(s.path)
	coll, t, err := loadFile(s.path, s.opt.readOnly, s.opt.busyTimeout)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.coll, s.t = coll, t
	s.mu.Unlock()
	s.stamp.Store(&st)
	s.lastCheck.Store(time.Now().UnixNano())
	return nil
}

// String returns the index directory, or ":memory:".
func (s *Store) String() string {
	if s.dir == "" {
		return ":memory:"
	}
	return s.dir
}

// Close stops background work, waits for a write in progress, and releases
// the writer lock. It is safe to call more than once, and concurrently with
// other calls: those that start after it fail.
func (s *Store) Close() error {
	s.bgMu.Lock()
	if s.closed.Load() {
		s.bgMu.Unlock()
		return nil
	}
	s.closed.Store(true)
	s.bgMu.Unlock()
	s.cancel()
	s.bg.Wait()
	// A write that passed its closed check before Close began still holds
	// wmu: let it finish before another process may take the lock.
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.lock != nil {
		return releaseWriterLock(s.lock)
	}
	return nil
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

// Ensure creates the collection, or checks the existing one.
func (s *Store) Ensure(ctx context.Context, c retriever.Collection) error {
	if err := s.usable(); err != nil {
		return err
	}
	if c.Model == "" || c.Dim <= 0 {
		return fmt.Errorf("index %s: invalid collection %+v: need a model id and a positive dimension", s, c)
	}
	s.refreshIfStale()
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if err := s.usable(); err != nil { // closed while waiting for wmu
		return err
	}
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
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.path != "" {
		if err := writeMeta(s.path, c, s.opt.busyTimeout); err != nil {
			return err
		}
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

// table returns the current table and collection, or an error when the
// store has no collection yet.
func (s *Store) current() (*table, error) {
	if s.t == nil {
		return nil, fmt.Errorf("index %s has no collection (nothing indexed yet): %w", s, retriever.ErrNotFound)
	}
	return s.t, nil
}

// Upsert writes the records, and deletes the other records at their
// paths, in one transaction, then makes the change visible to searches.
// The batch is rejected whole when a record is invalid.
func (s *Store) Upsert(ctx context.Context, recs []retriever.Record) error {
	if err := s.writable(); err != nil {
		return err
	}
	if len(recs) == 0 {
		return nil
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if err := s.usable(); err != nil { // closed while waiting for wmu
		return err
	}
	s.mu.RLock()
	coll := s.coll
	s.mu.RUnlock()
	if coll == nil {
		return fmt.Errorf("index %s: upsert before Ensure: %w", s, retriever.ErrNotFound)
	}
	vecs, err := s.check(recs, coll.Dim)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	// Only this goroutine (holding wmu) changes s.t, so the stale rows
	// found under the read lock are still there when the write lands.
	s.mu.RLock()
	stale := s.t.staleAt(recs)
	x := s.t.ivf
	s.mu.RUnlock()
	if s.path != "" {
		if err := writeRecords(s.path, recs, vecs, stale, s.opt.busyTimeout); err != nil {
			return fmt.Errorf("index %s: %w", s, err)
		}
	}
	// Assign IVF lists outside the lock: the centroids never change once
	// an index is installed.
	lists := make([]int32, len(recs))
	for i := range lists {
		lists[i] = -1
		if x != nil && !x.useless {
			lists[i] = x.nearest(vecs[i])
		}
	}
	s.mu.Lock()
	for _, id := range stale {
		s.t.del(id)
	}
	for i, r := range recs {
		l := lists[i]
		if s.t.ivf != x {
			l = -1
		}
		s.t.put(r.ID, vecs[i], r.Payload, l)
	}
	s.mu.Unlock()
	s.maybeBuild()
	return nil
}

// check validates a batch and returns its vectors, normalised.
func (s *Store) check(recs []retriever.Record, dim int) ([][]float32, error) {
	vecs := make([][]float32, len(recs))
	paths := make(map[string]string, len(recs)) // path -> id
	for i, r := range recs {
		if r.ID == "" {
			return nil, fmt.Errorf("index %s: record %d (%s) has no id", s, i, r.Payload.Path)
		}
		if p := r.Payload.Path; p != "" {
			if other, ok := paths[p]; ok && other != r.ID {
				return nil, fmt.Errorf("index %s: records %s and %s in one batch have the same path %s", s, other, r.ID, p)
			}
			paths[p] = r.ID
		}
		if len(r.Vector) != dim {
			return nil, fmt.Errorf("index %s: record %s (%s): vector has %d dimensions, the collection %d", s, r.ID, r.Payload.Path, len(r.Vector), dim)
		}
		v := slices.Clone(r.Vector)
		if !normalize(v) {
			return nil, fmt.Errorf("index %s: record %s (%s): zero or non-finite vector", s, r.ID, r.Payload.Path)
		}
		vecs[i] = v
	}
	return vecs, nil
}

// Delete removes records by id.
func (s *Store) Delete(ctx context.Context, ids []string) error {
	if err := s.writable(); err != nil {
		return err
	}
	if len(ids) == 0 {
		return nil
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if err := s.usable(); err != nil { // closed while waiting for wmu
		return err
	}
	s.mu.RLock()
	_, err := s.current()
	s.mu.RUnlock()
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.path != "" {
		if err := deleteRecords(s.path, ids, s.opt.busyTimeout); err != nil {
			return fmt.Errorf("index %s: %w", s, err)
		}
	}
	s.mu.Lock()
	for _, id := range ids {
		s.t.del(id)
	}
	s.mu.Unlock()
	s.maybeBuild()
	return nil
}

// Search returns up to k hits by descending cosine similarity.
func (s *Store) Search(ctx context.Context, vector []float32, k int, f retriever.Filter) ([]retriever.Hit, error) {
	if err := s.usable(); err != nil {
		return nil, err
	}
	s.refreshIfStale()
	q := slices.Clone(vector)
	s.mu.RLock()
	defer s.mu.RUnlock()
	t, err := s.current()
	if err != nil {
		return nil, err
	}
	if len(q) != t.dim {
		return nil, fmt.Errorf("index %s: query has %d dimensions, the collection %d (model %s)", s, len(q), t.dim, s.coll.Model)
	}
	if !normalize(q) {
		return nil, fmt.Errorf("index %s: zero or non-finite query vector", s)
	}
	if k <= 0 || t.live() == 0 {
		return []retriever.Hit{}, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	fc := compile(f)
	cands := t.search(q, k, &fc)
	hits := make([]retriever.Hit, len(cands))
	for i, c := range cands {
		hits[i] = retriever.Hit{ID: t.ids[c.row], Score: c.score, Payload: clonePayload(t.pays[c.row])}
	}
	return hits, nil
}

func clonePayload(p retriever.Payload) retriever.Payload {
	p.Tags = slices.Clone(p.Tags)
	return p
}

// Get returns the records that exist, in the order of ids.
func (s *Store) Get(ctx context.Context, ids []string) ([]retriever.Record, error) {
	if err := s.usable(); err != nil {
		return nil, err
	}
	s.refreshIfStale()
	s.mu.RLock()
	defer s.mu.RUnlock()
	t, err := s.current()
	if err != nil {
		return nil, err
	}
	out := make([]retriever.Record, 0, len(ids))
	for _, id := range ids {
		r, ok := t.rowOf[id]
		if !ok {
			continue
		}
		out = append(out, retriever.Record{ID: id, Vector: slices.Clone(t.vec(r)), Payload: clonePayload(t.pays[r])})
	}
	return out, nil
}

// Files calls fn for every record. fn runs without locks held, so it may
// call the store.
func (s *Store) Files(ctx context.Context, fn func(retriever.FileEntry) error) error {
	if err := s.usable(); err != nil {
		return err
	}
	s.refreshIfStale()
	s.mu.RLock()
	t, err := s.current()
	if err != nil {
		s.mu.RUnlock()
		return err
	}
	es := make([]retriever.FileEntry, 0, t.live())
	for r, id := range t.ids {
		if id == "" {
			continue
		}
		p := &t.pays[r]
		es = append(es, retriever.FileEntry{ID: id, Path: p.Path, SHA256: p.SHA256, Size: p.Size, ModTime: p.ModTime, TagSet: p.TagSet})
	}
	s.mu.RUnlock()
	for _, e := range es {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	return nil
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
	return s.t.live(), nil
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
		for l, n := range s.t.tags {
			out[l] = n
		}
	}
	return out, nil
}

// IndexInfo describes the search structure a store currently uses.
type IndexInfo struct {
	Records int     // live records
	Kind    string  // "exact" or "ivf"
	Lists   int     // IVF lists
	Probe   int     // lists probed per search
	Recall  float64 // calibrated recall@10 of the IVF index
}

// Index reports the search structure in use; with wait, it first waits for
// a background IVF build to finish.
func (s *Store) Index(wait bool) IndexInfo {
	for wait && s.building.Load() {
		time.Sleep(10 * time.Millisecond)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.t == nil {
		return IndexInfo{Kind: "exact"}
	}
	info := IndexInfo{Records: s.t.live(), Kind: "exact"}
	if x := s.t.ivf; x != nil && !x.useless {
		info.Kind, info.Lists, info.Probe, info.Recall = "ivf", x.nlist(), x.nprobe, x.recall
	}
	return info
}

// --- background IVF build ---

// maybeBuild starts an IVF build when the collection has outgrown exact
// search, or has grown or shrunk a lot since the last build, and drops the
// index when the collection falls below the threshold.
func (s *Store) maybeBuild() {
	if s.closed.Load() || s.opt.threshold < 0 {
		return
	}
	s.mu.RLock()
	t := s.t
	need, drop := false, false
	if t != nil {
		n := t.live()
		switch {
		case n <= s.opt.threshold:
			drop = t.ivf != nil
		case t.ivf == nil:
			need = true
		default:
			need = n > 2*t.ivf.builtLive || n < t.ivf.builtLive/2
		}
	}
	s.mu.RUnlock()
	if drop {
		s.mu.Lock()
		if s.t == t {
			t.ivf = nil
		}
		s.mu.Unlock()
	}
	if !need || !s.building.CompareAndSwap(false, true) {
		return
	}
	started := s.spawn(func() {
		s.build(t)
		s.building.Store(false)
		// Writes during the build may have outgrown it already.
		s.maybeBuild()
	})
	if !started {
		s.building.Store(false)
	}
}

// build trains an IVF index over t and installs it. It takes the read lock
// in short pieces, so searches and writes go on meanwhile; rows written
// during the build are re-assigned when it is installed.
func (s *Store) build(t *table) {
	stop := func() bool { return s.ctx.Err() != nil }
	s.mu.Lock()
	if s.t != t {
		s.mu.Unlock()
		return
	}
	t.dirty = map[int32]struct{}{}
	rows := len(t.ids)
	live := t.live()
	dim := t.dim
	s.mu.Unlock()
	abandon := func() {
		s.mu.Lock()
		t.dirty = nil
		s.mu.Unlock()
	}

	rng := rand.New(rand.NewPCG(uint64(live), 0x1f))
	nlist := ivfLists(live)
	sampleN := min(live, max(32*nlist, 10000))
	// Sample live rows.
	s.mu.RLock()
	liveRows := make([]int32, 0, live)
	for r := range min(rows, len(t.ids)) {
		if t.ids[r] != "" {
			liveRows = append(liveRows, int32(r))
		}
	}
	rng.Shuffle(len(liveRows), func(i, j int) { liveRows[i], liveRows[j] = liveRows[j], liveRows[i] })
	sample := make([]float32, 0, sampleN*dim)
	for _, r := range liveRows[:min(sampleN, len(liveRows))] {
		sample = append(sample, t.vec(r)...)
	}
	s.mu.RUnlock()
	if len(sample) < nlist*dim {
		abandon()
		return
	}
	cent := kmeans(sample, dim, nlist, 8, rng, stop)
	x := &ivf{dim: dim, centroids: cent, lists: make([][]int32, nlist), builtLive: live}
	assign := make([]int32, rows)
	const chunk = 1024
	workers := runtime.GOMAXPROCS(0)
	for lo := 0; lo < rows; lo += chunk {
		if stop() {
			abandon()
			return
		}
		hi := min(lo+chunk, rows)
		s.mu.RLock()
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				for r := lo + w; r < hi; r += workers {
					if t.ids[r] == "" {
						assign[r] = -1
					} else {
						assign[r] = x.nearest(t.vec(int32(r)))
					}
				}
			})
		}
		wg.Wait()
		s.mu.RUnlock()
	}
	x.nprobe, x.recall = s.calibrate(t, x, assign, liveRows, rng, stop)
	if stop() {
		abandon()
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.t != t {
		return
	}
	for r := range t.dirty {
		for int(r) >= len(assign) {
			assign = append(assign, -1)
		}
		assign[r] = -1
		if t.ids[r] != "" {
			assign[r] = x.nearest(t.vec(r))
		}
	}
	t.dirty = nil
	if x.nprobe*2 > nlist {
		// The data has no structure IVF can use (uniform random vectors do
		// this): probing would scan most rows, slower than the contiguous
		// exact scan. Keep searching exactly until the next rebuild.
		x.lists, x.centroids = nil, nil
		t.ivf = &ivf{dim: dim, builtLive: live, nprobe: x.nprobe, recall: x.recall, useless: true}
		return
	}
	x.listOf = make([]int32, len(t.ids))
	x.posIn = make([]int32, len(t.ids))
	for r := range x.listOf {
		x.listOf[r], x.posIn[r] = -1, -1
		if r < len(assign) && assign[r] >= 0 && t.ids[r] != "" {
			x.add(int32(r), assign[r])
		}
	}
	t.ivf = x
}

// calibrate picks the smallest number of lists to probe whose recall@10
// against exact search reaches the target, on queries made from stored
// vectors plus random noise (cosine 0.45 to 0.89 to their source: near the
// data, as a text query is near the images it describes).
func (s *Store) calibrate(t *table, x *ivf, assign []int32, liveRows []int32, rng *rand.Rand, stop func() bool) (nprobe int, recall float64) {
	const queries, k = 100, 10
	nlist := x.nlist()
	// found[p] = true neighbours whose list ranks p among the lists by
	// centroid similarity to the query.
	found := make([]int, nlist+1)
	total := 0
	q := make([]float32, x.dim)
	for range queries {
		if stop() {
			return nlist, 1
		}
		src := liveRows[rng.IntN(len(liveRows))]
		noise := make([]float32, x.dim)
		for j := range noise {
			noise[j] = float32(rng.NormFloat64())
		}
		normalize(noise)
		lambda := float32(0.5 + 1.5*rng.Float64()) // cosine to the source from 0.89 down to 0.45
		s.mu.RLock()
		if t.ids[src] == "" {
			s.mu.RUnlock()
			continue
		}
		copy(q, t.vec(src))
		for j := range q {
			q[j] += lambda * noise[j]
		}
		normalize(q)
		all := filter{none: true}
		truth := t.exact(q, k, &all)
		s.mu.RUnlock()
		rank := make([]int, nlist)
		for p, c := range x.order(q) {
			rank[c] = p
		}
		for _, c := range truth {
			if int(c.row) >= len(assign) || assign[c.row] < 0 {
				continue // written during the build
			}
			found[rank[assign[c.row]]]++
			total++
		}
	}
	if total == 0 {
		return nlist, 1
	}
	cum := 0
	for p := range nlist {
		cum += found[p]
		if r := float64(cum) / float64(total); r >= s.opt.targetRecall {
			return p + 1, r
		}
	}
	return nlist, 1
}
