package embed_test

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/cliprag/cliprag/embed"
	"github.com/cliprag/cliprag/embed/onnx"
	"github.com/cliprag/cliprag/embed/tinyshapes"
)

// requireRuntime initialises ONNX Runtime without downloading anything. When
// no library is found it skips, unless CI=true, where it fails.
func requireRuntime(tb testing.TB) {
	tb.Helper()
	err := onnx.Init(context.Background(), onnx.LibraryOptions{Path: os.Getenv(onnx.EnvLibrary), Offline: true})
	if err == nil {
		return
	}
	if os.Getenv("CI") == "true" {
		tb.Fatalf("ONNX Runtime library not available in CI: %v", err)
	}
	tb.Skipf("ONNX Runtime library not available (set %s to libonnxruntime.so): %v", onnx.EnvLibrary, err)
}

var (
	tinyOnce  sync.Once
	tinyModel *embed.Model
	tinyErr   error
)

// tiny returns the bundled tiny-shapes model, shared by the tests.
func tiny(tb testing.TB) *embed.Model {
	tb.Helper()
	requireRuntime(tb)
	tinyOnce.Do(func() {
		tinyModel, tinyErr = embed.Load(context.Background(), "tiny-shapes", embed.WithOffline(true))
	})
	if tinyErr != nil {
		tb.Fatalf("load tiny-shapes: %v", tinyErr)
	}
	return tinyModel
}

func TestMain(m *testing.M) {
	// Keep the optimised copies that directory models write out of the
	// user's cache.
	cache, err := os.MkdirTemp("", "embed-test-cache-")
	if err == nil {
		os.Setenv("XDG_CACHE_HOME", cache)
	}
	// The library from ONNXRUNTIME_LIB (the tests' configuration), for the
	// examples, which call Load without options; tests that need it check
	// with requireRuntime.
	_ = onnx.Init(context.Background(), onnx.LibraryOptions{Path: os.Getenv(onnx.EnvLibrary), Offline: true})
	code := m.Run()
	if cache != "" {
		os.RemoveAll(cache)
	}
	if tinyModel != nil {
		tinyModel.Close()
	}
	os.Exit(code)
}

func checkUnit(t *testing.T, what string, vecs [][]float32, dim int) {
	t.Helper()
	for i, v := range vecs {
		if len(v) != dim {
			t.Fatalf("%s %d: dim %d, want %d", what, i, len(v), dim)
		}
		var s float64
		for _, x := range v {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				t.Fatalf("%s %d: non-finite value", what, i)
			}
			s += float64(x) * float64(x)
		}
		if math.Abs(math.Sqrt(s)-1) > 1e-5 {
			t.Fatalf("%s %d: norm %v, want 1", what, i, math.Sqrt(s))
		}
	}
}

func maxDiff(a, b []float32) float64 {
	var d float64
	for i := range a {
		d = math.Max(d, math.Abs(float64(a[i]-b[i])))
	}
	return d
}

func TestTinyModelBasics(t *testing.T) {
	m := tiny(t)
	if m.ID() != "tiny-shapes" || m.Name() != "tiny-shapes" {
		t.Errorf("ID %q Name %q, want tiny-shapes", m.ID(), m.Name())
	}
	if m.Dim() <= 0 {
		t.Fatalf("Dim %d", m.Dim())
	}
	if m.ContextLength() != 77 {
		t.Errorf("ContextLength %d, want 77", m.ContextLength())
	}
	if s := m.LogitScale(); s < 10 || s > 100.001 {
		t.Errorf("LogitScale %v, want the trained value in [10, 100]", s)
	}
	p := m.Preprocessor()
	if p.Size != 224 || p.Mode != embed.CenterCrop {
		t.Errorf("preprocessor %+v, want 224 centre crop", p)
	}
	if m.Device() != "cpu" {
		t.Errorf("Device %q", m.Device())
	}
	if m.Layout() != embed.LayoutOptimum {
		t.Errorf("Layout %q", m.Layout())
	}
	ctx := context.Background()
	tv, err := m.EmbedTexts(ctx, []string{"a photo of a red circle", "", strings.Repeat("blue square ", 60)})
	if err != nil {
		t.Fatal(err)
	}
	checkUnit(t, "text", tv, m.Dim())
	img := tinyshapes.Draw(rand.New(rand.NewPCG(1, 2)), "red", "circle", tinyshapes.Options{Width: 200, Height: 160})
	iv, err := m.EmbedImages(ctx, []image.Image{img})
	if err != nil {
		t.Fatal(err)
	}
	checkUnit(t, "image", iv, m.Dim())
	if out, err := m.EmbedTexts(ctx, nil); err != nil || len(out) != 0 {
		t.Errorf("EmbedTexts(nil) = %d, %v", len(out), err)
	}
}

// drawn is a held-out image drawn in Go, saved as a file.
type drawn struct {
	class int
	path  string
	img   image.Image
}

// drawSet draws perClass fresh images of every class with mixed sizes,
// aspect ratios, rotation and blur, and saves them as JPEG or PNG in dir.
func drawSet(t testing.TB, seed uint64, perClass int, dir string) []drawn {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	classes := tinyshapes.ClassList()
	var out []drawn
	for k := 0; k < perClass; k++ {
		for ci, c := range classes {
			short := 96 + rng.IntN(640-96+1)
			long := int(float64(short) * (1 + 0.6*rng.Float64()))
			long = min(long, 640)
			w, h := short, long
			if rng.IntN(2) == 0 {
				w, h = long, short
			}
			o := tinyshapes.Options{Width: w, Height: h}
			if rng.Float64() < 0.4 {
				o.Rotate = rng.Float64() * 360
			}
			if rng.Float64() < 0.25 {
				o.Blur = 0.5 + 1.5*rng.Float64()
			}
			img := tinyshapes.Draw(rng, c.Color, c.Shape, o)
			ext := ".png"
			if rng.IntN(2) == 0 {
				ext = ".jpg"
			}
			p := filepath.Join(dir, fmt.Sprintf("%03d-%02d%s", len(out), ci, ext))
			writeImage(t, p, img)
			out = append(out, drawn{class: ci, path: p, img: img})
		}
	}
	return out
}

func writeImage(t testing.TB, path string, img image.Image) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasSuffix(path, ".jpg") {
		err = jpeg.Encode(f, img, &jpeg.Options{Quality: 85})
	} else {
		err = png.Encode(f, img)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatalf("write %s: %v", path, err)
	}
}

// TestAccuracyHeldOut is the gate on the bundled model: zero-shot accuracy
// over the 20 classes and text→image precision@5 on fresh Go-drawn images.
func TestAccuracyHeldOut(t *testing.T) {
	m := tiny(t)
	ctx := context.Background()
	const perClass = 11
	set := drawSet(t, 20260527, perClass, t.TempDir())
	paths := make([]string, len(set))
	for i, d := range set {
		paths[i] = d.path
	}
	vecs, err := m.EmbedImageFiles(ctx, paths)
	if err != nil {
		t.Fatal(err)
	}
	checkUnit(t, "image", vecs, m.Dim())

	labels := tinyshapes.Classes()
	lv, err := m.LabelEmbeddings(ctx, labels, nil)
	if err != nil {
		t.Fatal(err)
	}
	correct := 0
	for i, v := range vecs {
		probs, err := m.ClassifyVectors(v, labels, lv)
		if err != nil {
			t.Fatal(err)
		}
		var sum float64
		best := 0
		for j, p := range probs {
			sum += float64(p.Prob)
			if p.Prob > probs[best].Prob {
				best = j
			}
		}
		if math.Abs(sum-1) > 1e-5 {
			t.Fatalf("image %d: probabilities sum to %v", i, sum)
		}
		if best == set[i].class {
			correct++
		}
	}
	acc := float64(correct) / float64(len(set))
	t.Logf("zero-shot accuracy %.2f%% (%d/%d held-out images, 20 classes)", 100*acc, correct, len(set))
	if acc < 0.90 {
		t.Errorf("zero-shot accuracy %.2f%% < 90%%", 100*acc)
	}

	// Text → image precision@5 with the caption "a photo of a <class>".
	captions := make([]string, len(labels))
	for i, l := range labels {
		captions[i] = "a photo of a " + l
	}
	qv, err := m.EmbedTexts(ctx, captions)
	if err != nil {
		t.Fatal(err)
	}
	var p5 float64
	for ci, q := range qv {
		idx := make([]int, len(vecs))
		for i := range idx {
			idx[i] = i
		}
		sort.SliceStable(idx, func(a, b int) bool { return embed.Cosine(q, vecs[idx[a]]) > embed.Cosine(q, vecs[idx[b]]) })
		hits := 0
		for _, i := range idx[:5] {
			if set[i].class == ci {
				hits++
			}
		}
		p5 += float64(hits) / 5
	}
	p5 /= float64(len(qv))
	t.Logf("text→image precision@5 %.3f", p5)
	if p5 < 0.9 {
		t.Errorf("precision@5 %.3f < 0.9", p5)
	}
}

func TestBatchEqualsSingle(t *testing.T) {
	m := tiny(t)
	ctx := context.Background()
	set := drawSet(t, 7, 1, t.TempDir()) // 20 images: more than one batch of 16
	imgs := make([]image.Image, len(set))
	for i, d := range set {
		imgs[i] = d.img
	}
	batch, err := m.EmbedImages(ctx, imgs)
	if err != nil {
		t.Fatal(err)
	}
	texts := make([]string, 20)
	for i := range texts {
		c := tinyshapes.ClassList()[i]
		texts[i] = fmt.Sprintf("a photo of a %s %s", c.Color, c.Shape)
	}
	tbatch, err := m.EmbedTexts(ctx, texts)
	if err != nil {
		t.Fatal(err)
	}
	for i := range imgs {
		one, err := m.EmbedImages(ctx, imgs[i:i+1])
		if err != nil {
			t.Fatal(err)
		}
		if d := maxDiff(one[0], batch[i]); d > 1e-5 {
			t.Errorf("image %d: batch and single differ by %g", i, d)
		}
		tone, err := m.EmbedTexts(ctx, texts[i:i+1])
		if err != nil {
			t.Fatal(err)
		}
		if d := maxDiff(tone[0], tbatch[i]); d > 1e-5 {
			t.Errorf("text %d: batch and single differ by %g", i, d)
		}
	}
	// Files and pixels give the same vectors as decoded images of PNG files.
	pre := m.Preprocessor()
	for i, d := range set {
		if !strings.HasSuffix(d.path, ".png") {
			continue
		}
		fv, err := m.EmbedImageFiles(ctx, []string{d.path})
		if err != nil {
			t.Fatal(err)
		}
		px, err := pre.LoadFile(d.path)
		if err != nil {
			t.Fatal(err)
		}
		pv, err := m.EmbedPixels(ctx, [][]float32{px})
		if err != nil {
			t.Fatal(err)
		}
		if dd := maxDiff(fv[0], batch[i]); dd > 1e-4 {
			t.Errorf("png %d: file and image embeddings differ by %g", i, dd)
		}
		if dd := maxDiff(pv[0], fv[0]); dd > 1e-6 {
			t.Errorf("png %d: pixels and file embeddings differ by %g", i, dd)
		}
	}
}

func TestConcurrentUse(t *testing.T) {
	m := tiny(t)
	ctx := context.Background()
	set := drawSet(t, 11, 1, t.TempDir())[:6]
	imgs := []image.Image{set[0].img, set[1].img, set[2].img}
	paths := []string{set[3].path, set[4].path, set[5].path}
	texts := []string{"a red circle", "a photo of a green cross", "purple"}
	wantI, err := m.EmbedImages(ctx, imgs)
	if err != nil {
		t.Fatal(err)
	}
	wantF, err := m.EmbedImageFiles(ctx, paths)
	if err != nil {
		t.Fatal(err)
	}
	wantT, err := m.EmbedTexts(ctx, texts)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 24)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := 0; r < 3; r++ {
				var got, want [][]float32
				var err error
				switch (g + r) % 3 {
				case 0:
					got, err = m.EmbedImages(ctx, imgs)
					want = wantI
				case 1:
					got, err = m.EmbedImageFiles(ctx, paths)
					want = wantF
				default:
					got, err = m.EmbedTexts(ctx, texts)
					want = wantT
				}
				if err != nil {
					errs <- err
					return
				}
				for i := range want {
					if d := maxDiff(got[i], want[i]); d > 1e-5 {
						errs <- fmt.Errorf("goroutine %d: vector %d differs by %g", g, i, d)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestContextCancel(t *testing.T) {
	m := tiny(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := m.EmbedTexts(ctx, []string{"a red circle"}); !errors.Is(err, context.Canceled) {
		t.Errorf("EmbedTexts on a cancelled context: %v, want context.Canceled", err)
	}
	img := image.NewRGBA(image.Rect(0, 0, 32, 32))
	if _, err := m.EmbedImages(ctx, []image.Image{img}); !errors.Is(err, context.Canceled) {
		t.Errorf("EmbedImages on a cancelled context: %v, want context.Canceled", err)
	}
	if _, err := m.Classify(ctx, make([]float32, m.Dim()), []string{"a", "b"}, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("Classify on a cancelled context: %v, want context.Canceled", err)
	}
}

func TestBadInputs(t *testing.T) {
	m := tiny(t)
	ctx := context.Background()
	dir := t.TempDir()
	bad := filepath.Join(dir, "notimage.jpg")
	if err := os.WriteFile(bad, []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		run  func() error
		want string
	}{
		{"non-image file", func() error { _, err := m.EmbedImageFiles(ctx, []string{bad}); return err }, "notimage.jpg"},
		{"missing file", func() error {
			_, err := m.EmbedImageFiles(ctx, []string{filepath.Join(dir, "missing.png")})
			return err
		}, "missing.png"},
		{"nil image", func() error { _, err := m.EmbedImages(ctx, []image.Image{nil}); return err }, "image 0"},
		{"short pixels", func() error { _, err := m.EmbedPixels(ctx, [][]float32{make([]float32, 10)}); return err }, "10 values"},
		{"wrong vector dim", func() error { _, err := m.Classify(ctx, []float32{1, 2}, []string{"x"}, nil); return err }, "dimension"},
		{"no labels", func() error { _, err := m.Classify(ctx, make([]float32, m.Dim()), nil, nil); return err }, "no labels"},
		{"template without {}", func() error {
			_, err := m.LabelEmbeddings(ctx, []string{"red circle"}, []string{"a photo"})
			return err
		}, "{}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.run()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestClassifySumsToOne(t *testing.T) {
	m := tiny(t)
	ctx := context.Background()
	img := tinyshapes.Draw(rand.New(rand.NewPCG(3, 4)), "yellow", "triangle", tinyshapes.Options{Width: 300, Height: 300})
	v, err := m.EmbedImages(ctx, []image.Image{img})
	if err != nil {
		t.Fatal(err)
	}
	labels := []string{"red circle", "yellow triangle", "blue square", "green cross"}
	for _, templates := range [][]string{nil, {"a photo of a {}.", "a drawing of a {}", "{}"}} {
		probs, err := m.Classify(ctx, v[0], labels, templates)
		if err != nil {
			t.Fatal(err)
		}
		var sum float64
		for i, p := range probs {
			if p.Label != labels[i] {
				t.Errorf("label %d is %q, want %q (labels' order)", i, p.Label, labels[i])
			}
			sum += float64(p.Prob)
		}
		if math.Abs(sum-1) > 1e-5 {
			t.Errorf("templates %q: probabilities sum to %v", templates, sum)
		}
		if probs[1].Prob < 0.5 {
			t.Errorf("templates %q: yellow triangle prob %v; all %v", templates, probs[1].Prob, probs)
		}
	}
}

func TestClose(t *testing.T) {
	requireRuntime(t)
	m, err := embed.Load(context.Background(), "tiny-shapes")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := m.EmbedTexts(context.Background(), []string{"x"}); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Errorf("EmbedTexts after Close: %v", err)
	}
}

func TestLoadErrors(t *testing.T) {
	requireRuntime(t)
	ctx := context.Background()
	empty := t.TempDir()
	file := filepath.Join(empty, "f.txt")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, ref string
		opts      []embed.Option
		want      string
	}{
		{"unknown name", "no-such-model", nil, "not a registry model"},
		{"empty dir", empty, nil, "no CLIP model found"},
		{"file", file, nil, "not a directory"},
		{"bad device", "tiny-shapes", []embed.Option{embed.WithDevice("tpu")}, "unknown device"},
		{"bad batch", "tiny-shapes", []embed.Option{embed.WithBatchSize(-1)}, "batch size"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := embed.Load(ctx, tt.ref, tt.opts...)
			if err == nil {
				m.Close()
				t.Fatalf("Load succeeded")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestModelsRegistry(t *testing.T) {
	want := map[string]bool{"clip-vit-b-32": true, "clip-vit-b-16": true, "clip-vit-l-14": true, "chinese-clip-vit-b-16": true, "tiny-shapes": true}
	for _, e := range embed.Models() {
		if !want[e.Name] {
			continue
		}
		delete(want, e.Name)
		if e.Bundled {
			continue
		}
		if e.Repo == "" || e.Revision == "" || e.Vision == "" || e.Text == "" || e.LogitScale != 100 {
			t.Errorf("%s: incomplete entry %+v", e.Name, e)
		}
	}
	for n := range want {
		t.Errorf("registry lacks %s", n)
	}
	if _, ok := embed.Lookup(embed.DefaultModel); !ok {
		t.Errorf("default model %s not in the registry", embed.DefaultModel)
	}
}

func BenchmarkEmbedImages(b *testing.B) {
	m := tiny(b)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(5, 6))
	pre := m.Preprocessor()
	px := make([][]float32, 16)
	for i := range px {
		c := tinyshapes.ClassList()[i%20]
		px[i] = pre.Image(tinyshapes.Draw(rng, c.Color, c.Shape, tinyshapes.Options{Width: 224, Height: 224}))
	}
	for _, n := range []int{1, 16} {
		b.Run(fmt.Sprintf("batch=%d", n), func(b *testing.B) {
			for b.Loop() {
				if _, err := m.EmbedPixels(ctx, px[:n]); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "images/s")
		})
	}
}

func BenchmarkEmbedTexts(b *testing.B) {
	m := tiny(b)
	ctx := context.Background()
	texts := make([]string, 16)
	for i := range texts {
		c := tinyshapes.ClassList()[i%20]
		texts[i] = "a photo of a " + c.Color + " " + c.Shape
	}
	for _, n := range []int{1, 16} {
		b.Run(fmt.Sprintf("batch=%d", n), func(b *testing.B) {
			for b.Loop() {
				if _, err := m.EmbedTexts(ctx, texts[:n]); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "texts/s")
		})
	}
}
