package preprocess

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"math/rand"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// pngHeader returns a PNG signature and IHDR declaring w×h RGB, no data.
func pngHeader(w, h uint32) []byte {
	var ihdr [13]byte
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 2
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	binary.Write(&b, binary.BigEndian, uint32(13))
	b.WriteString("IHDR")
	b.Write(ihdr[:])
	binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(append([]byte("IHDR"), ihdr[:]...)))
	return b.Bytes()
}

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeBadInput(t *testing.T) {
	jpg := readTestdata(t, "progressive.jpg")
	pngData := readTestdata(t, "rgba.png")
	heicData := readTestdata(t, "matrix/heic-rgb-far.heic")
	bombHEIC := bytes.Clone(heicData)
	for i := 0; i+16 <= len(bombHEIC); i++ { // every size property
		if string(bombHEIC[i:i+4]) == "ispe" {
			binary.BigEndian.PutUint32(bombHEIC[i+8:], 60000)
			binary.BigEndian.PutUint32(bombHEIC[i+12:], 60000)
		}
	}
	dng := readTestdata(t, "matrix/camera.dng")
	noPreview := bytes.Clone(dng)
	for i := 0; i+3 < len(noPreview); i++ { // break every embedded JPEG's SOI
		if noPreview[i] == 0xff && noPreview[i+1] == 0xd8 && noPreview[i+2] == 0xff {
			noPreview[i+1] = 0
		}
	}
	random := make([]byte, 4096)
	rand.New(rand.NewSource(1)).Read(random)
	tests := []struct {
		name string
		data []byte
		want error
		text string
	}{
		{"empty", nil, ErrCorrupt, "empty"},
		{"truncated.jpg", jpg[:len(jpg)/2], ErrCorrupt, ""},
		{"header-only.jpg", jpg[:200], ErrCorrupt, ""},
		{"truncated.png", pngData[:len(pngData)/2], ErrCorrupt, ""},
		{"random.bin", random, ErrUnsupported, "unrecognised"},
		{"notes.txt", []byte("hello, this is not an image\n"), ErrUnsupported, "text file"},
		{"photo.heic", []byte("\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic"), ErrCorrupt, "meta"},
		{"movie.mp4", []byte("\x00\x00\x00\x18ftypisom\x00\x00\x00\x00isomiso2"), ErrUnsupported, "ISO media file (isom)"},
		{"bomb.png", pngHeader(50000, 50000), ErrTooLarge, "megapixel"},
		{"bomb.heic", bombHEIC, ErrTooLarge, "60000x60000"},
		{"truncated.heic", heicData[:len(heicData)*2/3], ErrCorrupt, ""},
		{"header-only.avif", readTestdata(t, "matrix/avif-rgb-far.avif")[:300], ErrCorrupt, ""},
		{"no-preview.dng", noPreview, ErrCorrupt, "no embedded JPEG preview"},
		{"zero.png", pngHeader(0, 10), ErrCorrupt, ""},
		{"jpeg-magic-only.jpg", []byte{0xff, 0xd8, 0xff}, ErrCorrupt, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			img, _, err := Decode(tc.name, tc.data, DecodeOptions{})
			if err == nil {
				t.Fatalf("Decode succeeded (%T), want error %v", img, tc.want)
			}
			if !errors.Is(err, tc.want) {
				t.Errorf("error %q does not wrap %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.name) {
				t.Errorf("error %q does not name the file", err)
			}
			if tc.text != "" && !strings.Contains(err.Error(), tc.text) {
				t.Errorf("error %q does not say %q", err, tc.text)
			}
		})
	}
}

func TestMaxPixelsConfigurable(t *testing.T) {
	data := readTestdata(t, "rgb24.bmp") // 120×90 = 10800 px
	if _, _, err := Decode("a.bmp", data, DecodeOptions{MaxPixels: 10000}); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("MaxPixels 10000: err %v, want ErrTooLarge", err)
	}
	if _, _, err := Decode("a.bmp", data, DecodeOptions{MaxPixels: 10800}); err != nil {
		t.Fatalf("MaxPixels 10800: %v", err)
	}
	p := Preprocessor{Size: 8, Std: [3]float32{1, 1, 1}, MaxPixels: 10000}
	if _, err := p.LoadFile(filepath.Join("testdata", "rgb24.bmp")); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Preprocessor.MaxPixels: err %v, want ErrTooLarge", err)
	}
}

// TestBombFailsFast checks the 50000×50000 PNG is refused before any pixel
// buffer is allocated.
func TestBombFailsFast(t *testing.T) {
	data := pngHeader(50000, 50000)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	allocs := testing.AllocsPerRun(20, func() {
		if _, _, err := Decode("bomb.png", data, DecodeOptions{}); !errors.Is(err, ErrTooLarge) {
			t.Fatalf("err %v, want ErrTooLarge", err)
		}
	})
	runtime.ReadMemStats(&after)
	perRun := (after.TotalAlloc - before.TotalAlloc) / 21
	t.Logf("bomb: %.0f allocs, %d bytes per Decode", allocs, perRun)
	if perRun > 64<<10 {
		t.Errorf("Decode allocated %d bytes for a bomb, want < 64 KiB", perRun)
	}
}

func TestLoadFileErrors(t *testing.T) {
	dir := t.TempDir()
	text := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(text, []byte("plain text\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty.jpg")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	p := Preprocessor{Size: 16, Std: [3]float32{1, 1, 1}}
	for _, tc := range []struct {
		path string
		want error
	}{{text, ErrUnsupported}, {empty, ErrCorrupt}, {filepath.Join(dir, "missing.png"), os.ErrNotExist}} {
		_, err := p.LoadFile(tc.path)
		if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.path) {
			t.Errorf("LoadFile(%s): %v, want %v naming the file", tc.path, err, tc.want)
		}
	}
}

// TestOrientation checks all eight EXIF orientations against a direct
// definition of each transform.
func TestOrientation(t *testing.T) {
	const w, h = 5, 3
	src := image.NewGray(image.Rect(0, 0, w, h))
	for i := range src.Pix {
		src.Pix[i] = uint8(i)
	}
	// want(o, x, y) gives the source pixel of output (x, y).
	want := map[int]func(x, y int) (int, int){
		1: func(x, y int) (int, int) { return x, y },
		2: func(x, y int) (int, int) { return w - 1 - x, y },
		3: func(x, y int) (int, int) { return w - 1 - x, h - 1 - y },
		4: func(x, y int) (int, int) { return x, h - 1 - y },
		5: func(x, y int) (int, int) { return y, x },
		6: func(x, y int) (int, int) { return y, h - 1 - x },
		7: func(x, y int) (int, int) { return w - 1 - y, h - 1 - x },
		8: func(x, y int) (int, int) { return w - 1 - y, x },
	}
	for o := 1; o <= 8; o++ {
		got := applyOrientation(src, o).(*image.Gray)
		ow, oh := w, h
		if o >= 5 {
			ow, oh = h, w
		}
		if got.Rect.Dx() != ow || got.Rect.Dy() != oh {
			t.Fatalf("orientation %d: size %v, want %dx%d", o, got.Rect, ow, oh)
		}
		for y := 0; y < oh; y++ {
			for x := 0; x < ow; x++ {
				sx, sy := want[o](x, y)
				if got.GrayAt(x, y) != src.GrayAt(sx, sy) {
					t.Fatalf("orientation %d: pixel (%d,%d) = %d, want %d", o, x, y, got.GrayAt(x, y).Y, src.GrayAt(sx, sy).Y)
				}
			}
		}
	}
	// Orientation 6 rotates clockwise: the top-left source pixel ends top-right.
	r := applyOrientation(src, 6).(*image.Gray)
	if r.GrayAt(h-1, 0).Y != 0 {
		t.Errorf("orientation 6: top-right = %d, want the source's top-left 0", r.GrayAt(h-1, 0).Y)
	}
}

func TestExifParsing(t *testing.T) {
	for _, tc := range []struct {
		file string
		want int
	}{{"exif3.jpg", 3}, {"exif6.jpg", 6}, {"exif8.jpg", 8}, {"progressive.jpg", 1}} {
		if got := jpegOrientation(readTestdata(t, tc.file)); got != tc.want {
			t.Errorf("%s: orientation %d, want %d", tc.file, got, tc.want)
		}
	}
	// Malformed EXIF must not panic and must read as 1.
	bad := []byte{0xff, 0xd8, 0xff, 0xe1, 0x00, 0x10, 'E', 'x', 'i', 'f', 0, 0, 'M', 'M', 0, 42, 0xff, 0xff, 0xff, 0xff}
	if got := jpegOrientation(bad); got != 1 {
		t.Errorf("malformed EXIF: orientation %d, want 1", got)
	}
}

// TestImageMatchesLoadFile checks Image and ImageInto on a decoded image
// give what LoadFile gives, with no allocations in the steady state.
func TestImageMatchesLoadFile(t *testing.T) {
	p := Preprocessor{Size: 32, Mode: CenterCrop, Mean: [3]float32{0.5, 0.5, 0.5}, Std: [3]float32{0.25, 0.25, 0.25}}
	path := filepath.Join("testdata", "rgba.png")
	want, err := p.LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	img, _, err := DecodeFile(path, DecodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got := p.Image(img)
	if m, x := diffStats(t, got, want); m != 0 || x != 0 {
		t.Errorf("Image differs from LoadFile: mean %g max %g", m, x)
	}
	dst := make([]float32, p.TensorLen())
	allocs := testing.AllocsPerRun(20, func() { p.ImageInto(dst, img) })
	if allocs > 2 {
		t.Errorf("ImageInto: %.1f allocations per call, want ≤ 2", allocs)
	}
}

// TestScaledJPEGAccuracy compares the reduced-scale JPEG decode Bytes uses
// with a full decode on a large photo-like JPEG.
func TestScaledJPEGAccuracy(t *testing.T) {
	data := syntheticJPEG(t, 1600, 1200)
	for _, mode := range []Mode{CenterCrop, Squash} {
		p := Preprocessor{Size: 224, Mode: mode, Mean: [3]float32{0.48145466, 0.4578275, 0.40821073}, Std: [3]float32{0.26862954, 0.26130258, 0.27577711}}
		got, info, err := p.Bytes("big.jpg", data)
		if err != nil {
			t.Fatal(err)
		}
		if info.Width != 1600 || info.Height != 1200 || info.Format != "jpeg" {
			t.Errorf("Info %+v, want 1600x1200 jpeg", info)
		}
		full, _, err := Decode("big.jpg", data, DecodeOptions{})
		if err != nil {
			t.Fatal(err)
		}
		want := p.Image(full)
		mean, max := diffStats(t, got, want)
		t.Logf("%v: scaled (ScaledJPEG=%v) vs full decode: mean|diff| %.5f max|diff| %.5f", mode, ScaledJPEG(), mean, max)
		if mean > 0.01 {
			t.Errorf("%v: scaled decode mean|diff| %.5f, want ≤ 0.01", mode, mean)
		}
	}
}

// syntheticJPEG encodes a photo-like w×h image (gradients, edges and
// fine texture) as a quality-90 4:2:0 JPEG.
func syntheticJPEG(t testing.TB, w, h int) []byte {
	t.Helper()
	img := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	rng := rand.New(rand.NewSource(7))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			v := (x*255/w + y*255/h) / 2
			if ((x/40)+(y/40))%2 == 0 {
				v += 30
			}
			v += rng.Intn(24) - 12
			img.Y[y*img.YStride+x] = uint8(max(0, min(255, v)))
		}
	}
	for y := 0; y < (h+1)/2; y++ {
		for x := 0; x < (w+1)/2; x++ {
			img.Cb[y*img.CStride+x] = uint8(128 + 60*x/w - 30 + rng.Intn(8))
			img.Cr[y*img.CStride+x] = uint8(100 + 80*y/h + rng.Intn(8))
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestGenericImage(t *testing.T) {
	// A user-supplied image type goes through At(); a premultiplied
	// image.RGBA with transparency is un-premultiplied as PIL stores RGBA.
	m := image.NewRGBA(image.Rect(0, 0, 4, 4))
	for i := 0; i < 16; i++ {
		m.Set(i%4, i/4, color.NRGBA{200, 100, 50, 128})
	}
	p := Preprocessor{Size: 4, Mode: Squash, Std: [3]float32{1, 1, 1}}
	got := p.Image(m)
	// Same size: no resize, so alpha is just dropped from the NRGBA value.
	if r := got[0] * 255; r < 198.5 || r > 200.5 { // premultiplied storage loses up to 1 level
		t.Errorf("red = %v, want 200±1 (un-premultiplied)", r)
	}
}

func FuzzDecode(f *testing.F) {
	for _, name := range []string{"tiny_1x1.png", "progressive.jpg", "trns.gif", "lossy.webp", "palette8.bmp", "gray16.png"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add(pngHeader(50000, 50000))
	p := Preprocessor{Size: 8, Mode: CenterCrop, Std: [3]float32{1, 1, 1}}
	f.Fuzz(func(t *testing.T, data []byte) {
		img, info, err := Decode("fuzz", data, DecodeOptions{MaxPixels: 1 << 20, MinSide: 8})
		if err != nil {
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrUnsupported) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("error %v wraps none of the sentinel errors", err)
			}
			return
		}
		if info.Width <= 0 || info.Height <= 0 {
			t.Fatalf("bad info %+v", info)
		}
		_ = p.Image(img)
	})
}
