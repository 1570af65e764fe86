package toolstest_test

import (
	"context"
	"fmt"
	"image"
	_ "image/jpeg"
	_ "image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cliprag/cliprag/embed/tinyshapes"
	"github.com/cliprag/cliprag/tools/ingest"
	"github.com/cliprag/cliprag/tools/toolstest"
)

func TestDrawSet(t *testing.T) {
	tests := []struct {
		name  string
		opt   toolstest.DrawOptions
		n     int
		check func(t *testing.T, i int, im toolstest.Image, rel string)
	}{
		{"default", toolstest.DrawOptions{}, 20, func(t *testing.T, i int, im toolstest.Image, rel string) {
			c := tinyshapes.ClassList()[i]
			if im.Class != c.String() || rel != c.Color+"-"+c.Shape+".png" || im.MIME != "image/png" {
				t.Errorf("image %d: %+v at %s, want %s as PNG", i, im, rel, c)
			}
		}},
		{"shape major, JPEG, nested", toolstest.DrawOptions{Seed: 7, ShapeMajor: true, JPEG: true, Nest: "more"}, 20, func(t *testing.T, i int, im toolstest.Image, rel string) {
			want := tinyshapes.Colors[i%5] + "-" + tinyshapes.Shapes[i/5]
			ext, mime := ".png", "image/png"
			if i%2 == 1 {
				ext, mime = ".jpg", "image/jpeg"
			}
			if i%3 == 2 {
				want = filepath.Join("more", want)
			}
			if rel != want+ext || im.MIME != mime {
				t.Errorf("image %d at %s (%s), want %s%s (%s)", i, rel, im.MIME, want, ext, mime)
			}
		}},
		{"two per class by shape, sized", toolstest.DrawOptions{
			Rand: rand.New(rand.NewPCG(1, 2)), PerClass: 2, ByShape: true,
			Size: func(i int) (int, int) { return 100 + i, 120 },
		}, 40, func(t *testing.T, i int, im toolstest.Image, rel string) {
			c := tinyshapes.ClassList()[i/2]
			want := filepath.Join(c.Shape, fmt.Sprintf("%s-%s-%d.png", c.Color, c.Shape, i%2+1))
			if rel != want || im.Width != 100+i || im.Height != 120 {
				t.Errorf("image %d: %dx%d at %s, want %dx120 at %s", i, im.Width, im.Height, rel, 100+i, want)
			}
		}},
		{"count and names", toolstest.DrawOptions{
			Count: 23, Draw: tinyshapes.DrawOptions{Width: 96},
			Name: func(i int, c tinyshapes.Class) string { return fmt.Sprintf("%03d-%s", i, c.Shape) },
		}, 23, func(t *testing.T, i int, im toolstest.Image, rel string) {
			c := tinyshapes.ClassList()[i%20]
			if rel != fmt.Sprintf("%03d-%s.png", i, c.Shape) || im.Class != c.String() || im.Width != 96 || im.Height != 96 {
				t.Errorf("image %d: %+v at %s", i, im, rel)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			images := toolstest.Draw(t, dir, tt.opt)
			if len(images) != tt.n {
				t.Fatalf("%d images, want %d", len(images), tt.n)
			}
			for i, im := range images {
				rel, err := filepath.Rel(dir, im.Path)
				if err != nil {
					t.Fatal(err)
				}
				tt.check(t, i, im, rel)
				if im.Class != im.Color+" "+im.Shape {
					t.Errorf("image %d: class %q, colour %q, shape %q", i, im.Class, im.Color, im.Shape)
				}
				f, err := os.Open(im.Path)
				if err != nil {
					t.Fatal(err)
				}
				cfg, format, err := image.DecodeConfig(f)
				f.Close()
				if err != nil || cfg.Width != im.Width || cfg.Height != im.Height || "image/"+format != im.MIME {
					t.Errorf("%s: %s %dx%d, %v; want %s %dx%d", rel, format, cfg.Width, cfg.Height, err, im.MIME, im.Width, im.Height)
				}
			}
		})
	}
}

func TestDrawSetDeterministic(t *testing.T) {
	read := func(seed int64) []byte {
		dir := t.TempDir()
		var all []byte
		for _, im := range toolstest.Draw(t, dir, toolstest.DrawOptions{Seed: seed, Count: 3}) {
			b, err := os.ReadFile(im.Path)
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, b...)
		}
		return all
	}
	if a, b := read(3), read(3); string(a) != string(b) {
		t.Error("the same seed drew different images")
	}
	if a, b := read(3), read(4); string(a) == string(b) {
		t.Error("different seeds drew the same images")
	}
}

func TestDrawSetErrors(t *testing.T) {
	dir := t.TempDir()
	blocker := filepath.Join(dir, "file")
	if err := os.WriteFile(blocker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		dir  string
		opt  toolstest.DrawOptions
		want string
	}{
		{"folder is a file", blocker, toolstest.DrawOptions{}, "file"},
		{"size out of range", dir, toolstest.DrawOptions{Draw: tinyshapes.DrawOptions{Width: -1}}, "red circle"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := toolstest.DrawSet(tt.dir, tt.opt)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one naming %q", err, tt.want)
			}
		})
	}
}

func TestModelRef(t *testing.T) {
	t.Setenv(toolstest.EnvModel, "")
	if got := toolstest.ModelRef(); got != "tiny-shapes" {
		t.Errorf("ModelRef() = %q, want tiny-shapes", got)
	}
	t.Setenv(toolstest.EnvModel, "/models/other")
	if got := toolstest.ModelRef(); got != "/models/other" {
		t.Errorf("ModelRef() = %q, want /models/other", got)
	}
}

func TestRuntimeMissing(t *testing.T) {
	msg := "onnx: library not found (set ONNXRUNTIME_LIB)"
	for _, tt := range []struct {
		ci, msg string
		want    bool
	}{
		{"", msg, true},
		{"false", msg, true},
		{"true", msg, false},
		{"", "load tiny-shapes: config.json: no such file", false},
	} {
		t.Setenv("CI", tt.ci)
		if got := toolstest.RuntimeMissing(tt.msg); got != tt.want {
			t.Errorf("CI=%q RuntimeMissing(%q) = %v, want %v", tt.ci, tt.msg, got, tt.want)
		}
	}
}

func TestFixture(t *testing.T) {
	f := toolstest.Mixed(t)
	if len(f.Images) != 20 || len(f.ByClass) != 20 {
		t.Fatalf("%d images, %d classes; want 20 and 20", len(f.Images), len(f.ByClass))
	}
	if f.Index != filepath.Join(filepath.Dir(f.Root), "index") {
		t.Errorf("index %s is not beside %s", f.Index, f.Root)
	}
	if n, err := f.Store.Count(context.Background()); err != nil || n != 20 {
		t.Errorf("store holds %d images (%v), want 20", n, err)
	}
	// Index fails when fewer images than wanted are indexed.
	if _, err := toolstest.Index(context.Background(), toolstest.Model(t), filepath.Join(t.TempDir(), "index"),
		ingest.Options{Paths: []string{f.ByClass["red circle"]}}, 2); err == nil || !strings.Contains(err.Error(), "indexed 1 of 2") {
		t.Errorf("Index with too few images: %v", err)
	}
}

func TestShared(t *testing.T) {
	builds := 0
	var dir string
	shared := toolstest.Shared[*toolstest.Fixture]{
		Build: func(ctx context.Context, m toolstest.Encoder, base string) (*toolstest.Fixture, error) {
			builds++
			dir = base
			return toolstest.BuildFixture(ctx, m, base, toolstest.DrawOptions{Seed: 1, Count: 3}, ingest.Options{})
		},
	}
	a, b := shared.Get(t), shared.Get(t)
	if a != b || builds != 1 {
		t.Fatalf("two Gets built %d times and returned %p and %p", builds, a, b)
	}
	if a.Root != filepath.Join(dir, "images") || len(a.Images) != 3 {
		t.Errorf("fixture %+v, want 3 images under %s", a, dir)
	}
	shared.Close()
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("Close left %s: %v", dir, err)
	}
	if _, err := a.Store.Count(context.Background()); err == nil {
		t.Error("Close left the store open")
	}
}
