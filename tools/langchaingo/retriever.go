package langchaingo

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/tmc/langchaingo/schema"

	"github.com/cliprag/cliprag/tools"
)

// Retriever retrieves indexed images as langchaingo documents. It is safe
// for concurrent use.
type Retriever struct {
	svc  *tools.Service
	opts options
}

var _ schema.Retriever = (*Retriever)(nil)

// NewRetriever returns a Retriever over svc. Bad option values (a negative
// top-k, a threshold outside [-1, 1]) are reported by the calls, as errors
// that say which option is wrong.
func NewRetriever(svc *tools.Service, opts ...Option) *Retriever {
	r := &Retriever{svc: svc}
	for _, o := range opts {
		o(&r.opts)
	}
	return r
}

// With returns a copy of r with more options applied, for one call with
// another top-k or filter; r is unchanged.
func (r *Retriever) With(opts ...Option) *Retriever {
	c := &Retriever{svc: r.svc, opts: r.opts}
	for _, o := range opts {
		o(&c.opts)
	}
	return c
}

// Service returns the service the retriever searches through.
func (r *Retriever) Service() *tools.Service { return r.svc }

func (r *Retriever) filters() tools.Filters {
	return tools.Filters{
		Tags:     r.opts.anyTags,
		AllTags:  r.opts.allTags,
		Folder:   r.opts.folder,
		MinScore: float64(r.opts.threshold),
	}
}

// GetRelevantDocuments returns the indexed images that best match a text
// query, best first, as documents (see the package documentation for their
// fields). It implements schema.Retriever.
func (r *Retriever) GetRelevantDocuments(ctx context.Context, query string) ([]schema.Document, error) {
	if r == nil || r.svc == nil {
		return nil, fmt.Errorf("cliprag retriever: no service (use NewRetriever)")
	}
	out, err := r.svc.SearchImages(ctx, tools.SearchInput{Query: query, TopK: r.opts.topK, Filters: r.filters(), Mode: r.opts.mode})
	if err != nil {
		return nil, fmt.Errorf("cliprag retriever: %w", optionName(err))
	}
	return Documents(out.Hits), nil
}

// GetSimilarDocuments returns the indexed images most similar to an example
// image, best first, leaving the example itself out. image is a path inside
// the service's allowed roots, an indexed image id (as in Metadata["id"],
// or image://ID), a data: URI, or an http(s) URL when the service allows
// URLs.
func (r *Retriever) GetSimilarDocuments(ctx context.Context, image string) ([]schema.Document, error) {
	if r == nil || r.svc == nil {
		return nil, fmt.Errorf("cliprag retriever: no service (use NewRetriever)")
	}
	if strings.TrimSpace(image) == "" {
		return nil, fmt.Errorf("cliprag retriever: empty image reference: give a path, an indexed id or a data: URI")
	}
	out, err := r.svc.FindSimilar(ctx, tools.SimilarInput{Image: tools.RefFromString(image), TopK: r.opts.topK, Filters: r.filters()})
	if err != nil {
		return nil, fmt.Errorf("cliprag retriever: %w", optionName(err))
	}
	return Documents(out.Hits), nil
}

// Thumbnails returns a JPEG (long side at most maxSide pixels) of each
// document's image, in order, for multimodal prompts
// (llms.BinaryPart("image/jpeg", b) or a data: URL in llms.ImageURLPart).
// The files are read through the service, so only from its allowed roots.
func (r *Retriever) Thumbnails(ctx context.Context, docs []schema.Document, maxSide int) ([][]byte, error) {
	if maxSide <= 0 {
		return nil, fmt.Errorf("cliprag retriever: thumbnail size %d must be positive", maxSide)
	}
	out := make([][]byte, 0, len(docs))
	for i, d := range docs {
		p, _ := d.Metadata[MetaPath].(string)
		if p == "" {
			return nil, fmt.Errorf("cliprag retriever: document %d has no %q in its metadata", i, MetaPath)
		}
		b, err := r.svc.HitThumbnail(ctx, tools.Hit{Path: p}, maxSide)
		if err != nil {
			return nil, fmt.Errorf("cliprag retriever: thumbnail of %s: %w", p, err)
		}
		out = append(out, b)
	}
	return out, nil
}

// optionName renames the tools' JSON argument names in an input error to
// the Retriever's option names, so the message points at the right knob.
func optionName(err error) error {
	var ie *tools.InputError
	if !errors.As(err, &ie) {
		return err
	}
	names := map[string]string{
		"top_k":     "WithTopK",
		"min_score": "WithScoreThreshold",
		"tags":      "WithTags",
		"all_tags":  "WithAllTags",
		"folder":    "WithFolder",
		"mode":      "WithMode",
	}
	if n, ok := names[ie.Field]; ok {
		return &tools.InputError{Field: n, Msg: ie.Msg}
	}
	return err
}

// Metadata keys of the documents Retriever returns.
const (
	MetaID        = "id"         // string: indexed image id
	MetaPath      = "path"       // string: absolute path of the file
	MetaSource    = "source"     // string: the path again, as langchaingo document loaders name it
	MetaURI       = "uri"        // string: image://ID
	MetaFileName  = "file_name"  // string: base name of the path
	MetaFolder    = "folder"     // string: folder of the file
	MetaFormat    = "format"     // string: jpeg, png, ...
	MetaMIMEType  = "mime_type"  // string: image/jpeg, ...
	MetaWidth     = "width"      // int: pixels
	MetaHeight    = "height"     // int: pixels
	MetaScore     = "score"      // float64: cosine similarity to the query
	MetaRank      = "rank"       // int: 1 for the best hit
	MetaTags      = "tags"       // []string: ingest tags, best first
	MetaTagScores = "tag_scores" // map[string]float64: tag probabilities
	MetaText      = "text"       // string: text read in the image (OCR), lines matching the query first, one per line; "" when none
	MetaTextScore = "text_score" // float64: how well the text matches the query (text and hybrid searches; 0: no match)
)

// Documents converts search hits into documents, in order.
func Documents(hits []tools.Hit) []schema.Document {
	docs := make([]schema.Document, 0, len(hits))
	for _, h := range hits {
		docs = append(docs, Document(h))
	}
	return docs
}

// Document converts one search hit into a document.
func Document(h tools.Hit) schema.Document {
	tags := make([]string, 0, len(h.Tags))
	tagScores := make(map[string]float64, len(h.Tags))
	for _, t := range h.Tags {
		tags = append(tags, t.Label)
		tagScores[t.Label] = t.Score
	}
	return schema.Document{
		PageContent: PageContent(h),
		Score:       float32(h.Score),
		Metadata: map[string]any{
			MetaID:        h.ID,
			MetaPath:      h.Path,
			MetaSource:    h.Path,
			MetaURI:       h.URI,
			MetaFileName:  filepath.Base(h.Path),
			MetaFolder:    h.Folder,
			MetaFormat:    h.Format,
			MetaMIMEType:  h.MIMEType,
			MetaWidth:     h.Width,
			MetaHeight:    h.Height,
			MetaScore:     h.Score,
			MetaRank:      h.Rank,
			MetaTags:      tags,
			MetaTagScores: tagScores,
			MetaText:      h.Text,
			MetaTextScore: h.TextScore,
		},
	}
}

// PageContent is the line a language model reads for a hit: file name,
// folder, size, format, tags and the text read in the image (its lines
// joined by " / ", those matching the query first), e.g.
// "Image red-circle.png in /photos/shapes, 320x240 png, tags: red circle (0.97)"
// or "Image fig3.png in /reports, 640x480 png, text: 断裂体系叠合图 / Figure 3. Fault system overlay map".
func PageContent(h tools.Hit) string {
	var b strings.Builder
	folder := h.Folder
	if folder == "" {
		folder = filepath.Dir(h.Path)
	}
	fmt.Fprintf(&b, "Image %s in %s", tools.Printable(filepath.Base(h.Path)), tools.Printable(folder))
	if h.Width > 0 && h.Height > 0 {
		fmt.Fprintf(&b, ", %dx%d", h.Width, h.Height)
		if h.Format != "" {
			b.WriteString(" " + h.Format)
		}
	}
	if len(h.Tags) > 0 {
		b.WriteString(", tags: ")
		for i, t := range h.Tags {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%s (%.2f)", t.Label, t.Score)
		}
	}
	if h.Text != "" {
		fmt.Fprintf(&b, ", text: %s", hitText(h.Text))
	}
	return b.String()
}
