package embed_test

import (
	"context"
	"errors"
	"image"
	"io/fs"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cliprag/cliprag/embed"
	"github.com/cliprag/cliprag/embed/hub"
	"github.com/cliprag/cliprag/embed/preprocess"
	"github.com/cliprag/cliprag/embed/tinyshapes"
)

// copyTiny copies the bundled model's file src to dir/dst.
func copyTiny(t *testing.T, dir, dst, src string) {
	t.Helper()
	b, err := fs.ReadFile(tinyshapes.FS, src)
	if err != nil {
		t.Fatalf("bundled model: %v", err)
	}
	writeFile(t, filepath.Join(dir, dst), b)
}

func writeFile(t *testing.T, p string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// copyFixture copies embed/testdata/layouts/name into dir.
func copyFixture(t *testing.T, dir, name string) {
	t.Helper()
	root := filepath.Join("testdata", "layouts", name)
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		writeFile(t, filepath.Join(dir, rel), b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// copyAllTiny copies the whole bundled model into dir.
func copyAllTiny(t *testing.T, dir string) {
	t.Helper()
	err := fs.WalkDir(tinyshapes.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		copyTiny(t, dir, filepath.FromSlash(p), p)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestLayouts arranges the tiny model's files as each supported layout, loads
// them, and checks what was read from the files and that the embeddings
// match the bundled model's.
func TestLayouts(t *testing.T) {
	ref := tiny(t)
	ctx := context.Background()
	square := tinyshapes.Draw(rand.New(rand.NewPCG(8, 9)), "blue", "cross", tinyshapes.Options{Width: 240, Height: 240})
	wide := tinyshapes.Draw(rand.New(rand.NewPCG(8, 10)), "green", "square", tinyshapes.Options{Width: 400, Height: 250})
	want, err := ref.EmbedImages(ctx, []image.Image{square, wide})
	if err != nil {
		t.Fatal(err)
	}
	wantText, err := ref.EmbedTexts(ctx, []string{"a photo of a blue cross"})
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name       string
		setup      func(t *testing.T, dir string) string // returns the ref to load
		layout     embed.Layout
		mode       preprocess.Mode
		ctxLen     int
		idPrefix   string
		chinese    bool
		sameAsWide bool // non-square images embed as the bundled model does (centre crop)
	}{
		{
			name: "optimum",
			setup: func(t *testing.T, dir string) string {
				copyAllTiny(t, dir)
				return dir
			},
			layout: embed.LayoutOptimum, mode: preprocess.CenterCrop, ctxLen: 77, sameAsWide: true,
		},
		{
			name: "fastembed vision/ and text/",
			setup: func(t *testing.T, dir string) string {
				copyFixture(t, dir, "fastembed")
				copyTiny(t, dir, "vision/model.onnx", "onnx/vision_model.onnx")
				copyTiny(t, dir, "text/model.onnx", "onnx/text_model.onnx")
				copyTiny(t, dir, "text/tokenizer.json", "tokenizer.json")
				return dir
			},
			layout: embed.LayoutFastembed, mode: preprocess.CenterCrop, ctxLen: 77,
			idPrefix: "Qdrant/clip-ViT-B-32-vision@", sameAsWide: true,
		},
		{
			name: "fastembed side by side, parent given",
			setup: func(t *testing.T, dir string) string {
				copyFixture(t, dir, "fastembed")
				if err := os.Rename(filepath.Join(dir, "vision"), filepath.Join(dir, "clip-ViT-B-32-vision")); err != nil {
					t.Fatal(err)
				}
				if err := os.Rename(filepath.Join(dir, "text"), filepath.Join(dir, "clip-ViT-B-32-text")); err != nil {
					t.Fatal(err)
				}
				copyTiny(t, dir, "clip-ViT-B-32-vision/model.onnx", "onnx/vision_model.onnx")
				copyTiny(t, dir, "clip-ViT-B-32-text/model.onnx", "onnx/text_model.onnx")
				copyTiny(t, dir, "clip-ViT-B-32-text/tokenizer.json", "tokenizer.json")
				return dir
			},
			layout: embed.LayoutFastembed, mode: preprocess.CenterCrop, ctxLen: 77, sameAsWide: true,
		},
		{
			name: "fastembed side by side, text dir given",
			setup: func(t *testing.T, dir string) string {
				copyFixture(t, dir, "fastembed")
				os.Rename(filepath.Join(dir, "vision"), filepath.Join(dir, "m-vision"))
				os.Rename(filepath.Join(dir, "text"), filepath.Join(dir, "m-text"))
				copyTiny(t, dir, "m-vision/model.onnx", "onnx/vision_model.onnx")
				copyTiny(t, dir, "m-text/model.onnx", "onnx/text_model.onnx")
				copyTiny(t, dir, "m-text/tokenizer.json", "tokenizer.json")
				return filepath.Join(dir, "m-text")
			},
			layout: embed.LayoutFastembed, mode: preprocess.CenterCrop, ctxLen: 77, sameAsWide: true,
		},
		{
			name: "chinese_clip config",
			setup: func(t *testing.T, dir string) string {
				copyFixture(t, dir, "chinese_clip")
				copyTiny(t, dir, "onnx/vision_model.onnx", "onnx/vision_model.onnx")
				copyTiny(t, dir, "onnx/text_model.onnx", "onnx/text_model.onnx")
				copyTiny(t, dir, "tokenizer.json", "tokenizer.json")
				return dir
			},
			layout: embed.LayoutOptimum, mode: preprocess.Squash, ctxLen: 52,
			idPrefix: "OFA-Sys/chinese-clip-vit-base-patch16@", chinese: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			r := tt.setup(t, dir)
			m, err := embed.Load(ctx, r, embed.WithOffline(true))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { m.Close() })
			if m.Layout() != tt.layout {
				t.Errorf("layout %q, want %q", m.Layout(), tt.layout)
			}
			p := m.Preprocessor()
			if p.Mode != tt.mode || p.Size != 224 || p.Mean != ref.Preprocessor().Mean || p.Std != ref.Preprocessor().Std {
				t.Errorf("preprocessor %+v", p)
			}
			if m.ContextLength() != tt.ctxLen {
				t.Errorf("context length %d, want %d", m.ContextLength(), tt.ctxLen)
			}
			if m.Chinese() != tt.chinese {
				t.Errorf("Chinese %v", m.Chinese())
			}
			if m.Dim() != ref.Dim() {
				t.Errorf("dim %d, want %d", m.Dim(), ref.Dim())
			}
			if tt.idPrefix != "" && !strings.HasPrefix(m.ID(), tt.idPrefix) {
				t.Errorf("ID %q, want prefix %q", m.ID(), tt.idPrefix)
			}
			if !strings.Contains(m.ID(), "@") || m.ID() == ref.ID() {
				t.Errorf("directory ID %q lacks the content hash", m.ID())
			}
			got, err := m.EmbedImages(ctx, []image.Image{square, wide})
			if err != nil {
				t.Fatal(err)
			}
			if d := maxDiff(got[0], want[0]); d > 1e-5 {
				t.Errorf("square image differs from the bundled model by %g", d)
			}
			d := maxDiff(got[1], want[1])
			if tt.sameAsWide && d > 1e-5 {
				t.Errorf("wide image differs from the bundled model by %g", d)
			}
			if !tt.sameAsWide && d < 1e-3 {
				t.Errorf("wide image: squash gave the centre-crop embedding (diff %g)", d)
			}
			tv, err := m.EmbedTexts(ctx, []string{"a photo of a blue cross"})
			if err != nil {
				t.Fatal(err)
			}
			if d := maxDiff(tv[0], wantText[0]); d > 1e-5 {
				t.Errorf("text differs from the bundled model by %g", d)
			}
		})
	}
}

// TestDirectoryID checks that the id of a directory model depends on its
// content, not its location.
func TestDirectoryID(t *testing.T) {
	requireRuntime(t)
	ctx := context.Background()
	a, b := t.TempDir(), t.TempDir()
	for _, d := range []string{a, b} {
		copyAllTiny(t, filepath.Join(d, "tiny"))
	}
	load := func(dir string) string {
		m, err := embed.Load(ctx, dir)
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		return m.ID()
	}
	idA, idB := load(filepath.Join(a, "tiny")), load(filepath.Join(b, "tiny"))
	if idA != idB {
		t.Errorf("same files, different ids: %q %q", idA, idB)
	}
	cfg := filepath.Join(b, "tiny", "config.json")
	raw, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, cfg, append(raw, '\n'))
	if idC := load(filepath.Join(b, "tiny")); idC == idA {
		t.Errorf("changed config.json, same id %q", idC)
	}
}

// TestQuantizedSelection checks that WithQuantized picks *_quantized.onnx:
// here the "quantized vision model" is deliberately the text model, so
// picking it must fail while the default load works.
func TestQuantizedSelection(t *testing.T) {
	requireRuntime(t)
	ctx := context.Background()
	dir := t.TempDir()
	copyAllTiny(t, dir)
	copyTiny(t, dir, "onnx/vision_model_quantized.onnx", "onnx/text_model.onnx")
	m, err := embed.Load(ctx, dir)
	if err != nil {
		t.Fatalf("default load: %v", err)
	}
	m.Close()
	_, err = embed.Load(ctx, dir, embed.WithQuantized(true))
	if err == nil || !strings.Contains(err.Error(), "vision_model_quantized.onnx") {
		t.Fatalf("quantized load: %v, want an error naming vision_model_quantized.onnx", err)
	}
}

func TestLayoutErrors(t *testing.T) {
	requireRuntime(t)
	ctx := context.Background()
	tests := []struct {
		name  string
		setup func(t *testing.T, dir string)
		want  string
	}{
		{"no config.json", func(t *testing.T, dir string) {
			copyAllTiny(t, dir)
			os.Remove(filepath.Join(dir, "config.json"))
		}, "missing config.json"},
		{"no preprocessor_config.json", func(t *testing.T, dir string) {
			copyAllTiny(t, dir)
			os.Remove(filepath.Join(dir, "preprocessor_config.json"))
		}, "missing preprocessor_config.json"},
		{"no tokenizer", func(t *testing.T, dir string) {
			copyAllTiny(t, dir)
			os.Remove(filepath.Join(dir, "tokenizer.json"))
		}, "no tokenizer.json"},
		{"broken config", func(t *testing.T, dir string) {
			copyAllTiny(t, dir)
			writeFile(t, filepath.Join(dir, "config.json"), []byte("{"))
		}, "config.json"},
		{"lone model.onnx", func(t *testing.T, dir string) {
			copyTiny(t, dir, "model.onnx", "onnx/vision_model.onnx")
		}, "fastembed"},
		{"corrupt onnx", func(t *testing.T, dir string) {
			copyAllTiny(t, dir)
			writeFile(t, filepath.Join(dir, "onnx", "text_model.onnx"), []byte("not onnx"))
		}, "text_model.onnx"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			tt.setup(t, dir)
			m, err := embed.Load(ctx, dir)
			if err == nil {
				m.Close()
				t.Fatal("Load succeeded")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q, want one containing %q", err, tt.want)
			}
		})
	}
}

// hubServer serves the bundled model's files as a Hugging Face repository
// would: /{repo}/resolve/{revision}/{path}. It counts requests.
func hubServer(t *testing.T, repo, revision string) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	prefix := "/" + repo + "/resolve/" + revision + "/"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		if !strings.HasPrefix(r.URL.Path, prefix) {
			http.NotFound(w, r)
			return
		}
		p := path.Clean(strings.TrimPrefix(r.URL.Path, prefix))
		b, err := fs.ReadFile(tinyshapes.FS, p)
		if err != nil {
			http.NotFound(w, r)
			return
		}
		http.ServeContent(w, r, path.Base(p), time.Time{}, strings.NewReader(string(b)))
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

// TestRegistryDownload registers a model whose repository is served by a
// local server, loads it (download into the cache), loads it again offline
// from the cache, and checks the offline error on an empty cache.
func TestRegistryDownload(t *testing.T) {
	ref := tiny(t)
	ctx := context.Background()
	const repo, rev = "cliprag-test/tiny-shapes", "0123456789abcdef0123456789abcdef01234567"
	srv, requests := hubServer(t, repo, rev)
	entry := embed.RegistryEntry{
		Name: "test-tiny-remote", Repo: repo, Revision: rev,
		Files:  []string{"config.json", "preprocessor_config.json", "tokenizer.json", "tokenizer_config.json"},
		Vision: "onnx/vision_model.onnx", Text: "onnx/text_model.onnx",
		LogitScale: 50,
	}
	if err := embed.Register(entry); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { embed.Unregister(entry.Name) })

	cache := t.TempDir()
	var progress strings.Builder
	m, err := embed.Load(ctx, entry.Name, embed.WithCacheDir(cache), embed.WithEndpoint(srv.URL), embed.WithProgress(&progress))
	if err != nil {
		t.Fatal(err)
	}
	if m.ID() != entry.Name || m.LogitScale() != 50 {
		t.Errorf("ID %q LogitScale %v: want the registry's name and pinned scale", m.ID(), m.LogitScale())
	}
	got, err := m.EmbedTexts(ctx, []string{"a purple triangle"})
	m.Close()
	if err != nil {
		t.Fatal(err)
	}
	want, err := ref.EmbedTexts(ctx, []string{"a purple triangle"})
	if err != nil {
		t.Fatal(err)
	}
	if d := maxDiff(got[0], want[0]); d > 1e-6 {
		t.Errorf("downloaded model differs from the bundled one by %g", d)
	}
	if requests.Load() == 0 {
		t.Fatal("no requests reached the server")
	}
	if _, err := os.Stat(filepath.Join(hub.ModelDir(cache, repo, rev), "onnx", "vision_model.onnx")); err != nil {
		t.Errorf("model not in the cache: %v", err)
	}

	// Second load: offline, from the cache, no requests.
	before := requests.Load()
	m, err = embed.Load(ctx, entry.Name, embed.WithCacheDir(cache), embed.WithEndpoint(srv.URL), embed.WithOffline(true))
	if err != nil {
		t.Fatalf("offline load from cache: %v", err)
	}
	m.Close()
	if requests.Load() != before {
		t.Errorf("offline load made %d requests", requests.Load()-before)
	}

	// Empty cache, offline: a clear error naming the URL and the directory.
	empty := t.TempDir()
	_, err = embed.Load(ctx, entry.Name, embed.WithCacheDir(empty), embed.WithEndpoint(srv.URL), embed.WithOffline(true))
	if !errors.Is(err, hub.ErrOffline) {
		t.Fatalf("offline load with empty cache: %v, want hub.ErrOffline", err)
	}
	for _, s := range []string{srv.URL + "/" + repo + "/resolve/" + rev + "/", hub.ModelDir(empty, repo, rev)} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("offline error %q does not mention %q", err, s)
		}
	}

	// Unreachable endpoint: the error names the URL that failed.
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close()
	_, err = embed.Load(ctx, entry.Name, embed.WithCacheDir(t.TempDir()), embed.WithEndpoint(deadURL))
	if err == nil || !strings.Contains(err.Error(), deadURL) {
		t.Errorf("unreachable endpoint: %v, want an error naming %s", err, deadURL)
	}
}
