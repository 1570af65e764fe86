package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/cliprag/cliprag/retriever"
	"github.com/cliprag/cliprag/retriever/local"
)

const benchModel = "bench-512"

// record is row i as rag-ingest would write it; Payload.Size holds the row
// number, so a hit names its row.
func record(i int, v []float32) retriever.Record {
	sha := fmt.Sprintf("%064x", i)
	folder := fmt.Sprintf("/img/f%03d", i%200)
	return retriever.Record{
		ID:     retriever.RecordID(sha, benchModel),
		Vector: v,
		Payload: retriever.Payload{
			Path: fmt.Sprintf("%s/%07d.jpg", folder, i), SHA256: sha, Size: int64(i), Folder: folder,
			ModTime: time.Unix(int64(i), 0).UTC(), Width: 640, Height: 480, Format: "jpeg",
			IndexedAt: time.Unix(1e9, 0).UTC(), Model: benchModel,
		},
	}
}

type commonFlags struct {
	data, dir, out string
	round          int
}

func parseCommon(name string, args []string, extra func(fs *flag.FlagSet)) (commonFlags, error) {
	var c commonFlags
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.StringVar(&c.data, "data", "", "data set folder (store gen)")
	fs.StringVar(&c.dir, "dir", "", "index folder")
	fs.StringVar(&c.out, "out", "-", "results file (JSON lines, appended)")
	fs.IntVar(&c.round, "round", 1, "round number, for the report")
	if extra != nil {
		extra(fs)
	}
	err := fs.Parse(args)
	return c, err
}

// cmdLocalBuild inserts the data set into a fresh index through the store
// API, in batches as rag-ingest writes them, then builds the index, and
// reports the times, the peak RSS during each phase and what the store
// holds.
func cmdLocalBuild(args []string) error {
	batch := 0
	c, err := parseCommon("local-build", args, func(fs *flag.FlagSet) {
		fs.IntVar(&batch, "batch", 256, "records per Upsert")
	})
	if err != nil {
		return err
	}
	d, err := openData(c.data)
	if err != nil {
		return err
	}
	r := Result{Engine: "cliprag", Kind: d.Kind, N: d.N, Phase: "build", Round: c.round, LoadBeg: loadAvg()}
	runtime.GC()
	debug.FreeOSMemory()
	pid := fmt.Sprint(os.Getpid())
	base := procStatus(pid, "VmRSS")
	smp := sampleRSS(pid)
	ctx := context.Background()
	// BuildDelay(1h): the build is started explicitly at the end, as
	// rag-ingest does; the default delay would build too, 2 s after the
	// last write.
	s, err := local.Open(c.dir, &local.Options{BuildDelay: time.Hour})
	if err != nil {
		return err
	}
	defer s.Close()
	if err := s.Ensure(ctx, retriever.Collection{Model: benchModel, Dim: d.Dim}); err != nil {
		return err
	}
	cpu0 := cpuTime()
	t0 := time.Now()
	err = d.batches(batch, func(from int, vecs [][]float32) error {
		recs := make([]retriever.Record, len(vecs))
		for i, v := range vecs {
			recs[i] = record(from+i, v)
		}
		return s.Upsert(ctx, recs)
	})
	if err != nil {
		return check(err, "insert")
	}
	insert := time.Since(t0)
	peakInsert, anonInsert := smp.reset()
	t1 := time.Now()
	if err := s.BuildIndex(ctx); err != nil {
		return check(err, "build")
	}
	build := time.Since(t1)
	cpu := cpuTime() - cpu0
	peakBuild, anonBuild := smp.close()
	info := s.Index()
	runtime.GC()
	debug.FreeOSMemory()
	r.Metrics = map[string]float64{
		"insert_s": insert.Seconds(), "build_s": build.Seconds(), "total_s": insert.Seconds() + build.Seconds(),
		"cpu_s":    cpu.Seconds(),
		"rss_base": base, "rss_peak_insert": peakInsert, "rss_peak_build": peakBuild,
		"anon_peak_insert": anonInsert, "anon_peak_build": anonBuild,
		"rss_hwm": procStatus(pid, "VmHWM"), "rss_end": procStatus(pid, "VmRSS"), "anon_end": procStatus(pid, "RssAnon"),
		"held_bytes": float64(info.Bytes), "lists": float64(info.Lists), "probe": float64(info.Probe),
		"calibrated_recall": info.Recall, "builds": float64(info.Builds),
		"disk_bytes": dirSize(c.dir),
	}
	r.Note = info.Kind
	return emitter{c.out}.emit(r)
}

// cmdLocalSearch opens the index read-only in a fresh process (the reopen
// time), checks that it never builds, and times -repeat passes over the
// queries after a warm-up pass.
func cmdLocalSearch(args []string) error {
	repeat := 0
	c, err := parseCommon("local-search", args, func(fs *flag.FlagSet) {
		fs.IntVar(&repeat, "passes", 5, "timed passes over the queries")
	})
	if err != nil {
		return err
	}
	d, err := openData(c.data)
	if err != nil {
		return err
	}
	runtime.GC()
	debug.FreeOSMemory()
	pid := fmt.Sprint(os.Getpid())
	base := procStatus(pid, "VmRSS")
	r := Result{Engine: "cliprag", Kind: d.Kind, N: d.N, Phase: "search", Round: c.round, LoadBeg: loadAvg()}
	cpu0 := cpuTime()
	t0 := time.Now()
	s, err := local.Open(c.dir, &local.Options{ReadOnly: true})
	if err != nil {
		return err
	}
	defer s.Close()
	open := time.Since(t0)
	openCPU := cpuTime() - cpu0
	runtime.GC()
	debug.FreeOSMemory()
	afterOpen := procStatus(pid, "VmRSS")
	anonOpen := procStatus(pid, "RssAnon")
	ctx := context.Background()
	search := func(q []float32) ([]int, error) {
		hits, err := s.Search(ctx, q, topK, retriever.Filter{})
		rows := make([]int, len(hits))
		for i, h := range hits {
			rows[i] = int(h.Payload.Size)
		}
		return rows, err
	}
	m, err := timeQueries(d, search, repeat)
	if err != nil {
		return err
	}
	info := s.Index()
	if info.Builds != 0 {
		return errors.New("a read-only store built an index")
	}
	m["open_ms"] = float64(open.Microseconds()) / 1000
	m["open_cpu_ms"] = float64(openCPU.Microseconds()) / 1000
	m["rss_base"], m["rss_open"], m["anon_open"] = base, afterOpen, anonOpen
	m["rss_end"] = procStatus(pid, "VmRSS")
	m["held_bytes"] = float64(info.Bytes)
	m["reader_builds"] = float64(info.Builds)
	m["probe"] = float64(info.Probe)
	m["disk_bytes"] = dirSize(c.dir)
	r.Metrics, r.Note = m, info.Kind
	if fi, err := os.Stat(filepath.Join(c.dir, "index.db")); err == nil {
		m["db_bytes"] = float64(fi.Size())
	}
	return emitter{c.out}.emit(r)
}

// timeQueries runs one untimed pass over the queries (recall@10 is taken
// from it), then passes timed ones, and returns p50/p99 (ms) and recall.
func timeQueries(d *dataset, search func([]float32) ([]int, error), passes int) (map[string]float64, error) {
	rec := 0.0
	for i, q := range d.queries {
		rows, err := search(q)
		if err != nil {
			return nil, err
		}
		rec += d.recall(i, rows)
	}
	lat := make([]time.Duration, 0, passes*len(d.queries))
	for range passes {
		for _, q := range d.queries {
			t := time.Now()
			if _, err := search(q); err != nil {
				return nil, err
			}
			lat = append(lat, time.Since(t))
		}
	}
	return map[string]float64{
		"p50_ms": percentile(lat, 0.5), "p99_ms": percentile(lat, 0.99),
		"recall10": rec / float64(len(d.queries)), "searches": float64(len(lat)),
	}, nil
}

// cpuTime is the user + system CPU time this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
