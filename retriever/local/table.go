package local

import (
	"slices"
	"strings"
	"unsafe"

	"github.com/cliprag/cliprag/retriever"
)

// rowChunk is the number of rows in one chunk of the in-memory table. The
// table grows a chunk at a time, so growing never copies what it holds.
const rowChunk = 4096

// rowMeta is what the table keeps per row besides its codes.
type rowMeta struct {
	scale  float32 // quantisation scale: codes·scale ≈ the vector
	stamp  uint32  // the commit that wrote the row (see stampOf); 0 marks a free row
	folder uint32  // folder id; 0 for none
	tagset uint32  // tag set id; 0 for no tags
	list   int32   // IVF list, -1 when in none
	pos    int32   // position in that list
}

// chunk holds rowChunk rows: their int8 codes and their rowMeta, in one
// block of memory outside the Go heap.
type chunk struct {
	codes  []int8
	bits   []uint64 // sign bits of the codes, words(dim) per row
	meta   []rowMeta
	mem    []byte
	mapped bool
}

func newChunk(dim int) *chunk {
	metaBytes := rowChunk * int(unsafe.Sizeof(rowMeta{}))
	bitBytes := rowChunk * 8 * words(dim)
	mem, mapped := offHeap(bitBytes + metaBytes + rowChunk*dim)
	c := &chunk{mem: mem, mapped: mapped}
	c.bits = viewAs[uint64](mem[:bitBytes], rowChunk*words(dim))
	c.meta = viewAs[rowMeta](mem[bitBytes:bitBytes+metaBytes], rowChunk)
	c.codes = viewAs[int8](mem[bitBytes+metaBytes:], rowChunk*dim)
	for i := range c.meta {
		c.meta[i].list, c.meta[i].pos = -1, -1
	}
	return c
}

// table is the in-memory part of a store: per row, the int8 codes of its
// vector and what filters need (folder, tag set), plus the IVF index over
// the rows. Vectors in full precision, ids and payloads stay on disk.
// Rows are stable: a deleted row is free until a later write reuses it.
type table struct {
	dim    int
	chunks []*chunk
	rows   int     // rows [0, rows) exist in chunks
	live   int     // rows holding a record
	free   []int32 // free rows below rows, reused by the writer

	folders  []string // folder id → folder; folders[0] is ""
	folderID map[string]uint32
	tagsets  [][]string // tag set id → labels; tagsets[0] is none
	tagsetID map[string]uint32
	setRows  []int // live rows per tag set
	tagCount map[string]int

	ivf *ivf
	gen uint32 // the index generation: bumped by each build or drop
	seq uint64 // the last commit the table reflects

	// Set while an IVF build runs: rows changed since it began.
	dirty map[int32]struct{}
}

func newTable(dim int) *table {
	return &table{
		dim:      dim,
		folders:  []string{""},
		folderID: map[string]uint32{"": 0},
		tagsets:  [][]string{nil},
		tagsetID: map[string]uint32{"": 0},
		setRows:  []int{0},
		tagCount: map[string]int{},
	}
}

// release frees the table's chunks. Nothing may use the table afterwards.
func (t *table) release() {
	for _, c := range t.chunks {
		freeOffHeap(c.mem, c.mapped)
	}
	t.chunks = nil
}

// bytes returns the memory the table and its index hold.
func (t *table) bytes() int64 {
	n := int64(len(t.chunks)) * int64(rowChunk*(t.dim+8*words(t.dim)+int(unsafe.Sizeof(rowMeta{}))))
	if t.ivf != nil {
		n += t.ivf.bytes()
	}
	return n
}

func (t *table) meta(r int32) *rowMeta { return &t.chunks[r/rowChunk].meta[r%rowChunk] }

func (t *table) rowBits(r int32) []uint64 {
	w := words(t.dim)
	o := int(r%rowChunk) * w
	return t.chunks[r/rowChunk].bits[o : o+w : o+w]
}

func (t *table) code(r int32) []int8 {
	o := int(r%rowChunk) * t.dim
	return t.chunks[r/rowChunk].codes[o : o+t.dim : o+t.dim]
}

// ensureRows makes rows [0, n) exist.
func (t *table) ensureRows(n int) {
	for len(t.chunks)*rowChunk < n {
		t.chunks = append(t.chunks, newChunk(t.dim))
	}
	t.rows = max(t.rows, n)
}

// isLive reports whether row r holds a record.
func (t *table) isLive(r int32) bool { return int(r) < t.rows && t.meta(r).stamp != 0 }

// set stores a record in row r: its codes and meta (stamp non-zero, list
// the IVF list it belongs to or -1).
func (t *table) set(r int32, code []int8, m rowMeta) {
	t.ensureRows(int(r) + 1)
	old := t.meta(r)
	if old.stamp != 0 {
		t.unlink(r)
	} else {
		t.live++
	}
	list := m.list
	m.list, m.pos = -1, -1
	*old = m
	copy(t.code(r), code)
	signBits(code, t.rowBits(r))
	t.setRows[m.tagset]++
	for _, l := range t.tagsets[m.tagset] {
		t.tagCount[l]++
	}
	if x := t.ivf; x != nil && !x.flat {
		if list < 0 || int(list) >= x.nlist() {
			list = x.nearestCode(t.code(r))
		}
		x.add(t, r, list)
	}
	if t.dirty != nil {
		t.dirty[r] = struct{}{}
	}
}

// clear empties row r.
func (t *table) clear(r int32) {
	if !t.isLive(r) {
		return
	}
	t.unlink(r)
	m := t.meta(r)
	*m = rowMeta{list: -1, pos: -1}
	t.live--
	if t.dirty != nil {
		t.dirty[r] = struct{}{}
	}
}

// unlink removes row r from the tag counts and its IVF list.
func (t *table) unlink(r int32) {
	m := t.meta(r)
	t.setRows[m.tagset]--
	for _, l := range t.tagsets[m.tagset] {
		if t.tagCount[l]--; t.tagCount[l] <= 0 {
			delete(t.tagCount, l)
		}
	}
	if t.ivf != nil {
		t.ivf.remove(t, r)
	}
}

// freeRows recomputes the free list from the rows' stamps.
func (t *table) freeRows() {
	t.free = t.free[:0]
	for r := t.rows - 1; r >= 0; r-- {
		if t.meta(int32(r)).stamp == 0 {
			t.free = append(t.free, int32(r))
		}
	}
}

// tagKey is the interning key of a tag set: its labels in order.
func tagKey(labels []string) string { return strings.Join(labels, "\x00") }

func tagLabels(tags []retriever.Tag) []string {
	if len(tags) == 0 {
		return nil
	}
	out := make([]string, len(tags))
	for i, tg := range tags {
		out[i] = tg.Label
	}
	return out
}

// addFolder records folder id (assigned by the writer, in order).
func (t *table) addFolder(id uint32, folder string) {
	for uint32(len(t.folders)) <= id {
		t.folders = append(t.folders, "")
	}
	t.folders[id] = folder
	t.folderID[folder] = id
}

// addTagset records tag set id.
func (t *table) addTagset(id uint32, labels []string) {
	for uint32(len(t.tagsets)) <= id {
		t.tagsets = append(t.tagsets, nil)
		t.setRows = append(t.setRows, 0)
	}
	t.tagsets[id] = labels
	t.tagsetID[tagKey(labels)] = id
}

// --- filters ---

// filter is a retriever.Filter compiled against a table: which folder ids
// and tag set ids pass.
type filter struct {
	folders []bool // by folder id; nil: any folder
	sets    []bool // by tag set id; nil: any tags
	min     float32
	hasMin  bool
	none    bool // no payload condition
}

func (t *table) compile(f retriever.Filter) filter {
	c := filter{min: f.MinScore, hasMin: f.MinScore != 0}
	if prefix := folderPrefix(f); prefix != "" {
		c.folders = make([]bool, len(t.folders))
		for id, folder := range t.folders {
			c.folders[id] = folderUnder(folder, prefix)
		}
	}
	if len(f.AnyTags) > 0 || len(f.AllTags) > 0 {
		c.sets = make([]bool, len(t.tagsets))
		for id, labels := range t.tagsets {
			c.sets[id] = tagsPass(f, labels)
		}
	}
	c.none = c.folders == nil && c.sets == nil
	return c
}

// folderPrefix returns f's folder prefix without a trailing slash.
func folderPrefix(f retriever.Filter) string { return strings.TrimRight(f.FolderPrefix, "/") }

// folderUnder reports whether folder is prefix or below it, by path
// component.
func folderUnder(folder, prefix string) bool {
	return folder == prefix || strings.HasPrefix(folder, prefix) && len(folder) > len(prefix) && folder[len(prefix)] == '/'
}

// tagsPass reports whether a record with these tag labels passes f's tag
// conditions.
func tagsPass(f retriever.Filter, labels []string) bool {
	ok := len(f.AnyTags) == 0 || slices.ContainsFunc(f.AnyTags, func(l string) bool { return slices.Contains(labels, l) })
	for _, l := range f.AllTags {
		ok = ok && slices.Contains(labels, l)
	}
	return ok
}

// pass reports whether a row passes the payload conditions.
func (f *filter) pass(m *rowMeta) bool {
	if f.none {
		return true
	}
	if f.folders != nil && (int(m.folder) >= len(f.folders) || !f.folders[m.folder]) {
		return false
	}
	return f.sets == nil || int(m.tagset) < len(f.sets) && f.sets[m.tagset]
}
