// Command chromem measures chromem-go (exact search, in memory) on a data
// set written by scripts/bench/store gen: insert time, peak RSS, export and
// import of the whole database (its persistence: one gob file), search
// latency and recall@10. It is its own module so that cliprag does not
// depend on chromem-go; scripts/bench/sections/store.sh runs it and the
// store command's report reads its JSON lines.
package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/philippgille/chromem-go"
)

const topK = 10

type meta struct {
	Kind    string `json:"kind"`
	N       int    `json:"n"`
	Dim     int    `json:"dim"`
	Queries int    `json:"queries"`
}

// Result matches scripts/bench/store's.
type Result struct {
	Engine  string             `json:"engine"`
	Kind    string             `json:"kind"`
	N       int                `json:"n"`
	Phase   string             `json:"phase"`
	Round   int                `json:"round,omitempty"`
	Metrics map[string]float64 `json:"metrics"`
	Note    string             `json:"note,omitempty"`
	LoadBeg float64            `json:"load_begin"`
	LoadEnd float64            `json:"load_end"`
	Time    time.Time          `json:"time"`
}

func loadAvg() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return -1
	}
	var l float64
	if _, err := fmt.Sscan(string(b), &l); err != nil {
		return -1
	}
	return l
}

func status(field string) float64 {
	b, err := os.ReadFile("/proc/self/status")
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

func emit(path string, r Result) error {
	r.Time, r.LoadEnd = time.Now().UTC(), loadAvg()
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "chromem: %s\n", b)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = fmt.Fprintf(f, "%s\n", b)
	return err
}

func readFloats(r io.Reader, dim int, buf []byte) ([]float32, error) {
	if _, err := io.ReadFull(r, buf); err != nil {
		return nil, err
	}
	v := make([]float32, dim)
	for j := range v {
		v[j] = math.Float32frombits(binary.LittleEndian.Uint32(buf[4*j:]))
	}
	return v, nil
}

type data struct {
	meta
	dir     string
	queries [][]float32
	truth   [][]int32
}

func open(dir string, maxQueries int) (*data, error) {
	d := &data{dir: dir}
	b, err := os.ReadFile(filepath.Join(dir, "meta.json"))
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &d.meta); err != nil {
		return nil, err
	}
	qf, err := os.ReadFile(filepath.Join(dir, "queries.f32"))
	if err != nil {
		return nil, err
	}
	tb, err := os.ReadFile(filepath.Join(dir, "truth.i32"))
	if err != nil {
		return nil, err
	}
	buf := make([]byte, 4*d.Dim)
	r := strings.NewReader(string(qf))
	for i := range min(d.Queries, maxQueries) {
		q, err := readFloats(r, d.Dim, buf)
		if err != nil {
			return nil, err
		}
		t := make([]int32, topK)
		for j := range t {
			t[j] = int32(binary.LittleEndian.Uint32(tb[4*(i*topK+j):]))
		}
		d.queries, d.truth = append(d.queries, q), append(d.truth, t)
	}
	return d, nil
}

// sampler records the peak VmRSS every 20 ms.
type sampler struct {
	mu   sync.Mutex
	peak float64
	stop chan struct{}
	done chan struct{}
}

func sample() *sampler {
	s := &sampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		for {
			r := status("VmRSS")
			s.mu.Lock()
			s.peak = max(s.peak, r)
			s.mu.Unlock()
			select {
			case <-s.stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	return s
}

func (s *sampler) close() float64 {
	close(s.stop)
	<-s.done
	return s.peak
}

func noEmbedding(context.Context, string) ([]float32, error) {
	return nil, fmt.Errorf("no embedding function: the benchmark passes vectors")
}

func build(d *data, batch int) (*chromem.DB, *chromem.Collection, map[string]float64, error) {
	runtime.GC()
	debug.FreeOSMemory()
	base := status("VmRSS")
	smp := sample()
	db := chromem.NewDB()
	col, err := db.CreateCollection("bench", nil, noEmbedding)
	if err != nil {
		return nil, nil, nil, err
	}
	f, err := os.Open(filepath.Join(d.dir, "vectors.f32"))
	if err != nil {
		return nil, nil, nil, err
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 1<<20)
	buf := make([]byte, 4*d.Dim)
	ctx := context.Background()
	t0 := time.Now()
	for from := 0; from < d.N; from += batch {
		docs := make([]chromem.Document, min(batch, d.N-from))
		for i := range docs {
			v, err := readFloats(r, d.Dim, buf)
			if err != nil {
				return nil, nil, nil, err
			}
			row := from + i
			docs[i] = chromem.Document{ID: strconv.Itoa(row), Embedding: v,
				Metadata: map[string]string{"path": fmt.Sprintf("/img/f%03d/%07d.jpg", row%200, row)}}
		}
		if err := col.AddDocuments(ctx, docs, runtime.GOMAXPROCS(0)); err != nil {
			return nil, nil, nil, err
		}
	}
	insert := time.Since(t0)
	peak := smp.close()
	runtime.GC()
	debug.FreeOSMemory()
	return db, col, map[string]float64{"insert_s": insert.Seconds(), "build_s": 0, "total_s": insert.Seconds(),
		"rss_base": base, "rss_peak_insert": peak, "rss_peak_build": peak, "rss_hwm": status("VmHWM"),
		"rss_end": status("VmRSS")}, nil
}

func search(d *data, col *chromem.Collection, passes int) (map[string]float64, error) {
	ctx := context.Background()
	rec := 0.0
	for i, q := range d.queries {
		res, err := col.QueryEmbedding(ctx, q, topK, nil, nil)
		if err != nil {
			return nil, err
		}
		for _, h := range res {
			row, _ := strconv.Atoi(h.ID)
			if slices.Contains(d.truth[i], int32(row)) {
				rec++
			}
		}
	}
	var lat []time.Duration
	for range passes {
		for _, q := range d.queries {
			t := time.Now()
			if _, err := col.QueryEmbedding(ctx, q, topK, nil, nil); err != nil {
				return nil, err
			}
			lat = append(lat, time.Since(t))
		}
	}
	slices.Sort(lat)
	pct := func(p float64) float64 {
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
	}
	return map[string]float64{"p50_ms": pct(0.5), "p99_ms": pct(0.99),
		"recall10": rec / float64(topK*len(d.queries)), "searches": float64(len(lat))}, nil
}

func run() error {
	dir := flag.String("data", "", "data set folder")
	out := flag.String("out", "", "results file")
	export := flag.String("export", "", "export the DB to this file and time importing it (empty: skip)")
	round := flag.Int("round", 1, "round number")
	passes := flag.Int("passes", 1, "timed passes over the queries per run")
	runs := flag.Int("runs", 3, "search runs")
	maxQ := flag.Int("queries", 200, "at most this many queries")
	flag.Parse()
	d, err := open(*dir, *maxQ)
	if err != nil {
		return err
	}
	rb := Result{Engine: "chromem-go", Kind: d.Kind, N: d.N, Phase: "build", Round: *round, LoadBeg: loadAvg()}
	db, col, m, err := build(d, 1000)
	if err != nil {
		return err
	}
	if *export != "" {
		if err := db.ExportToFile(*export, false, ""); err != nil {
			return err
		}
		if fi, err := os.Stat(*export); err == nil {
			m["disk_bytes"] = float64(fi.Size())
		}
	}
	rb.Metrics = m
	if err := emit(*out, rb); err != nil {
		return err
	}
	if *export != "" {
		t0 := time.Now()
		db2 := chromem.NewDB()
		if err := db2.ImportFromFile(*export, ""); err != nil {
			return err
		}
		open := time.Since(t0)
		db2 = nil
		_ = os.Remove(*export)
		rs := Result{Engine: "chromem-go", Kind: d.Kind, N: d.N, Phase: "open", Round: *round, LoadBeg: loadAvg(),
			Metrics: map[string]float64{"open_ms": float64(open.Microseconds()) / 1000}}
		if err := emit(*out, rs); err != nil {
			return err
		}
	}
	for r := 1; r <= *runs; r++ {
		rs := Result{Engine: "chromem-go", Kind: d.Kind, N: d.N, Phase: "search", Round: *round, LoadBeg: loadAvg()}
		m, err := search(d, col, *passes)
		if err != nil {
			return err
		}
		m["run"] = float64(r)
		rs.Metrics = m
		if err := emit(*out, rs); err != nil {
			return err
		}
	}
	return nil
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "chromem: %v\n", err)
		os.Exit(1)
	}
}
