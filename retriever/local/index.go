package local

import (
	"container/heap"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/viterin/vek/vek32"

	"github.com/cliprag/cliprag/retriever"
)

// table is the in-memory state of a store: every vector in one contiguous
// slab, payloads beside them, and optionally an IVF index over the rows.
// Rows are stable: a deleted row is put on a free list and reused, so the
// IVF lists and the slab never need compacting.
type table struct {
	dim   int
	ids   []string            // row -> id; "" marks a free row
	vecs  []float32           // row*dim .. row*dim+dim
	pays  []retriever.Payload // row -> payload
	rowOf map[string]int32
	paths pathIndex
	free  []int32
	tags  map[string]int
	ivf   *ivf // nil: exact search only

	// Set while an IVF build runs: rows changed since the build began.
	dirty map[int32]struct{}

	intern map[string]string // folders and tag labels, shared between rows
}

func newTable(dim int) *table {
	return &table{dim: dim, rowOf: map[string]int32{}, paths: newPathIndex(), tags: map[string]int{}, intern: map[string]string{}}
}

// pathIndex maps a path to the rows holding it: one row, or several only
// in an index written before Upsert replaced records by path (or by
// another program). Empty paths are not indexed.
type pathIndex struct {
	one  map[string]int32
	more map[string][]int32 // rows beyond the first, rarely used
}

func newPathIndex() pathIndex {
	return pathIndex{one: map[string]int32{}, more: map[string][]int32{}}
}

func (x *pathIndex) add(p string, r int32) {
	if p == "" {
		return
	}
	if _, ok := x.one[p]; !ok {
		x.one[p] = r
		return
	}
	x.more[p] = append(x.more[p], r)
}

func (x *pathIndex) remove(p string, r int32) {
	if p == "" {
		return
	}
	m := x.more[p]
	if first, ok := x.one[p]; ok && first == r {
		if len(m) == 0 {
			delete(x.one, p)
			return
		}
		x.one[p], m = m[len(m)-1], m[:len(m)-1]
	} else if i := slices.Index(m, r); i >= 0 {
		m = slices.Delete(m, i, i+1)
	}
	if len(m) == 0 {
		delete(x.more, p)
	} else {
		x.more[p] = m
	}
}

// rows returns the rows holding path p.
func (x *pathIndex) rows(p string) []int32 {
	r, ok := x.one[p]
	if !ok {
		return nil
	}
	return append([]int32{r}, x.more[p]...)
}

func (t *table) live() int { return len(t.rowOf) }

func (t *table) vec(r int32) []float32 {
	o := int(r) * t.dim
	return t.vecs[o : o+t.dim : o+t.dim]
}

func (t *table) str(s string) string {
	if v, ok := t.intern[s]; ok {
		return v
	}
	t.intern[s] = s
	return s
}

// put inserts or replaces a record; v must be normalised already. list is
// the IVF list v belongs to when the caller computed it against t.ivf
// (outside the write lock), or -1.
func (t *table) put(id string, v []float32, p retriever.Payload, list int32) {
	p.Folder = t.str(p.Folder)
	p.Model = t.str(p.Model)
	if len(p.Tags) > 0 {
		tags := make([]retriever.Tag, len(p.Tags))
		for i, tg := range p.Tags {
			tags[i] = retriever.Tag{Label: t.str(tg.Label), Score: tg.Score}
		}
		p.Tags = tags
	}
	r, ok := t.rowOf[id]
	if ok {
		t.untag(t.pays[r])
		t.paths.remove(t.pays[r].Path, r)
	} else if n := len(t.free); n > 0 {
		r = t.free[n-1]
		t.free = t.free[:n-1]
	} else {
		r = int32(len(t.ids))
		t.ids = append(t.ids, "")
		t.pays = append(t.pays, retriever.Payload{})
		t.vecs = append(t.vecs, make([]float32, t.dim)...)
	}
	t.ids[r] = id
	t.rowOf[id] = r
	copy(t.vec(r), v)
	t.pays[r] = p
	t.paths.add(p.Path, r)
	for _, tg := range p.Tags {
		t.tags[tg.Label]++
	}
	t.changed(r, list)
}

func (t *table) untag(p retriever.Payload) {
	for _, tg := range p.Tags {
		if t.tags[tg.Label]--; t.tags[tg.Label] <= 0 {
			delete(t.tags, tg.Label)
		}
	}
}

func (t *table) del(id string) {
	r, ok := t.rowOf[id]
	if !ok {
		return
	}
	t.untag(t.pays[r])
	t.paths.remove(t.pays[r].Path, r)
	delete(t.rowOf, id)
	t.ids[r] = ""
	t.pays[r] = retriever.Payload{}
	clear(t.vec(r))
	t.free = append(t.free, r)
	t.changed(r, -1)
}

// changed keeps the IVF lists (and a running build) in step with row r.
func (t *table) changed(r, list int32) {
	if t.dirty != nil {
		t.dirty[r] = struct{}{}
	}
	if t.ivf != nil && !t.ivf.useless {
		t.ivf.remove(r)
		if t.ids[r] != "" {
			if list < 0 {
				list = t.ivf.nearest(t.vec(r))
			}
			t.ivf.add(r, list)
		}
	}
}

// --- filters ---

type filter struct {
	any, all []string
	folder   string // without trailing slash; "" = any
	min      float32
	hasMin   bool
	none     bool // matches everything except by score
}

func compile(f retriever.Filter) filter {
	c := filter{any: f.AnyTags, all: f.AllTags, min: f.MinScore, hasMin: f.MinScore != 0}
	if f.FolderPrefix != "" {
		c.folder = strings.TrimRight(f.FolderPrefix, "/")
		if c.folder == "" { // "/" matches every absolute folder
			c.folder = ""
		}
	}
	c.none = len(c.any) == 0 && len(c.all) == 0 && c.folder == ""
	return c
}

func hasTag(p *retriever.Payload, l string) bool {
	for i := range p.Tags {
		if p.Tags[i].Label == l {
			return true
		}
	}
	return false
}

// payload reports whether p passes the non-score conditions.
func (f *filter) payload(p *retriever.Payload) bool {
	if f.none {
		return true
	}
	if f.folder != "" && !(p.Folder == f.folder || len(p.Folder) > len(f.folder) && p.Folder[len(f.folder)] == '/' && strings.HasPrefix(p.Folder, f.folder)) {
		return false
	}
	if len(f.any) > 0 && !slices.ContainsFunc(f.any, func(l string) bool { return hasTag(p, l) }) {
		return false
	}
	for _, l := range f.all {
		if !hasTag(p, l) {
			return false
		}
	}
	return true
}

// --- top-k ---

type cand struct {
	score float32
	row   int32
}

// topk keeps the k best candidates in a min-heap.
type topk struct {
	k int
	h candHeap
}

type candHeap []cand

func (h candHeap) Len() int           { return len(h) }
func (h candHeap) Less(i, j int) bool { return h[i].score < h[j].score }
func (h candHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *candHeap) Push(x any)        { *h = append(*h, x.(cand)) }
func (h *candHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

func (t *topk) offer(s float32, r int32) {
	if len(t.h) < t.k {
		heap.Push(&t.h, cand{s, r})
	} else if s > t.h[0].score {
		t.h[0] = cand{s, r}
		heap.Fix(&t.h, 0)
	}
}

func (t *topk) merge(o *topk) {
	for _, c := range o.h {
		t.offer(c.score, c.row)
	}
}

func (t *topk) sorted() []cand {
	out := slices.Clone(t.h)
	sort.Slice(out, func(i, j int) bool {
		if out[i].score != out[j].score {
			return out[i].score > out[j].score
		}
		return out[i].row < out[j].row
	})
	return out
}

// scanRows scores rows against q and offers those passing f to a top-k.
// It counts the live rows it saw, those that passed the payload conditions,
// and those that passed the score too.
func (t *table) scanRows(q []float32, rows []int32, f *filter, tk *topk, st *scanStats) {
	for _, r := range rows {
		if t.ids[r] == "" {
			continue
		}
		st.seen++
		if !f.payload(&t.pays[r]) {
			continue
		}
		st.passed++
		s := vek32.Dot(q, t.vec(r))
		if f.hasMin && s < f.min {
			continue
		}
		st.matched++
		tk.offer(s, r)
	}
}

type scanStats struct{ seen, passed, matched int }

func (a *scanStats) add(b scanStats) {
	a.seen += b.seen
	a.passed += b.passed
	a.matched += b.matched
}

// scanRange is scanRows over the contiguous rows [lo, hi).
func (t *table) scanRange(q []float32, lo, hi int, f *filter, tk *topk) {
	d := t.dim
	for r := lo; r < hi; r++ {
		if t.ids[r] == "" || !f.payload(&t.pays[r]) {
			continue
		}
		s := vek32.Dot(q, t.vecs[r*d:r*d+d])
		if f.hasMin && s < f.min {
			continue
		}
		tk.offer(s, int32(r))
	}
}

// parallelMin is the number of rows above which a scan is split across CPUs.
const parallelMin = 16384

// exact scores every row.
func (t *table) exact(q []float32, k int, f *filter) []cand {
	n := len(t.ids)
	workers := min(runtime.GOMAXPROCS(0), max(1, n/parallelMin))
	tks := make([]topk, workers)
	var wg sync.WaitGroup
	for w := range workers {
		tks[w].k = k
		lo, hi := n*w/workers, n*(w+1)/workers
		if w == workers-1 {
			t.scanRange(q, lo, hi, f, &tks[w])
			continue
		}
		wg.Go(func() { t.scanRange(q, lo, hi, f, &tks[w]) })
	}
	wg.Wait()
	for w := 1; w < workers; w++ {
		tks[0].merge(&tks[w])
	}
	return tks[0].sorted()
}

// search picks exact or IVF search.
func (t *table) search(q []float32, k int, f *filter) []cand {
	if t.ivf == nil || t.ivf.useless {
		return t.exact(q, k, f)
	}
	return t.ivf.search(t, q, k, f)
}

// --- IVF-flat ---

// ivf is an inverted-file index: k-means centroids, and for each centroid
// the rows nearest to it. A search scores the centroids, then the rows of
// the nprobe best lists.
type ivf struct {
	dim       int
	centroids []float32 // nlist*dim, unit vectors
	lists     [][]int32
	listOf    []int32 // row -> list, -1 when in none
	posIn     []int32 // row -> position in its list
	nprobe    int
	builtLive int     // live rows when built
	recall    float64 // calibrated recall@10 at nprobe
	useless   bool    // built, but probing would scan most rows: search exactly
}

func (x *ivf) nlist() int { return len(x.lists) }

func (x *ivf) centroid(c int) []float32 { return x.centroids[c*x.dim : (c+1)*x.dim] }

func (x *ivf) nearest(v []float32) int32 {
	best, bs := int32(0), float32(math.Inf(-1))
	for c := range x.nlist() {
		if s := vek32.Dot(v, x.centroid(c)); s > bs {
			best, bs = int32(c), s
		}
	}
	return best
}

func (x *ivf) grow(r int32) {
	for int(r) >= len(x.listOf) {
		x.listOf = append(x.listOf, -1)
		x.posIn = append(x.posIn, -1)
	}
}

func (x *ivf) add(r, c int32) {
	x.grow(r)
	x.listOf[r] = c
	x.posIn[r] = int32(len(x.lists[c]))
	x.lists[c] = append(x.lists[c], r)
}

func (x *ivf) remove(r int32) {
	if int(r) >= len(x.listOf) || x.listOf[r] < 0 {
		return
	}
	c, p := x.listOf[r], x.posIn[r]
	l := x.lists[c]
	last := l[len(l)-1]
	l[p] = last
	x.posIn[last] = p
	x.lists[c] = l[:len(l)-1]
	x.listOf[r], x.posIn[r] = -1, -1
}

// order returns the lists by descending centroid similarity to q.
func (x *ivf) order(q []float32) []int32 {
	n := x.nlist()
	sc := make([]float32, n)
	idx := make([]int32, n)
	for c := range n {
		sc[c] = vek32.Dot(q, x.centroid(c))
		idx[c] = int32(c)
	}
	sort.Slice(idx, func(i, j int) bool { return sc[idx[i]] > sc[idx[j]] })
	return idx
}

// search probes the nprobe nearest lists. A filter that passes a fraction
// sel of the rows seen there widens the probe to nprobe/sel lists, so about
// as many passing rows are scored as an unfiltered search scores (a
// selective filter thus ends in an exact scan of the filtered subset); and
// probing goes on until k rows have passed, so a search returns k hits
// whenever k exist.
func (x *ivf) search(t *table, q []float32, k int, f *filter) []cand {
	ord := x.order(q)
	tk := topk{k: k}
	var st scanStats
	// Split the first nprobe lists between CPUs when they are large.
	first := ord[:min(x.nprobe, len(ord))]
	rows := 0
	for _, c := range first {
		rows += len(x.lists[c])
	}
	workers := min(runtime.GOMAXPROCS(0), max(1, rows/parallelMin))
	if workers > 1 {
		tks := make([]topk, workers)
		sts := make([]scanStats, workers)
		var wg sync.WaitGroup
		for w := range workers {
			tks[w].k = k
			wg.Go(func() {
				for i := w; i < len(first); i += workers {
					t.scanRows(q, x.lists[first[i]], f, &tks[w], &sts[w])
				}
			})
		}
		wg.Wait()
		for w := range workers {
			tk.merge(&tks[w])
			st.add(sts[w])
		}
	} else {
		for _, c := range first {
			t.scanRows(q, x.lists[c], f, &tk, &st)
		}
	}
	want := len(first)
	if !f.none && st.seen > 0 {
		sel := float64(max(st.passed, 1)) / float64(st.seen)
		want = int(math.Ceil(float64(len(first)) / sel))
	}
	for i := len(first); i < len(ord); i++ {
		if i >= want && st.matched >= k {
			break
		}
		t.scanRows(q, x.lists[ord[i]], f, &tk, &st)
	}
	return tk.sorted()
}

// ivfLists picks the number of lists for n vectors: about 2·√n, so a list
// holds about √n/2 rows and scoring the centroids costs a small fraction of
// scanning the probed lists.
func ivfLists(n int) int {
	return max(16, min(int(2*math.Sqrt(float64(n))), 4096))
}

// kmeans trains nlist unit centroids on sample (rows of dim) by spherical
// k-means: assign each point to its most similar centroid, set the centroid
// to the normalised mean, repeat. Empty lists are re-seeded from a random
// point. It uses every CPU.
func kmeans(sample []float32, dim, nlist, iters int, rng *rand.Rand, stop func() bool) []float32 {
	n := len(sample) / dim
	cent := make([]float32, nlist*dim)
	perm := rng.Perm(n)
	for c := range nlist {
		copy(cent[c*dim:(c+1)*dim], sample[perm[c%n]*dim:])
	}
	assign := make([]int32, n)
	workers := runtime.GOMAXPROCS(0)
	for it := 0; it < iters && !stop(); it++ {
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				for i := w; i < n; i += workers {
					v := sample[i*dim : (i+1)*dim]
					best, bs := int32(0), float32(math.Inf(-1))
					for c := range nlist {
						if s := vek32.Dot(v, cent[c*dim:(c+1)*dim]); s > bs {
							best, bs = int32(c), s
						}
					}
					assign[i] = best
				}
			})
		}
		wg.Wait()
		clear(cent)
		counts := make([]int, nlist)
		for i, c := range assign {
			vek32.Add_Inplace(cent[int(c)*dim:(int(c)+1)*dim], sample[i*dim:(i+1)*dim])
			counts[c]++
		}
		for c := range nlist {
			cv := cent[c*dim : (c+1)*dim]
			if counts[c] == 0 {
				copy(cv, sample[rng.IntN(n)*dim:])
				continue
			}
			normalize(cv)
		}
	}
	return cent
}

// normalize scales v to unit length in place; it reports false for a zero
// or non-finite vector.
func normalize(v []float32) bool {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	if s == 0 || math.IsNaN(s) || math.IsInf(s, 0) {
		return false
	}
	inv := 1 / math.Sqrt(s)
	for i := range v {
		v[i] = float32(float64(v[i]) * inv)
	}
	return true
}

// staleAt returns the ids of the records that share a path with a record
// of recs but are not in recs: those an Upsert of recs replaces.
func (t *table) staleAt(recs []retriever.Record) []string {
	in := make(map[string]bool, len(recs))
	for _, r := range recs {
		in[r.ID] = true
	}
	var stale []string
	for _, r := range recs {
		for _, row := range t.paths.rows(r.Payload.Path) {
			if id := t.ids[row]; !in[id] {
				stale = append(stale, id)
				in[id] = true
			}
		}
	}
	return stale
}
