// Command query measures text queries: encoding a query, a query against an
// index (encode + vector search), and a whole `rag-search search` process
// (wall time, peak RSS). scripts/bench/sections/query.sh drives it; it uses
// only API that predates the lazy towers, so the same file also builds
// against an older checkout, for a before/after comparison in one run.
//
// Usage:
//
//	query fill    -model M -store S -n N     N random unit vectors under M's id
//	query encode  -model M -n N              EmbedTexts of one query, N distinct queries
//	query search  -model M -store S -n N     encode + Store.Search, N distinct queries
//	query process -bin B -runs R -- ARGS...  run B ARGS R times: wall, peak RSS
//	query report  -results F                 the BENCHMARKS.md section
//
// Every measuring subcommand appends one JSON line to -out (default stdout).
package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/cliprag/cliprag/embed"
	"github.com/cliprag/cliprag/retriever"
	"github.com/cliprag/cliprag/retriever/stores"
)

// Result is one measurement.
type Result struct {
	Kind    string    `json:"kind"`  // encode, search, process
	Label   string    `json:"label"` // which build or store
	Model   string    `json:"model"`
	Store   string    `json:"store,omitempty"`
	N       int       `json:"n"`
	P50     float64   `json:"p50_ms,omitempty"`
	P90     float64   `json:"p90_ms,omitempty"`
	Repeat  float64   `json:"repeat_p50_ms,omitempty"` // the same query again
	Load    float64   `json:"load_ms,omitempty"`       // embed.Load
	Walls   []float64 `json:"walls_s,omitempty"`
	RSS     []float64 `json:"rss_mib,omitempty"`
	LoadBeg float64   `json:"load_begin"`
	LoadEnd float64   `json:"load_end"`
	Time    time.Time `json:"time"`
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: query fill|encode|search|process|report [flags]")
		os.Exit(2)
	}
	cmds := map[string]func([]string) error{"fill": cmdFill, "encode": cmdEncode, "search": cmdSearch, "process": cmdProcess, "report": cmdReport}
	f, ok := cmds[os.Args[1]]
	if !ok {
		fmt.Fprintf(os.Stderr, "query: unknown subcommand %q\n", os.Args[1])
		os.Exit(2)
	}
	if err := f(os.Args[2:]); err != nil {
		fmt.Fprintln(os.Stderr, "query:", err)
		os.Exit(1)
	}
}

func loadAvg() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return -1
	}
	var l float64
	fmt.Sscan(string(b), &l)
	return l
}

func emit(path string, r Result) error {
	r.Time = time.Now().UTC()
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "query: %s\n", b)
	w := io.Writer(os.Stdout)
	if path != "-" {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

// load opens the model with the runtime library from ONNXRUNTIME_LIB and
// the cache folder from CLIPRAG_CACHE, as the commands do.
func load(ctx context.Context, ref string) (*embed.Model, time.Duration, error) {
	start := time.Now()
	opts := []embed.Option{embed.WithOffline(true), embed.WithLibrary(os.Getenv("ONNXRUNTIME_LIB"))}
	if d := os.Getenv("CLIPRAG_CACHE"); d != "" {
		opts = append(opts, embed.WithCacheDir(d))
	}
	m, err := embed.Load(ctx, ref, opts...)
	return m, time.Since(start), err
}

// queries returns n distinct queries of ordinary length.
func queries(n int) []string {
	colours := []string{"red", "green", "blue", "yellow", "purple", "black", "white", "orange"}
	things := []string{"circle", "square", "triangle", "cross", "cat on a sofa", "map of the fault system", "diagram", "beach at sunset", "mountain lake", "street at night"}
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("a photo of a %s %s number %d", colours[i%len(colours)], things[(i/len(colours))%len(things)], i)
	}
	return out
}

func percentile(ms []float64, p float64) float64 {
	s := slices.Clone(ms)
	slices.Sort(s)
	return s[min(len(s)-1, int(p*float64(len(s))))]
}

func cmdFill(args []string) error {
	fs := flag.NewFlagSet("fill", flag.ContinueOnError)
	ref := fs.String("model", "", "model")
	spec := fs.String("store", "", "store")
	n := fs.Int("n", 10000, "records")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx := context.Background()
	m, _, err := load(ctx, *ref)
	if err != nil {
		return err
	}
	defer m.Close()
	s, err := stores.Open(ctx, *spec, stores.Options{})
	if err != nil {
		return err
	}
	defer s.Close()
	if err := s.Ensure(ctx, retriever.Collection{Model: m.ID(), Dim: m.Dim()}); err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(16, 2))
	now := time.Now().UTC()
	for start := 0; start < *n; start += 1000 {
		var recs []retriever.Record
		for i := start; i < min(start+1000, *n); i++ {
			v := make([]float32, m.Dim())
			var norm float64
			for j := range v {
				v[j] = float32(rng.NormFloat64())
				norm += float64(v[j]) * float64(v[j])
			}
			for j := range v {
				v[j] /= float32(math.Sqrt(norm))
			}
			sha := fmt.Sprintf("%064x", i)
			p := fmt.Sprintf("/bench/images/img-%06d.jpg", i)
			recs = append(recs, retriever.Record{ID: retriever.RecordID(sha, m.ID()), Vector: v, Payload: retriever.Payload{
				Path: p, SHA256: sha, Size: 100000, ModTime: now, Width: 640, Height: 480, Format: "jpeg",
				Folder: filepath.Dir(p), IndexedAt: now, Model: m.ID()}})
		}
		if err := s.Upsert(ctx, recs); err != nil {
			return err
		}
	}
	fmt.Fprintf(os.Stderr, "query: filled %s with %d vectors of %s\n", *spec, *n, m.ID())
	return nil
}

// timeQueries runs f on each query after two warm-up calls and returns the
// milliseconds of each.
func timeQueries(qs []string, f func(q string) error) ([]float64, error) {
	for _, q := range []string{"warm-up one", "warm-up two"} {
		if err := f(q); err != nil {
			return nil, err
		}
	}
	ms := make([]float64, 0, len(qs))
	for _, q := range qs {
		start := time.Now()
		if err := f(q); err != nil {
			return nil, err
		}
		ms = append(ms, float64(time.Since(start).Microseconds())/1000)
	}
	return ms, nil
}

func cmdEncode(args []string) error {
	fs := flag.NewFlagSet("encode", flag.ContinueOnError)
	ref := fs.String("model", "", "model")
	label := fs.String("label", "", "label")
	n := fs.Int("n", 100, "queries")
	out := fs.String("out", "-", "results file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx := context.Background()
	r := Result{Kind: "encode", Label: *label, Model: filepath.Base(*ref), N: *n, LoadBeg: loadAvg()}
	m, took, err := load(ctx, *ref)
	if err != nil {
		return err
	}
	defer m.Close()
	r.Load = float64(took.Microseconds()) / 1000
	embedOne := func(q string) error { _, err := m.EmbedTexts(ctx, []string{q}); return err }
	ms, err := timeQueries(queries(*n), embedOne)
	if err != nil {
		return err
	}
	r.P50, r.P90 = percentile(ms, 0.5), percentile(ms, 0.9)
	again, err := timeQueries(queries(*n)[:min(*n, 20)], embedOne)
	if err != nil {
		return err
	}
	r.Repeat = percentile(again, 0.5)
	r.LoadEnd = loadAvg()
	return emit(*out, r)
}

func cmdSearch(args []string) error {
	fs := flag.NewFlagSet("search", flag.ContinueOnError)
	ref := fs.String("model", "", "model")
	spec := fs.String("store", "", "store")
	label := fs.String("label", "", "label")
	n := fs.Int("n", 100, "queries")
	out := fs.String("out", "-", "results file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx := context.Background()
	m, _, err := load(ctx, *ref)
	if err != nil {
		return err
	}
	defer m.Close()
	s, err := stores.Open(ctx, *spec, stores.Options{ReadOnly: true})
	if err != nil {
		return err
	}
	defer s.Close()
	count, err := s.Count(ctx)
	if err != nil {
		return err
	}
	r := Result{Kind: "search", Label: *label, Model: filepath.Base(*ref), Store: storeKind(*spec), N: count, LoadBeg: loadAvg()}
	ms, err := timeQueries(queries(*n), func(q string) error {
		v, err := m.EmbedTexts(ctx, []string{q})
		if err != nil {
			return err
		}
		hits, err := s.Search(ctx, v[0], 5, retriever.Filter{})
		if err == nil && len(hits) != 5 {
			err = fmt.Errorf("%d hits, want 5", len(hits))
		}
		return err
	})
	if err != nil {
		return err
	}
	r.P50, r.P90 = percentile(ms, 0.5), percentile(ms, 0.9)
	r.LoadEnd = loadAvg()
	return emit(*out, r)
}

func storeKind(spec string) string {
	if strings.HasPrefix(spec, "qdrant") {
		return "qdrant"
	}
	return "local"
}

func cmdProcess(args []string) error {
	fs := flag.NewFlagSet("process", flag.ContinueOnError)
	bin := fs.String("bin", "", "program")
	label := fs.String("label", "", "label")
	model := fs.String("model", "", "model (for the report)")
	runs := fs.Int("runs", 3, "runs")
	out := fs.String("out", "-", "results file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	r := Result{Kind: "process", Label: *label, Model: filepath.Base(*model), N: *runs, LoadBeg: loadAvg()}
	for i := 0; i < *runs; i++ {
		cmd := exec.Command(*bin, fs.Args()...)
		cmd.Stdout = io.Discard
		var stderr strings.Builder
		cmd.Stderr = &stderr
		start := time.Now()
		err := cmd.Run()
		wall := time.Since(start).Seconds()
		if err != nil {
			return fmt.Errorf("%s %v: %w\n%s", *bin, fs.Args(), err, stderr.String())
		}
		ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
		if !ok {
			return errors.New("no rusage")
		}
		r.Walls = append(r.Walls, wall)
		r.RSS = append(r.RSS, float64(ru.Maxrss)/1024) // Linux: KiB
	}
	r.LoadEnd = loadAvg()
	return emit(*out, r)
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[(len(s)-1)/2]
}

func cmdReport(args []string) error {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	results := fs.String("results", "", "results file")
	invocation := fs.String("invocation", "scripts/bench.sh query", "how the section was made")
	base := fs.String("base", "", "the commit the 'before' build was made from")
	if err := fs.Parse(args); err != nil {
		return err
	}
	b, err := os.ReadFile(*results)
	if err != nil {
		return err
	}
	var rs []Result
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var r Result
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			return fmt.Errorf("%s: %w", *results, err)
		}
		rs = append(rs, r)
	}
	writeReport(os.Stdout, rs, *invocation, *base)
	return nil
}

func loads(rs []Result) (lo, hi float64) {
	lo, hi = 1e9, -1
	for _, r := range rs {
		lo, hi = min(lo, r.LoadBeg, r.LoadEnd), max(hi, r.LoadBeg, r.LoadEnd)
	}
	return lo, hi
}

// group merges the runs of one case (kind, label, store): p50 and p90 are
// the medians over the runs, walls and RSS the runs' values together.
func group(rs []Result, kind string) []Result {
	type key struct{ label, store string }
	byKey := map[key][]Result{}
	var order []key
	for _, r := range rs {
		if r.Kind != kind {
			continue
		}
		k := key{r.Label, r.Store}
		if _, ok := byKey[k]; !ok {
			order = append(order, k)
		}
		byKey[k] = append(byKey[k], r)
	}
	var out []Result
	for _, k := range order {
		g := byKey[k]
		m := g[0]
		m.LoadBeg, m.LoadEnd = loads(g)
		var p50, p90, rep, ld []float64
		m.Walls, m.RSS = nil, nil
		for _, r := range g {
			p50, p90, rep, ld = append(p50, r.P50), append(p90, r.P90), append(rep, r.Repeat), append(ld, r.Load)
			m.Walls, m.RSS = append(m.Walls, r.Walls...), append(m.RSS, r.RSS...)
		}
		m.P50, m.P90, m.Repeat, m.Load = median(p50), median(p90), median(rep), median(ld)
		m.N = len(g)
		out = append(out, m)
	}
	slices.SortStableFunc(out, func(a, b Result) int {
		return cmp.Or(cmp.Compare(a.Store, b.Store), -cmp.Compare(a.Label, b.Label))
	})
	return out
}

func writeReport(w io.Writer, rs []Result, invocation, base string) {
	p := func(format string, a ...any) { fmt.Fprintf(w, format, a...) }
	lo, hi := loads(rs)
	p("## Query\n\n")
	p("Generated by `%s` (do not edit by hand; re-run the script).\n\n", invocation)
	p("- Machine: %d cores (%s/%s); 1-minute load average %.1f–%.1f during the run (other jobs shared the machine; each table gives the range over its runs).\n", runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, lo, hi)
	p("- Model: `vit-b-32-random` (`scripts/build_vit_b32.py`: the ViT-B/32 architecture with random weights, OpenAI's CLIP BPE merges, context 77; the text tower is 12 layers × 512 wide, causal, with a dynamic sequence axis).\n")
	p("- `before` is cliprag at commit %s (both towers loaded by `embed.Load`, every query padded to 77 tokens, no cache), built in the same run with the same measuring program (`scripts/bench/query`); `after` is this checkout (each tower opened on first use, the text tower run at the query's real length and opened from an optimised ORT-format copy in the cache, memory-mapped, a %d-entry LRU of text embeddings). The cache folder is fresh: the first `after` process writes the copy (its own row below); every other `after` figure uses it.\n", base, 1024)
	p("- Every figure is the median over the runs (`runs`); within a run, queries are distinct (\"a photo of a red circle number 17\"…), so the cache does not help them, except in the *repeated* column.\n\n")
	p("### Encoding one query\n\n`Model.EmbedTexts` of one query, after two warm-up calls, 100 distinct queries per run; `embed.Load` is the load call itself (with the lazy towers it opens no session).\n\n")
	p("| build | runs | p50 ms | p90 ms | repeated query p50 ms | embed.Load ms | load avg |\n|---|---:|---:|---:|---:|---:|---|\n")
	for _, r := range group(rs, "encode") {
		rep := "–"
		if r.Label != "before" {
			rep = fmt.Sprintf("%.3f", r.Repeat)
		}
		p("| %s | %d | **%.1f** | %.1f | %s | %.0f | %.1f–%.1f |\n", r.Label, r.N, r.P50, r.P90, rep, r.Load, r.LoadBeg, r.LoadEnd)
	}
	p("\n### A query against a 10k index\n\nEncode + `Store.Search` (top 5) of 100 distinct queries per run in one process, over 10,000 random unit vectors stored under the model's id: the embedded store and Qdrant (HNSW, on 127.0.0.1, started by `scripts/qdrant.sh`).\n\n")
	p("| build | store | runs | p50 ms | p90 ms | load avg |\n|---|---|---:|---:|---:|---|\n")
	for _, r := range group(rs, "search") {
		p("| %s | %s | %d | **%.1f** | %.1f | %.1f–%.1f |\n", r.Label, r.Store, r.N, r.P50, r.P90, r.LoadBeg, r.LoadEnd)
	}
	p("\n### A `rag-search search` process\n\n`rag-search search --model $VIT --store $W/index --top-k 5 \"a photo of a cat on a sofa\"` as a fresh process on the 10k embedded index: wall time from start to exit and peak RSS (`ru_maxrss`), one process per run.\n\n")
	p("| build | runs | wall s | each run | peak RSS MiB | each run | load avg |\n|---|---:|---:|---|---:|---|---|\n")
	for _, r := range group(rs, "process") {
		p("| %s | %d | **%.2f** | %s | **%.0f** | %s | %.1f–%.1f |\n", r.Label, len(r.Walls), median(r.Walls), join(r.Walls, "%.2f"), median(r.RSS), join(r.RSS, "%.0f"), r.LoadBeg, r.LoadEnd)
	}
	p("\nGoals (issue 16, goal 2): encode p50 < 10 ms; the process < 0.7 s wall and < 400 MiB peak.\n")
}

func join(v []float64, format string) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = fmt.Sprintf(format, x)
	}
	return strings.Join(s, ", ")
}
