package preprocess

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// repoRoot walks up from the package directory to the directory holding go.mod.
func repoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the package directory")
		}
		dir = parent
	}
}

// sharedDir returns ../shared/clip-reference/preprocess, skipping (or failing
// when CI=true) if it is absent.
func sharedDir(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(repoRoot(t), "..", "shared", "clip-reference", "preprocess")
	if _, err := os.Stat(filepath.Join(dir, "manifest.json")); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("reference data missing: ../shared/clip-reference/preprocess (%v)", err)
		}
		t.Skipf("reference data ../shared/clip-reference/preprocess not present: %v", err)
	}
	return dir
}

type manifest struct {
	Mean   [3]float32 `json:"mean"`
	Std    [3]float32 `json:"std"`
	Images []struct {
		File    string            `json:"file"`
		Mode    string            `json:"mode"`
		Size    [2]int            `json:"size"`
		Tensors map[string]string `json:"tensors"`
	} `json:"images"`
}

func readManifest(t testing.TB, dir string) manifest {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m manifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("manifest.json: %v", err)
	}
	return m
}

func readF32(t testing.TB, path string) []float32 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b)%4 != 0 {
		t.Fatalf("%s: %d bytes is not a float32 array", path, len(b))
	}
	out := make([]float32, len(b)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out
}

// diffStats returns the mean and max absolute difference.
func diffStats(t testing.TB, got, want []float32) (mean, max float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("tensor length %d, want %d", len(got), len(want))
	}
	var sum float64
	for i := range got {
		d := math.Abs(float64(got[i]) - float64(want[i]))
		if math.IsNaN(d) {
			d = math.Inf(1)
		}
		sum += d
		if d > max {
			max = d
		}
	}
	return sum / float64(len(got)), max
}

// tolerance returns the allowed mean and max |diff| for an input file.
func tolerance(file string) (mean, max float64) {
	ext := strings.ToLower(filepath.Ext(strings.TrimSuffix(file, ".orig")))
	switch ext {
	case ".jpg", ".jpeg", ".webp":
		return 0.02, math.Inf(1)
	}
	return 0.005, 0.05
}

func TestSharedReference(t *testing.T) {
	dir := sharedDir(t)
	m := readManifest(t, dir)
	if len(m.Images) == 0 {
		t.Fatal("manifest lists no images")
	}
	for _, im := range m.Images {
		for kind, tensor := range im.Tensors {
			var mode Mode
			switch kind {
			case "clip":
				mode = CenterCrop
			case "cnclip":
				mode = Squash
			default:
				t.Fatalf("%s: unknown tensor kind %q", im.File, kind)
			}
			t.Run(im.File+"/"+kind, func(t *testing.T) {
				p := Preprocessor{Size: 224, Mode: mode, Mean: m.Mean, Std: m.Std}
				got, err := p.LoadFile(filepath.Join(dir, im.File))
				if err != nil {
					t.Fatal(err)
				}
				want := readF32(t, filepath.Join(dir, tensor))
				mean, max := diffStats(t, got, want)
				tm, tx := tolerance(im.File)
				t.Logf("%s %s (%s): mean|diff| %.6f max|diff| %.6f", im.File, kind, im.Mode, mean, max)
				if mean > tm || max > tx {
					t.Errorf("%s %s: mean|diff| %.6f (limit %g), max|diff| %.6f (limit %g)", im.File, kind, mean, tm, max, tx)
				}
			})
		}
	}
}
