package local

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"slices"

	bolt "go.etcd.io/bbolt"

	"github.com/cliprag/cliprag/retriever"
	"github.com/cliprag/cliprag/retriever/fulltext"
)

// The full-text index over the records' text (format 3), written in the
// transaction that writes or deletes the record, so a crash leaves both or
// neither. Terms are package fulltext's.
//
//	terms   term | 0x00 | row u32 → the term's frequency in the row, and
//	        the row's number of terms (uvarints: a search reads no more)
//	doclen  row → the row's number of terms (uvarint); rows with text only
//	meta    "text.docs" → rows with text (u64), "text.len" → their terms (u64)
//
// A term's postings are the keys under its prefix, so adding or removing
// a record touches only its own keys, however common its terms.

var (
	bucketTerms  = []byte("terms")
	bucketDocLen = []byte("doclen")
	metaDocs     = []byte("text.docs")
	metaLen      = []byte("text.len")
)

func termKey(term string, r int32) []byte {
	k := make([]byte, 0, len(term)+5)
	k = append(k, term...)
	k = append(k, 0)
	return binary.BigEndian.AppendUint32(k, uint32(r))
}

func readU64(b *bolt.Bucket, key []byte) uint64 {
	if v := b.Get(key); len(v) == 8 {
		return binary.BigEndian.Uint64(v)
	}
	return 0
}

func textStats(meta *bolt.Bucket) fulltext.Stats {
	return fulltext.Stats{Docs: int(readU64(meta, metaDocs)), TotalLen: int(readU64(meta, metaLen))}
}

// textIndex is the full-text part of a write transaction.
type textIndex struct {
	terms, doclen  *bolt.Bucket
	docs, totalLen int64 // changes to the statistics in this transaction
}

// add indexes the text of the record in row r.
func (x *textIndex) add(r int32, lines []retriever.TextLine) error {
	tf, n := fulltext.Doc(lines)
	if n == 0 {
		return nil
	}
	for term, f := range tf {
		v := binary.AppendUvarint(binary.AppendUvarint(make([]byte, 0, 4), uint64(f)), uint64(n))
		if err := x.terms.Put(termKey(term, r), v); err != nil {
			return fmt.Errorf("write text index: %w", err)
		}
	}
	x.docs++
	x.totalLen += int64(n)
	return x.doclen.Put(u32key(uint32(r)), binary.AppendUvarint(nil, uint64(n)))
}

// remove takes the text of the payload stored in row r (if any) out of
// the index.
func (x *textIndex) remove(r int32, payload []byte) error {
	if payload == nil {
		return nil
	}
	_, _, p, err := decodePayload(payload)
	if err != nil {
		return fmt.Errorf("row %d: %w", r, err)
	}
	tf, n := fulltext.Doc(p.Text)
	if n == 0 {
		return nil
	}
	for term := range tf {
		if err := x.terms.Delete(termKey(term, r)); err != nil {
			return fmt.Errorf("delete from text index: %w", err)
		}
	}
	x.docs--
	x.totalLen -= int64(n)
	return x.doclen.Delete(u32key(uint32(r)))
}

// finish writes the statistics.
func (x *textIndex) finish(meta *bolt.Bucket) error {
	if x.docs == 0 && x.totalLen == 0 {
		return nil
	}
	for _, kv := range []struct {
		key []byte
		d   int64
	}{{metaDocs, x.docs}, {metaLen, x.totalLen}} {
		v := int64(readU64(meta, kv.key)) + kv.d
		if err := meta.Put(kv.key, u64key(uint64(max(v, 0)))); err != nil {
			return fmt.Errorf("write text statistics: %w", err)
		}
	}
	return nil
}

// upgradeText upgrades a format-2 index (no text index) to format 3 in one
// transaction: it creates the text buckets and indexes the text of every
// record (records written by a cliprag that stored text but kept no
// index).
func (s *Store) upgradeText() error {
	if _, err := os.Stat(s.path); err != nil {
		return nil // a new index
	}
	var have string
	if err := s.view(func(tx *bolt.Tx) error {
		if mb := tx.Bucket(bucketMeta); mb != nil {
			have = string(mb.Get([]byte("format")))
		}
		return nil
	}); err != nil || have != "2" {
		return err
	}
	err := s.update(func(tx *bolt.Tx) error {
		x := &textIndex{}
		var err error
		if x.terms, err = tx.CreateBucketIfNotExists(bucketTerms); err != nil {
			return err
		}
		if x.doclen, err = tx.CreateBucketIfNotExists(bucketDocLen); err != nil {
			return err
		}
		mb, pb := tx.Bucket(bucketMeta), tx.Bucket(bucketPays)
		if pb == nil {
			return fmt.Errorf("index file has no %s bucket", bucketPays)
		}
		err = pb.ForEach(func(k, v []byte) error {
			_, _, p, err := decodePayload(v)
			if err != nil {
				return fmt.Errorf("row %d: %w", binary.BigEndian.Uint32(k), err)
			}
			return x.add(int32(binary.BigEndian.Uint32(k)), p.Text)
		})
		if err != nil {
			return err
		}
		if err := x.finish(mb); err != nil {
			return err
		}
		return mb.Put([]byte("format"), []byte(format))
	})
	if err != nil {
		return fmt.Errorf("upgrade index %s to format %s: %w", s.dir, format, err)
	}
	return nil
}

// SearchText returns up to k records whose text matches query, best
// first, scored by package fulltext (BM25 over the query's terms, in
// (0, 1]). Filter applies as in Search, except MinScore. It reads the
// index from the file, so it sees the writer's last commit.
func (s *Store) SearchText(ctx context.Context, query string, k int, f retriever.Filter) ([]retriever.Hit, error) {
	if err := s.usable(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	_, err := s.current()
	s.mu.RUnlock()
	if err != nil {
		return nil, err
	}
	hits := []retriever.Hit{}
	terms := fulltext.QueryTerms(query)
	if k <= 0 || len(terms) == 0 {
		return hits, nil
	}
	err = s.view(func(tx *bolt.Tx) error {
		tb, lb, pb := tx.Bucket(bucketTerms), tx.Bucket(bucketDocLen), tx.Bucket(bucketPays)
		if tb == nil || lb == nil || pb == nil {
			return nil // format 2: no text index yet
		}
		ranked, err := rankText(ctx, tb, lb, textStats(tx.Bucket(bucketMeta)), terms)
		if err != nil {
			return err
		}
		for _, c := range ranked {
			if len(hits) == k {
				break
			}
			_, id, p, err := decodePayload(pb.Get(u32key(uint32(c.row))))
			if err != nil {
				return fmt.Errorf("row %d: %w", c.row, err)
			}
			if payloadPasses(f, &p) {
				hits = append(hits, retriever.Hit{ID: id, Score: c.score, Payload: p})
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("index %s: %w", s, err)
	}
	return hits, nil
}

type textCand struct {
	row   int32
	score float32
}

// rankText scores every row holding a query term and returns those that
// match, best first.
func rankText(ctx context.Context, tb, lb *bolt.Bucket, st fulltext.Stats, terms []string) ([]textCand, error) {
	type posting struct {
		row     int32
		tf, len int
	}
	posts := make([][]posting, len(terms))
	df := make([]int, len(terms))
	for i, term := range terms {
		prefix := append([]byte(term), 0)
		c := tb.Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			if len(k) != len(prefix)+4 {
				continue
			}
			row := int32(binary.BigEndian.Uint32(k[len(prefix):]))
			tf, m := binary.Uvarint(v)
			n, m2 := binary.Uvarint(v[max(m, 0):])
			if m <= 0 || m2 <= 0 { // no length in the posting: the doclen bucket has it
				n, _ = binary.Uvarint(lb.Get(u32key(uint32(row))))
			}
			posts[i] = append(posts[i], posting{row, int(tf), int(n)})
		}
		df[i] = len(posts[i])
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	q := fulltext.NewQuery(terms, df, st)
	acc := make(map[int32]fulltext.Acc, slices.Max(df))
	for i, ps := range posts {
		for _, p := range ps {
			a := acc[p.row]
			q.Add(&a, i, p.tf, p.len)
			acc[p.row] = a
		}
	}
	out := make([]textCand, 0, len(acc))
	for r, a := range acc {
		if sc, ok := q.Score(a); ok {
			out = append(out, textCand{r, sc})
		}
	}
	slices.SortFunc(out, func(a, b textCand) int {
		if c := cmp.Compare(b.score, a.score); c != 0 {
			return c
		}
		return cmp.Compare(a.row, b.row)
	})
	return out, nil
}

// payloadPasses reports whether a payload passes f's folder and tag
// conditions (the rules table.compile applies by id).
func payloadPasses(f retriever.Filter, p *retriever.Payload) bool {
	if prefix := folderPrefix(f); prefix != "" && !folderUnder(p.Folder, prefix) {
		return false
	}
	if len(f.AnyTags) == 0 && len(f.AllTags) == 0 {
		return true
	}
	labels := make([]string, len(p.Tags))
	for i, t := range p.Tags {
		labels[i] = t.Label
	}
	return tagsPass(f, labels)
}
