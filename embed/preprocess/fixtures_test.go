package preprocess

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

type fixtureManifest struct {
	Size   int        `json:"size"`
	Mean   [3]float32 `json:"mean"`
	Std    [3]float32 `json:"std"`
	Images []struct {
		File          string            `json:"file"`
		Mode          string            `json:"mode"`
		Size          [2]int            `json:"size"`
		OrientedSize  [2]int            `json:"oriented_size"`
		Lossy         bool              `json:"lossy"`
		ExifTranspose bool              `json:"exif_transpose"`
		Tensors       map[string]string `json:"tensors"`
	} `json:"images"`
}

// TestFixtures compares against the tensors scripts/make_preprocess_fixtures.py
// produced with Pillow and torchvision.
func TestFixtures(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "manifest.json"))
	if err != nil {
		t.Fatalf("testdata/manifest.json (run scripts/make_preprocess_fixtures.py): %v", err)
	}
	var m fixtureManifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if len(m.Images) < 20 {
		t.Fatalf("manifest lists %d images, want at least 20", len(m.Images))
	}
	for _, im := range m.Images {
		for kind, tensor := range im.Tensors {
			mode := CenterCrop
			if kind == "squash" {
				mode = Squash
			}
			t.Run(im.File+"/"+kind, func(t *testing.T) {
				p := Preprocessor{Size: m.Size, Mode: mode, Mean: m.Mean, Std: m.Std}
				path := filepath.Join("testdata", im.File)
				got, err := p.LoadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				want := readF32(t, filepath.Join("testdata", tensor))
				mean, max := diffStats(t, got, want)
				tm, tx := 0.005, 0.05
				if im.Lossy {
					tm, tx = 0.02, 1e9
				}
				t.Logf("%-18s %-6s %-5s mean|diff| %.6f max|diff| %.6f", im.File, kind, im.Mode, mean, max)
				if mean > tm || max > tx {
					t.Errorf("%s %s: mean|diff| %.6f (limit %g), max|diff| %.6f (limit %g)", im.File, kind, mean, tm, max, tx)
				}
				// Info carries the oriented, full-resolution size.
				data, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				_, info, err := p.Bytes(im.File, data)
				if err != nil {
					t.Fatal(err)
				}
				if info.Width != im.OrientedSize[0] || info.Height != im.OrientedSize[1] {
					t.Errorf("Info %dx%d, want %dx%d", info.Width, info.Height, im.OrientedSize[0], im.OrientedSize[1])
				}
			})
		}
	}
}
