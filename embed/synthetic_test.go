package embed_test

import (
	"context"
	"image"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cliprag/cliprag/embed"
	"github.com/cliprag/cliprag/embed/tinyshapes"
)

// The graphs in testdata/synthetic (see make_synthetic.py there) compute
// closed-form functions of their inputs, so these tests check exactly what
// Load feeds the towers (padding, attention_mask, token_type_ids, the dummy
// input of a combined export) and how it pools rank-3 outputs.

const synthD = 8

func synthE(id int64) []float64 {
	v := make([]float64, synthD)
	for j := range v {
		v[j] = math.Sin(0.01 * float64(id+1) * float64(j+1))
	}
	return v
}

func normalized(v []float64) []float32 {
	var s float64
	for _, x := range v {
		s += x * x
	}
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x / math.Sqrt(s))
	}
	return out
}

// fitIDs truncates ids to n as Model does: the first n-1 and the last.
func fitIDs(ids []int64, n int) []int64 {
	if len(ids) <= n {
		return ids
	}
	return append(append([]int64(nil), ids[:n-1]...), ids[len(ids)-1])
}

// wantImage is normalize(mean_hw(pixels) @ W) with W[c][j] = (c+1)(j+1)/10.
func wantImage(px []float32, size int) []float32 {
	hw := size * size
	out := make([]float64, synthD)
	for c := 0; c < 3; c++ {
		var m float64
		for _, x := range px[c*hw : (c+1)*hw] {
			m += float64(x)
		}
		m /= float64(hw)
		for j := range out {
			out[j] += m * float64(c+1) * float64(j+1) / 10
		}
	}
	return normalized(out)
}

func synthDir(t *testing.T, fixture string, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	if fixture != "" {
		copyFixture(t, dir, fixture)
	}
	copyTiny(t, dir, "tokenizer.json", "tokenizer.json")
	copyTiny(t, dir, "preprocessor_config.json", "preprocessor_config.json")
	for dst, src := range files {
		b, err := os.ReadFile(filepath.Join("testdata", "synthetic", src))
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(dir, filepath.FromSlash(dst)), b)
	}
	return dir
}

func TestSyntheticCombinedBERTInputs(t *testing.T) {
	requireRuntime(t)
	ctx := context.Background()
	// Chinese-CLIP-style config: squash, context 52, BERT-style inputs, one
	// combined graph (as Xenova's Chinese-CLIP export).
	dir := synthDir(t, "chinese_clip", map[string]string{"onnx/model.onnx": "combined.onnx"})
	m, err := embed.Load(ctx, dir, embed.WithBatchSize(4))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	if m.Layout() != embed.LayoutCombined || m.Dim() != synthD || m.ContextLength() != 52 {
		t.Fatalf("layout %s dim %d context %d", m.Layout(), m.Dim(), m.ContextLength())
	}
	// exp(2.6592) from logit_scale_init_value: a directory has no registry pin.
	if s := m.LogitScale(); math.Abs(float64(s)-14.2857) > 0.01 {
		t.Errorf("LogitScale %v", s)
	}
	texts := []string{"a photo of a red circle", "", "yellow", strings.Repeat("purple cross ", 40), "blue square", "green"}
	got, err := m.EmbedTexts(ctx, texts)
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range texts {
		ids := fitIDs(m.Tokenizer().Encode(s), m.ContextLength())
		sum := make([]float64, synthD)
		for _, id := range ids { // padding is masked out; token types are all 0
			for j, x := range synthE(id) {
				sum[j] += x
			}
		}
		if d := maxDiff(got[i], normalized(sum)); d > 1e-5 {
			t.Errorf("text %d (%d ids): differs from the closed form by %g", i, len(ids), d)
		}
	}
	imgs := []image.Image{
		tinyshapes.Draw(rand.New(rand.NewPCG(1, 3)), "red", "square", tinyshapes.Options{Width: 300, Height: 200}),
		tinyshapes.Draw(rand.New(rand.NewPCG(1, 4)), "blue", "circle", tinyshapes.Options{Width: 150, Height: 230}),
	}
	iv, err := m.EmbedImages(ctx, imgs)
	if err != nil {
		t.Fatal(err)
	}
	for i, img := range imgs {
		want := wantImage(m.Preprocessor().Image(img), m.Preprocessor().Size)
		if d := maxDiff(iv[i], want); d > 1e-5 {
			t.Errorf("image %d differs from the closed form by %g", i, d)
		}
	}
}

func TestSyntheticLastHiddenStatePooling(t *testing.T) {
	requireRuntime(t)
	ctx := context.Background()
	files := map[string]string{"onnx/vision_model.onnx": "vision.onnx", "onnx/text_model.onnx": "text_hidden.onnx"}
	tests := []struct {
		name    string
		fixture string
		config  string
		cls     bool
	}{
		{"CLIP text pools the end token", "", `{"model_type": "clip", "text_config": {"max_position_embeddings": 77}}`, false},
		{"BERT text pools the first token", "chinese_clip", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := synthDir(t, tt.fixture, files)
			if tt.config != "" {
				writeFile(t, filepath.Join(dir, "config.json"), []byte(tt.config))
			}
			m, err := embed.Load(ctx, dir)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { m.Close() })
			if m.Dim() != synthD {
				t.Fatalf("dim %d", m.Dim())
			}
			texts := []string{"a red circle", "a photo of a green triangle", strings.Repeat("red ", 90)}
			got, err := m.EmbedTexts(ctx, texts)
			if err != nil {
				t.Fatal(err)
			}
			for i, s := range texts {
				ids := fitIDs(m.Tokenizer().Encode(s), m.ContextLength())
				if tt.cls {
					ids = ids[:1]
				}
				sum := make([]float64, synthD)
				for _, id := range ids { // cumsum up to the pooled position
					for j, x := range synthE(id) {
						sum[j] += x
					}
				}
				if d := maxDiff(got[i], normalized(sum)); d > 1e-5 {
					t.Errorf("text %d: differs from the closed form by %g", i, d)
				}
			}
		})
	}
}
