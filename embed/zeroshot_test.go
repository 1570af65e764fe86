package embed

import (
	"math"
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
			if c2 := Cosine(tt.a, tt.b); c2 != c {
				t.Errorf("Cosine %v != Similarity's %v", c2, c)
			}
		})
	}
}

func TestZeroShot(t *testing.T) {
	img := []float32{0.6, 0.8, 0}
	labels := [][]float32{{1, 0, 0}, {0, 1, 0}, {0, 0, 1}}
	tests := []struct {
		name  string
		scale float32
	}{{"clip scale", 100}, {"unit scale", 1}, {"zero scale", 0}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := ZeroShot(img, labels, tt.scale)
			// Softmax of scale·cos computed independently.
			cos := []float64{0.6, 0.8, 0}
			var z float64
			for _, c := range cos {
				z += math.Exp(float64(tt.scale) * c)
			}
			var sum float64
			for i, c := range cos {
				want := math.Exp(float64(tt.scale)*c) / z
				if math.Abs(float64(p[i])-want) > 1e-6 {
					t.Errorf("p[%d] = %v, want %v", i, p[i], want)
				}
				sum += float64(p[i])
			}
			if math.Abs(sum-1) > 1e-6 {
				t.Errorf("sum %v", sum)
			}
		})
	}
	if p := ZeroShot(img, nil, 100); p != nil {
		t.Errorf("no labels: %v", p)
	}
	// Large scales do not overflow.
	p := ZeroShot([]float32{1, 0}, [][]float32{{1, 0}, {-1, 0}}, 1e4)
	if math.IsNaN(float64(p[0])) || p[0] < 0.999999 {
		t.Errorf("large scale: %v", p)
	}
}

func TestClassifyVectorsOrderAndErrors(t *testing.T) {
	m := &Model{dim: 2, logitScale: 100}
	labels := []string{"b", "a"}
	lv := [][]float32{{0, 1}, {1, 0}}
	probs, err := m.ClassifyVectors([]float32{1, 0}, labels, lv)
	if err != nil {
		t.Fatal(err)
	}
	if probs[0].Label != "b" || probs[1].Label != "a" || probs[1].Prob < 0.99 {
		t.Errorf("probs %v", probs)
	}
	if _, err := m.ClassifyVectors([]float32{1, 0}, labels, lv[:1]); err == nil {
		t.Error("label/vector count mismatch accepted")
	}
	if _, err := m.ClassifyVectors([]float32{1, 0}, labels, [][]float32{{1}, {1, 0}}); err == nil {
		t.Error("vector length mismatch accepted")
	}
}

func TestDefaultTemplates(t *testing.T) {
	if got := (&Model{}).DefaultTemplates(); len(got) != 1 || got[0] != "a photo of a {}." {
		t.Errorf("English default %q", got)
	}
	if got := (&Model{chinese: true}).DefaultTemplates(); len(got) != 1 || got[0] != "一张{}的图片。" {
		t.Errorf("Chinese default %q", got)
	}
}
