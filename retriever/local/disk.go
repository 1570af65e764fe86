package local

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/cliprag/cliprag/retriever"
)

// On-disk layout (format 3): one bbolt file, index.db, in the store's
// directory. Records live in rows, numbered from 0; a deleted row is reused
// by a later write. Row and chunk keys are 4-byte big-endian numbers, so
// the row buckets are laid out in row order and filled to the brim.
//
//	meta     "format" → "2", "model" → model id, "dim" → decimal,
//	         "vchunk" → rows per vecs value (decimal), "seq" → the last
//	         commit (u64), "gen" → the index generation (u32),
//	         "index" → the index header, "index.centroids" → its
//	         centroids (float32, little-endian)
//	codes    row → stamp u32 | gen u32 | list i32 | folder u32 | tagset u32 |
//	         scale f32 | int8 codes (what the in-memory table holds)
//	vecs     row/vchunk → vchunk vectors, float32 little-endian (for re-scoring)
//	pays     row → the payload (see payload.go)
//	ids      record id → row u32
//	paths    path → rows (u32 each; one, except in indexes written before
//	         Upsert replaced records by path)
//	folders  folder id u32 → folder;  tagsets  tag set id u32 → labels
//	ivf      chunk of rowChunk rows → the list of each (i32; the index's
//	         assignment when it was built; a row written later carries its
//	         list in its codes value, under the generation it was filed with)
//	log      seq u64 → rows changed by that commit (u32 each), the last
//	         logKeep commits, so readers apply what changed instead of
//	         reloading
//	terms, doclen  the full-text index over the payloads' text (text.go)
//
// and a LOCK file beside it that the writer holds with flock for its
// lifetime, holding the writer's pid and command for error messages.
//
// Each write is one bbolt transaction, so a crash leaves the last committed
// state, records and index together. Format 1 (JSON payloads keyed by id,
// no persisted index) is migrated on the first writable open; format 2 (no
// text index) is read as it is and upgraded by the first writer.
const (
	dbName   = "index.db"
	lockName = "LOCK"
	format   = "3"
	logKeep  = 4096
	codeHead = 24 // bytes before the codes in a codes value
)

var (
	bucketMeta    = []byte("meta")
	bucketCodes   = []byte("codes")
	bucketVecs    = []byte("vecs")
	bucketPays    = []byte("pays")
	bucketIDs     = []byte("ids")
	bucketPaths   = []byte("paths")
	bucketFolders = []byte("folders")
	bucketTagsets = []byte("tagsets")
	bucketIVF     = []byte("ivf")
	bucketLog     = []byte("log")
	allBuckets    = [][]byte{bucketCodes, bucketVecs, bucketPays, bucketIDs, bucketPaths, bucketFolders, bucketTagsets, bucketIVF, bucketLog, bucketTerms, bucketDocLen}
)

func u32key(n uint32) []byte { return binary.BigEndian.AppendUint32(nil, n) }
func u64key(n uint64) []byte { return binary.BigEndian.AppendUint64(nil, n) }

// stampOf maps a commit number to the non-zero stamp rows carry.
func stampOf(seq uint64) uint32 { return uint32(seq%math.MaxUint32) + 1 }

// vchunkFor picks how many vectors share one vecs value: about 32 KB, so
// values sit on their own pages whatever the dimension.
func vchunkFor(dim int) int { return max(1, 32768/(4*dim)) }

// openDB opens the bbolt file for one transaction. The writer closes it
// after each write, so readers in other processes (which need bbolt's
// shared flock) get in between batches.
func (s *Store) openDB(readOnly bool) (*bolt.DB, error) {
	db, err := bolt.Open(s.path, 0o644, &bolt.Options{
		Timeout: s.opt.busyTimeout, ReadOnly: readOnly, NoSync: s.temp,
		FreelistType: bolt.FreelistMapType, PreLoadFreelist: !readOnly,
	})
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, fmt.Errorf("index %s is busy: another process's write did not finish within %s; retry: %w", s.dir, s.opt.busyTimeout, ErrLocked)
	}
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", s.path, err)
	}
	return db, nil
}

// update runs fn in a write transaction. It takes fileMu for writing, so
// the searches of this process (each a short read transaction holding
// bbolt's shared file lock) cannot keep the writer's exclusive lock waiting
// for ever: flock queues nobody, sync.RWMutex lets a waiting writer in
// before new readers.
func (s *Store) update(fn func(tx *bolt.Tx) error) error {
	s.fileMu.Lock()
	defer s.fileMu.Unlock()
	db, err := s.openDB(false)
	if err != nil {
		return err
	}
	err = db.Update(fn)
	if cerr := db.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("close %s: %w", s.path, cerr)
	}
	return err
}

// view runs fn in a read transaction (fn must not call view or update).
func (s *Store) view(fn func(tx *bolt.Tx) error) error {
	s.fileMu.RLock()
	defer s.fileMu.RUnlock()
	db, err := s.openDB(true)
	if err != nil {
		return err
	}
	defer db.Close()
	return db.View(fn)
}

func readSeq(tx *bolt.Tx) (seq uint64, gen uint32) {
	mb := tx.Bucket(bucketMeta)
	if mb == nil {
		return 0, 0
	}
	if v := mb.Get([]byte("seq")); len(v) == 8 {
		seq = binary.BigEndian.Uint64(v)
	}
	if v := mb.Get([]byte("gen")); len(v) == 4 {
		gen = binary.BigEndian.Uint32(v)
	}
	return seq, gen
}

// writeMeta creates the collection: meta and empty buckets.
func (s *Store) writeMeta(c retriever.Collection) error {
	return s.update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketMeta)
		if err != nil {
			return err
		}
		for k, v := range map[string]string{"format": format, "model": c.Model, "dim": strconv.Itoa(c.Dim), "vchunk": strconv.Itoa(vchunkFor(c.Dim))} {
			if err := b.Put([]byte(k), []byte(v)); err != nil {
				return fmt.Errorf("write meta %s: %w", k, err)
			}
		}
		for _, name := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return fmt.Errorf("create bucket %s: %w", name, err)
			}
		}
		return nil
	})
}

// --- writing records ---

// wtx is one write transaction over the record buckets.
type wtx struct {
	tx                                                        *bolt.Tx
	meta, codes, vecs, pays, ids, paths, folders, tagsets, lg *bolt.Bucket
	dim, vchunk                                               int
	seq                                                       uint64
	stamp                                                     uint32
	chunks                                                    map[uint32][]byte // vecs values changed in this transaction
	changed                                                   []int32
	text                                                      textIndex
}

func beginWrite(tx *bolt.Tx, dim int) (*wtx, error) {
	w := &wtx{tx: tx, dim: dim, chunks: map[uint32][]byte{}}
	bs := []**bolt.Bucket{&w.meta, &w.codes, &w.vecs, &w.pays, &w.ids, &w.paths, &w.folders, &w.tagsets, &w.lg}
	for i, name := range [][]byte{bucketMeta, bucketCodes, bucketVecs, bucketPays, bucketIDs, bucketPaths, bucketFolders, bucketTagsets, bucketLog} {
		if *bs[i] = tx.Bucket(name); *bs[i] == nil {
			return nil, fmt.Errorf("index file has no %s bucket", name)
		}
	}
	w.text.terms, w.text.doclen = tx.Bucket(bucketTerms), tx.Bucket(bucketDocLen)
	if w.text.terms == nil || w.text.doclen == nil {
		return nil, errors.New("index file has no text index buckets")
	}
	// Row-keyed buckets grow at the end: fill their pages.
	w.codes.FillPercent, w.vecs.FillPercent, w.pays.FillPercent, w.lg.FillPercent = 1, 1, 1, 1
	w.vchunk, _ = strconv.Atoi(string(w.meta.Get([]byte("vchunk"))))
	if w.vchunk <= 0 {
		return nil, errors.New("corrupt meta: vchunk")
	}
	seq, _ := readSeq(tx)
	w.seq = seq + 1
	w.stamp = stampOf(w.seq)
	return w, nil
}

// rowOf returns the row of record id.
func (w *wtx) rowOf(id string) (int32, bool) {
	v := w.ids.Get([]byte(id))
	if len(v) != 4 {
		return 0, false
	}
	return int32(binary.BigEndian.Uint32(v)), true
}

// rowsAt returns the rows at path.
func (w *wtx) rowsAt(path string) []int32 {
	if path == "" {
		return nil
	}
	v := w.paths.Get([]byte(path))
	out := make([]int32, 0, len(v)/4)
	for i := 0; i+4 <= len(v); i += 4 {
		out = append(out, int32(binary.BigEndian.Uint32(v[i:])))
	}
	return out
}

func (w *wtx) setRowsAt(path string, rows []int32) error {
	if path == "" {
		return nil
	}
	if len(rows) == 0 {
		return w.paths.Delete([]byte(path))
	}
	v := make([]byte, 0, 4*len(rows))
	for _, r := range rows {
		v = binary.BigEndian.AppendUint32(v, uint32(r))
	}
	return w.paths.Put([]byte(path), v)
}

func (w *wtx) addPath(path string, r int32) error {
	rows := w.rowsAt(path)
	for _, x := range rows {
		if x == r {
			return nil
		}
	}
	return w.setRowsAt(path, append(rows, r))
}

func (w *wtx) removePath(path string, r int32) error {
	rows := w.rowsAt(path)
	for i, x := range rows {
		if x == r {
			return w.setRowsAt(path, append(rows[:i], rows[i+1:]...))
		}
	}
	return nil
}

// oldPath returns the path stored in row r's payload.
func (w *wtx) oldPath(r int32) string {
	v := w.pays.Get(u32key(uint32(r)))
	if v == nil {
		return ""
	}
	e, err := decodeFileEntry(v)
	if err != nil {
		return ""
	}
	return e.Path
}

// putRow writes record rec into row r: codes value m (stamp set here),
// vector vec, payload and index entries.
func (w *wtx) putRow(r int32, rec *retriever.Record, vec []float32, code []int8, m rowMeta, gen uint32) error {
	key := u32key(uint32(r))
	if old, ok := w.rowOf(rec.ID); ok && old == r {
		if p := w.oldPath(r); p != rec.Payload.Path {
			if err := w.removePath(p, r); err != nil {
				return err
			}
		}
	}
	cv := make([]byte, codeHead, codeHead+w.dim)
	binary.LittleEndian.PutUint32(cv[0:], w.stamp)
	binary.LittleEndian.PutUint32(cv[4:], gen)
	binary.LittleEndian.PutUint32(cv[8:], uint32(m.list))
	binary.LittleEndian.PutUint32(cv[12:], m.folder)
	binary.LittleEndian.PutUint32(cv[16:], m.tagset)
	binary.LittleEndian.PutUint32(cv[20:], math.Float32bits(m.scale))
	for _, c := range code {
		cv = append(cv, byte(c))
	}
	if err := w.codes.Put(key, cv); err != nil {
		return fmt.Errorf("write codes of %s: %w", rec.ID, err)
	}
	if err := w.text.remove(r, w.pays.Get(key)); err != nil {
		return err
	}
	if err := w.text.add(r, rec.Payload.Text); err != nil {
		return err
	}
	if err := w.pays.Put(key, encodePayload(nil, w.stamp, rec.ID, &rec.Payload)); err != nil {
		return fmt.Errorf("write payload of %s: %w", rec.ID, err)
	}
	if err := w.ids.Put([]byte(rec.ID), key); err != nil {
		return fmt.Errorf("write id %s: %w", rec.ID, err)
	}
	if err := w.addPath(rec.Payload.Path, r); err != nil {
		return fmt.Errorf("write path of %s: %w", rec.ID, err)
	}
	c := w.chunk(uint32(r) / uint32(w.vchunk))
	o := int(uint32(r)%uint32(w.vchunk)) * 4 * w.dim
	for i, x := range vec {
		binary.LittleEndian.PutUint32(c[o+4*i:], math.Float32bits(x))
	}
	w.changed = append(w.changed, r)
	return nil
}

// chunk returns the vecs value n, for changing in this transaction.
func (w *wtx) chunk(n uint32) []byte {
	if c, ok := w.chunks[n]; ok {
		return c
	}
	c := make([]byte, 4*w.dim*w.vchunk)
	copy(c, w.vecs.Get(u32key(n)))
	w.chunks[n] = c
	return c
}

// delRow deletes the record in row r (its id given).
func (w *wtx) delRow(r int32, id string) error {
	key := u32key(uint32(r))
	if err := w.removePath(w.oldPath(r), r); err != nil {
		return fmt.Errorf("delete path of %s: %w", id, err)
	}
	if err := w.text.remove(r, w.pays.Get(key)); err != nil {
		return err
	}
	for _, b := range []*bolt.Bucket{w.codes, w.pays} {
		if err := b.Delete(key); err != nil {
			return fmt.Errorf("delete %s: %w", id, err)
		}
	}
	if err := w.ids.Delete([]byte(id)); err != nil {
		return fmt.Errorf("delete id %s: %w", id, err)
	}
	w.changed = append(w.changed, r)
	return nil
}

// idAt returns the id stored in row r.
func (w *wtx) idAt(r int32) string {
	v := w.pays.Get(u32key(uint32(r)))
	if v == nil {
		return ""
	}
	e, _ := decodeFileEntry(v)
	return e.ID
}

// finish writes the changed vecs values, the log entry and the commit number.
func (w *wtx) finish() error {
	for n, c := range w.chunks {
		if err := w.vecs.Put(u32key(n), c); err != nil {
			return fmt.Errorf("write vectors: %w", err)
		}
	}
	if err := w.text.finish(w.meta); err != nil {
		return err
	}
	return w.logAndSeq(w.changed)
}

func (w *wtx) logAndSeq(rows []int32) error {
	v := make([]byte, 0, 4*len(rows))
	for _, r := range rows {
		v = binary.BigEndian.AppendUint32(v, uint32(r))
	}
	if err := w.lg.Put(u64key(w.seq), v); err != nil {
		return fmt.Errorf("write log: %w", err)
	}
	if w.seq > logKeep {
		if err := w.lg.Delete(u64key(w.seq - logKeep)); err != nil {
			return fmt.Errorf("trim log: %w", err)
		}
	}
	return w.meta.Put([]byte("seq"), u64key(w.seq))
}

// --- the index ---

// indexHeader is the persisted description of the index.
type indexHeader struct {
	Kind      byte // 0 none, 1 ivf, 2 flat (built, found no structure)
	Nprobe    uint32
	Recall    float64
	BuiltLive uint64
}

func (h indexHeader) encode() []byte {
	b := []byte{h.Kind}
	b = binary.LittleEndian.AppendUint32(b, h.Nprobe)
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(h.Recall))
	return binary.LittleEndian.AppendUint64(b, h.BuiltLive)
}

func decodeHeader(b []byte) (indexHeader, bool) {
	if len(b) != 21 {
		return indexHeader{}, false
	}
	return indexHeader{Kind: b[0], Nprobe: binary.LittleEndian.Uint32(b[1:]), Recall: math.Float64frombits(binary.LittleEndian.Uint64(b[5:])), BuiltLive: binary.LittleEndian.Uint64(b[13:])}, true
}

func floatsBytes(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

func bytesFloats(b []byte) []float32 {
	v := make([]float32, len(b)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v
}

// writeIndex persists x (nil: no index) with the list of every row, as
// generation gen, in the transaction of w.
func (w *wtx) writeIndex(x *ivf, assign []int32, gen uint32) error {
	h := indexHeader{}
	if x != nil {
		h = indexHeader{Kind: 1, Nprobe: uint32(x.nprobe), Recall: x.recall, BuiltLive: uint64(x.builtLive)}
		if x.flat {
			h.Kind = 2
		}
	}
	put := func(k string, v []byte) error {
		if v == nil {
			return w.meta.Delete([]byte(k))
		}
		return w.meta.Put([]byte(k), v)
	}
	var cent []byte
	if h.Kind == 1 {
		cent = floatsBytes(x.cent.vecs)
	}
	for k, v := range map[string][]byte{"index": h.encode(), "index.centroids": cent, "gen": binary.BigEndian.AppendUint32(nil, gen)} {
		if err := put(k, v); err != nil {
			return fmt.Errorf("write index: %w", err)
		}
	}
	if err := w.tx.DeleteBucket(bucketIVF); err != nil && !errors.Is(err, berrors.ErrBucketNotFound) {
		return fmt.Errorf("write index: %w", err)
	}
	ib, err := w.tx.CreateBucket(bucketIVF)
	if err != nil {
		return fmt.Errorf("write index: %w", err)
	}
	ib.FillPercent = 1
	if h.Kind == 1 {
		for lo := 0; lo < len(assign); lo += rowChunk {
			v := make([]byte, 0, 4*rowChunk)
			for _, l := range assign[lo:min(lo+rowChunk, len(assign))] {
				v = binary.LittleEndian.AppendUint32(v, uint32(l))
			}
			if err := ib.Put(u32key(uint32(lo/rowChunk)), v); err != nil {
				return fmt.Errorf("write index: %w", err)
			}
		}
	}
	return w.logAndSeq(nil)
}

// readIndex reads the persisted index, without lists.
func readIndex(tx *bolt.Tx, dim int) (*ivf, error) {
	mb := tx.Bucket(bucketMeta)
	h, ok := decodeHeader(mb.Get([]byte("index")))
	if !ok || h.Kind == 0 {
		return nil, nil
	}
	if h.Kind == 2 {
		return &ivf{dim: dim, flat: true, nprobe: int(h.Nprobe), recall: h.Recall, builtLive: int(h.BuiltLive)}, nil
	}
	cent := bytesFloats(mb.Get([]byte("index.centroids")))
	if len(cent) == 0 || len(cent)%dim != 0 {
		return nil, errors.New("corrupt index centroids")
	}
	x := newIVF(dim, cent)
	x.nprobe, x.recall, x.builtLive = int(h.Nprobe), h.Recall, int(h.BuiltLive)
	return x, nil
}

// --- loading ---

// collectionOf reads the collection from meta; nil for a new file.
func collectionOf(tx *bolt.Tx) (*retriever.Collection, error) {
	mb := tx.Bucket(bucketMeta)
	if mb == nil {
		return nil, nil
	}
	// Format 2 differs only in having no text index: readers read it
	// (SearchText finds nothing), the first writer upgrades it.
	if f := string(mb.Get([]byte("format"))); f != format && f != "2" {
		return nil, &formatError{have: f}
	}
	dim, err := strconv.Atoi(string(mb.Get([]byte("dim"))))
	model := string(mb.Get([]byte("model")))
	if err != nil || dim <= 0 || model == "" {
		return nil, fmt.Errorf("corrupt meta: model %q dim %q", model, mb.Get([]byte("dim")))
	}
	return &retriever.Collection{Model: model, Dim: dim}, nil
}

// formatError reports an index file in a format this code does not read.
type formatError struct{ have string }

func (e *formatError) Error() string {
	if e.have == "1" {
		return "index format 1 was written by an older cliprag: open it once with rag-ingest (any run) to upgrade it to format " + format
	}
	return fmt.Sprintf("index format %q, this cliprag reads %q", e.have, format)
}

// loadTable reads the in-memory table and the index from a read
// transaction.
func loadTable(tx *bolt.Tx, dim int) (*table, error) {
	t := newTable(dim)
	if err := loadInterned(tx, t); err != nil {
		return nil, err
	}
	x, err := readIndex(tx, dim)
	if err != nil {
		return nil, err
	}
	seq, gen := readSeq(tx)
	t.seq, t.gen = seq, gen
	assign, err := loadRows(tx, t, x != nil && !x.flat)
	if err != nil {
		return nil, err
	}
	if x != nil && !x.flat {
		if assign, err = loadAssign(tx, t, x, assign); err != nil {
			return nil, err
		}
	}
	if x != nil {
		x.install(t, assign)
	}
	t.freeRows()
	return t, nil
}

// loadInterned reads the folder and tag set tables.
func loadInterned(tx *bolt.Tx, t *table) error {
	fb, tb := tx.Bucket(bucketFolders), tx.Bucket(bucketTagsets)
	if fb == nil || tb == nil {
		return errors.New("missing buckets")
	}
	if err := fb.ForEach(func(k, v []byte) error {
		t.addFolder(binary.BigEndian.Uint32(k), string(v))
		return nil
	}); err != nil {
		return err
	}
	return tb.ForEach(func(k, v []byte) error {
		labels, err := decodeLabels(v)
		t.addTagset(binary.BigEndian.Uint32(k), labels)
		return err
	})
}

// loadRows reads every row's codes into t. With lists, it returns the list
// of each row written under the current index generation (-1 for others).
func loadRows(tx *bolt.Tx, t *table, lists bool) ([]int32, error) {
	cb := tx.Bucket(bucketCodes)
	if cb == nil {
		return nil, errors.New("missing buckets")
	}
	var assign []int32
	drop := newPageDropper(tx)
	defer drop.flush()
	c := cb.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		r := int32(binary.BigEndian.Uint32(k))
		code, m, rowGen, err := parseCodes(v, t.dim)
		if err != nil {
			return nil, fmt.Errorf("row %d: %w", r, err)
		}
		if int(m.folder) >= len(t.folders) || int(m.tagset) >= len(t.tagsets) {
			return nil, fmt.Errorf("row %d: unknown folder or tag set", r)
		}
		t.ensureRows(int(r) + 1)
		*t.meta(r) = m
		copy(t.code(r), code)
		signBits(code, t.rowBits(r))
		t.live++
		t.setRows[m.tagset]++
		for _, l := range t.tagsets[m.tagset] {
			t.tagCount[l]++
		}
		if lists && rowGen == t.gen && m.list >= 0 {
			assign = growAssign(assign, int(r)+1)
			assign[r] = m.list
		}
		drop.saw(v)
	}
	return assign, nil
}

// loadAssign fills in, from the index's assignment chunks, the list of
// each live row that its codes value does not give.
func loadAssign(tx *bolt.Tx, t *table, x *ivf, assign []int32) ([]int32, error) {
	assign = growAssign(assign, t.rows)
	ib := tx.Bucket(bucketIVF)
	if ib == nil {
		return assign, nil
	}
	err := ib.ForEach(func(k, v []byte) error {
		lo := int(binary.BigEndian.Uint32(k)) * rowChunk
		for i := 0; i+4 <= len(v) && lo+i/4 < t.rows; i += 4 {
			r := lo + i/4
			l := int32(binary.LittleEndian.Uint32(v[i:]))
			if assign[r] < 0 && t.meta(int32(r)).stamp != 0 && l >= 0 && l < int32(x.nlist()) {
				assign[r] = l
			}
		}
		return nil
	})
	return assign, err
}

// parseCodes splits a codes value into the codes and the row meta (list
// set, pos not), and returns the generation the list belongs to.
func parseCodes(v []byte, dim int) ([]int8, rowMeta, uint32, error) {
	if len(v) != codeHead+dim {
		return nil, rowMeta{}, 0, fmt.Errorf("codes of %d bytes, want %d", len(v), codeHead+dim)
	}
	m := rowMeta{
		stamp:  binary.LittleEndian.Uint32(v[0:]),
		list:   int32(binary.LittleEndian.Uint32(v[8:])),
		folder: binary.LittleEndian.Uint32(v[12:]),
		tagset: binary.LittleEndian.Uint32(v[16:]),
		scale:  math.Float32frombits(binary.LittleEndian.Uint32(v[20:])),
		pos:    -1,
	}
	gen := binary.LittleEndian.Uint32(v[4:])
	if m.stamp == 0 {
		return nil, rowMeta{}, 0, errors.New("zero stamp")
	}
	return viewAs[int8](v[codeHead:], dim), m, gen, nil
}

func encodeLabels(labels []string) []byte {
	b := binary.AppendUvarint(nil, uint64(len(labels)))
	for _, l := range labels {
		b = appendString(b, l)
	}
	return b
}

func decodeLabels(b []byte) ([]string, error) {
	r := payloadReader{b: b}
	n := r.uvarint()
	if n > uint64(len(b)) {
		return nil, errPayload
	}
	out := make([]string, n)
	for i := range out {
		out[i] = r.string()
	}
	return out, r.err
}

// vector decodes the float32 vector of row r from the vecs bucket into v.
func vectorAt(vb *bolt.Bucket, r int32, dim, vchunk int, v []float32) bool {
	c := vb.Get(u32key(uint32(r) / uint32(vchunk)))
	o := int(uint32(r)%uint32(vchunk)) * 4 * dim
	if len(c) < o+4*dim {
		return false
	}
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(c[o+4*i:]))
	}
	return true
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
