package local

import (
	"cmp"
	"container/heap"
	"context"
	"encoding/binary"
	"math"
	"math/bits"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"unsafe"
)

// ivf is an inverted-file index over the table's rows: nlist centroids and,
// for each, the rows nearest to it. A search finds the centroids nearest
// the query and scans the rows of the nprobe best lists.
type ivf struct {
	dim  int
	flat bool // built, but the data has no structure to use: search flat
	cent *centroids

	lists     [][]int32
	nprobe    int
	recall    float64 // calibrated recall@10 at nprobe
	builtLive int     // live rows when built
}

func (x *ivf) nlist() int {
	if x.cent == nil {
		return 0
	}
	return x.cent.n
}

func (x *ivf) bytes() int64 {
	var n int64
	if x.cent != nil {
		n = x.cent.bytes()
	}
	for _, l := range x.lists {
		n += int64(cap(l)) * 4
	}
	return n
}

// newIVF makes an index from trained centroids, with empty lists.
func newIVF(dim int, vecs []float32) *ivf {
	c := newCentroids(dim, vecs)
	return &ivf{dim: dim, cent: c, lists: make([][]int32, c.n)}
}

// nearestCode returns the list for a vector given by its int8 codes.
func (x *ivf) nearestCode(code []int8) int32 {
	var f finder
	l, _ := f.nearest(x.cent, code, nil, -1)
	return l
}

// centroids are unit vectors with their int8 codes and sign bits. Finding
// the one nearest a vector by int8 dot products would cost one per
// centroid (10 000 at a million rows: half a millisecond each, over an hour
// of CPU to file a million rows); instead the sign bits narrow the field
// first. The sign bits of two vectors differ in a share θ/π of the
// dimensions, θ the angle between them, so the nearest centroids are among
// those whose first 128 sign bits differ least (2 popcounts each), then
// among those whose all sign bits differ least; only those few are scored
// with their codes. A centroid is missed only when many are about as near,
// where the choice hardly matters.
type centroids struct {
	dim, n int
	vecs   []float32
	codes  []int8
	scale  []float32
	bits   []uint64 // words(dim) per centroid
	pre    []uint64 // the first preWords of each, contiguous
}

const preWords = 2

func words(dim int) int { return (dim + 63) / 64 }

// signBits sets bits to the sign bits of code: bit i%64 of bits[i/64] is
// set when code[i] is negative. Eight codes at a time: their sign bits,
// masked and shifted to the low bit of each byte, are gathered into the
// top byte by one multiplication (byte j lands on bit 56+j, and no lower
// term carries into it). A reopened store computes this for every row.
func signBits(code []int8, bits []uint64) {
	clear(bits)
	b := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(code))), len(code))
	i := 0
	for ; i+8 <= len(b); i += 8 {
		m := (binary.LittleEndian.Uint64(b[i:]) & 0x8080808080808080) >> 7
		bits[i/64] |= (m * 0x0102040810204080 >> 56) << (i % 64)
	}
	for ; i < len(b); i++ {
		if b[i]&0x80 != 0 {
			bits[i/64] |= 1 << (i % 64)
		}
	}
}

func newCentroids(dim int, vecs []float32) *centroids {
	n := len(vecs) / dim
	c := &centroids{dim: dim, n: n, vecs: vecs}
	c.codes, c.scale = quantizeAll(vecs, dim, n)
	w, pw := words(dim), min(preWords, words(dim))
	c.bits, c.pre = make([]uint64, n*w), make([]uint64, n*pw)
	for i := range n {
		b := c.bits[i*w : (i+1)*w]
		signBits(c.codes[i*dim:(i+1)*dim], b)
		copy(c.pre[i*pw:(i+1)*pw], b)
	}
	return c
}

func (c *centroids) bytes() int64 {
	return int64(len(c.vecs))*5 + int64(len(c.bits)+len(c.pre))*8 + int64(len(c.scale))*4
}

func (c *centroids) score(code []int8, i int32) float32 {
	return c.scale[i] * float32(dotInt8(code, c.codes[int(i)*c.dim:int(i+1)*c.dim]))
}

func quantizeAll(vs []float32, dim, n int) ([]int8, []float32) {
	codes, scales := make([]int8, n*dim), make([]float32, n)
	for i := range n {
		scales[i] = quantize(vs[i*dim:(i+1)*dim], codes[i*dim:(i+1)*dim])
	}
	return codes, scales
}

// finder narrows centroids by sign bits; it keeps its buffers between
// calls (one finder per goroutine).
type finder struct {
	qbits []uint64
	dist  []uint16
	hist  []int32
	cand  []int32
	next  []int32
}

// field returns about keep2 centroids nearest a vector by sign bits (qb):
// the keep1 nearest by the first pw words, then the keep2 nearest of those
// by all.
func (f *finder) field(c *centroids, qb []uint64, pw, keep1, keep2 int) []int32 {
	w := words(c.dim)
	if len(f.hist) != 64*w+1 {
		f.hist = make([]int32, 64*w+1)
	}
	if len(f.dist) < c.n {
		f.dist = make([]uint16, c.n)
	}
	f.cand = f.cand[:0]
	if c.n <= keep2 {
		for i := range c.n {
			f.cand = append(f.cand, int32(i))
		}
		return f.cand
	}
	dist := f.dist[:c.n]
	pw = min(pw, words(c.dim), preWords)
	if c.n > keep1 {
		clear(f.hist)
		if pw == 1 {
			q0 := qb[0]
			for i := range dist {
				d := bits.OnesCount64(q0 ^ c.pre[i*pw])
				dist[i] = uint16(d)
				f.hist[d]++
			}
		} else {
			q0, q1 := qb[0], qb[1]
			for i := range dist {
				b := c.pre[i*2 : i*2+2 : i*2+2]
				d := bits.OnesCount64(q0^b[0]) + bits.OnesCount64(q1^b[1])
				dist[i] = uint16(d)
				f.hist[d]++
			}
		}
		cut := cutoff(f.hist, keep1)
		for i, d := range dist {
			if int(d) <= cut {
				f.cand = append(f.cand, int32(i))
			}
		}
	} else {
		for i := range c.n {
			f.cand = append(f.cand, int32(i))
		}
	}
	if len(f.cand) <= keep2 || pw == w {
		return f.cand
	}
	clear(f.hist)
	for _, i := range f.cand {
		b := c.bits[int(i)*w : int(i+1)*w : int(i+1)*w]
		d := 0
		for j := range qb {
			d += bits.OnesCount64(qb[j] ^ b[j])
		}
		dist[i] = uint16(d)
		f.hist[d]++
	}
	cut := cutoff(f.hist, keep2)
	f.next = f.next[:0]
	for _, i := range f.cand {
		if int(dist[i]) <= cut {
			f.next = append(f.next, i)
		}
	}
	f.cand, f.next = f.next, f.cand
	return f.cand
}

// bitsOf returns the sign bits of code, in the finder's buffer.
func (f *finder) bitsOf(dim int, code []int8) []uint64 {
	if len(f.qbits) != words(dim) {
		f.qbits = make([]uint64, words(dim))
	}
	signBits(code, f.qbits)
	return f.qbits
}

// cutoff returns the smallest distance at which the histogram holds at
// least keep entries.
func cutoff(hist []int32, keep int) int {
	cut, kept := 0, int32(0)
	for cut < len(hist)-1 && kept+hist[cut] < int32(keep) {
		kept += hist[cut]
		cut++
	}
	return cut
}

// nearest returns the centroid most similar to a stored vector (its codes
// and sign bits; nil bits are computed) but except, with its score
// (scale·int8 dot; times the vector's own scale, the cosine). A stored
// vector is near its centroid, so a narrow field does.
func (f *finder) nearest(c *centroids, code []int8, qb []uint64, except int32) (int32, float32) {
	if qb == nil {
		qb = f.bitsOf(c.dim, code)
	}
	best, bs := int32(0), float32(math.Inf(-1))
	for _, i := range f.field(c, qb, min(preWords, words(c.dim)), 128, 24) {
		if i == except {
			continue
		}
		if s := c.score(code, i); s > bs {
			best, bs = i, s
		}
	}
	return best, bs
}

// top returns the m centroids most similar to a query, best first. A query
// is further from the data than a stored vector, so the field is wider.
func (f *finder) top(c *centroids, code []int8, m int) []int32 {
	field := f.field(c, f.bitsOf(c.dim, code), min(preWords, words(c.dim)), max(16*m, 1024, c.n/4), max(8*m, 256, c.n/8))
	sc := make([]float32, len(field))
	idx := make([]int32, len(field))
	for j, i := range field {
		sc[j], idx[j] = c.score(code, i), int32(j)
	}
	slices.SortFunc(idx, func(a, b int32) int {
		switch {
		case sc[a] > sc[b]:
			return -1
		case sc[a] < sc[b]:
			return 1
		}
		return int(field[a] - field[b])
	})
	out := make([]int32, 0, min(m, len(idx)))
	for _, j := range idx[:min(m, len(idx))] {
		out = append(out, field[j])
	}
	return out
}

// all returns every centroid by descending score for code.
func (c *centroids) all(code []int8) []int32 {
	sc := make([]float32, c.n)
	idx := make([]int32, c.n)
	for i := range c.n {
		sc[i], idx[i] = c.score(code, int32(i)), int32(i)
	}
	slices.SortFunc(idx, func(a, b int32) int {
		switch {
		case sc[a] > sc[b]:
			return -1
		case sc[a] < sc[b]:
			return 1
		}
		return int(a - b)
	})
	return idx
}

func (x *ivf) add(t *table, r, l int32) {
	m := t.meta(r)
	m.list, m.pos = l, int32(len(x.lists[l]))
	x.lists[l] = append(x.lists[l], r)
}

func (x *ivf) remove(t *table, r int32) {
	m := t.meta(r)
	if m.list < 0 || int(m.list) >= len(x.lists) {
		m.list, m.pos = -1, -1
		return
	}
	l := x.lists[m.list]
	last := l[len(l)-1]
	l[m.pos] = last
	t.meta(last).pos = m.pos
	x.lists[m.list] = l[:len(l)-1]
	m.list, m.pos = -1, -1
}

// install files every live row of t under its list in assign, replacing
// whatever index t had. Lists are allocated at their final size.
func (x *ivf) install(t *table, assign []int32) {
	for r := range int32(t.rows) {
		m := t.meta(r)
		m.list, m.pos = -1, -1
	}
	t.ivf = x
	if x == nil || x.flat {
		return
	}
	counts := make([]int, x.nlist())
	for r := range int32(t.rows) {
		if t.meta(r).stamp != 0 {
			if int(r) >= len(assign) || assign[r] < 0 || int(assign[r]) >= len(counts) {
				assign = growAssign(assign, t.rows)
				assign[r] = x.nearestCode(t.code(r))
			}
			counts[assign[r]]++
		}
	}
	for l, n := range counts {
		x.lists[l] = make([]int32, 0, n)
	}
	for r := range int32(t.rows) {
		if t.meta(r).stamp != 0 {
			x.add(t, r, assign[r])
		}
	}
}

func growAssign(a []int32, n int) []int32 {
	for len(a) < n {
		a = append(a, -1)
	}
	return a
}

// ivfLists picks the number of lists for n vectors: about 10·√n (10 000
// lists of 100 rows at a million), in the range FAISS recommends (4–16·√n).
// Many small lists keep the rows scanned per query few; finding the
// nearest lists stays cheap through the sign bits (see centroids). Data
// with more natural clusters than lists fares badly: a list cannot hold a
// cluster whole unless its centroid was trained on it.
func ivfLists(n int) int {
	return max(16, min(int(10*math.Sqrt(float64(n))), 32768))
}

// --- top-k ---

type cand struct {
	score float32
	row   int32
	stamp uint32
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

func (t *topk) offer(c cand) {
	if len(t.h) < t.k {
		heap.Push(&t.h, c)
	} else if c.score > t.h[0].score {
		t.h[0] = c
		heap.Fix(&t.h, 0)
	}
}

// floor is the score a candidate must beat to enter a full top-k.
func (t *topk) floor() float32 {
	if len(t.h) < t.k {
		return float32(math.Inf(-1))
	}
	return t.h[0].score
}

func (t *topk) merge(o *topk) {
	for _, c := range o.h {
		t.offer(c)
	}
}

func sortCands(cs []cand) {
	slices.SortFunc(cs, func(a, b cand) int {
		switch {
		case a.score > b.score:
			return -1
		case a.score < b.score:
			return 1
		}
		return int(a.row) - int(b.row)
	})
}

// --- scanning ---

// scorer ranks rows by their int8 codes against a quantised query.
type scorer struct {
	t      *table
	qc     []int8
	qscale float32
	f      *filter
	min    float32 // approximate scores below are dropped (MinScore less a margin)
	hasMin bool
}

// quantMargin bounds the error of an int8 score, with room to spare: an
// approximate score this far below MinScore cannot reach it exactly.
const quantMargin = 0.02

func newScorer(t *table, q []float32, f *filter) *scorer {
	s := &scorer{t: t, qc: make([]int8, len(q)), f: f}
	s.qscale = quantize(q, s.qc)
	if f.hasMin {
		s.min, s.hasMin = f.min-quantMargin, true
	}
	return s
}

type scanStats struct{ seen, passed, matched int }

func (a *scanStats) add(b scanStats) {
	a.seen += b.seen
	a.passed += b.passed
	a.matched += b.matched
}

// row scores row r and offers it to tk.
func (s *scorer) row(r int32, tk *topk, st *scanStats) {
	m := s.t.meta(r)
	if m.stamp == 0 {
		return
	}
	st.seen++
	if !s.f.pass(m) {
		return
	}
	st.passed++
	sc := s.qscale * m.scale * float32(dotInt8(s.qc, s.t.code(r)))
	if s.hasMin && sc < s.min {
		return
	}
	st.matched++
	if sc > tk.floor() {
		tk.offer(cand{score: sc, row: r, stamp: m.stamp})
	}
}

// parallelMin is the number of rows above which a scan is split across CPUs.
const parallelMin = 16384

// flat scores every row.
func (s *scorer) flat(n int) []cand {
	rows := s.t.rows
	workers := min(runtime.GOMAXPROCS(0), max(1, rows/parallelMin))
	tks := make([]topk, workers)
	var wg sync.WaitGroup
	for w := range workers {
		tks[w].k = n
		lo, hi := rows*w/workers, rows*(w+1)/workers
		scan := func() {
			var st scanStats
			for r := lo; r < hi; r++ {
				s.row(int32(r), &tks[w], &st)
			}
		}
		if w == workers-1 {
			scan()
			continue
		}
		wg.Go(scan)
	}
	wg.Wait()
	for w := 1; w < workers; w++ {
		tks[0].merge(&tks[w])
	}
	out := tks[0].h
	sortCands(out)
	return out
}

// probe scans the nprobe nearest lists for the n best rows. A filter that
// passes a fraction sel of the rows seen there widens the probe to
// nprobe/sel lists, so about as many passing rows are scored as an
// unfiltered search scores (a selective filter thus ends in a scan of the
// filtered subset); and probing goes on until k rows have matched, so a
// search returns k hits whenever k exist.
func (x *ivf) probe(s *scorer, n, k int) []cand {
	var f finder
	ord := f.top(x.cent, s.qc, x.nprobe)
	tk := topk{k: n}
	var st scanStats
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
			tks[w].k = n
			wg.Go(func() {
				for i := w; i < len(first); i += workers {
					for _, r := range x.lists[first[i]] {
						s.row(r, &tks[w], &sts[w])
					}
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
			for _, r := range x.lists[c] {
				s.row(r, &tk, &st)
			}
		}
	}
	want := len(first)
	if !s.f.none && st.seen > 0 {
		sel := float64(max(st.passed, 1)) / float64(st.seen)
		want = int(math.Ceil(float64(len(first)) / sel))
	}
	if want <= len(first) && st.matched >= k {
		out := tk.h
		sortCands(out)
		return out
	}
	done := make(map[int32]bool, len(first))
	for _, c := range first {
		done[c] = true
	}
	ord = x.cent.all(s.qc) // wider: every list, in order
	for i, scanned := 0, len(first); i < len(ord); i++ {
		if done[ord[i]] {
			continue
		}
		if scanned >= want && st.matched >= k {
			break
		}
		scanned++
		for _, r := range x.lists[ord[i]] {
			s.row(r, &tk, &st)
		}
	}
	out := tk.h
	sortCands(out)
	return out
}

// --- building ---

// buildIVF trains an index on the live rows of t and files them. The
// caller holds no lock; buildIVF takes t's read lock (lock) in short
// pieces, so searches and writes go on meanwhile. It returns the index and
// the list of each row (-1 for free rows), or nil when stopped.
func buildIVF(ctx context.Context, t *table, lock sync.Locker, targetRecall float64) (*ivf, []int32) {
	lock.Lock()
	dim, rows, live := t.dim, t.rows, t.live
	liveRows := make([]int32, 0, live)
	for r := range int32(rows) {
		if t.meta(r).stamp != 0 {
			liveRows = append(liveRows, r)
		}
	}
	lock.Unlock()
	if len(liveRows) == 0 {
		return nil, nil
	}
	rng := rand.New(rand.NewPCG(uint64(live), 0x1f))
	nlist := ivfLists(len(liveRows))
	sample := sampleRows(t, lock, liveRows, min(len(liveRows), max(10*nlist, 20000)), rng)
	nlist = min(nlist, sample.n/4)
	if ctx.Err() != nil || nlist < 1 {
		sample.release()
		return nil, nil
	}
	cent, _ := kmeans(ctx, sample, nlist, 10, rng)
	sample.release()
	if ctx.Err() != nil {
		return nil, nil
	}
	x := newIVF(dim, cent)
	x.builtLive = len(liveRows)
	assign := make([]int32, rows)
	if !assignRows(ctx, t, lock, x, assign) {
		return nil, nil
	}
	x.nprobe, x.recall = calibrate(ctx, t, lock, x, assign, liveRows, rng, targetRecall)
	if ctx.Err() != nil {
		return nil, nil
	}
	if x.nprobe*2 > x.nlist() {
		// The data has no structure IVF can use (uniform random vectors do
		// this): probing would scan most rows, slower than a flat scan.
		// Search flat until the collection changes size a lot.
		return &ivf{dim: dim, flat: true, builtLive: x.builtLive, nprobe: x.nprobe, recall: x.recall}, nil
	}
	return x, assign
}

// points is a sample of rows copied out of the table: codes and scales.
type points struct {
	dim    int
	n      int
	codes  []int8
	scale  []float32
	bits   []uint64 // sign bits, words(dim) each
	mem    []byte   // off the heap, like the table: freed by release
	mapped bool
}

func (p *points) release() { freeOffHeap(p.mem, p.mapped) }

func (p *points) code(i int) []int8 { return p.codes[i*p.dim : (i+1)*p.dim] }

func sampleRows(t *table, lock sync.Locker, liveRows []int32, n int, rng *rand.Rand) *points {
	idx := rng.Perm(len(liveRows))[:n]
	w := words(t.dim)
	p := &points{dim: t.dim, n: n}
	p.mem, p.mapped = offHeap(n * (8*w + 4 + t.dim))
	p.bits = viewAs[uint64](p.mem, n*w)
	p.scale = viewAs[float32](p.mem[8*w*n:], n)
	p.codes = viewAs[int8](p.mem[(8*w+4)*n:], n*t.dim)
	for lo := 0; lo < n; lo += 4096 {
		lock.Lock()
		for i := lo; i < min(lo+4096, n); i++ {
			r := liveRows[idx[i]]
			copy(p.code(i), t.code(r))
			copy(p.bits[i*w:(i+1)*w], t.rowBits(r))
			p.scale[i] = t.meta(r).scale
		}
		lock.Unlock()
	}
	return p
}

// kmeans trains k unit centroids on the sample by spherical k-means:
// assign each point to its most similar centroid, set the centroid to the
// normalised mean, repeat. Two changes make it find clusters that no
// random seed fell in, of which data with many clusters has plenty:
//
//   - A point compares its own cluster's centroid with itself left out.
//     Otherwise a cluster's few sample points each stay where chance put
//     them first, held by their own weight in their centroid.
//   - A centroid left empty is re-seeded from the point that fits its
//     centroid worst: an orphan of a cluster without a centroid, whose
//     fellows then gather around it.
//
// It stops early once under 0.2 % of the points move. It uses every CPU
// and returns the centroids and the last assignment.
func kmeans(ctx context.Context, p *points, k, iters int, rng *rand.Rand) ([]float32, []int32) {
	dim, n := p.dim, p.n
	cent := make([]float32, k*dim)
	for c, i := range rng.Perm(n)[:k] {
		dequantize(p.code(i), p.scale[i], cent[c*dim:(c+1)*dim])
		normalize(cent[c*dim : (c+1)*dim])
	}
	assign := make([]int32, n)
	fit := make([]float32, n) // cosine of each point to its centroid
	for i := range assign {
		assign[i] = -1
	}
	norms := make([]float64, k) // |sum of the members| before normalising
	last := slices.Clone(assign)
	workers := runtime.GOMAXPROCS(0)
	v := make([]float32, dim)
	for it := 0; it < iters && ctx.Err() == nil; it++ {
		cs := newCentroids(dim, cent)
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				var f finder
				for i := w; i < n; i += workers {
					code, ps := p.code(i), p.scale[i]
					prev := assign[i]
					b, sb := f.nearest(cs, code, p.bits[i*words(dim):(i+1)*words(dim)], prev)
					best := float64(ps * sb)
					if prev >= 0 && norms[prev] > 1 {
						own := float64(ps * cs.score(code, prev))
						dot := norms[prev] * own
						loo := (dot - 1) / math.Sqrt(max(norms[prev]*norms[prev]-2*dot+1, 1e-9))
						if loo >= best {
							b, best = prev, loo
						}
					}
					assign[i], fit[i] = b, float32(best)
				}
			})
		}
		wg.Wait()
		moved := 0
		for i, c := range assign {
			if c != last[i] {
				moved++
			}
		}
		copy(last, assign)
		clear(cent)
		counts := make([]int, k)
		for i, c := range assign {
			dequantize(p.code(i), p.scale[i], v)
			cv := cent[int(c)*dim : (int(c)+1)*dim]
			for j := range cv {
				cv[j] += v[j]
			}
			counts[c]++
		}
		var empty []int
		for c := range k {
			cv := cent[c*dim : (c+1)*dim]
			var sq float64
			for _, x := range cv {
				sq += float64(x) * float64(x)
			}
			norms[c] = math.Sqrt(sq)
			if counts[c] == 0 || !normalize(cv) {
				empty = append(empty, c)
			}
		}
		if len(empty) == 0 && moved*500 < n {
			break // converged: under 0.2 % of the points moved
		}
		if len(empty) > 0 {
			worst := make([]int32, n)
			for i := range worst {
				worst[i] = int32(i)
			}
			slices.SortFunc(worst, func(a, b int32) int { return cmp.Compare(fit[a], fit[b]) })
			for j, c := range empty {
				i := int(worst[j%n])
				dequantize(p.code(i), p.scale[i], cent[c*dim:(c+1)*dim])
				normalize(cent[c*dim : (c+1)*dim])
				norms[c] = 0
			}
		}
	}
	return cent, assign
}

// assignRows files every live row under its nearest list, on every CPU,
// taking the lock for each piece of rows. It reports false when stopped.
func assignRows(ctx context.Context, t *table, lock sync.Locker, x *ivf, assign []int32) bool {
	const piece = 16384
	workers := runtime.GOMAXPROCS(0)
	for lo := 0; lo < len(assign); lo += piece {
		if ctx.Err() != nil {
			return false
		}
		hi := min(lo+piece, len(assign))
		lock.Lock()
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				var f finder
				for r := lo + w; r < hi; r += workers {
					if t.meta(int32(r)).stamp == 0 {
						assign[r] = -1
					} else {
						assign[r], _ = f.nearest(x.cent, t.code(int32(r)), t.rowBits(int32(r)), -1)
					}
				}
			})
		}
		wg.Wait()
		lock.Unlock()
	}
	return true
}

// calibrate picks the smallest number of lists to probe whose recall@10
// reaches the target, on queries made from stored vectors plus random
// noise (cosine 0.55 to 0.89 to their source: near the data, as a text
// query is near the images it describes; further out, on a large
// collection, a query's nearest rows are chance matches scattered over
// every list, which no partition finds). The true neighbours are the best
// by int8 codes of the 4096 best by sign bits, which rank as an exact
// search does but for near ties.
//
// The number found by ranking every centroid exactly is then checked
// against the lists a search really probes (finder.top, whose sign-bit
// field can miss a near list when there are many): at 1M vectors and
// 10,000 lists the exact ranking promised recall 0.979 at one list where
// searches got 0.947. The probe grows until the searched lists reach the
// target too.
func calibrate(ctx context.Context, t *table, lock sync.Locker, x *ivf, assign []int32, liveRows []int32, rng *rand.Rand, target float64) (nprobe int, recall float64) {
	const queries, k = 100, 10
	nlist := x.nlist()
	found := make([]int, nlist+1)
	total := 0
	qs := make([]calQuery, 0, queries)
	q := make([]float32, x.dim)
	noise := make([]float32, x.dim)
	all := filter{none: true}
	for range queries {
		if ctx.Err() != nil {
			return nlist, 1
		}
		src := liveRows[rng.IntN(len(liveRows))]
		for j := range noise {
			noise[j] = float32(rng.NormFloat64())
		}
		normalize(noise)
		lambda := float32(0.5 + rng.Float64())
		lock.Lock()
		if t.meta(src).stamp == 0 {
			lock.Unlock()
			continue
		}
		dequantize(t.code(src), t.meta(src).scale, q)
		normalize(q)
		for j := range q {
			q[j] += lambda * noise[j]
		}
		normalize(q)
		s := newScorer(t, q, &all)
		truth := s.rerank(s.hamming(4096), k)
		lock.Unlock()
		rank := make([]int, nlist)
		for p, c := range x.cent.all(s.qc) {
			rank[c] = p
		}
		cq := calQuery{code: slices.Clone(s.qc)}
		for _, c := range truth {
			if int(c.row) >= len(assign) || assign[c.row] < 0 {
				continue // written during the build
			}
			found[rank[assign[c.row]]]++
			cq.lists = append(cq.lists, assign[c.row])
			total++
		}
		qs = append(qs, cq)
	}
	if total == 0 {
		return nlist, 1
	}
	cum := 0
	for p := range nlist {
		cum += found[p]
		if r := float64(cum) / float64(total); r >= target {
			return probedRecall(ctx, x, qs, total, p+1, r, target)
		}
	}
	return nlist, 1
}

// calQuery is one calibration query: its code and the lists holding its
// true neighbours.
type calQuery struct {
	code  []int8
	lists []int32
}

// probedRecall starts from p lists (recall r by the exact centroid
// ranking) and grows p until the lists finder.top picks for each query, as
// a search does, hold the target share of the true neighbours. A probe of
// more than half the lists ends the search: the caller then scans flat.
func probedRecall(ctx context.Context, x *ivf, qs []calQuery, total, p int, r, target float64) (int, float64) {
	nlist := x.nlist()
	var f finder
	in := make([]bool, nlist)
	for p*2 <= nlist && ctx.Err() == nil {
		found := 0
		for _, q := range qs {
			ord := f.top(x.cent, q.code, p)
			for _, c := range ord {
				in[c] = true
			}
			for _, l := range q.lists {
				if in[l] {
					found++
				}
			}
			for _, c := range ord {
				in[c] = false
			}
		}
		if got := float64(found) / float64(total); got >= target {
			return p, got
		}
		p = max(p+1, p*9/8)
	}
	return p, r
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
