package ingest

import (
	"context"

	"github.com/cliprag/cliprag/embed/preprocess"
)

// Encoder is what a run needs of a CLIP model: the preprocessing its image
// tower expects, the two towers, and what the index records about it.
// *embed.Model, the ONNX Runtime implementation, satisfies it; tests use
// fakes (package tools/toolstest), so this package builds without cgo.
type Encoder interface {
	// ID is the model identifier recorded in the index and in record ids.
	ID() string
	// Dim is the embedding dimension.
	Dim() int
	// LogitScale is the zero-shot logit scale (100 for OpenAI CLIP).
	LogitScale() float32
	// DefaultTemplates are the zero-shot prompt templates used when none are given.
	DefaultTemplates() []string
	// BatchSize is how many images one EmbedPixels call takes best.
	BatchSize() int
	// Preprocessor turns encoded images into the tensors EmbedPixels takes.
	Preprocessor() preprocess.Preprocessor
	// EmbedPixels embeds preprocessed tensors into L2-normalised vectors, in order.
	EmbedPixels(ctx context.Context, pixels [][]float32) ([][]float32, error)
	// EmbedTexts embeds texts into L2-normalised vectors, in order.
	EmbedTexts(ctx context.Context, texts []string) ([][]float32, error)
}
