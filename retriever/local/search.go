package local

import (
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"strconv"

	"github.com/viterin/vek/vek32"
	bolt "go.etcd.io/bbolt"

	"github.com/cliprag/cliprag/retriever"
)

// rescoreCount is how many candidates, ranked by their int8 codes, are
// re-scored with their exact vectors for a search of k: enough that the
// true k best among the rows scanned are in it (the int8 ranking errs by
// about 1e-3).
func rescoreCount(k int) int { return 2*k + 32 }

// Search returns up to k hits by descending cosine similarity. It ranks the
// rows it scans (every row, or the IVF lists nearest the query) by their
// int8 codes, then re-scores the best rescoreCount(k) with their exact
// float32 vectors, read from the file.
func (s *Store) Search(ctx context.Context, vector []float32, k int, f retriever.Filter) ([]retriever.Hit, error) {
	if err := s.usable(); err != nil {
		return nil, err
	}
	s.refreshIfStale()
	q := slices.Clone(vector)
	s.mu.RLock()
	t, err := s.current()
	if err != nil {
		s.mu.RUnlock()
		return nil, err
	}
	if len(q) != t.dim {
		s.mu.RUnlock()
		return nil, fmt.Errorf("index %s: query has %d dimensions, the collection %d (model %s)", s, len(q), t.dim, s.coll.Model)
	}
	if !normalize(q) {
		s.mu.RUnlock()
		return nil, fmt.Errorf("index %s: zero or non-finite query vector", s)
	}
	if k <= 0 || t.live == 0 {
		s.mu.RUnlock()
		return []retriever.Hit{}, nil
	}
	if err := ctx.Err(); err != nil {
		s.mu.RUnlock()
		return nil, err
	}
	fc := t.compile(f)
	sc := newScorer(t, q, &fc)
	n := rescoreCount(k)
	var cands []cand
	if x := t.ivf; x != nil && !x.flat {
		cands = x.probe(sc, n, k)
	} else {
		cands = sc.flat(n)
	}
	seq := t.seq
	s.mu.RUnlock()
	return s.rescore(q, k, fc, cands, seq)
}

// rescore scores the candidates with their exact vectors and returns the
// k best that pass the filter's score, with their payloads. A candidate
// whose row changed since it was picked (a writer committed in between) is
// dropped.
func (s *Store) rescore(q []float32, k int, f filter, cands []cand, seq uint64) ([]retriever.Hit, error) {
	hits := []retriever.Hit{}
	err := s.view(func(tx *bolt.Tx) error {
		vb, cb, pb := tx.Bucket(bucketVecs), tx.Bucket(bucketCodes), tx.Bucket(bucketPays)
		if vb == nil || cb == nil || pb == nil {
			return fmt.Errorf("index file has no record buckets")
		}
		vchunk, _ := strconv.Atoi(string(tx.Bucket(bucketMeta).Get([]byte("vchunk"))))
		cur, _ := readSeq(tx)
		check := cur != seq
		v := make([]float32, len(q))
		out := cands[:0]
		for _, c := range cands {
			if check {
				cv := cb.Get(u32key(uint32(c.row)))
				if len(cv) < 4 || binary.LittleEndian.Uint32(cv) != c.stamp {
					continue
				}
			}
			if !vectorAt(vb, c.row, len(q), vchunk, v) {
				continue
			}
			c.score = vek32.Dot(q, v)
			if f.hasMin && c.score < f.min {
				continue
			}
			out = append(out, c)
		}
		sortCands(out)
		for _, c := range out[:min(k, len(out))] {
			stamp, id, p, err := decodePayload(pb.Get(u32key(uint32(c.row))))
			if err != nil {
				return fmt.Errorf("row %d: %w", c.row, err)
			}
			if stamp != c.stamp {
				continue
			}
			hits = append(hits, retriever.Hit{ID: id, Score: c.score, Payload: p})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("index %s: %w", s, err)
	}
	return hits, nil
}

// Get returns the records that exist, in the order of ids.
func (s *Store) Get(ctx context.Context, ids []string) ([]retriever.Record, error) {
	if err := s.usable(); err != nil {
		return nil, err
	}
	s.refreshIfStale()
	s.mu.RLock()
	t, err := s.current()
	s.mu.RUnlock()
	if err != nil {
		return nil, err
	}
	out := make([]retriever.Record, 0, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	err = s.view(func(tx *bolt.Tx) error {
		ib, vb, pb := tx.Bucket(bucketIDs), tx.Bucket(bucketVecs), tx.Bucket(bucketPays)
		if ib == nil || vb == nil || pb == nil {
			return fmt.Errorf("index file has no record buckets")
		}
		vchunk, _ := strconv.Atoi(string(tx.Bucket(bucketMeta).Get([]byte("vchunk"))))
		for _, id := range ids {
			rv := ib.Get([]byte(id))
			if len(rv) != 4 {
				continue
			}
			r := int32(binary.BigEndian.Uint32(rv))
			_, _, p, err := decodePayload(pb.Get(rv))
			if err != nil {
				return fmt.Errorf("record %s: %w", id, err)
			}
			v := make([]float32, t.dim)
			if !vectorAt(vb, r, t.dim, vchunk, v) {
				return fmt.Errorf("record %s: no vector", id)
			}
			out = append(out, retriever.Record{ID: id, Vector: v, Payload: p})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("index %s: %w", s, err)
	}
	return out, nil
}

// Files calls fn for every record, in row order. The entries are read in
// one transaction first; fn runs without the file open or locks held, so
// it may call the store.
func (s *Store) Files(ctx context.Context, fn func(retriever.FileEntry) error) error {
	if err := s.usable(); err != nil {
		return err
	}
	s.refreshIfStale()
	s.mu.RLock()
	t, err := s.current()
	n := 0
	if t != nil {
		n = t.live
	}
	s.mu.RUnlock()
	if err != nil {
		return err
	}
	es := make([]retriever.FileEntry, 0, n)
	err = s.view(func(tx *bolt.Tx) error {
		pb := tx.Bucket(bucketPays)
		if pb == nil {
			return fmt.Errorf("index file has no payloads bucket")
		}
		drop := newPageDropper(tx)
		defer drop.flush()
		return pb.ForEach(func(k, v []byte) error {
			e, err := decodeFileEntry(v)
			if err != nil {
				return fmt.Errorf("row %d: %w", binary.BigEndian.Uint32(k), err)
			}
			es = append(es, e)
			drop.saw(v)
			return nil
		})
	})
	if err != nil {
		return fmt.Errorf("index %s: %w", s, err)
	}
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
