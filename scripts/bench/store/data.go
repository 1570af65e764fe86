package main

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/viterin/vek/vek32"
)

// The data set in a folder: vectors.f32 (n×dim float32, little-endian),
// queries.f32 (q×dim) and truth.i32 (q×10 row numbers of the exact top 10,
// best first), plus meta.json. scripts/bench/peers/chromem reads the same
// files.
const (
	vecFile   = "vectors.f32"
	queryFile = "queries.f32"
	truthFile = "truth.i32"
	metaFile  = "meta.json"
	topK      = 10
)

type meta struct {
	Kind    string `json:"kind"` // clustered or random
	N       int    `json:"n"`
	Dim     int    `json:"dim"`
	Queries int    `json:"queries"`
}

func unit(rng *rand.Rand, v []float32) {
	for i := range v {
		v[i] = float32(rng.NormFloat64())
	}
	normalize(v)
}

func normalize(v []float32) {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	inv := float32(1 / math.Sqrt(s))
	for i := range v {
		v[i] *= inv
	}
}

// cmdGen writes a data set: "clustered" is n/100 clusters of unit vectors
// around random centres (spread 1.2, as retriever/local's BenchmarkSearch),
// queried by a stored vector plus an equal amount of noise; "random" is
// uniform unit vectors queried by uniform unit vectors.
func cmdGen(args []string) error {
	fs := flag.NewFlagSet("gen", flag.ContinueOnError)
	dir := fs.String("dir", "", "output folder")
	kind := fs.String("kind", "clustered", "clustered or random")
	n := fs.Int("n", 100000, "vectors")
	dim := fs.Int("dim", 512, "dimensions")
	nq := fs.Int("queries", 200, "queries")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(uint64(*n), 7))
	vecs := make([]float32, *n**dim)
	if *kind == "clustered" {
		nc := max(*n/100, 50)
		centres := make([]float32, nc**dim)
		for c := range nc {
			unit(rng, centres[c**dim:(c+1)**dim])
		}
		sd := 1.2 / math.Sqrt(float64(*dim))
		for i := range *n {
			c := centres[rng.IntN(nc)**dim:]
			v := vecs[i**dim : (i+1)**dim]
			for j := range v {
				v[j] = c[j] + float32(sd*rng.NormFloat64())
			}
			normalize(v)
		}
	} else {
		for i := range *n {
			unit(rng, vecs[i**dim:(i+1)**dim])
		}
	}
	qs := make([]float32, *nq**dim)
	noise := make([]float32, *dim)
	for i := range *nq {
		q := qs[i**dim : (i+1)**dim]
		if *kind == "clustered" {
			copy(q, vecs[rng.IntN(*n)**dim:])
			unit(rng, noise)
			vek32.Add_Inplace(q, noise)
			normalize(q)
		} else {
			unit(rng, q)
		}
	}
	truth := exactTopK(vecs, qs, *dim)
	if err := writeFloats(filepath.Join(*dir, vecFile), vecs); err != nil {
		return err
	}
	if err := writeFloats(filepath.Join(*dir, queryFile), qs); err != nil {
		return err
	}
	tb := make([]byte, 0, 4*len(truth))
	for _, r := range truth {
		tb = binary.LittleEndian.AppendUint32(tb, uint32(r))
	}
	if err := os.WriteFile(filepath.Join(*dir, truthFile), tb, 0o644); err != nil {
		return err
	}
	mb, _ := json.Marshal(meta{Kind: *kind, N: *n, Dim: *dim, Queries: *nq})
	return os.WriteFile(filepath.Join(*dir, metaFile), mb, 0o644)
}

// exactTopK is brute force: for each query the topK rows by dot product.
func exactTopK(vecs, qs []float32, dim int) []int32 {
	nq, n := len(qs)/dim, len(vecs)/dim
	out := make([]int32, nq*topK)
	var wg sync.WaitGroup
	next := make(chan int)
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for qi := range next {
				q := qs[qi*dim : (qi+1)*dim]
				type sc struct {
					s float32
					r int32
				}
				best := make([]sc, 0, topK+1)
				for r := range n {
					s := vek32.Dot(q, vecs[r*dim:(r+1)*dim])
					if len(best) == topK && s <= best[topK-1].s {
						continue
					}
					i, _ := slices.BinarySearchFunc(best, s, func(a sc, t float32) int {
						if a.s > t {
							return -1
						}
						return 1
					})
					best = slices.Insert(best, i, sc{s, int32(r)})
					if len(best) > topK {
						best = best[:topK]
					}
				}
				for i, b := range best {
					out[qi*topK+i] = b.r
				}
			}
		})
	}
	for qi := range nq {
		next <- qi
	}
	close(next)
	wg.Wait()
	return out
}

func writeFloats(path string, v []float32) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	if err := binary.Write(w, binary.LittleEndian, v); err != nil {
		f.Close()
		return err
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// dataset is an opened data set; vectors are read batch by batch so that
// the measuring process does not hold them all.
type dataset struct {
	meta
	dir     string
	queries [][]float32
	truth   [][]int32
}

func openData(dir string) (*dataset, error) {
	d := &dataset{dir: dir}
	b, err := os.ReadFile(filepath.Join(dir, metaFile))
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &d.meta); err != nil {
		return nil, err
	}
	qb, err := os.ReadFile(filepath.Join(dir, queryFile))
	if err != nil {
		return nil, err
	}
	tb, err := os.ReadFile(filepath.Join(dir, truthFile))
	if err != nil {
		return nil, err
	}
	for i := range d.Queries {
		q := make([]float32, d.Dim)
		for j := range q {
			q[j] = math.Float32frombits(binary.LittleEndian.Uint32(qb[4*(i*d.Dim+j):]))
		}
		t := make([]int32, topK)
		for j := range t {
			t[j] = int32(binary.LittleEndian.Uint32(tb[4*(i*topK+j):]))
		}
		d.queries = append(d.queries, q)
		d.truth = append(d.truth, t)
	}
	return d, nil
}

// batches calls fn with consecutive batches of up to size vectors (fresh
// slices each time) and the row number of the first.
func (d *dataset) batches(size int, fn func(from int, vecs [][]float32) error) error {
	f, err := os.Open(filepath.Join(d.dir, vecFile))
	if err != nil {
		return err
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 1<<20)
	buf := make([]byte, 4*d.Dim)
	for from := 0; from < d.N; from += size {
		vecs := make([][]float32, min(size, d.N-from))
		for i := range vecs {
			if _, err := io.ReadFull(r, buf); err != nil {
				return err
			}
			v := make([]float32, d.Dim)
			for j := range v {
				v[j] = math.Float32frombits(binary.LittleEndian.Uint32(buf[4*j:]))
			}
			vecs[i] = v
		}
		if err := fn(from, vecs); err != nil {
			return err
		}
	}
	return nil
}

// recall is the share of the exact top 10 of query qi among rows.
func (d *dataset) recall(qi int, rows []int) float64 {
	found := 0
	for _, r := range rows {
		if slices.Contains(d.truth[qi], int32(r)) {
			found++
		}
	}
	return float64(found) / topK
}

// procStatus reads fields (kB) of /proc/PID/status, in bytes.
func procStatus(pid string, field string) float64 {
	b, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		return -1
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == field+":" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb * 1024
		}
	}
	return -1
}

// rssSampler records the highest VmRSS (and RssAnon) of a process seen
// every 20 ms.
type rssSampler struct {
	mu         sync.Mutex
	peak, anon float64
	stop       chan struct{}
	done       chan struct{}
}

func sampleRSS(pid string) *rssSampler {
	s := &rssSampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			if r := procStatus(pid, "VmRSS"); r > 0 {
				a := procStatus(pid, "RssAnon")
				s.mu.Lock()
				s.peak, s.anon = max(s.peak, r), max(s.anon, a)
				s.mu.Unlock()
			}
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
		}
	}()
	return s
}

// reset returns the peaks (RSS, anonymous RSS) since the last reset and
// starts over.
func (s *rssSampler) reset() (float64, float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, a := s.peak, s.anon
	s.peak, s.anon = 0, 0
	return p, a
}

func (s *rssSampler) close() (float64, float64) {
	close(s.stop)
	<-s.done
	return s.reset()
}

func dirSize(dir string) float64 {
	var n int64
	_ = filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			n += fi.Size()
		}
		return nil
	})
	return float64(n)
}

func percentile(d []time.Duration, p float64) float64 {
	s := slices.Clone(d)
	slices.Sort(s)
	i := min(len(s)-1, int(p*float64(len(s))))
	return float64(s[i].Microseconds()) / 1000
}

func check(err error, what string) error {
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}
