package local

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/cliprag/cliprag/retriever"
	"github.com/cliprag/cliprag/retriever/fulltext"
)

// checkTextIndex checks that the text index holds exactly the terms of the
// stored payloads: every posting names a row whose text has that term that
// often, every term of every payload has its posting, and the statistics
// add up.
func checkTextIndex(t *testing.T, s *Store) {
	t.Helper()
	err := s.view(func(tx *bolt.Tx) error {
		tb, lb, pb := tx.Bucket(bucketTerms), tx.Bucket(bucketDocLen), tx.Bucket(bucketPays)
		want := map[string]uint64{} // posting key → tf
		lens := map[uint32]uint64{}
		docs, total := 0, 0
		err := pb.ForEach(func(k, v []byte) error {
			_, _, p, err := decodePayload(v)
			if err != nil {
				return err
			}
			row := int32(binary.BigEndian.Uint32(k))
			tf, n := fulltext.Doc(p.Text)
			if n == 0 {
				return nil
			}
			docs, total = docs+1, total+n
			lens[uint32(row)] = uint64(n)
			for term, f := range tf {
				want[string(termKey(term, row))] = uint64(f)
			}
			return nil
		})
		if err != nil {
			return err
		}
		got := 0
		err = tb.ForEach(func(k, v []byte) error {
			got++
			f, m := binary.Uvarint(v)
			if n, _ := binary.Uvarint(v[max(m, 0):]); n != lens[binary.BigEndian.Uint32(k[len(k)-4:])] {
				return fmt.Errorf("posting %q: length %d, payload %d", k, n, lens[binary.BigEndian.Uint32(k[len(k)-4:])])
			}
			if w, ok := want[string(k)]; !ok || w != f {
				i := bytes.IndexByte(k, 0)
				return fmt.Errorf("posting %q row %x: tf %d, the payload has %d", k[:i], k[i+1:], f, w)
			}
			return nil
		})
		if err != nil {
			return err
		}
		if got != len(want) {
			return fmt.Errorf("%d postings, the payloads have %d", got, len(want))
		}
		nl := 0
		err = lb.ForEach(func(k, v []byte) error {
			nl++
			n, _ := binary.Uvarint(v)
			if lens[binary.BigEndian.Uint32(k)] != n {
				return fmt.Errorf("row %x: length %d, payload %d", k, n, lens[binary.BigEndian.Uint32(k)])
			}
			return nil
		})
		if err != nil {
			return err
		}
		if st := textStats(tx.Bucket(bucketMeta)); nl != len(lens) || st.Docs != docs || st.TotalLen != total {
			return fmt.Errorf("statistics %+v and %d lengths, payloads %d docs %d terms", st, nl, docs, total)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("text index: %v", err)
	}
}

// TestTextUpgradeFormat2: an index written before the text index (format
// 2, text already in payloads) is read by a reader (no text hits) and
// upgraded by the first writer, which indexes the stored text.
func TestTextUpgradeFormat2(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	s := mustOpen(t, dir, nil)
	if err := s.Ensure(ctx, retriever.Collection{Model: testModel, Dim: 8}); err != nil {
		t.Fatal(err)
	}
	recs := testRecords(5, 0, 20, 8)
	for i := range recs {
		recs[i].Payload.TextBy = "ocr"
		recs[i].Payload.Text = []retriever.TextLine{{Text: fmt.Sprintf("断裂体系 item%d", i)}}
	}
	if err := s.Upsert(ctx, recs); err != nil {
		t.Fatal(err)
	}
	s.Close()
	// Make it format 2: no text buckets, no statistics.
	db, err := bolt.Open(s.path, 0o644, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		mb := tx.Bucket(bucketMeta)
		for _, k := range [][]byte{metaDocs, metaLen} {
			mb.Delete(k)
		}
		tx.DeleteBucket(bucketTerms)
		tx.DeleteBucket(bucketDocLen)
		return mb.Put([]byte("format"), []byte("2"))
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	ro := mustOpen(t, dir, &Options{ReadOnly: true})
	hits, err := ro.SearchText(ctx, "断裂体系", 5, retriever.Filter{})
	if err != nil || len(hits) != 0 {
		t.Fatalf("read-only format 2: SearchText = %v, %v; want no hits, no error", hits, err)
	}
	if n, _ := ro.Count(ctx); n != len(recs) {
		t.Fatalf("read-only format 2: Count %d", n)
	}
	ro.Close()
	w := mustOpen(t, dir, nil)
	checkTextIndex(t, w)
	hits, err = w.SearchText(ctx, "item7", 5, retriever.Filter{})
	if err != nil || len(hits) != 1 || hits[0].ID != recs[7].ID {
		t.Fatalf("after upgrade: SearchText(item7) = %v, %v", hits, err)
	}
	if hits, _ := w.SearchText(ctx, "断裂体系", 50, retriever.Filter{}); len(hits) != len(recs) {
		t.Fatalf("after upgrade: SearchText(断裂体系) = %d hits, want %d", len(hits), len(recs))
	}
}

// BenchmarkSearchText: text search over 10k and 100k records, each with a
// title of four Chinese words and an English caption drawn from small
// vocabularies (so common terms have long postings), for a Chinese title
// query and an English one. Metrics: ms per search, and the time and
// bytes on disk the text index adds to a bulk load.
//
//	go test -run '^$' -bench SearchText -benchtime 50x ./retriever/local
func BenchmarkSearchText(b *testing.B) {
	zh := []string{"断裂", "体系", "叠合", "构造", "单元", "划分", "地震", "剖面", "沉积", "相带", "储层", "分布", "古地貌", "恢复", "砂体", "厚度"}
	en := []string{"fault", "system", "overlay", "map", "tectonic", "unit", "seismic", "profile", "facies", "reservoir", "thickness", "sand", "well", "depth", "figure", "section"}
	for _, n := range []int{10_000, 100_000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			ctx := b.Context()
			rng := rand.New(rand.NewPCG(uint64(n), 3))
			dir := b.TempDir()
			s, err := Open(dir, &Options{ExactThreshold: -1})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			if err := s.Ensure(ctx, retriever.Collection{Model: testModel, Dim: 8}); err != nil {
				b.Fatal(err)
			}
			pick := func(vocab []string, k int, sep string) string {
				w := make([]string, k)
				for i := range w {
					w[i] = vocab[rng.IntN(len(vocab))]
				}
				return strings.Join(w, sep)
			}
			start := time.Now()
			for lo := 0; lo < n; lo += 1000 {
				recs := testRecords(uint64(n), lo, 1000, 8)
				for i := range recs {
					recs[i].Payload.Text = []retriever.TextLine{
						{Text: fmt.Sprintf("图%d %s", lo+i, pick(zh, 4, ""))},
						{Text: fmt.Sprintf("Figure %d. %s", lo+i, pick(en, 5, " "))},
					}
				}
				if err := s.Upsert(ctx, recs); err != nil {
					b.Fatal(err)
				}
			}
			load := time.Since(start)
			fi, _ := os.Stat(s.path)
			queries := []string{"断裂体系叠合图", "fault system overlay map"}
			b.ResetTimer()
			for i := range b.N {
				if _, err := s.SearchText(ctx, queries[i%2], 10, retriever.Filter{}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/search")
			b.ReportMetric(load.Seconds(), "load-s")
			b.ReportMetric(float64(fi.Size())/float64(n), "file-B/rec")
		})
	}
}
