package local

import (
	"math/bits"
	"runtime"
	"sync"
)

// The first stage of a search over many rows compares sign bits: a row's
// bits differ from the query's in a share θ/π of the dimensions, θ the
// angle between them, so ranking by Hamming distance (8 popcounts for 512
// dimensions, 64 bytes a row) orders rows roughly as cosine does, at a
// fraction of the cost of the int8 dot product. The best of them are then
// ranked by their int8 codes, and the best of those re-scored exactly.

// hamHeap is a max-heap of candidates on their Hamming distance: the root
// is the worst kept.
type hamHeap struct {
	k    int
	dist []uint16
	row  []int32
}

func (h *hamHeap) worst() int {
	if len(h.dist) < h.k {
		return 1 << 16
	}
	return int(h.dist[0])
}

func (h *hamHeap) push(d uint16, r int32) {
	if len(h.dist) < h.k {
		h.dist = append(h.dist, d)
		h.row = append(h.row, r)
		for i := len(h.dist) - 1; i > 0; {
			p := (i - 1) / 2
			if h.dist[p] >= h.dist[i] {
				break
			}
			h.dist[p], h.dist[i] = h.dist[i], h.dist[p]
			h.row[p], h.row[i] = h.row[i], h.row[p]
			i = p
		}
		return
	}
	h.dist[0], h.row[0] = d, r
	n := len(h.dist)
	for i := 0; ; {
		l, big := 2*i+1, i
		if l < n && h.dist[l] > h.dist[big] {
			big = l
		}
		if l+1 < n && h.dist[l+1] > h.dist[big] {
			big = l + 1
		}
		if big == i {
			return
		}
		h.dist[big], h.dist[i] = h.dist[i], h.dist[big]
		h.row[big], h.row[i] = h.row[i], h.row[big]
		i = big
	}
}

// hamming returns up to m rows passing the filter with the fewest sign
// bits differing from the query's.
func (s *scorer) hamming(m int) []int32 {
	t := s.t
	w := words(t.dim)
	qb := make([]uint64, w)
	signBits(s.qc, qb)
	nchunks := (t.rows + rowChunk - 1) / rowChunk
	workers := min(runtime.GOMAXPROCS(0), max(1, t.rows/parallelMin))
	hs := make([]hamHeap, workers)
	var wg sync.WaitGroup
	for wk := range workers {
		hs[wk].k = m
		scan := func() {
			h := &hs[wk]
			for ci := wk; ci < nchunks; ci += workers {
				c := t.chunks[ci]
				n := min(rowChunk, t.rows-ci*rowChunk)
				base := int32(ci * rowChunk)
				for i := range n {
					b := c.bits[i*w : (i+1)*w : (i+1)*w]
					d := 0
					for j := range qb {
						d += bits.OnesCount64(qb[j] ^ b[j])
					}
					if d >= h.worst() {
						continue
					}
					meta := &c.meta[i]
					if meta.stamp == 0 || !s.f.pass(meta) {
						continue
					}
					h.push(uint16(d), base+int32(i))
				}
			}
		}
		if wk == workers-1 {
			scan()
			continue
		}
		wg.Go(scan)
	}
	wg.Wait()
	var out []int32
	for i := range hs {
		out = append(out, hs[i].row...)
	}
	if len(hs) > 1 && len(out) > m {
		// Merge: keep the m nearest of the workers' heaps.
		all := hamHeap{k: m}
		for i := range hs {
			for j, r := range hs[i].row {
				if d := int(hs[i].dist[j]); d < all.worst() {
					all.push(uint16(d), r)
				}
			}
		}
		out = all.row
	}
	return out
}

// rerank ranks rows by their int8 codes and returns the n best.
func (s *scorer) rerank(rows []int32, n int) []cand {
	tk := topk{k: n}
	var st scanStats
	for _, r := range rows {
		s.row(r, &tk, &st)
	}
	out := tk.h
	sortCands(out)
	return out
}
