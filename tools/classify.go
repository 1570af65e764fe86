package tools

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/cliprag/cliprag/embed/zeroshot"
)

// ClassifyImage scores an image against candidate labels, zero-shot as the
// CLIP paper does it: probabilities sum to 1 and come best first.
func (s *Service) ClassifyImage(ctx context.Context, in ClassifyInput) (ClassifyOutput, error) {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	labels, err := checkLabels(in.Labels)
	if err != nil {
		return ClassifyOutput{}, err
	}
	templates, err := checkTemplates(in.Template, in.Templates)
	if err != nil {
		return ClassifyOutput{}, err
	}
	img, err := s.resolve(ctx, "image", in.Image)
	if err != nil {
		return ClassifyOutput{}, err
	}
	enc, err := s.encoder()
	if err != nil {
		return ClassifyOutput{}, err
	}
	if len(templates) == 0 {
		templates = enc.DefaultTemplates()
	}
	labelVecs, err := zeroshot.LabelEmbeddings(ctx, enc.EmbedTexts, labels, templates)
	if err != nil {
		return ClassifyOutput{}, fmt.Errorf("embed labels: %w", err)
	}
	probs, err := zeroshot.Classify(img.vec, labels, labelVecs, enc.LogitScale())
	if err != nil {
		return ClassifyOutput{}, fmt.Errorf("classify %s: %w", img.desc, err)
	}
	out := ClassifyOutput{Labels: make([]LabelProb, 0, len(probs))}
	for _, p := range probs {
		out.Labels = append(out.Labels, LabelProb{Label: p.Label, Probability: float64(p.Prob)})
	}
	sort.SliceStable(out.Labels, func(i, j int) bool { return out.Labels[i].Probability > out.Labels[j].Probability })
	return out, nil
}

// MaxTemplates is the most prompt templates one classification takes.
const MaxTemplates = 20

// checkTemplates validates the prompt templates; none means the model's default.
func checkTemplates(one string, many []string) ([]string, error) {
	var out []string
	for _, t := range append([]string{one}, many...) {
		t = strings.TrimSpace(t)
		switch {
		case t == "":
			continue
		case utf8.RuneCountInString(t) > MaxTemplateChars:
			return nil, inputErr("template", "at most %d characters", MaxTemplateChars)
		case strings.Count(t, "{}") != 1:
			return nil, inputErr("template", "%q must contain {} exactly once, where the label goes, e.g. \"a diagram of {}.\"", t)
		}
		out = append(out, t)
	}
	if len(out) > MaxTemplates {
		return nil, inputErr("templates", "at most %d templates, got %d", MaxTemplates, len(out))
	}
	return out, nil
}

// checkLabels trims and validates candidate labels.
func checkLabels(in []string) ([]string, error) {
	if len(in) == 0 {
		return nil, inputErr("labels", "give at least one candidate label, e.g. [\"diagram\", \"photo\"]")
	}
	if len(in) > MaxLabels {
		return nil, inputErr("labels", "at most %d labels, got %d", MaxLabels, len(in))
	}
	seen := map[string]bool{}
	out := make([]string, 0, len(in))
	for i, l := range in {
		l = strings.TrimSpace(l)
		switch {
		case l == "":
			return nil, inputErr("labels", "label %d is empty", i+1)
		case utf8.RuneCountInString(l) > MaxLabelChars:
			return nil, inputErr("labels", "label %d is longer than %d characters", i+1, MaxLabelChars)
		case seen[l]:
			return nil, inputErr("labels", "label %q is given twice", l)
		}
		seen[l] = true
		out = append(out, l)
	}
	return out, nil
}

// CompareImages returns the cosine similarity of two images and (cosine+1)/2.
func (s *Service) CompareImages(ctx context.Context, in CompareInput) (CompareOutput, error) {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	a, err := s.resolve(ctx, "a", in.A)
	if err != nil {
		return CompareOutput{}, err
	}
	b, err := s.resolve(ctx, "b", in.B)
	if err != nil {
		return CompareOutput{}, err
	}
	cos, sim := zeroshot.Similarity(a.vec, b.vec)
	return CompareOutput{Cosine: float64(cos), Similarity: float64(sim)}, nil
}
