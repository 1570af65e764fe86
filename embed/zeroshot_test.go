package embed

import (
	"testing"
)

// Cosine, Similarity and ZeroShot are package zeroshot's; their tests are
// there. What embed adds is the Model's use of them.

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
