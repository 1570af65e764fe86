package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cliprag/cliprag/embed/ocr"
	"github.com/cliprag/cliprag/embed/onnx"
)

// cmdOurs runs embed/ocr over the set, repeat times, and keeps each image's
// lines from the first pass and its median times over the passes.
func cmdOurs(args []string) error {
	fs := flag.NewFlagSet("ours", flag.ExitOnError)
	set := fs.String("set", "", "image folder with manifest.jsonl")
	models := fs.String("models", "", "model folder")
	out := fs.String("out", "", "results (JSON lines)")
	threads := fs.Int("threads", 2, "intra-op threads")
	repeat := fs.Int("repeat", 3, "passes over the set (median time per image)")
	classify := fs.Bool("classify", false, "run the direction classifier")
	lib := fs.String("ort", os.Getenv(onnx.EnvLibrary), "ONNX Runtime library")
	o := ocr.Options{}
	fs.IntVar(&o.LimitSide, "limit-side", 0, "Options.LimitSide (0: default)")
	fs.Func("det-thresh", "Options.DetThresh (default: the package's)", floatFlag(&o.DetThresh))
	fs.Func("box-thresh", "Options.BoxThresh (default: the package's)", floatFlag(&o.BoxThresh))
	fs.Float64Var(&o.UnclipRatio, "unclip", 0, "Options.UnclipRatio (0: default)")
	fs.Parse(args)
	ctx := context.Background()
	o.ModelDir, o.Threads, o.Classify = *models, *threads, *classify
	o.Library = onnx.LibraryOptions{Path: *lib, Offline: true}
	eng, err := ocr.New(ctx, o)
	if err != nil {
		return err
	}
	defer eng.Close()
	entries, err := readManifest(*set)
	if err != nil {
		return err
	}
	if len(entries) > 0 { // warm-up
		if _, err := eng.ReadFile(ctx, filepath.Join(*set, entries[0].File)); err != nil {
			return err
		}
	}
	res := make([]result, len(entries))
	times := make([][4][]float64, len(entries))
	for pass := range max(*repeat, 1) {
		for i, e := range entries {
			t0 := time.Now()
			r, err := eng.ReadFile(ctx, filepath.Join(*set, e.File))
			if err != nil {
				return err
			}
			total := time.Since(t0)
			st := r.Stats
			for k, d := range []time.Duration{st.Detect, st.Classify, st.Recognize, total} {
				times[i][k] = append(times[i][k], ms(d))
			}
			if pass == 0 {
				res[i] = result{File: e.File, Skipped: st.Skipped}
				for _, l := range r.Lines {
					res[i].Lines = append(res[i].Lines, predLine{Text: l.Text, Conf: float64(l.Confidence), Box: boxOf(l.Box)})
				}
			}
		}
	}
	for i := range res {
		res[i].DetMS, res[i].ClsMS, res[i].RecMS, res[i].TotalMS = median(times[i][0]), median(times[i][1]), median(times[i][2]), median(times[i][3])
	}
	return writeJSONL(*out, res)
}

func floatFlag(v *float32) func(string) error {
	return func(s string) error {
		f, err := strconv.ParseFloat(s, 32)
		*v = float32(f)
		return err
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// cmdTesseract runs Tesseract over the whole set, repeat times, each pass
// one process on a list file (so the models load once per pass), and
// records each image's lines from the first pass's TSV output and its
// median time over the passes. An image's time runs from Tesseract's
// "Page N : file" progress line for it to the next one (or the end); a
// first warm-up page (the set's first image again) takes the model
// loading.
func cmdTesseract(args []string) error {
	fs := flag.NewFlagSet("tesseract", flag.ExitOnError)
	set := fs.String("set", "", "image folder with manifest.jsonl")
	out := fs.String("out", "", "results (JSON lines)")
	threads := fs.Int("threads", 2, "OpenMP threads (OMP_THREAD_LIMIT)")
	repeat := fs.Int("repeat", 1, "passes over the set (median time per image)")
	langs := fs.String("l", "chi_sim+eng", "tesseract languages")
	fs.Parse(args)
	entries, err := readManifest(*set)
	if err != nil {
		return err
	}
	if len(entries) == 0 {
		return writeJSONL(*out, []result{})
	}
	tmp, err := os.MkdirTemp("", "ocr-tess")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	list := filepath.Join(tmp, "list.txt")
	var b strings.Builder
	for i := -1; i < len(entries); i++ {
		abs, err := filepath.Abs(filepath.Join(*set, entries[max(i, 0)].File))
		if err != nil {
			return err
		}
		b.WriteString(abs + "\n")
	}
	if err := os.WriteFile(list, []byte(b.String()), 0o644); err != nil {
		return err
	}
	res := make([]result, len(entries))
	times := make([][]float64, len(entries))
	for pass := range max(*repeat, 1) {
		base := filepath.Join(tmp, fmt.Sprintf("out%d", pass))
		pages, err := runTesseract(list, base, *langs, *threads, len(entries)+1)
		if err != nil {
			return err
		}
		for i := range entries {
			times[i] = append(times[i], pages[i+1])
		}
		if pass > 0 {
			continue
		}
		lines, err := parseTSV(base + ".tsv")
		if err != nil {
			return err
		}
		for i, e := range entries {
			res[i] = result{File: e.File, Lines: lines[i+2]} // TSV pages count from 1; page 1 is the warm-up
		}
	}
	for i := range res {
		res[i].TotalMS = median(times[i])
	}
	return writeJSONL(*out, res)
}

// runTesseract runs tesseract on the list file, writing base.tsv, and
// returns the milliseconds of each of its n pages, measured between the
// progress lines it writes to its standard error as it starts each page.
func runTesseract(list, base, langs string, threads, n int) ([]float64, error) {
	cmd := exec.Command("tesseract", list, base, "-l", langs, "tsv")
	cmd.Env = append(os.Environ(), "OMP_THREAD_LIMIT="+strconv.Itoa(threads))
	pipe, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("tesseract: %w", err)
	}
	starts := make([]time.Time, n)
	var msgs []string
	sc := bufio.NewScanner(pipe)
	for sc.Scan() {
		line := sc.Text()
		var page int
		if _, err := fmt.Sscanf(line, "Page %d :", &page); err == nil && page >= 0 && page < n {
			starts[page] = time.Now()
			continue
		}
		if len(msgs) < 20 {
			msgs = append(msgs, line)
		}
	}
	if err := cmd.Wait(); err != nil {
		return nil, fmt.Errorf("tesseract: %v: %s", err, strings.Join(msgs, "; "))
	}
	end := time.Now()
	out := make([]float64, n)
	for i := range n {
		next := end
		if i+1 < n {
			next = starts[i+1]
		}
		if starts[i].IsZero() || next.IsZero() {
			return nil, fmt.Errorf("tesseract: no progress line for page %d of %d (%s)", i, n, strings.Join(msgs, "; "))
		}
		out[i] = ms(next.Sub(starts[i]))
	}
	return out, nil
}

// parseTSV groups Tesseract's words (level 5) into lines per page: the
// words of one (block, paragraph, line) joined by spaces, boxed by their
// union.
func parseTSV(path string) (map[int][]predLine, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	type key struct{ page, block, par, line int }
	type acc struct {
		words          []string
		x0, y0, x1, y1 float64
		conf           float64
	}
	lines := map[key]*acc{}
	var order []key
	// Tesseract's TSV quotes nothing: a word may start with a double quote
	// (a CSV reader would take it for a quoted field and swallow the rows
	// after it), so rows are split on tabs alone.
	for _, row := range strings.Split(string(data), "\n") {
		rec := strings.Split(strings.TrimRight(row, "\r"), "\t")
		if len(rec) < 12 || rec[0] != "5" || strings.TrimSpace(rec[11]) == "" {
			continue
		}
		n := make([]float64, 11)
		for i := range 11 {
			n[i], _ = strconv.ParseFloat(rec[i], 64)
		}
		k := key{int(n[1]), int(n[2]), int(n[3]), int(n[4])}
		a, ok := lines[k]
		if !ok {
			a = &acc{x0: n[6], y0: n[7], x1: n[6] + n[8], y1: n[7] + n[9]}
			lines[k] = a
			order = append(order, k)
		}
		a.words = append(a.words, rec[11])
		a.x0, a.y0 = min(a.x0, n[6]), min(a.y0, n[7])
		a.x1, a.y1 = max(a.x1, n[6]+n[8]), max(a.y1, n[7]+n[9])
		a.conf += n[10]
	}
	out := map[int][]predLine{}
	for _, k := range order {
		a := lines[k]
		out[k.page] = append(out[k.page], predLine{
			Text: strings.Join(a.words, " "),
			Conf: a.conf / float64(len(a.words)) / 100,
			Box:  [][2]float64{{a.x0, a.y0}, {a.x1, a.y0}, {a.x1, a.y1}, {a.x0, a.y1}},
		})
	}
	return out, nil
}
