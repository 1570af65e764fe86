package langchaingo

import (
	"context"
	"errors"
	"fmt"

	"github.com/tmc/langchaingo/embeddings"

	"github.com/cliprag/cliprag/tools"
)

// Embedder is a langchaingo embeddings.Embedder backed by a CLIP model's
// text encoder. Vectors are L2-normalised and of the model's dimension;
// EmbedQuery and EmbedDocuments give the same vector for the same text (CLIP
// has no separate query encoder). EmbedImages puts image files in the same
// space. It is safe for concurrent use.
type Embedder struct {
	m tools.Encoder
}

var _ embeddings.Embedder = (*Embedder)(nil)

// NewEmbedder returns an Embedder over m (an *embed.Model, or the Encoder
// of a *tools.Service). The caller keeps ownership of m and closes it when
// done.
func NewEmbedder(m tools.Encoder) *Embedder { return &Embedder{m: m} }

// Encoder returns the CLIP model the embedder uses.
func (e *Embedder) Encoder() tools.Encoder { return e.m }

// Dim returns the length of the vectors.
func (e *Embedder) Dim() int { return e.m.Dim() }

var errNoModel = errors.New("cliprag embedder: no model (use NewEmbedder)")

// EmbedDocuments returns a vector for each text, in order. Texts longer than
// the model's context (77 tokens for CLIP) are cut.
func (e *Embedder) EmbedDocuments(ctx context.Context, texts []string) ([][]float32, error) {
	if e == nil || e.m == nil {
		return nil, errNoModel
	}
	if len(texts) == 0 {
		return [][]float32{}, nil
	}
	v, err := e.m.EmbedTexts(ctx, texts)
	if err != nil {
		return nil, fmt.Errorf("cliprag embedder: %w", err)
	}
	return v, nil
}

// EmbedQuery returns the vector of one text.
func (e *Embedder) EmbedQuery(ctx context.Context, text string) ([]float32, error) {
	v, err := e.EmbedDocuments(ctx, []string{text})
	if err != nil {
		return nil, err
	}
	return v[0], nil
}

// EmbedImages returns the vectors of image files, in order, in the same
// space as the text vectors: a caption's vector is closest to the vectors of
// images it describes. Images are decoded and preprocessed exactly as
// cliprag's ingest does. A file that cannot be read fails the call with an
// error naming it.
func (e *Embedder) EmbedImages(ctx context.Context, paths []string) ([][]float32, error) {
	if e == nil || e.m == nil {
		return nil, errNoModel
	}
	if len(paths) == 0 {
		return [][]float32{}, nil
	}
	pre := e.m.Preprocessor()
	pixels := make([][]float32, len(paths))
	for i, p := range paths {
		px, err := pre.LoadFile(p)
		if err != nil {
			return nil, fmt.Errorf("cliprag embedder: %w", err)
		}
		pixels[i] = px
	}
	v, err := e.m.EmbedPixels(ctx, pixels)
	if err != nil {
		return nil, fmt.Errorf("cliprag embedder: %w", err)
	}
	return v, nil
}
