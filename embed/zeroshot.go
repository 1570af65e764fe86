package embed

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
)

// DefaultTemplate is CLIP's basic zero-shot prompt; "{}" is replaced by the label.
const DefaultTemplate = "a photo of a {}."

// DefaultChineseTemplate is the default prompt for Chinese-CLIP models ("a picture of {}").
const DefaultChineseTemplate = "一张{}的图片。"

// LabelProb is a label's zero-shot probability.
type LabelProb struct {
	Label string  `json:"label"`
	Prob  float32 `json:"prob"`
}

// DefaultTemplates returns the prompt templates used when a caller passes
// none: DefaultChineseTemplate for Chinese-CLIP models, else DefaultTemplate.
func (m *Model) DefaultTemplates() []string {
	if m.chinese {
		return []string{DefaultChineseTemplate}
	}
	return []string{DefaultTemplate}
}

// LabelEmbeddings returns one vector per label as the CLIP paper builds its
// zero-shot classifier: every template is filled with the label ("{}" is
// replaced), the prompts are embedded and normalised, averaged per label, and
// the mean re-normalised. nil or empty templates means DefaultTemplates.
// Callers that classify many images should cache the result and use
// ClassifyVectors.
func (m *Model) LabelEmbeddings(ctx context.Context, labels, templates []string) ([][]float32, error) {
	if len(labels) == 0 {
		return nil, errors.New("label embeddings: no labels")
	}
	if len(templates) == 0 {
		templates = m.DefaultTemplates()
	}
	for _, t := range templates {
		if !strings.Contains(t, "{}") {
			return nil, fmt.Errorf("label embeddings: template %q has no {} for the label", t)
		}
	}
	prompts := make([]string, 0, len(labels)*len(templates))
	for _, l := range labels {
		for _, t := range templates {
			prompts = append(prompts, strings.ReplaceAll(t, "{}", l))
		}
	}
	vecs, err := m.EmbedTexts(ctx, prompts)
	if err != nil {
		return nil, fmt.Errorf("label embeddings: %w", err)
	}
	out := make([][]float32, len(labels))
	for i := range labels {
		mean := make([]float32, m.dim)
		for _, v := range vecs[i*len(templates) : (i+1)*len(templates)] {
			for j, x := range v {
				mean[j] += x
			}
		}
		normalize(mean)
		out[i] = mean
	}
	return out, nil
}

// Classify returns the zero-shot probability of each label for an image
// embedding, in the labels' order (callers sort). See LabelEmbeddings for
// templates and ZeroShot for the probabilities.
func (m *Model) Classify(ctx context.Context, imageVec []float32, labels, templates []string) ([]LabelProb, error) {
	if len(imageVec) != m.dim {
		return nil, fmt.Errorf("classify: image vector has %d values, model dimension is %d", len(imageVec), m.dim)
	}
	lv, err := m.LabelEmbeddings(ctx, labels, templates)
	if err != nil {
		return nil, fmt.Errorf("classify: %w", err)
	}
	return m.ClassifyVectors(imageVec, labels, lv)
}

// ClassifyVectors is Classify with label embeddings already computed by
// LabelEmbeddings.
func (m *Model) ClassifyVectors(imageVec []float32, labels []string, labelVecs [][]float32) ([]LabelProb, error) {
	if len(labels) != len(labelVecs) {
		return nil, fmt.Errorf("classify: %d labels but %d label vectors", len(labels), len(labelVecs))
	}
	if len(labels) == 0 {
		return nil, errors.New("classify: no labels")
	}
	for i, v := range labelVecs {
		if len(v) != len(imageVec) {
			return nil, fmt.Errorf("classify: label %q vector has %d values, image vector %d", labels[i], len(v), len(imageVec))
		}
	}
	p := ZeroShot(imageVec, labelVecs, m.logitScale)
	out := make([]LabelProb, len(labels))
	for i, l := range labels {
		out[i] = LabelProb{Label: l, Prob: p[i]}
	}
	return out, nil
}

// ZeroShot returns softmax(logitScale · cosine(image, label)) over the
// labels: CLIP's zero-shot probabilities, summing to 1. A label vector whose
// length differs from the image vector's scores a cosine of 0.
func ZeroShot(imageVec []float32, labelVecs [][]float32, logitScale float32) []float32 {
	if len(labelVecs) == 0 {
		return nil
	}
	logits := make([]float64, len(labelVecs))
	hi := math.Inf(-1)
	for i, v := range labelVecs {
		logits[i] = float64(logitScale) * float64(Cosine(imageVec, v))
		hi = math.Max(hi, logits[i])
	}
	var sum float64
	for i := range logits {
		logits[i] = math.Exp(logits[i] - hi)
		sum += logits[i]
	}
	out := make([]float32, len(logits))
	for i := range logits {
		out[i] = float32(logits[i] / sum)
	}
	return out
}

// Cosine is the cosine similarity of a and b; 0 when their lengths differ or
// either is zero.
func Cosine(a, b []float32) float32 {
	if len(a) != len(b) || len(a) == 0 {
		return 0
	}
	var dot, na, nb float64
	for i := range a {
		x, y := float64(a[i]), float64(b[i])
		dot += x * y
		na += x * x
		nb += y * y
	}
	if na == 0 || nb == 0 {
		return 0
	}
	c := dot / math.Sqrt(na*nb)
	return float32(math.Max(-1, math.Min(1, c)))
}

// Similarity returns the cosine similarity of two embeddings and the same
// mapped to [0, 1] as (cosine+1)/2, the score the seed scripts report for
// image–image similarity.
func Similarity(a, b []float32) (cosine, scaled float32) {
	c := Cosine(a, b)
	return c, (c + 1) / 2
}
