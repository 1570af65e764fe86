//go:build (linux || darwin || freebsd) && (!libjpeg || !cgo)

package preprocess

import (
	"bytes"
	"errors"
	"image"
	"math/rand"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// needTurbo skips (fails under CI=true on Linux, where .ci/run installs
// libturbojpeg0) when libturbojpeg cannot be loaded.
func needTurbo(t *testing.T) *turboJPEG {
	t.Helper()
	lib := loadTurbo()
	if lib == nil {
		if os.Getenv("CI") == "true" && runtime.GOOS == "linux" {
			t.Fatalf("libturbojpeg not loadable (apt-get install libturbojpeg0): %v", turboErr)
		}
		t.Skipf("libturbojpeg not loadable: %v", turboErr)
	}
	return lib
}

// withoutSystemJPEG switches libturbojpeg off for the rest of the test.
func withoutSystemJPEG(t *testing.T) {
	t.Helper()
	SetSystemJPEG(false)
	t.Cleanup(func() { SetSystemJPEG(true) })
}

func TestSystemJPEGChoice(t *testing.T) {
	lib := needTurbo(t)
	if !ScaledJPEG() || !strings.Contains(JPEGDecoder(), lib.name) {
		t.Errorf("with libturbojpeg: ScaledJPEG %v, JPEGDecoder %q", ScaledJPEG(), JPEGDecoder())
	}
	withoutSystemJPEG(t)
	if ScaledJPEG() || JPEGDecoder() != "image/jpeg" {
		t.Errorf("switched off: ScaledJPEG %v, JPEGDecoder %q", ScaledJPEG(), JPEGDecoder())
	}
}

func TestOpenTurboMissing(t *testing.T) {
	lib, err := openTurbo([]string{"libcliprag-no-such-turbojpeg.so.0"})
	if lib != nil || err == nil || !strings.Contains(err.Error(), "libcliprag-no-such-turbojpeg") {
		t.Fatalf("openTurbo of a missing library: %v, %v", lib, err)
	}
	if _, err := openTurbo(nil); err == nil {
		t.Fatal("openTurbo with no names succeeded")
	}
}

// TestTurboScale checks the DCT scale libturbojpeg decodes at (the
// smallest of 1/8, 1/4, 1/2 keeping the shorter side ≥ minSide) and that
// image/jpeg, switched to, decodes at full size.
func TestTurboScale(t *testing.T) {
	needTurbo(t)
	data := syntheticJPEG(t, 1600, 1200)
	for _, tc := range []struct{ minSide, w, h int }{
		{0, 1600, 1200}, {100, 200, 150}, {150, 200, 150}, {151, 400, 300},
		{448, 800, 600}, {600, 800, 600}, {601, 1600, 1200},
	} {
		img, info, err := Decode("big.jpg", data, DecodeOptions{MinSide: tc.minSide})
		if err != nil {
			t.Fatal(err)
		}
		if b := img.Bounds(); b.Dx() != tc.w || b.Dy() != tc.h {
			t.Errorf("minSide %d: decoded %v, want %dx%d", tc.minSide, b, tc.w, tc.h)
		}
		if info.Width != 1600 || info.Height != 1200 {
			t.Errorf("minSide %d: Info %+v, want the full 1600x1200", tc.minSide, info)
		}
	}
	withoutSystemJPEG(t)
	img, _, err := Decode("big.jpg", data, DecodeOptions{MinSide: 448})
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 1600 {
		t.Errorf("image/jpeg decoded %v, want full size", b)
	}
}

// TestTurboFullSizeMatchesImageJPEG compares libturbojpeg's full-size
// decode of a 4:2:0 photo with image/jpeg's after the package's
// libjpeg-style colour conversion: the same IDCT up to rounding.
func TestTurboFullSizeMatchesImageJPEG(t *testing.T) {
	needTurbo(t)
	data := syntheticJPEG(t, 640, 480)
	p := Preprocessor{Size: 224, Mode: CenterCrop, Std: [3]float32{1, 1, 1}}
	img, _, err := Decode("a.jpg", data, DecodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := img.(*image.RGBA); !ok {
		t.Fatalf("libturbojpeg returned %T, want *image.RGBA", img)
	}
	got := p.Image(img)
	withoutSystemJPEG(t)
	ref, _, err := Decode("a.jpg", data, DecodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := p.Image(ref)
	mean, max := diffStats(t, got, want)
	t.Logf("libturbojpeg vs image/jpeg, full size: mean|diff| %.5f max|diff| %.5f", mean, max)
	if mean > 0.002 || max > 0.05 {
		t.Errorf("mean|diff| %.5f max|diff| %.5f, want ≤ 0.002 and ≤ 0.05", mean, max)
	}
}

// TestTurboCorruptInput feeds damaged JPEGs to libturbojpeg: every result
// is an image or an error wrapping a sentinel, never a crash.
func TestTurboCorruptInput(t *testing.T) {
	needTurbo(t)
	seeds := [][]byte{readTestdata(t, "progressive.jpg"), readTestdata(t, "cmyk.jpg"), syntheticJPEG(t, 320, 240)}
	rng := rand.New(rand.NewSource(3))
	for i := 0; i < 300; i++ {
		data := bytes.Clone(seeds[i%len(seeds)])
		switch i % 3 {
		case 0: // flip bytes after the header
			for k := 0; k < 1+rng.Intn(8); k++ {
				data[200+rng.Intn(len(data)-200)] = byte(rng.Intn(256))
			}
		case 1: // truncate
			data = data[:200+rng.Intn(len(data)-200)]
		case 2: // overwrite a run with garbage
			at := 100 + rng.Intn(len(data)-164)
			rng.Read(data[at : at+64])
		}
		_, _, err := Decode("bad.jpg", data, DecodeOptions{MinSide: 64})
		if err != nil && !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrUnsupported) && !errors.Is(err, ErrTooLarge) {
			t.Fatalf("case %d: error %v wraps no sentinel", i, err)
		}
	}
	jpg := readTestdata(t, "progressive.jpg")
	_, _, err := Decode("cut.jpg", jpg[:len(jpg)/2], DecodeOptions{})
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "libturbojpeg") || !strings.Contains(err.Error(), "truncated") {
		t.Errorf("truncated JPEG: %v, want libturbojpeg's truncated-data ErrCorrupt", err)
	}
}

// TestTurboConcurrent decodes from several goroutines at once (one
// TurboJPEG handle each; error messages are thread-local in the library).
func TestTurboConcurrent(t *testing.T) {
	needTurbo(t)
	good := syntheticJPEG(t, 800, 600)
	jpg := readTestdata(t, "progressive.jpg")
	bad := jpg[:len(jpg)/2]
	p := Preprocessor{Size: 64, Mode: CenterCrop, Std: [3]float32{1, 1, 1}}
	want, _, err := p.Bytes("good.jpg", good)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 10; i++ {
				got, _, err := p.Bytes("good.jpg", good)
				if err != nil {
					errs <- err.Error()
					return
				}
				if m, _ := diffStats(t, got, want); m != 0 {
					errs <- "tensor differs between runs"
					return
				}
				if _, _, err := p.Bytes("cut.jpg", bad); err == nil || !strings.Contains(err.Error(), "Premature end") {
					errs <- "truncated: " + errString(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

func errString(err error) string {
	if err == nil {
		return "no error"
	}
	return err.Error()
}

// TestJPEGFallback runs the JPEG tests again with libturbojpeg switched
// off: the pure-Go path must keep meeting the same tolerances.
func TestJPEGFallback(t *testing.T) {
	needTurbo(t) // otherwise the other tests already ran on image/jpeg
	withoutSystemJPEG(t)
	for name, f := range map[string]func(*testing.T){
		"Fixtures":               TestFixtures,
		"SharedReference":        TestSharedReference,
		"DecodeBadInput":         TestDecodeBadInput,
		"ScaledJPEGAccuracy":     TestScaledJPEGAccuracy,
		"BytesRefusesOverBudget": TestBytesRefusesOverBudget,
	} {
		t.Run(name, f)
	}
}
