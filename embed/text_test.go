package embed_test

import (
	"context"
	"image"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cliprag/cliprag/embed"
	"github.com/cliprag/cliprag/embed/tinyshapes"
)

// TestTextRealLength checks that running the text tower at the batch's
// longest sequence gives the embeddings of padding to the context length,
// for the tiny model (causal, pooled at the end token) and the synthetic
// combined graph (attention_mask).
func TestTextRealLength(t *testing.T) {
	requireRuntime(t)
	ctx := context.Background()
	texts := []string{"a photo of a red circle", "", "yellow", strings.Repeat("purple cross ", 40), "blue square", "a photo of a green triangle on grey"}
	tests := []struct {
		name string
		ref  func(t *testing.T) string
	}{
		{"tiny-shapes", func(*testing.T) string { return "tiny-shapes" }},
		{"combined with attention_mask", func(t *testing.T) string {
			return synthDir(t, "chinese_clip", map[string]string{"onnx/model.onnx": "combined.onnx"})
		}},
		{"last_hidden_state", func(t *testing.T) string {
			dir := synthDir(t, "", map[string]string{"onnx/vision_model.onnx": "vision.onnx", "onnx/text_model.onnx": "text_hidden.onnx"})
			writeFile(t, filepath.Join(dir, "config.json"), []byte(`{"model_type": "clip", "text_config": {"max_position_embeddings": 77}}`))
			return dir
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ref := tt.ref(t)
			trimmed, err := embed.Load(ctx, ref, embed.WithBatchSize(4), embed.WithTextCache(0))
			if err != nil {
				t.Fatal(err)
			}
			defer trimmed.Close()
			padded, err := embed.Load(ctx, ref, embed.WithBatchSize(4), embed.WithTextCache(0), embed.WithPadContext())
			if err != nil {
				t.Fatal(err)
			}
			defer padded.Close()
			if !trimmed.TextTrimmed() || padded.TextTrimmed() {
				t.Fatalf("trimmed %v, padded %v: want the graph to allow the real length", trimmed.TextTrimmed(), padded.TextTrimmed())
			}
			got, err := trimmed.EmbedTexts(ctx, texts)
			if err != nil {
				t.Fatal(err)
			}
			want, err := padded.EmbedTexts(ctx, texts)
			if err != nil {
				t.Fatal(err)
			}
			for i := range texts {
				if d := maxDiff(got[i], want[i]); d > 1e-5 {
					t.Errorf("text %d: real length differs from padded by %g", i, d)
				}
			}
		})
	}
}

// TestLazyTowers checks that text work opens only the text tower and image
// work the vision tower.
func TestLazyTowers(t *testing.T) {
	requireRuntime(t)
	ctx := context.Background()
	m, err := embed.Load(ctx, "tiny-shapes")
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if v, tx := m.Opened(); v || tx {
		t.Fatalf("after Load: vision open %v, text open %v; want neither", v, tx)
	}
	if _, err := m.EmbedTexts(ctx, []string{"a red circle"}); err != nil {
		t.Fatal(err)
	}
	if v, tx := m.Opened(); v || !tx {
		t.Fatalf("after EmbedTexts: vision open %v, text open %v; want text only", v, tx)
	}
	img := tinyshapes.Draw(rand.New(rand.NewPCG(3, 4)), "red", "circle", tinyshapes.Options{Width: 224, Height: 224})
	if _, err := m.EmbedImages(ctx, []image.Image{img}); err != nil {
		t.Fatal(err)
	}
	if v, _ := m.Opened(); !v {
		t.Fatal("after EmbedImages: vision tower not open")
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := m.EmbedImages(ctx, []image.Image{img}); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Errorf("EmbedImages after Close: %v", err)
	}
}

// TestTextCache checks that repeated texts come from the cache, identical
// and as copies, and that the cache stays within its bound.
func TestTextCache(t *testing.T) {
	requireRuntime(t)
	ctx := context.Background()
	m, err := embed.Load(ctx, "tiny-shapes", embed.WithTextCache(3))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	first, err := m.EmbedTexts(ctx, []string{"red circle", "blue square", "red circle"})
	if err != nil {
		t.Fatal(err)
	}
	if d := maxDiff(first[0], first[2]); d != 0 {
		t.Errorf("a text repeated in one call differs by %g", d)
	}
	first[2][0] = 42 // the caller owns what it gets
	again, err := m.EmbedTexts(ctx, []string{"red circle"})
	if err != nil {
		t.Fatal(err)
	}
	if d := maxDiff(again[0], first[0]); d != 0 || again[0][0] == 42 {
		t.Errorf("cached embedding differs by %g (or shares memory with a returned slice)", d)
	}
	if n := m.CacheLen(); n != 2 {
		t.Errorf("cache holds %d texts, want 2", n)
	}
	if _, err := m.EmbedTexts(ctx, []string{"a", "b", "c", "d"}); err != nil {
		t.Fatal(err)
	}
	if n := m.CacheLen(); n != 3 {
		t.Errorf("cache holds %d texts, want its bound 3", n)
	}
	fresh, err := embed.Load(ctx, "tiny-shapes", embed.WithTextCache(0))
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	want, err := fresh.EmbedTexts(ctx, []string{"red circle"})
	if err != nil {
		t.Fatal(err)
	}
	if d := maxDiff(again[0], want[0]); d > 1e-6 {
		t.Errorf("cached embedding differs from a fresh one by %g", d)
	}
	if fresh.CacheLen() != 0 {
		t.Error("WithTextCache(0) still caches")
	}
}

// TestSessionCacheTowers loads a directory model twice with a cache
// folder: the first load writes each tower's optimised copy when the tower
// is first used, the second runs on them, and both embed as the bundled
// model does.
func TestSessionCacheTowers(t *testing.T) {
	ref := tiny(t)
	ctx := context.Background()
	dir, cache := t.TempDir(), t.TempDir()
	copyAllTiny(t, dir)
	want, err := ref.EmbedTexts(ctx, []string{"a photo of a yellow cross"})
	if err != nil {
		t.Fatal(err)
	}
	img := tinyshapes.Draw(rand.New(rand.NewPCG(1, 2)), "yellow", "cross", tinyshapes.DrawOptions{Width: 96, Height: 96})
	wantImg, err := ref.EmbedImages(ctx, []image.Image{img})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		m, err := embed.Load(ctx, dir, embed.WithCacheDir(cache))
		if err != nil {
			t.Fatal(err)
		}
		got, err := m.EmbedTexts(ctx, []string{"a photo of a yellow cross"})
		if err != nil {
			t.Fatal(err)
		}
		if d := maxDiff(got[0], want[0]); d > 1e-5 {
			t.Errorf("load %d: text differs from the bundled model by %g", i+1, d)
		}
		copies, _ := filepath.Glob(filepath.Join(cache, "ort", "*.ort"))
		if i == 0 && (len(copies) != 1 || !strings.Contains(filepath.Base(copies[0]), "text_model-")) {
			t.Errorf("load %d: cached copies %v before an image, want the text tower's only", i+1, copies)
		}
		gotImg, err := m.EmbedImages(ctx, []image.Image{img})
		m.Close()
		if err != nil {
			t.Fatal(err)
		}
		if d := maxDiff(gotImg[0], wantImg[0]); d > 1e-5 {
			t.Errorf("load %d: image differs from the bundled model by %g", i+1, d)
		}
		copies, _ = filepath.Glob(filepath.Join(cache, "ort", "*.ort"))
		if len(copies) != 2 {
			t.Errorf("load %d: cached copies %v, want both towers'", i+1, copies)
		}
	}
	for _, mode := range []embed.SessionCache{embed.SessionCacheRead, embed.SessionCacheOff} {
		empty := t.TempDir()
		m, err := embed.Load(ctx, dir, embed.WithCacheDir(empty), embed.WithSessionCache(mode))
		if err != nil {
			t.Fatal(err)
		}
		_, err = m.EmbedTexts(ctx, []string{"x"})
		m.Close()
		if err != nil {
			t.Fatal(err)
		}
		if copies, _ := filepath.Glob(filepath.Join(empty, "ort", "*")); len(copies) != 0 {
			t.Errorf("mode %d wrote %v", mode, copies)
		}
	}
}
