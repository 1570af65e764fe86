package tinyshapes

import (
	"bytes"
	"encoding/json"
	"image"
	"image/jpeg"
	"image/png"
	"io/fs"
	"math"
	mrand "math/rand"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestClasses(t *testing.T) {
	labels := Classes()
	list := ClassList()
	if len(labels) != 20 || len(list) != 20 {
		t.Fatalf("got %d labels and %d classes, want 20", len(labels), len(list))
	}
	seen := map[string]bool{}
	for i, l := range labels {
		if seen[l] {
			t.Errorf("duplicate label %q", l)
		}
		seen[l] = true
		if list[i].String() != l {
			t.Errorf("ClassList()[%d] = %q, Classes()[%d] = %q", i, list[i], i, l)
		}
		c, err := ParseClass(strings.ToUpper(l))
		if err != nil || c != list[i] {
			t.Errorf("ParseClass(%q) = %v, %v", l, c, err)
		}
	}
	if labels[0] != "red circle" || labels[19] != "purple cross" {
		t.Errorf("order: first %q last %q", labels[0], labels[19])
	}
	for _, bad := range []string{"", "red", "orange circle", "red hexagon", "red circle big"} {
		if _, err := ParseClass(bad); err == nil {
			t.Errorf("ParseClass(%q): no error", bad)
		}
	}
}

// TestModelFiles checks that the bundled model has the layout's files and
// that they agree with the domain.
func TestModelFiles(t *testing.T) {
	var total int64
	for _, name := range []string{"config.json", "preprocessor_config.json", "tokenizer.json",
		"tokenizer_config.json", "onnx/vision_model.onnx", "onnx/text_model.onnx"} {
		fi, err := fs.Stat(FS, name)
		if err != nil {
			t.Fatalf("bundled model: %v", err)
		}
		if fi.Size() == 0 {
			t.Errorf("%s is empty", name)
		}
	}
	err := fs.WalkDir(FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		fi, err := d.Info()
		total += fi.Size()
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if total > 20<<20 {
		t.Errorf("model is %d bytes, over the 20 MB budget", total)
	}

	var cfg struct {
		ModelType  string  `json:"model_type"`
		Projection int     `json:"projection_dim"`
		LogitScale float64 `json:"logit_scale"`
		Text       struct {
			MaxPos int `json:"max_position_embeddings"`
			Vocab  int `json:"vocab_size"`
			EOS    int `json:"eos_token_id"`
		} `json:"text_config"`
		Vision struct {
			ImageSize int `json:"image_size"`
		} `json:"vision_config"`
		Cliprag struct {
			Classes []string `json:"classes"`
		} `json:"cliprag"`
	}
	readJSON(t, "config.json", &cfg)
	if cfg.ModelType != "clip" || cfg.Projection <= 0 || cfg.Text.MaxPos != 77 || cfg.Vision.ImageSize != 224 {
		t.Errorf("config.json: %+v", cfg)
	}
	if cfg.LogitScale < 1 || cfg.LogitScale > 100 {
		t.Errorf("config.json logit_scale %v, want the trained multiplier in [1, 100]", cfg.LogitScale)
	}
	if strings.Join(cfg.Cliprag.Classes, ",") != strings.Join(Classes(), ",") {
		t.Errorf("config.json classes %v, want %v", cfg.Cliprag.Classes, Classes())
	}

	var tok struct {
		Model struct {
			Type   string         `json:"type"`
			Suffix string         `json:"end_of_word_suffix"`
			Vocab  map[string]int `json:"vocab"`
			Merges []string       `json:"merges"`
		} `json:"model"`
		Post struct {
			Sep []any `json:"sep"`
			Cls []any `json:"cls"`
		} `json:"post_processor"`
	}
	readJSON(t, "tokenizer.json", &tok)
	if tok.Model.Type != "BPE" || tok.Model.Suffix != "</w>" || len(tok.Model.Vocab) != cfg.Text.Vocab {
		t.Errorf("tokenizer.json model: type %q suffix %q vocab %d (config says %d)",
			tok.Model.Type, tok.Model.Suffix, len(tok.Model.Vocab), cfg.Text.Vocab)
	}
	if eos := tok.Model.Vocab["<|endoftext|>"]; eos != cfg.Text.EOS || eos != len(tok.Model.Vocab)-1 {
		t.Errorf("end-of-text id %d, config eos %d, want the last id %d", eos, cfg.Text.EOS, len(tok.Model.Vocab)-1)
	}
	if len(tok.Post.Sep) != 2 || tok.Post.Sep[0] != "<|endoftext|>" || len(tok.Post.Cls) != 2 || tok.Post.Cls[0] != "<|startoftext|>" {
		t.Errorf("post_processor sep %v cls %v", tok.Post.Sep, tok.Post.Cls)
	}
	for _, m := range tok.Model.Merges {
		a, b, ok := strings.Cut(m, " ")
		if _, in := tok.Model.Vocab[a+b]; !ok || !in {
			t.Errorf("merge %q: result not in vocab", m)
		}
	}
}

func readJSON(t *testing.T, name string, v any) {
	t.Helper()
	b, err := fs.ReadFile(FS, name)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

// TestTokenizerCheckFile checks that testdata/tokenizer_check.json, which the
// Go tokenizer is tested against, uses the bundled vocabulary's special ids.
func TestTokenizerCheckFile(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "tokenizer_check.json"))
	if err != nil {
		t.Fatal(err)
	}
	var chk struct {
		Cases []struct {
			Text string  `json:"text"`
			IDs  []int64 `json:"ids"`
		} `json:"cases"`
	}
	if err := json.Unmarshal(b, &chk); err != nil {
		t.Fatal(err)
	}
	var tok struct {
		Model struct {
			Vocab map[string]int64 `json:"vocab"`
		} `json:"model"`
	}
	readJSON(t, "tokenizer.json", &tok)
	sot, eot := tok.Model.Vocab["<|startoftext|>"], tok.Model.Vocab["<|endoftext|>"]
	if len(chk.Cases) < 20 {
		t.Fatalf("%d cases, want at least 20", len(chk.Cases))
	}
	for _, c := range chk.Cases {
		n := len(c.IDs)
		if n < 2 || n > 77 || c.IDs[0] != sot || c.IDs[n-1] != eot {
			t.Errorf("%q: ids %v do not run from %d to %d within 77", c.Text, c.IDs, sot, eot)
		}
	}
}

func TestDrawDeterministic(t *testing.T) {
	tests := []struct {
		name string
		opt  DrawOptions
	}{
		{"random", DrawOptions{}},
		{"vary", DrawOptions{Vary: true}},
		{"fixed", DrawOptions{Width: 300, Height: 200, Rotate: 30, Blur: 1.5, Background: BackgroundGradient}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := Draw(rand.New(rand.NewPCG(1, 2)), "blue", "triangle", tc.opt)
			b := Draw(rand.New(rand.NewPCG(1, 2)), "blue", "triangle", tc.opt)
			c := Draw(rand.New(rand.NewPCG(3, 4)), "blue", "triangle", tc.opt)
			if !bytes.Equal(a.(*image.NRGBA).Pix, b.(*image.NRGBA).Pix) || a.Bounds() != b.Bounds() {
				t.Error("same seed, different images")
			}
			if a.Bounds() == c.Bounds() && bytes.Equal(a.(*image.NRGBA).Pix, c.(*image.NRGBA).Pix) {
				t.Error("different seeds, same image")
			}
		})
	}
	// math/rand (v1) works too.
	a := Draw(mrand.New(mrand.NewSource(7)), "red", "cross", DrawOptions{})
	b := Draw(mrand.New(mrand.NewSource(7)), "red", "cross", DrawOptions{})
	if !bytes.Equal(a.(*image.NRGBA).Pix, b.(*image.NRGBA).Pix) {
		t.Error("math/rand: same seed, different images")
	}
}

func TestDrawSizes(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	var sawWide, sawTall, sawSquare bool
	for i := range 300 {
		img := Draw(rng, Colors[i%5], Shapes[i%4], DrawOptions{})
		w, h := img.Bounds().Dx(), img.Bounds().Dy()
		short, long := min(w, h), max(w, h)
		if short < MinSide || long > MaxSide || float64(long) > MaxAspect*float64(short)+1 {
			t.Fatalf("image %d is %dx%d, outside the domain", i, w, h)
		}
		sawWide = sawWide || w > h
		sawTall = sawTall || h > w
		sawSquare = sawSquare || float64(long) < 1.05*float64(short)
	}
	if !sawWide || !sawTall || !sawSquare {
		t.Errorf("orientations: wide %v tall %v square %v", sawWide, sawTall, sawSquare)
	}
	img := Draw(rng, "green", "square", DrawOptions{Width: 123})
	if img.Bounds() != image.Rect(0, 0, 123, 123) {
		t.Errorf("Width only: %v", img.Bounds())
	}
}

// TestDrawColourDominatesCentre checks that, for every class and a variety of
// options, the shape's colour is what fills the centre of the shape.
func TestDrawColourDominatesCentre(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for _, c := range ClassList() {
		for k := range 8 {
			opt := DrawOptions{Scale: 0.5, Vary: k%2 == 1}
			img, err := Render(rng, c.Color, c.Shape, opt)
			if err != nil {
				t.Fatal(err)
			}
			got, frac := dominantShapeColour(img)
			if got != c.Color || frac < 0.03 {
				t.Errorf("%s #%d (%v): dominant colour %q covering %.3f of the centred square",
					c, k, img.Bounds(), got, frac)
			}
		}
	}
}

// dominantShapeColour classifies the saturated pixels of the centred square
// by nearest base colour and returns the most common one and its share of
// the square.
func dominantShapeColour(img *image.NRGBA) (string, float64) {
	b := img.Bounds()
	s := min(b.Dx(), b.Dy())
	x0, y0 := (b.Dx()-s)/2, (b.Dy()-s)/2
	counts := map[string]int{}
	for y := y0; y < y0+s; y++ {
		for x := x0; x < x0+s; x++ {
			p := img.PixOffset(x, y)
			r, g, bl := float64(img.Pix[p]), float64(img.Pix[p+1]), float64(img.Pix[p+2])
			if math.Max(r, math.Max(g, bl))-math.Min(r, math.Min(g, bl)) < 80 {
				continue // grey background or blurred edge
			}
			best, bestD := "", math.Inf(1)
			for _, name := range Colors {
				bc := baseColors[name]
				d := (r-bc[0])*(r-bc[0]) + (g-bc[1])*(g-bc[1]) + (bl-bc[2])*(bl-bc[2])
				if d < bestD {
					best, bestD = name, d
				}
			}
			counts[best]++
		}
	}
	best, n := "", 0
	for _, name := range Colors {
		if counts[name] > n {
			best, n = name, counts[name]
		}
	}
	return best, float64(n) / float64(s*s)
}

// TestDrawShapeArea checks each shape's covered area against its geometry,
// so that a wrong outline (or a shape outside the image) is caught.
func TestDrawShapeArea(t *testing.T) {
	tests := []struct {
		shape string
		area  float64 // fraction of extent²
	}{
		{"circle", math.Pi / 4},
		{"square", 1},
		{"triangle", math.Sqrt(3) / 4},
		{"cross", 1 - 4*(1.0/3)*(1.0/3)},
	}
	for _, tc := range tests {
		for _, rot := range []float64{0, 45} {
			img, err := Render(rand.New(rand.NewPCG(1, 1)), "blue", tc.shape,
				DrawOptions{Width: 400, Height: 300, Scale: 0.6, Rotate: rot, Background: BackgroundPlain})
			if err != nil {
				t.Fatal(err)
			}
			_, frac := dominantShapeColour(img)
			want := tc.area * 0.6 * 0.6
			if math.Abs(frac-want) > 0.02 {
				t.Errorf("%s rotated %v: covers %.3f of the centred square, want %.3f", tc.shape, rot, frac, want)
			}
		}
	}
}

func TestRenderErrors(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	tests := []struct {
		name, color, shape string
		opt                DrawOptions
		want               string
	}{
		{"colour", "orange", "circle", DrawOptions{}, "unknown colour"},
		{"shape", "red", "hexagon", DrawOptions{}, "unknown shape"},
		{"negative size", "red", "circle", DrawOptions{Width: -1}, "out of range"},
		{"huge", "red", "circle", DrawOptions{Width: 1 << 20, Height: 10}, "out of range"},
		{"scale", "red", "circle", DrawOptions{Scale: 2}, "scale"},
		{"blur", "red", "circle", DrawOptions{Blur: -1}, "blur"},
		{"rotation", "red", "circle", DrawOptions{Rotate: math.NaN()}, "rotation"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Render(rng, tc.color, tc.shape, tc.opt)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
	defer func() {
		if recover() == nil {
			t.Error("Draw with an unknown colour did not panic")
		}
	}()
	Draw(rng, "orange", "circle", DrawOptions{})
}

func TestWriteFile(t *testing.T) {
	img := Draw(rand.New(rand.NewPCG(2, 3)), "yellow", "square", DrawOptions{Width: 150, Height: 100})
	dir := t.TempDir()
	tests := []struct {
		name   string
		decode func([]byte) (image.Image, error)
		lossy  bool
	}{
		{"a.png", func(b []byte) (image.Image, error) { return png.Decode(bytes.NewReader(b)) }, false},
		{"b.JPG", func(b []byte) (image.Image, error) { return jpeg.Decode(bytes.NewReader(b)) }, true},
		{"c.jpeg", func(b []byte) (image.Image, error) { return jpeg.Decode(bytes.NewReader(b)) }, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, tc.name)
			if err := WriteFile(p, img); err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			got, err := tc.decode(b)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if got.Bounds() != img.Bounds() {
				t.Fatalf("bounds %v, want %v", got.Bounds(), img.Bounds())
			}
			r0, g0, b0, _ := img.At(75, 50).RGBA()
			r1, g1, b1, _ := got.At(75, 50).RGBA()
			tol := uint32(0)
			if tc.lossy {
				tol = 20 << 8
			}
			if diff(r0, r1) > tol || diff(g0, g1) > tol || diff(b0, b1) > tol {
				t.Errorf("centre pixel %v,%v,%v became %v,%v,%v", r0>>8, g0>>8, b0>>8, r1>>8, g1>>8, b1>>8)
			}
		})
	}
	for _, bad := range []string{filepath.Join(dir, "x.gif"), filepath.Join(dir, "missing", "x.png")} {
		if err := WriteFile(bad, img); err == nil || !strings.Contains(err.Error(), bad) {
			t.Errorf("WriteFile(%s): error %v, want one naming the path", bad, err)
		}
	}
}

func diff(a, b uint32) uint32 {
	if a > b {
		return a - b
	}
	return b - a
}
