package zeroshot

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
)

func TestCosineAndSimilarity(t *testing.T) {
	tests := []struct {
		name       string
		a, b       []float32
		cos, scale float32
	}{
		{"same", []float32{1, 2, 3}, []float32{2, 4, 6}, 1, 1},
		{"opposite", []float32{1, 0}, []float32{-3, 0}, -1, 0},
		{"orthogonal", []float32{1, 0}, []float32{0, 5}, 0, 0.5},
		{"45 degrees", []float32{1, 0}, []float32{1, 1}, float32(math.Sqrt2 / 2), float32((math.Sqrt2/2 + 1) / 2)},
		{"length mismatch", []float32{1, 0}, []float32{1, 0, 0}, 0, 0.5},
		{"zero vector", []float32{0, 0}, []float32{1, 0}, 0, 0.5},
		{"empty", nil, nil, 0, 0.5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, s := Similarity(tt.a, tt.b)
			if math.Abs(float64(c-tt.cos)) > 1e-6 || math.Abs(float64(s-tt.scale)) > 1e-6 {
				t.Errorf("Similarity = %v, %v; want %v, %v", c, s, tt.cos, tt.scale)
			}
		})
	}
}

func TestProbs(t *testing.T) {
	img := []float32{0.6, 0.8, 0}
	labels := [][]float32{{1, 0, 0}, {0, 1, 0}, {0, 0, 1}}
	for _, scale := range []float32{100, 1, 0} {
		p := Probs(img, labels, scale)
		cos := []float64{0.6, 0.8, 0}
		var z float64
		for _, c := range cos {
			z += math.Exp(float64(scale) * c)
		}
		for i, c := range cos {
			if want := math.Exp(float64(scale)*c) / z; math.Abs(float64(p[i])-want) > 1e-6 {
				t.Errorf("scale %v: p[%d] = %v, want %v", scale, i, p[i], want)
			}
		}
	}
	if p := Probs([]float32{1, 0}, [][]float32{{1, 0}, {-1, 0}}, 1e4); math.IsNaN(float64(p[0])) || p[0] < 0.999999 {
		t.Errorf("large scale: %v", p)
	}
}

// axes embeds a prompt as the unit vector of the axis ("x", "y" or "z")
// its first letter names: a fake encoder whose answers are known exactly.
func axes(_ context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	for i, t := range texts {
		v := make([]float32, 3)
		for j, w := range []string{"x", "y", "z"} {
			if strings.HasPrefix(t, w) {
				v[j] = 1
				break
			}
		}
		out[i] = v
	}
	return out, nil
}

func TestLabelEmbeddings(t *testing.T) {
	ctx := context.Background()
	// Two templates: "{}" alone points at the label's axis, "z and {}" at z,
	// so each label's mean is the normalised sum of its axis and z.
	got, err := LabelEmbeddings(ctx, axes, []string{"x", "y"}, []string{"{}", "z and {}"})
	if err != nil {
		t.Fatal(err)
	}
	h := float32(math.Sqrt2 / 2)
	want := [][]float32{{h, 0, h}, {0, h, h}}
	for i := range want {
		for j := range want[i] {
			if math.Abs(float64(got[i][j]-want[i][j])) > 1e-6 {
				t.Fatalf("label %d = %v, want %v", i, got[i], want[i])
			}
		}
	}
	tests := []struct {
		name      string
		labels    []string
		templates []string
		embed     EmbedTexts
		want      string
	}{
		{"no labels", nil, []string{"{}"}, axes, "no labels"},
		{"no templates", []string{"x"}, nil, axes, "no prompt templates"},
		{"template without slot", []string{"x"}, []string{"a photo"}, axes, "has no {}"},
		{"encoder fails", []string{"x"}, []string{"{}"}, func(context.Context, []string) ([][]float32, error) {
			return nil, errors.New("boom")
		}, "boom"},
		{"encoder short", []string{"x", "y"}, []string{"{}"}, func(context.Context, []string) ([][]float32, error) {
			return [][]float32{{1}}, nil
		}, "1 vectors for 2 prompts"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LabelEmbeddings(ctx, tt.embed, tt.labels, tt.templates)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestClassify(t *testing.T) {
	p, err := Classify([]float32{1, 0}, []string{"b", "a"}, [][]float32{{0, 1}, {1, 0}}, 100)
	if err != nil {
		t.Fatal(err)
	}
	if p[0].Label != "b" || p[1].Label != "a" || p[1].Prob < 0.99 {
		t.Errorf("got %+v", p)
	}
	if _, err := Classify([]float32{1, 0}, []string{"a"}, nil, 100); err == nil {
		t.Error("label/vector count mismatch: no error")
	}
	if _, err := Classify([]float32{1, 0}, []string{"a"}, [][]float32{{1}}, 100); err == nil {
		t.Error("dimension mismatch: no error")
	}
}

func ExampleClassify() {
	image := []float32{0.6, 0.8}
	labels := []string{"cat", "dog"}
	vecs := [][]float32{{1, 0}, {0, 1}}
	probs, _ := Classify(image, labels, vecs, 100)
	for _, p := range probs {
		fmt.Printf("%s %.4f\n", p.Label, p.Prob)
	}
	// Output:
	// cat 0.0000
	// dog 1.0000
}
