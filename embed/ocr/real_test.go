package ocr

// Tests on the real PP-OCRv4 models ($CLIPRAG_OCR_MODELS, set by
// scripts/test.sh through scripts/ocrmodels.sh): without them they skip, or
// fail under CI=true.

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"unicode"

	"golang.org/x/image/draw"
	"golang.org/x/text/unicode/norm"

	"github.com/cliprag/cliprag/embed/preprocess"
	"github.com/cliprag/cliprag/embed/tinyshapes"
)

type fixture struct {
	File   string `json:"file"`
	Kind   string `json:"kind"`
	Width  int    `json:"width"`
	Height int    `json:"height"`
	Lines  []struct {
		Text string       `json:"text"`
		Lang string       `json:"lang"`
		Box  [][2]float64 `json:"box"`
	} `json:"lines"`
}

func (f fixture) box(i int) [4]image.Point {
	var b [4]image.Point
	for j, p := range f.Lines[i].Box {
		b[j] = image.Point{int(math.Round(p[0])), int(math.Round(p[1]))}
	}
	return b
}

// fixtures reads testdata/manifest.jsonl, written by
// scripts/ocr/gen_images.py --fixtures.
func fixtures(t *testing.T) []fixture {
	t.Helper()
	fh, err := os.Open("testdata/manifest.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	var out []fixture
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		var f fixture
		if err := json.Unmarshal(sc.Bytes(), &f); err != nil {
			t.Fatal(err)
		}
		out = append(out, f)
	}
	return out
}

// normalized is NFKC without white space, the text CER is computed on.
func normalized(s string) []rune {
	var out []rune
	for _, r := range norm.NFKC.String(s) {
		if !unicode.IsSpace(r) {
			out = append(out, r)
		}
	}
	return out
}

func editDistance(a, b []rune) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := 1
			if a[i-1] == b[j-1] {
				c = 0
			}
			cur[j] = min(prev[j-1]+c, prev[j]+1, cur[j-1]+1)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// TestFixturesCER reads every fixture and bounds the character error rate
// against the rendered text (lines in reading order, spaces ignored), and
// checks that each ground-truth line is found with its box.
func TestFixturesCER(t *testing.T) {
	e := realEngine(t)
	var errs, chars int
	for _, f := range fixtures(t) {
		res, err := e.ReadFile(context.Background(), filepath.Join("testdata", f.File))
		if err != nil {
			t.Fatal(err)
		}
		// The ground truth in the engine's reading order.
		order := make([]detBox, len(f.Lines))
		text := map[[4]pt]string{}
		for i, l := range f.Lines {
			for j, p := range l.Box {
				order[i].box[j] = pt{p[0], p[1]}
			}
			text[order[i].box] = l.Text
		}
		sortBoxes(order, DefaultRowTolerance)
		var want, got []rune
		for _, b := range order {
			want = append(want, normalized(text[b.box])...)
		}
		for _, l := range res.Lines {
			got = append(got, normalized(l.Text)...)
		}
		d := editDistance(want, got)
		errs += d
		chars += len(want)
		t.Logf("%s: %d errors in %d characters; %d lines, %v", f.File, d, len(want), len(res.Lines), res.Stats)
		if f.Kind == "notext" && len(res.Lines) > 0 {
			t.Errorf("%s has no text, read %v", f.File, res.Lines)
		}
		for i := range f.Lines {
			best := 0.0
			for _, l := range res.Lines {
				best = math.Max(best, BoxIoU(f.box(i), l.Box))
			}
			if best < 0.5 {
				t.Errorf("%s: no line boxed near %q %v (best IoU %.2f)", f.File, f.Lines[i].Text, f.box(i), best)
			}
		}
	}
	cer := float64(errs) / float64(chars)
	t.Logf("CER %.4f (%d/%d)", cer, errs, chars)
	if cer > 0.01 {
		t.Errorf("CER %.4f over the fixtures, want at most 0.01", cer)
	}
}

// TestFigureLines: the figure's Chinese title and English caption are read
// exactly, in reading order, with their boxes.
func TestFigureLines(t *testing.T) {
	e := realEngine(t)
	for _, name := range []string{"figure-0.png", "figure-exif6.jpg"} {
		t.Run(name, func(t *testing.T) {
			res, err := e.ReadFile(context.Background(), filepath.Join("testdata", name))
			if err != nil {
				t.Fatal(err)
			}
			var f fixture
			for _, x := range fixtures(t) {
				if x.File == name {
					f = x
				}
			}
			texts := make([]string, len(res.Lines))
			for i, l := range res.Lines {
				texts[i] = l.Text
			}
			if len(res.Lines) == 0 || res.Lines[0].Text != "断裂体系叠合图" {
				t.Fatalf("first line is not the title: %q", texts)
			}
			last := res.Lines[len(res.Lines)-1]
			if strings.Join(strings.Fields(last.Text), " ") != "Figure 3. Fault system overlay map" {
				t.Errorf("last line is not the caption: %q", texts)
			}
			// EXIF orientation applied: the boxes are those of the upright
			// figure (the stored JPEG is turned a quarter).
			if iou := BoxIoU(res.Lines[0].Box, f.box(0)); iou < 0.7 {
				t.Errorf("title box %v, want near %v (IoU %.2f)", res.Lines[0].Box, f.box(0), iou)
			}
			if res.Lines[0].Confidence < 0.9 {
				t.Errorf("title confidence %.3f", res.Lines[0].Confidence)
			}
		})
	}
}

// TestNoTextImages: shapes give no lines — the bundled examples/shapes
// images and shapes drawn by embed/tinyshapes — in at least 95 % of them.
func TestNoTextImages(t *testing.T) {
	e := realEngine(t)
	var imgs []image.Image
	var names []string
	paths, err := filepath.Glob("../../examples/shapes/*.*")
	if err != nil || len(paths) < 20 {
		t.Fatalf("examples/shapes: %d files, %v", len(paths), err)
	}
	for _, p := range paths {
		img, _, err := preprocess.DecodeFile(p, preprocess.DecodeOptions{})
		if err != nil {
			t.Fatal(err)
		}
		imgs, names = append(imgs, img), append(names, filepath.Base(p))
	}
	rng := rand.New(rand.NewPCG(7, 11))
	for i := range 40 {
		c := tinyshapes.Colors[i%len(tinyshapes.Colors)]
		s := tinyshapes.Shapes[(i/len(tinyshapes.Colors))%len(tinyshapes.Shapes)]
		imgs = append(imgs, tinyshapes.Draw(rng, c, s, tinyshapes.DrawOptions{Vary: true}))
		names = append(names, fmt.Sprintf("tinyshapes %s %s #%d", c, s, i))
	}
	clean := 0
	for i, img := range imgs {
		res, err := e.Read(context.Background(), img)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Lines) == 0 {
			clean++
		} else {
			t.Logf("%s: %d lines: %v", names[i], len(res.Lines), res.Lines)
		}
	}
	share := float64(clean) / float64(len(imgs))
	t.Logf("%d of %d shape images without lines (%.1f %%)", clean, len(imgs), 100*share)
	if share < 0.95 {
		t.Errorf("only %.1f %% of the shape images gave no lines, want at least 95 %%", 100*share)
	}
}

// TestHugeImage: an image far larger than the detection input is reduced
// first (memory bounded by Options.MaxSide, not by the image), its text is
// still read, and the boxes are in the original pixels.
func TestHugeImage(t *testing.T) {
	e := realEngine(t)
	src, _, err := preprocess.DecodeFile("testdata/figure-0.png", preprocess.DecodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	const k = 10 // 6400×4800, 30.7 megapixels
	b := src.Bounds()
	big := image.NewGray(image.Rect(0, 0, b.Dx()*k, b.Dy()*k))
	draw.NearestNeighbor.Scale(big, big.Bounds(), src, b, draw.Src, nil)
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	res, err := e.Read(context.Background(), big)
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("reduced by %d; %d lines; %.1f MB allocated; %+v", res.Stats.Reduced, len(res.Lines), float64(alloc)/1e6, res.Stats)
	if res.Stats.Reduced < 2 {
		t.Errorf("reduced by %d, want at least 2", res.Stats.Reduced)
	}
	// The working copy is at most 4096² × 3 bytes; everything else is
	// smaller. The 30.7-megapixel input (31 MB as grey) is not copied.
	if limit := uint64(150 << 20); alloc > limit {
		t.Errorf("%.1f MB allocated during Read, want under %d MB", float64(alloc)/1e6, limit>>20)
	}
	if len(res.Lines) == 0 || res.Lines[0].Text != "断裂体系叠合图" {
		t.Fatalf("title not read: %v", res.Lines)
	}
	var title [4]image.Point
	for _, f := range fixtures(t) {
		if f.File == "figure-0.png" {
			title = f.box(0)
		}
	}
	for i := range title {
		title[i] = title[i].Mul(k)
	}
	if iou := BoxIoU(res.Lines[0].Box, title); iou < 0.7 {
		t.Errorf("title box %v, want near %v in original pixels (IoU %.2f)", res.Lines[0].Box, title, iou)
	}
}

// TestConcurrentReads: one Engine read from several goroutines at once
// (two reads of each of four fixtures) gives the same lines as read one at
// a time.
func TestConcurrentReads(t *testing.T) {
	e := realEngine(t)
	fs := fixtures(t)[:4]
	want := make([][]Line, len(fs))
	for i, f := range fs {
		res, err := e.ReadFile(context.Background(), filepath.Join("testdata", f.File))
		if err != nil {
			t.Fatal(err)
		}
		want[i] = res.Lines
	}
	var wg sync.WaitGroup
	errc := make(chan error, 2*len(fs))
	for rep := range 2 {
		for i, f := range fs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res, err := e.ReadFile(context.Background(), filepath.Join("testdata", f.File))
				if err == nil && !slices.Equal(res.Lines, want[i]) {
					err = fmt.Errorf("%s (round %d): concurrent read %v, alone %v", f.File, rep, res.Lines, want[i])
				}
				if err != nil {
					errc <- err
				}
			}()
		}
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
}

// TestOddImages: degenerate images give no lines and no panic; an empty
// one and a cancelled context are errors.
func TestOddImages(t *testing.T) {
	e := realEngine(t)
	uniform := func(w, h int, c uint8) image.Image {
		g := image.NewGray(image.Rect(0, 0, w, h))
		for i := range g.Pix {
			g.Pix[i] = c
		}
		return g
	}
	noise := image.NewGray(image.Rect(0, 0, 300, 200))
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range noise.Pix {
		noise.Pix[i] = uint8(rng.IntN(256))
	}
	transparent := image.NewNRGBA(image.Rect(0, 0, 100, 100))
	stripes := image.NewGray(image.Rect(0, 0, 200, 200))
	for y := range 200 {
		for x := range 200 {
			stripes.SetGray(x, y, color.Gray{uint8(255 * (x / 2 % 2))})
		}
	}
	for name, img := range map[string]image.Image{
		"1×1":         uniform(1, 1, 0),
		"1×5000":      uniform(1, 5000, 255),
		"5000×1":      uniform(5000, 1, 0),
		"black":       uniform(640, 480, 0),
		"white":       uniform(640, 480, 255),
		"transparent": transparent,
		"stripes":     stripes,
		"noise":       noise,
	} {
		res, err := e.Read(context.Background(), img)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if len(res.Lines) > 0 && name != "noise" && name != "stripes" {
			t.Errorf("%s: lines %v", name, res.Lines)
		}
	}
	if _, err := e.Read(context.Background(), image.NewGray(image.Rect(0, 0, 0, 10))); err == nil {
		t.Error("empty image: no error")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := e.ReadFile(ctx, "testdata/figure-0.png"); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: err = %v, want context.Canceled", err)
	}
	if _, err := e.ReadFile(context.Background(), "testdata/nonexistent.png"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: err = %v", err)
	}
}

// TestUpsideDown: in the figure turned half a turn, the direction
// classifier turns the lines back and the title and caption are read.
func TestUpsideDown(t *testing.T) {
	e := realEngine(t)
	src, _, err := preprocess.DecodeFile("testdata/figure-0.png", preprocess.DecodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b := src.Bounds()
	turned := image.NewRGBA(b)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			turned.Set(b.Max.X-1-x+b.Min.X, b.Max.Y-1-y+b.Min.Y, src.At(x, y))
		}
	}
	res, err := e.Read(context.Background(), turned)
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, l := range res.Lines {
		texts = append(texts, strings.Join(strings.Fields(l.Text), " "))
	}
	t.Logf("%q %+v", texts, res.Stats)
	for _, want := range []string{"断裂体系叠合图", "Figure 3. Fault system overlay map"} {
		if !slices.Contains(texts, want) {
			t.Errorf("%q not read from the turned figure: %q", want, texts)
		}
	}
	if res.Stats.Rotated < 2 {
		t.Errorf("%d lines turned, want at least the title and the caption", res.Stats.Rotated)
	}
}
