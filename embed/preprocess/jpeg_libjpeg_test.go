//go:build libjpeg && cgo && (linux || darwin || freebsd)

package preprocess

import (
	"bytes"
	"image"
	"os"
	"testing"
)

// TestRuntimeTurboMatchesLibjpegBuild checks that the default build's
// run-time libturbojpeg path gives the pixels of this build's linked
// libjpeg: the same scale, colour space and upsampling.
func TestRuntimeTurboMatchesLibjpegBuild(t *testing.T) {
	lib := loadTurbo()
	if lib == nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("libturbojpeg not loadable (apt-get install libturbojpeg0): %v", turboErr)
		}
		t.Skipf("libturbojpeg not loadable: %v", turboErr)
	}
	files := map[string][]byte{"synthetic-1600x1200.jpg": syntheticJPEG(t, 1600, 1200)}
	for _, f := range []string{"progressive.jpg", "cmyk.jpg", "gray.jpg", "exif6.jpg"} {
		files[f] = readTestdata(t, f)
	}
	for name, data := range files {
		cfg, err := imageConfig(data)
		if err != nil {
			t.Fatal(name, err)
		}
		for _, minSide := range []int{0, 64, 448} {
			want, err := decodeJPEG(data, cfg.Width, cfg.Height, minSide)
			if err != nil {
				t.Fatal(name, err)
			}
			got, err := lib.decode(data, cfg.Width, cfg.Height, minSide)
			if err != nil {
				t.Fatal(name, err)
			}
			if got.Bounds() != want.Bounds() || !bytes.Equal(pixOf(t, got), pixOf(t, want)) {
				t.Errorf("%s minSide %d: run-time libturbojpeg (%T %v) differs from the linked libjpeg (%T %v)",
					name, minSide, got, got.Bounds(), want, want.Bounds())
			}
		}
	}
}

func imageConfig(data []byte) (image.Config, error) {
	cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
	return cfg, err
}

func pixOf(t *testing.T, img image.Image) []uint8 {
	t.Helper()
	switch m := img.(type) {
	case *image.RGBA:
		return m.Pix
	case *image.Gray:
		return m.Pix
	case *image.CMYK:
		return m.Pix
	}
	t.Fatalf("unexpected image type %T", img)
	return nil
}
