package embed

import (
	"context"
	"fmt"

	"github.com/cliprag/cliprag/embed/zeroshot"
)

// DefaultTemplate is CLIP's basic zero-shot prompt; "{}" is replaced by the label.
const DefaultTemplate = zeroshot.DefaultTemplate

// DefaultChineseTemplate is the default prompt for Chinese-CLIP models ("a picture of {}").
const DefaultChineseTemplate = zeroshot.DefaultChineseTemplate

// LabelProb is a label's zero-shot probability.
type LabelProb = zeroshot.LabelProb

// DefaultTemplates returns the prompt templates used when a caller passes
// none: DefaultChineseTemplate for Chinese-CLIP models, else DefaultTemplate.
func (m *Model) DefaultTemplates() []string {
	if m.chinese {
		return []string{DefaultChineseTemplate}
	}
	return []string{DefaultTemplate}
}

// LabelEmbeddings returns one vector per label as the CLIP paper builds its
// zero-shot classifier (see zeroshot.LabelEmbeddings). nil or empty
// templates means DefaultTemplates. Callers that classify many images
// should cache the result and use ClassifyVectors.
func (m *Model) LabelEmbeddings(ctx context.Context, labels, templates []string) ([][]float32, error) {
	if len(templates) == 0 {
		templates = m.DefaultTemplates()
	}
	v, err := zeroshot.LabelEmbeddings(ctx, m.EmbedTexts, labels, templates)
	if err != nil {
		return nil, fmt.Errorf("label embeddings: %w", err)
	}
	return v, nil
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
	p, err := zeroshot.Classify(imageVec, labels, labelVecs, m.logitScale)
	if err != nil {
		return nil, fmt.Errorf("classify: %w", err)
	}
	return p, nil
}

// ZeroShot returns softmax(logitScale · cosine(image, label)) over the
// labels: CLIP's zero-shot probabilities, summing to 1 (zeroshot.Probs).
func ZeroShot(imageVec []float32, labelVecs [][]float32, logitScale float32) []float32 {
	return zeroshot.Probs(imageVec, labelVecs, logitScale)
}

// Cosine is the cosine similarity of a and b; 0 when their lengths differ or
// either is zero.
func Cosine(a, b []float32) float32 { return zeroshot.Cosine(a, b) }

// Similarity returns the cosine similarity of two embeddings and the same
// mapped to [0, 1] as (cosine+1)/2.
func Similarity(a, b []float32) (cosine, scaled float32) { return zeroshot.Similarity(a, b) }
