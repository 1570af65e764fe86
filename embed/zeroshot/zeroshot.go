// Package zeroshot is CLIP's zero-shot classification as arithmetic on
// embeddings: prompt templates filled with labels and averaged into one
// vector per label, softmax over the logit-scaled cosines, and the cosine
// similarity itself. It needs no model runtime: an encoder is passed in as
// a function that embeds texts, so the package builds without cgo and is
// shared by every encoder (package embed's ONNX Runtime model, test fakes).
package zeroshot

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

// EmbedTexts embeds texts into L2-normalised vectors, in order.
type EmbedTexts func(ctx context.Context, texts []string) ([][]float32, error)

// LabelEmbeddings returns one vector per label as the CLIP paper builds its
// zero-shot classifier: every template is filled with the label ("{}" is
// replaced), the prompts are embedded, averaged per label, and the mean
// re-normalised. templates must not be empty.
func LabelEmbeddings(ctx context.Context, embed EmbedTexts, labels, templates []string) ([][]float32, error) {
	if len(labels) == 0 {
		return nil, errors.New("no labels")
	}
	if len(templates) == 0 {
		return nil, errors.New("no prompt templates")
	}
	for _, t := range templates {
		if !strings.Contains(t, "{}") {
			return nil, fmt.Errorf("template %q has no {} for the label", t)
		}
	}
	prompts := make([]string, 0, len(labels)*len(templates))
	for _, l := range labels {
		for _, t := range templates {
			prompts = append(prompts, strings.ReplaceAll(t, "{}", l))
		}
	}
	vecs, err := embed(ctx, prompts)
	if err != nil {
		return nil, err
	}
	if len(vecs) != len(prompts) {
		return nil, fmt.Errorf("encoder returned %d vectors for %d prompts", len(vecs), len(prompts))
	}
	out := make([][]float32, len(labels))
	for i := range labels {
		group := vecs[i*len(templates) : (i+1)*len(templates)]
		mean := make([]float32, len(group[0]))
		for _, v := range group {
			for j, x := range v {
				if j < len(mean) {
					mean[j] += x
				}
			}
		}
		Normalize(mean)
		out[i] = mean
	}
	return out, nil
}

// Classify returns each label's probability for an image embedding, in the
// labels' order, from label vectors made by LabelEmbeddings.
func Classify(imageVec []float32, labels []string, labelVecs [][]float32, logitScale float32) ([]LabelProb, error) {
	if len(labels) != len(labelVecs) {
		return nil, fmt.Errorf("%d labels but %d label vectors", len(labels), len(labelVecs))
	}
	if len(labels) == 0 {
		return nil, errors.New("no labels")
	}
	for i, v := range labelVecs {
		if len(v) != len(imageVec) {
			return nil, fmt.Errorf("label %q vector has %d values, image vector %d", labels[i], len(v), len(imageVec))
		}
	}
	p := Probs(imageVec, labelVecs, logitScale)
	out := make([]LabelProb, len(labels))
	for i, l := range labels {
		out[i] = LabelProb{Label: l, Prob: p[i]}
	}
	return out, nil
}

// Probs returns softmax(logitScale · cosine(image, label)) over the labels:
// CLIP's zero-shot probabilities, summing to 1. A label vector whose length
// differs from the image vector's scores a cosine of 0.
func Probs(imageVec []float32, labelVecs [][]float32, logitScale float32) []float32 {
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

// Normalize scales v to unit length in place; a zero vector stays zero.
func Normalize(v []float32) {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	if s == 0 {
		return
	}
	inv := float32(1 / math.Sqrt(s))
	for i := range v {
		v[i] *= inv
	}
}
