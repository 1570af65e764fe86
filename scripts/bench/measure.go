package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"image/jpeg"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cliprag/cliprag/embed"
	"github.com/cliprag/cliprag/embed/onnx"
	"github.com/cliprag/cliprag/embed/preprocess"
	"github.com/cliprag/cliprag/embed/tinyshapes"
	"github.com/cliprag/cliprag/retriever/local"
	"github.com/cliprag/cliprag/tools/ingest"
)

// clipPre is CLIP's preprocessing (224 px, centre crop, OpenAI mean/std),
// which both benchmark models use.
var clipPre = preprocess.Preprocessor{Size: 224, Mode: preprocess.CenterCrop,
	Mean: [3]float32{0.48145466, 0.4578275, 0.40821073}, Std: [3]float32{0.26862954, 0.26130258, 0.27577711}}

// imageFiles lists the .jpg and .png files under dir, sorted.
func imageFiles(dir string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if ext := strings.ToLower(filepath.Ext(p)); !d.IsDir() && (ext == ".jpg" || ext == ".png") {
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", dir, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no images under %s", dir)
	}
	return out, nil
}

// decodeRate runs the ingest workers' per-file work (read, sha256,
// Preprocessor.Bytes) on a pool of workers over files, cycling through them
// until minDur has passed and at least minN images are done. It returns the
// images done and the time taken.
func decodeRate(files []string, workers int, minDur time.Duration, minN int) (int, time.Duration, error) {
	one := func(path string) error {
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		_ = sha256.Sum256(data)
		_, _, err = clipPre.Bytes(path, data)
		return err
	}
	for i := range min(workers, len(files)) { // warm the page cache and the buffer pools
		if err := one(files[i]); err != nil {
			return 0, 0, err
		}
	}
	var (
		done   atomic.Int64
		next   atomic.Int64
		wg     sync.WaitGroup
		errMu  sync.Mutex
		first  error
		start  = time.Now()
		finish = func() bool {
			return time.Since(start) >= minDur && done.Load() >= int64(minN)
		}
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !finish() {
				i := next.Add(1) - 1
				if err := one(files[int(i)%len(files)]); err != nil {
					errMu.Lock()
					first = errors.Join(first, err)
					errMu.Unlock()
					return
				}
				done.Add(1)
			}
		}()
	}
	wg.Wait()
	return int(done.Load()), time.Since(start), first
}

func cmdDecode(args []string) error {
	fs := flag.NewFlagSet("decode", flag.ContinueOnError)
	dir := fs.String("dir", "", "folder of images")
	label := fs.String("label", "", "dataset label for the report")
	workers := fs.Int("workers", 0, "workers (default: all cores)")
	secs := fs.Float64("seconds", 3, "minimum measuring time")
	out := fs.String("out", "-", "results file (appended)")
	round := fs.Int("round", 0, "round number recorded with the result")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *workers <= 0 {
		*workers = cores()
	}
	files, err := imageFiles(*dir)
	if err != nil {
		return err
	}
	w, closeOut, err := output(*out)
	if err != nil {
		return err
	}
	defer closeOut()
	r := Result{Kind: "decode", Data: *label, Files: len(files), Workers: *workers, Round: *round, LoadBeg: loadAvg()}
	n, d, err := decodeRate(files, *workers, time.Duration(*secs*float64(time.Second)), 2**workers)
	if err != nil {
		return err
	}
	r.Images, r.Seconds, r.PerSec, r.LoadEnd = n, d.Seconds(), float64(n)/d.Seconds(), loadAvg()
	return emit(w, r)
}

// cmdJPEG12MP times one large JPEG on one goroutine, the methods
// interleaved round by round so that load changes hit them alike:
// image/jpeg's decode alone and followed by our resize/crop/normalise, and
// our Decode (DCT-scaled with -tags libjpeg) alone and as Preprocessor.Bytes.
func cmdJPEG12MP(args []string) error {
	fs := flag.NewFlagSet("jpeg12mp", flag.ContinueOnError)
	file := fs.String("file", "", "a JPEG")
	rounds := fs.Int("rounds", 5, "rounds (median reported)")
	out := fs.String("out", "-", "results file (appended)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	data, err := os.ReadFile(*file)
	if err != nil {
		return err
	}
	w, closeOut, err := output(*out)
	if err != nil {
		return err
	}
	defer closeOut()
	dst := make([]float32, clipPre.TensorLen())
	methods := []struct {
		name string
		fn   func() error
	}{
		{"stdlib_decode_ms", func() error { _, err := jpeg.Decode(bytes.NewReader(data)); return err }},
		{"stdlib_total_ms", func() error {
			img, err := jpeg.Decode(bytes.NewReader(data))
			if err == nil {
				clipPre.ImageInto(dst, img)
			}
			return err
		}},
		{"ours_decode_ms", func() error {
			_, _, err := preprocess.Decode(*file, data, preprocess.DecodeOptions{MinSide: 2 * clipPre.Size})
			return err
		}},
		{"ours_total_ms", func() error { _, _, err := clipPre.Bytes(*file, data); return err }},
	}
	times := make([][]float64, len(methods))
	r := Result{Kind: "jpeg12mp", Files: 1, Workers: 1, LoadBeg: loadAvg()}
	for round := -1; round < *rounds; round++ { // round -1 warms up
		for i, m := range methods {
			runtime.GC()
			t := time.Now()
			if err := m.fn(); err != nil {
				return fmt.Errorf("%s: %w", m.name, err)
			}
			if round >= 0 {
				times[i] = append(times[i], float64(time.Since(t).Microseconds())/1000)
			}
		}
	}
	r.Metrics = map[string]float64{"bytes": float64(len(data))}
	for i, m := range methods {
		r.Metrics[m.name] = median(times[i])
	}
	r.Metrics["ratio_decode"] = r.Metrics["stdlib_decode_ms"] / r.Metrics["ours_decode_ms"]
	r.Metrics["ratio_total"] = r.Metrics["stdlib_total_ms"] / r.Metrics["ours_total_ms"]
	r.Images = *rounds
	r.LoadEnd = loadAvg()
	return emit(w, r)
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// loadModel loads ref (a registry name or a model directory).
func loadModel(ctx context.Context, ref string, threads, batch int, extra ...embed.Option) (*embed.Model, error) {
	opts := append([]embed.Option{embed.WithOffline(true), embed.WithLibrary(os.Getenv(onnx.EnvLibrary))}, extra...)
	if threads > 0 {
		opts = append(opts, embed.WithThreads(threads))
	}
	if batch > 0 {
		opts = append(opts, embed.WithBatchSize(batch))
	}
	m, err := embed.Load(ctx, ref, opts...)
	if err != nil {
		return nil, fmt.Errorf("load model %s: %w", ref, err)
	}
	return m, nil
}

// modelRate calls EmbedPixels with batch tensors until minDur has passed
// (and at least twice), after one untimed warm-up call.
func modelRate(ctx context.Context, m *embed.Model, batch int, minDur time.Duration) (int, time.Duration, error) {
	rng := rand.New(rand.NewPCG(1, 2))
	pre := m.Preprocessor()
	px := make([][]float32, batch)
	for i := range px {
		c := tinyshapes.ClassList()[i%len(tinyshapes.ClassList())]
		px[i] = pre.Image(tinyshapes.Draw(rng, c.Color, c.Shape, tinyshapes.DrawOptions{Width: 224, Height: 224}))
	}
	if _, err := m.EmbedPixels(ctx, px); err != nil {
		return 0, 0, err
	}
	start := time.Now()
	calls := 0
	for calls < 2 || time.Since(start) < minDur {
		if _, err := m.EmbedPixels(ctx, px); err != nil {
			return 0, 0, err
		}
		calls++
	}
	return calls * batch, time.Since(start), nil
}

// modelLabel is how a model reference appears in the report.
func modelLabel(ref string) string {
	if strings.ContainsRune(ref, os.PathSeparator) {
		return filepath.Base(filepath.Clean(ref))
	}
	return ref
}

func cmdModel(args []string) error {
	fs := flag.NewFlagSet("model", flag.ContinueOnError)
	ref := fs.String("model", "tiny-shapes", "registry name or model directory")
	batches := fs.String("batches", "1,16", "comma-separated batch sizes")
	threads := fs.Int("threads", 0, "ONNX Runtime threads (default: all cores)")
	secs := fs.Float64("seconds", 3, "minimum measuring time per batch size")
	out := fs.String("out", "-", "results file (appended)")
	round := fs.Int("round", 0, "round number recorded with the result")
	device := fs.String("device", "cpu", "inference device: cpu or cuda")
	label := fs.String("label", "", "dataset label recorded with the result (the set a ceiling belongs to)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx := context.Background()
	w, closeOut, err := output(*out)
	if err != nil {
		return err
	}
	defer closeOut()
	for _, bs := range strings.Split(*batches, ",") {
		b, err := strconv.Atoi(strings.TrimSpace(bs))
		if err != nil || b <= 0 {
			return fmt.Errorf("bad batch size %q", bs)
		}
		m, err := loadModel(ctx, *ref, *threads, b, embed.WithDevice(*device))
		if err != nil {
			return err
		}
		r := Result{Kind: "model", Model: modelLabel(*ref), Data: *label, Batch: b, Workers: *threads, Round: *round, LoadBeg: loadAvg()}
		if *device != "cpu" {
			r.Device = *device
		}
		n, d, err := modelRate(ctx, m, b, time.Duration(*secs*float64(time.Second)))
		m.Close()
		if err != nil {
			return fmt.Errorf("embed with %s: %w", *ref, err)
		}
		r.Images, r.Seconds, r.PerSec, r.LoadEnd = n, d.Seconds(), float64(n)/d.Seconds(), loadAvg()
		r.Metrics = map[string]float64{"ms_per_image": 1000 * d.Seconds() / float64(n)}
		if err := emit(w, r); err != nil {
			return err
		}
	}
	return nil
}

// vmHWM returns the process's peak resident set size in bytes (Linux).
func vmHWM() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb * 1024
		}
	}
	return -1
}

func cmdIngest(args []string) error {
	fs := flag.NewFlagSet("ingest", flag.ContinueOnError)
	ref := fs.String("model", "tiny-shapes", "registry name or model directory")
	dir := fs.String("dir", "", "folder to index")
	label := fs.String("label", "", "dataset label for the report")
	batch := fs.Int("batch", 16, "images per model call")
	workers := fs.Int("workers", 0, "decode workers (default: all cores)")
	threads := fs.Int("threads", 0, "ONNX Runtime threads (default: all cores)")
	limit := fs.Int("files", 0, "index only the first N images under -dir (0: the whole folder)")
	compare := fs.Bool("compare", false, "first measure decode alone and the model alone (batch -batch) in this process")
	secs := fs.Float64("seconds", 3, "minimum time of each -compare measurement")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the ingest run")
	memprofile := fs.String("memprofile", "", "write a heap profile at the end of the ingest run (store still open)")
	out := fs.String("out", "-", "results file (appended)")
	round := fs.Int("round", 0, "round number recorded with the result")
	warmup := fs.Bool("warmup", false, "run the model once before the timed ingest (as the peers of the peers section do)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *workers <= 0 {
		*workers = cores()
	}
	if *memprofile != "" {
		runtime.MemProfileRate = 4096 // fine-grained, so that small per-file allocations show
	}
	ctx := context.Background()
	w, closeOut, err := output(*out)
	if err != nil {
		return err
	}
	defer closeOut()
	m, err := loadModel(ctx, *ref, *threads, *batch)
	if err != nil {
		return err
	}
	defer m.Close()
	r := Result{Kind: "ingest", Model: modelLabel(*ref), Data: *label, Batch: *batch, Workers: *workers, Round: *round,
		Metrics: map[string]float64{"threads": float64(*threads)}}
	if *warmup {
		if _, _, err := modelRate(ctx, m, 1, 0); err != nil {
			return err
		}
	}
	// Listing the folder here is only done when needed: the memory runs
	// (no -compare, no -files) must measure ingest alone.
	paths := []string{*dir}
	var files []string
	if *compare || *limit > 0 {
		if files, err = imageFiles(*dir); err != nil {
			return err
		}
		if *limit > 0 && *limit < len(files) {
			files = files[:*limit]
			paths = files
		}
	}
	if *compare {
		if err := measureStages(ctx, m, files, *workers, *threads, *batch, *secs, r.Metrics); err != nil {
			return err
		}
	}
	r.Metrics["rss_before_bytes"] = vmHWM()

	tmp, err := os.MkdirTemp("", "cliprag-bench-store-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	s, err := local.Open(tmp, nil)
	if err != nil {
		return err
	}
	stopProfile, err := startCPUProfile(*cpuprofile)
	if err != nil {
		return err
	}
	r.LoadBeg = loadAvg()
	stopSampling := sampleHeap()
	sum, err := ingest.Run(ctx, m, s, ingest.Options{Paths: paths, Workers: *workers, BatchSize: *batch})
	stopProfile()
	r.LoadEnd = loadAvg()
	memoryAfter(r.Metrics, stopSampling)
	if *memprofile != "" && err == nil {
		err = writeHeapProfile(*memprofile)
	}
	if cerr := s.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("ingest %s: %w", *dir, err)
	}
	if len(sum.Failed) > 0 {
		return fmt.Errorf("ingest %s: %d files failed, first: %s: %s", *dir, len(sum.Failed), sum.Failed[0].Path, sum.Failed[0].Reason)
	}
	r.Files, r.Images, r.Seconds, r.PerSec = sum.Found, sum.Indexed, sum.Seconds, sum.ImagesPerSec
	r.Metrics["store_bytes"] = float64(dirSize(tmp))
	if *compare {
		r.Metrics["ratio_to_model"] = r.PerSec / r.Metrics["model_per_sec"]
		r.Metrics["ratio_to_bound"] = r.PerSec / r.Metrics["bound_per_sec"]
	}
	return emit(w, r)
}

// measureStages measures decode alone and the model alone on files, for
// -compare, and the pipeline's bound from them, into metrics.
func measureStages(ctx context.Context, m *embed.Model, files []string, workers, threads, batch int, secs float64, metrics map[string]float64) error {
	dur := time.Duration(secs * float64(time.Second))
	n, d, err := decodeRate(files, workers, dur, 2*workers)
	if err != nil {
		return err
	}
	dec := float64(n) / d.Seconds()
	n, d, err = modelRate(ctx, m, batch, dur)
	if err != nil {
		return err
	}
	mod := float64(n) / d.Seconds()
	metrics["decode_per_sec"], metrics["model_per_sec"] = dec, mod
	// When both stages use every core, the best a pipeline can do is to
	// keep the CPUs busy: per-image costs add up. When each has cores of
	// its own, the slower stage sets the pace.
	metrics["bound_per_sec"] = 1 / (1/dec + 1/mod)
	if threads > 0 && workers+threads <= cores() {
		metrics["bound_per_sec"] = min(dec, mod)
	}
	return nil
}

// startCPUProfile starts a CPU profile into path ("" for none) and returns
// the function that stops it.
func startCPUProfile(path string) (stop func(), err error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// memoryAfter records memory with the store still open: the peak so far,
// the heap the Go runtime holds (≈ its peak), and what is live after a
// collection.
func memoryAfter(metrics map[string]float64, stopSampling func() (float64, float64)) {
	metrics["rss_peak_bytes"] = vmHWM()
	metrics["go_heap_max_bytes"], metrics["go_heap_max_at"] = stopSampling()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	metrics["go_heap_sys_bytes"] = float64(ms.HeapSys)
	runtime.GC()
	runtime.ReadMemStats(&ms)
	metrics["go_heap_live_bytes"] = float64(ms.HeapAlloc)
}

// sampleHeap samples the Go heap (live and not yet collected objects) every
// 20 ms until the returned function is called, which reports the largest
// sample and when it was taken as a fraction of the run.
func sampleHeap() func() (maxBytes, at float64) {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	done := make(chan struct{})
	var maxB, maxAt float64
	start := time.Now()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				metrics.Read(sample)
				if v := float64(sample[0].Value.Uint64()); v > maxB {
					maxB, maxAt = v, time.Since(start).Seconds()
				}
			}
		}
	}()
	return func() (float64, float64) {
		close(done)
		wg.Wait()
		return maxB, maxAt / time.Since(start).Seconds()
	}
}

// writeHeapProfile writes the live heap (after a GC) to path.
func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	runtime.GC()
	if err := pprof.WriteHeapProfile(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// dirSize is the total size of the regular files under dir.
func dirSize(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

// versions returns the Go and ONNX Runtime versions (the latter by loading
// the library, as the model commands do).
func versions(ctx context.Context) (goVer, ortVer string) {
	goVer = runtime.Version()
	if err := onnx.Init(ctx, onnx.LibraryOptions{Path: os.Getenv(onnx.EnvLibrary), Offline: true}); err != nil {
		return goVer, "unknown (" + err.Error() + ")"
	}
	return goVer, onnx.RuntimeVersion() + " (" + onnx.LibraryPath() + ")"
}
