package ocr

import (
	"encoding/json"
	"image"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDetSize(t *testing.T) {
	tests := []struct{ w, h, limit, ww, wh int }{
		{640, 480, 960, 640, 480},
		{1920, 1080, 960, 960, 544}, // 540 rounds to 544
		{100, 20, 960, 96, 32},      // 20 rounds up to the 32 minimum
		{10, 10, 960, 32, 32},
		{4000, 100, 960, 960, 32},    // 24 → 32
		{1000, 1000, 0, 992, 992},    // no limit: 1000/32 = 31.25 → 31
		{1008, 500, 2000, 1024, 512}, // 31.5 rounds half to even, as Python does
	}
	for _, tc := range tests {
		if w, h := detSize(tc.w, tc.h, tc.limit); w != tc.ww || h != tc.wh {
			t.Errorf("detSize(%d, %d, %d) = %d×%d, want %d×%d", tc.w, tc.h, tc.limit, w, h, tc.ww, tc.wh)
		}
	}
}

func TestComponents(t *testing.T) {
	// Two blobs, one of them U-shaped (joined only through its bottom row),
	// and a diagonal pair of pixels (8-connected).
	rows := []string{
		"#.#....##",
		"#.#.....#",
		"###..#...",
		"......#..",
	}
	w, h := len(rows[0]), len(rows)
	prob := make([]float32, w*h)
	for y, r := range rows {
		for x, c := range r {
			if c == '#' {
				prob[y*w+x] = 0.9
			}
		}
	}
	regs := components(prob, w, h, 0.3)
	if len(regs) != 3 {
		t.Fatalf("%d regions, want 3: %v", len(regs), regs)
	}
	sizes := map[int]bool{}
	for _, r := range regs {
		n := 0
		for _, run := range r {
			n += run.x1 - run.x0 + 1
		}
		sizes[n] = true
	}
	for _, n := range []int{7, 3, 2} {
		if !sizes[n] {
			t.Errorf("no region of %d pixels: %v", n, regs)
		}
	}
}

// blobMap is a w×h probability map with value v inside the given
// rectangles.
func blobMap(w, h int, v float32, rects ...image.Rectangle) []float32 {
	p := make([]float32, w*h)
	for _, r := range rects {
		for y := r.Min.Y; y < r.Max.Y; y++ {
			for x := r.Min.X; x < r.Max.X; x++ {
				p[y*w+x] = v
			}
		}
	}
	return p
}

func TestDetBoxes(t *testing.T) {
	params := detParams{thresh: 0.3, boxThresh: 0.6, unclipRatio: 1.5, cropRatio: 1.8, maxCandidates: 1000}
	// A 101×11-pixel kernel: its minimum-area rectangle (pixel centres) is
	// 100×10, unclipped by 1000·1.5/220 ≈ 6.82 on every side.
	prob := blobMap(320, 96, 0.9, image.Rect(50, 40, 151, 51))
	boxes := detBoxes(prob, 320, 96, 640, 192, params)
	if len(boxes) != 1 {
		t.Fatalf("%d boxes, want 1", len(boxes))
	}
	d := 1000 * 1.5 / 220
	want := [4]pt{{50 - d, 40 - d}, {150 + d, 40 - d}, {150 + d, 50 + d}, {50 - d, 50 + d}}
	for i := range want {
		want[i] = pt{math.RoundToEven(want[i].x * 2), math.RoundToEven(want[i].y * 2)} // to the 640×192 image
		if !near(boxes[0].box[i], want[i], 0) {
			t.Fatalf("box %v, want %v", boxes[0].box, want)
		}
	}
	// The crop is unclipped by cropRatio instead: 1000·1.8/220 on every side.
	dc := 1000 * 1.8 / 220
	crop := [4]pt{{50 - dc, 40 - dc}, {150 + dc, 40 - dc}, {150 + dc, 50 + dc}, {50 - dc, 50 + dc}}
	for i := range crop {
		crop[i] = pt{math.RoundToEven(crop[i].x * 2), math.RoundToEven(crop[i].y * 2)}
		if !near(boxes[0].crop[i], crop[i], 0) {
			t.Fatalf("crop %v, want %v", boxes[0].crop, crop)
		}
	}
	// Without a larger crop ratio the crop is the box.
	if b := detBoxes(prob, 320, 96, 640, 192, detParams{thresh: 0.3, boxThresh: 0.6, unclipRatio: 1.5}); len(b) != 1 || b[0].crop != b[0].box {
		t.Errorf("crop ratio 0: %v", b)
	}

	tests := []struct {
		name string
		prob []float32
		p    detParams
		want int
	}{
		{"low score filtered", blobMap(320, 96, 0.5, image.Rect(50, 40, 151, 51)), params, 0},
		{"low score kept without the filter", blobMap(320, 96, 0.5, image.Rect(50, 40, 151, 51)), detParams{thresh: 0.3, boxThresh: -1, unclipRatio: 1.5}, 1},
		{"too thin", blobMap(320, 96, 0.9, image.Rect(50, 40, 151, 42)), params, 0},
		{"tiny", blobMap(320, 96, 0.9, image.Rect(50, 40, 52, 42)), params, 0},
		{"two", blobMap(320, 96, 0.9, image.Rect(10, 10, 100, 25), image.Rect(10, 50, 100, 70)), params, 2},
		{"candidate limit", blobMap(320, 96, 0.9, image.Rect(10, 10, 100, 25), image.Rect(10, 50, 100, 70)), detParams{thresh: 0.3, boxThresh: 0.6, unclipRatio: 1.5, maxCandidates: 1}, 1},
		{"nothing", make([]float32, 320*96), params, 0},
		{"everything", blobMap(320, 96, 0.9, image.Rect(0, 0, 320, 96)), params, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			boxes := detBoxes(tc.prob, 320, 96, 320, 96, tc.p)
			if len(boxes) != tc.want {
				t.Fatalf("%d boxes, want %d: %v", len(boxes), tc.want, boxes)
			}
			for _, b := range boxes {
				for _, q := range append(b.box[:], b.crop[:]...) {
					if q.x < 0 || q.y < 0 || q.x > 319 || q.y > 95 {
						t.Errorf("corner %v outside the image", q)
					}
				}
			}
		})
	}
}

func TestSortBoxes(t *testing.T) {
	box := func(x, y float64) detBox {
		return detBox{box: [4]pt{{x, y}, {x + 10, y}, {x + 10, y + 5}, {x, y + 5}}}
	}
	boxes := []detBox{box(100, 52), box(5, 50), box(50, 10), box(0, 12), box(0, 100)}
	sortBoxes(boxes, 10)
	want := [][2]float64{{0, 12}, {50, 10}, {5, 50}, {100, 52}, {0, 100}}
	for i, w := range want {
		if boxes[i].box[0] != (pt{w[0], w[1]}) {
			t.Fatalf("order %v, want top-left corners %v", boxes, want)
		}
	}
}

func TestCTCDecode(t *testing.T) {
	dict := []string{"a", "b", "c", " "}
	classes := len(dict) + 1
	// Steps: a a blank a b b space c blank.
	seq := []int{1, 1, 0, 1, 2, 2, 4, 3, 0}
	probs := make([]float32, len(seq)*classes)
	for t, c := range seq {
		for k := range classes {
			probs[t*classes+k] = 0.1 / float32(classes-1)
		}
		probs[t*classes+c] = 0.9
	}
	probs[1*classes+1] = 0.5 // the repeat's own probability is not averaged in
	got, conf := ctcDecode(probs, len(seq), classes, dict)
	if got != "aab c" {
		t.Errorf("text %q, want %q", got, "aab c")
	}
	if math.Abs(float64(conf)-0.9) > 1e-6 {
		t.Errorf("confidence %v, want 0.9", conf)
	}
	if s, c := ctcDecode(make([]float32, 3*classes), 3, classes, dict); s != "" || c != 0 {
		t.Errorf("all blanks: %q %v", s, c)
	}
	// Spaces read at a line's ends (a crop's margin) are dropped; their
	// probabilities still count in the confidence.
	seq = []int{4, 0, 1, 4, 2, 4, 0}
	probs = make([]float32, len(seq)*classes)
	for t, c := range seq {
		probs[t*classes+c] = 0.8
	}
	probs[2*classes+1] = 0.4
	if got, conf := ctcDecode(probs, len(seq), classes, dict); got != "a b" || math.Abs(float64(conf)-0.72) > 1e-6 {
		t.Errorf("spaces at the ends: %q %v, want %q 0.72", got, conf, "a b")
	}
}

func TestLoadDictionary(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "keys.txt")
	if err := os.WriteFile(p, []byte("a\r\nb\n中"), 0o644); err != nil {
		t.Fatal(err)
	}
	d, err := loadDictionary(p)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(d, "|") != "a|b|中| " {
		t.Errorf("dictionary %q", d)
	}
	if err := os.WriteFile(p, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := loadDictionary(p); err == nil {
		t.Error("empty dictionary accepted")
	}
}

func TestToBGR(t *testing.T) {
	nrgba := image.NewNRGBA(image.Rect(0, 0, 2, 1))
	nrgba.SetNRGBA(0, 0, color.NRGBA{200, 100, 50, 255})
	nrgba.SetNRGBA(1, 0, color.NRGBA{0, 0, 0, 0}) // transparent: white
	rgba := image.NewRGBA(image.Rect(0, 0, 2, 1))
	rgba.SetRGBA(0, 0, color.RGBA{200, 100, 50, 255})
	rgba.SetRGBA(1, 0, color.RGBA{0, 0, 0, 0})
	gray := image.NewGray(image.Rect(0, 0, 2, 1))
	gray.SetGray(0, 0, color.Gray{7})
	gray.SetGray(1, 0, color.Gray{255})
	ycc := image.NewYCbCr(image.Rect(0, 0, 2, 1), image.YCbCrSubsampleRatio444)
	ycc.Y[0], ycc.Cb[0], ycc.Cr[0] = 128, 128, 128
	ycc.Y[1], ycc.Cb[1], ycc.Cr[1] = 255, 128, 128
	pal := image.NewPaletted(image.Rect(0, 0, 2, 1), color.Palette{color.RGBA{200, 100, 50, 255}, color.RGBA{0, 0, 0, 0}})
	pal.SetColorIndex(1, 0, 1)
	sub := image.NewNRGBA(image.Rect(0, 0, 4, 3)).SubImage(image.Rect(1, 1, 3, 2)).(*image.NRGBA)
	sub.SetNRGBA(1, 1, color.NRGBA{200, 100, 50, 255})
	sub.SetNRGBA(2, 1, color.NRGBA{255, 255, 255, 255})
	tests := []struct {
		name string
		img  image.Image
		want []uint8
	}{
		{"nrgba", nrgba, []uint8{50, 100, 200, 255, 255, 255}},
		{"rgba", rgba, []uint8{50, 100, 200, 255, 255, 255}},
		{"gray", gray, []uint8{7, 7, 7, 255, 255, 255}},
		{"ycbcr", ycc, []uint8{128, 128, 128, 255, 255, 255}},
		{"paletted (generic path)", pal, []uint8{50, 100, 200, 255, 255, 255}},
		{"sub-image", sub, []uint8{50, 100, 200, 255, 255, 255}},
	}
	for _, tc := range tests {
		got, k := toBGR(tc.img, 0)
		if k != 1 || got.w != 2 || got.h != 1 || string(got.pix) != string(tc.want) {
			t.Errorf("%s: %d×%d k=%d %v, want %v", tc.name, got.w, got.h, k, got.pix, tc.want)
		}
	}
}

func TestToBGRReduces(t *testing.T) {
	img := image.NewGray(image.Rect(0, 0, 1001, 10))
	for y := range 10 {
		for x := range 1001 {
			img.Pix[y*img.Stride+x] = uint8(x % 2 * 200) // columns 0, 200, 0, …
		}
	}
	got, k := toBGR(img, 400)
	if k != 3 || got.w != 334 || got.h != 4 {
		t.Fatalf("reduced to %d×%d by %d, want 334×4 by 3", got.w, got.h, k)
	}
	// A 3×3 block of columns 0, 200, 0 averages to 67.
	if got.pix[0] != 67 {
		t.Errorf("block average %d, want 67", got.pix[0])
	}
	// The last, partial block holds columns 999 (200) and 1000 (0).
	if v := got.pix[3*333]; v != 100 {
		t.Errorf("partial block %d, want 100", v)
	}
}

func TestResizeIntoMatchesOpenCV(t *testing.T) {
	// cv2.resize(np.array([[0, 100, 200, 250]], np.uint8), (8, 1)) (INTER_LINEAR):
	// [0, 0, 25, 75, 125, 175, 212.5, 250] before rounding.
	src := newBGR(4, 1)
	for x, v := range []uint8{0, 100, 200, 250} {
		src.pix[3*x], src.pix[3*x+1], src.pix[3*x+2] = v, v, v
	}
	dst := make([]float32, 3*8)
	resizeInto(src, 8, 1, dst, 8, [3]float32{}, [3]float32{1.0 / 255, 1.0 / 255, 1.0 / 255})
	want := []float32{0, 25, 75, 125, 175, 212.5, 237.5, 250}
	want[0], want[1] = 0, 25 // x=0 maps to -0.25 (clamped), x=1 to 0.25
	for i, w := range want {
		if math.Abs(float64(dst[i]-w)) > 1e-3 {
			t.Fatalf("resized %v, want %v", dst[:8], want)
		}
	}
	// Normalisation and the plane layout.
	dst = make([]float32, 3*2*8)
	resizeInto(src, 8, 1, dst, 16, [3]float32{0.5, 0.5, 0.5}, [3]float32{0.5, 0.5, 0.5})
	if dst[0] != -1 || math.Abs(float64(dst[7])-(250.0/255*2-1)) > 1e-6 || dst[8] != 0 || dst[16] != -1 {
		t.Errorf("normalised planes: %v", dst)
	}
}

func TestCropBox(t *testing.T) {
	img := newBGR(200, 100)
	for i := range img.pix {
		img.pix[i] = uint8(i % 251)
	}
	tests := []struct {
		name   string
		box    [4]pt
		ok     bool
		w, h   int
		turned bool
	}{
		{"upright", [4]pt{{10, 10}, {110, 10}, {110, 40}, {10, 40}}, true, 100, 30, false},
		{"vertical text is turned", [4]pt{{10, 10}, {30, 10}, {30, 90}, {10, 90}}, true, 80, 20, true},
		{"tall box sampled down", [4]pt{{0, 0}, {199, 0}, {199, 99}, {0, 99}}, true, 199, 99, false},
		{"zero width", [4]pt{{10, 10}, {10, 10}, {10, 40}, {10, 40}}, false, 0, 0, false},
		{"point", [4]pt{{5, 5}, {5, 5}, {5, 5}, {5, 5}}, false, 0, 0, false},
		{"NaN", [4]pt{{math.NaN(), 0}, {10, 0}, {10, 10}, {0, 10}}, false, 0, 0, false},
		{"infinite", [4]pt{{math.Inf(1), 0}, {10, 0}, {10, 10}, {0, 10}}, false, 0, 0, false},
		{"outside the image", [4]pt{{1000, 1000}, {1100, 1000}, {1100, 1030}, {1000, 1030}}, true, 100, 30, false},
		{"crossed corners", [4]pt{{0, 0}, {50, 50}, {50, 0}, {0, 50}}, true, 70, 50, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, ok := cropBox(img, tc.box)
			if ok != tc.ok {
				t.Fatalf("ok = %v, want %v", ok, tc.ok)
			}
			if ok && (c.w != tc.w || c.h != tc.h) {
				t.Errorf("crop %d×%d, want %d×%d", c.w, c.h, tc.w, tc.h)
			}
		})
	}
	// A crop of an upright box is the image region itself.
	c, _ := cropBox(img, [4]pt{{20, 30}, {60, 30}, {60, 50}, {20, 50}})
	for y := range c.h {
		for x := range c.w {
			for ch := range 3 {
				if got, want := c.pix[3*(y*c.w+x)+ch], img.pix[3*((30+y)*img.w+20+x)+ch]; got != want {
					t.Fatalf("crop pixel (%d,%d) %d = %d, want %d", x, y, ch, got, want)
				}
			}
		}
	}
}

func FuzzCropBox(f *testing.F) {
	f.Add(10.0, 10.0, 110.0, 10.0, 110.0, 40.0, 10.0, 40.0)
	f.Add(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
	f.Add(-1e9, 5.0, 1e9, 5.0, 3.0, 1e-9, 2.0, 2.0)
	img := newBGR(64, 32)
	f.Fuzz(func(t *testing.T, x0, y0, x1, y1, x2, y2, x3, y3 float64) {
		box := [4]pt{{x0, y0}, {x1, y1}, {x2, y2}, {x3, y3}}
		for _, p := range box {
			if math.Abs(p.x) > 1e5 || math.Abs(p.y) > 1e5 {
				return // larger boxes than any image would need a large buffer
			}
		}
		c, ok := cropBox(img, box)
		if ok && (c.w < 1 || c.h < 1 || len(c.pix) != 3*c.w*c.h) {
			t.Fatalf("crop %d×%d with %d bytes", c.w, c.h, len(c.pix))
		}
		if ok && min(c.w, c.h) > maxCropHeight+1 {
			t.Fatalf("crop %d×%d exceeds the crop height bound", c.w, c.h)
		}
	})
}

func TestRotate(t *testing.T) {
	img := newBGR(3, 2)
	for i := range 6 {
		img.pix[3*i] = uint8(i) // 0 1 2 / 3 4 5
	}
	r := rotate90(img) // counter-clockwise: 2 5 / 1 4 / 0 3
	if r.w != 2 || r.h != 3 {
		t.Fatalf("rotate90 size %d×%d", r.w, r.h)
	}
	var got []uint8
	for i := range 6 {
		got = append(got, r.pix[3*i])
	}
	if string(got) != string([]uint8{2, 5, 1, 4, 0, 3}) {
		t.Errorf("rotate90 = %v", got)
	}
	r = rotate180(img)
	got = got[:0]
	for i := range 6 {
		got = append(got, r.pix[3*i])
	}
	if string(got) != string([]uint8{5, 4, 3, 2, 1, 0}) {
		t.Errorf("rotate180 = %v", got)
	}
}

func TestRecBatch(t *testing.T) {
	short, long := newBGR(24, 48), newBGR(960, 48)
	data, width := recBatch([]bgr{short})
	if width != recMinWidth || len(data) != 3*recHeight*recMinWidth {
		t.Errorf("one short crop: width %d, %d values", width, len(data))
	}
	// Padding is zero; the image is normalised to [-1, 1] (black is -1).
	if data[0] != -1 || data[23] != -1 || data[24] != 0 {
		t.Errorf("normalised/padded values %v %v %v", data[0], data[23], data[24])
	}
	_, width = recBatch([]bgr{short, long})
	if width != 960 {
		t.Errorf("batch width %d, want 960", width)
	}
	_, width = recBatch([]bgr{newBGR(100000, 10)})
	if width != maxRecWidth {
		t.Errorf("very long line width %d, want the bound %d", width, maxRecWidth)
	}
}

func TestOptions(t *testing.T) {
	o := Options{}.withDefaults()
	if o.LimitSide != DefaultLimitSide || o.DetThresh != DefaultDetThresh || o.BoxThresh != DefaultBoxThresh ||
		o.UnclipRatio != DefaultUnclipRatio || o.MinConfidence != DefaultMinConfidence || o.BatchSize != DefaultBatchSize || o.MaxSide != DefaultMaxSide {
		t.Errorf("defaults %+v", o)
	}
	if err := o.validate(); err != nil {
		t.Errorf("defaults invalid: %v", err)
	}
	bad := []Options{
		{LimitSide: 16},
		{LimitSide: 2000, MaxSide: 1000},
		{DetThresh: 1.5},
		{BoxThresh: 1},
		{UnclipRatio: math.NaN()},
		{UnclipRatio: -1},
		{MinConfidence: 2},
		{BatchSize: -1},
		{Threads: -2},
	}
	for _, b := range bad {
		if err := b.withDefaults().validate(); err == nil {
			t.Errorf("%+v accepted", b)
		}
	}
}

func TestWordy(t *testing.T) {
	for s, want := range map[string]bool{"+": false, "-·|": false, "": false, " ": false, "十": true, "X": true, "0": true, "(m)": true, "——": false} {
		if got := wordy(s); got != want {
			t.Errorf("wordy(%q) = %v, want %v", s, got, want)
		}
	}
}

func TestResampleInto(t *testing.T) {
	unit := [3]float32{1.0 / 255, 1.0 / 255, 1.0 / 255}
	grey := func(w, h int, f func(x, y int) uint8) bgr {
		img := newBGR(w, h)
		for y := range h {
			for x := range w {
				v := f(x, y)
				img.pix[3*(y*w+x)], img.pix[3*(y*w+x)+1], img.pix[3*(y*w+x)+2] = v, v, v
			}
		}
		return img
	}
	at := func(dst []float32, w, x, y int) float32 { return dst[y*w+x] }
	// Same size: the kernel is zero at every other integer offset, so the
	// image comes through unchanged.
	src := grey(7, 5, func(x, y int) uint8 { return uint8(17*x + 31*y) })
	dst := make([]float32, 3*7*5)
	resampleInto(src, 7, 5, dst, 7, [3]float32{}, unit, lanczosFilter)
	for y := range 5 {
		for x := range 7 {
			if got, want := at(dst, 7, x, y), float32(17*x+31*y); math.Abs(float64(got-want)) > 1e-3 {
				t.Fatalf("same size: (%d,%d) = %v, want %v", x, y, got, want)
			}
		}
	}
	// Halving alternating columns of 0 and 200 averages them (antialiased),
	// where a bilinear resize without antialiasing would pick one of them.
	src = grey(40, 4, func(x, _ int) uint8 { return uint8(200 * (x % 2)) })
	dst = make([]float32, 3*20*2)
	resampleInto(src, 20, 2, dst, 20, [3]float32{}, unit, lanczosFilter)
	for x := 3; x < 17; x++ {
		if got := at(dst, 20, x, 1); math.Abs(float64(got-100)) > 1 {
			t.Errorf("halved stripes at %d: %v, want 100", x, got)
		}
	}
	// Overshoot at a sharp edge is clamped to the 8-bit range; padding
	// columns beyond dw are left alone.
	src = grey(4, 4, func(x, _ int) uint8 { return uint8(255 * (x / 2)) })
	dst = make([]float32, 3*12*8)
	for i := range dst {
		dst[i] = -7
	}
	resampleInto(src, 9, 8, dst, 12, [3]float32{}, unit, lanczosFilter)
	for y := range 8 {
		for x := range 12 {
			v := at(dst, 12, x, y)
			if x >= 9 && v != -7 {
				t.Fatalf("padding at (%d,%d) written: %v", x, y, v)
			}
			if x < 9 && (v < 0 || v > 255) {
				t.Fatalf("(%d,%d) = %v outside [0, 255]", x, y, v)
			}
		}
	}
}

func TestLineJSON(t *testing.T) {
	l := Line{Text: "断裂体系叠合图", Confidence: 0.98, Box: [4]image.Point{{222, 24}, {418, 24}, {418, 52}, {222, 52}}}
	b, err := json.Marshal(l)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"text":"断裂体系叠合图","confidence":0.98,"box":[[222,24],[418,24],[418,52],[222,52]]}`; string(b) != want {
		t.Errorf("JSON %s, want %s", b, want)
	}
	var back Line
	if err := json.Unmarshal(b, &back); err != nil || back != l {
		t.Errorf("round trip: %+v, %v", back, err)
	}
	if err := json.Unmarshal([]byte(`{"box": 3}`), &back); err == nil {
		t.Error("bad box accepted")
	}
}

func TestCropAll(t *testing.T) {
	img := newBGR(100, 50)
	good := detBox{box: [4]pt{{10, 10}, {60, 10}, {60, 30}, {10, 30}}}
	good.crop = good.box
	flat := detBox{box: good.box, crop: [4]pt{{10, 10}, {60, 10}, {60, 10}, {10, 10}}} // no height
	nan := detBox{box: good.box, crop: [4]pt{{math.NaN(), 10}, {60, 10}, {60, 30}, {10, 30}}}
	crops, kept := cropAll(img, []detBox{flat, good, nan, good})
	if len(crops) != 2 || len(kept) != 2 || kept[0] != good || kept[1] != good {
		t.Fatalf("kept %v, want the two good boxes", kept)
	}
	if crops[0].w != 50 || crops[0].h != 20 {
		t.Errorf("crop %d×%d, want 50×20", crops[0].w, crops[0].h)
	}
}
