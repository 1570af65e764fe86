package tools

import (
	"errors"
	"fmt"

	"github.com/cliprag/cliprag/embed/imageformat"
	"github.com/cliprag/cliprag/retriever"
)

// InputError is a bad argument: its message says which field is wrong and
// how to fix it, for the caller (often a language model) to act on.
type InputError struct {
	Field string // the argument, as named in JSON ("top_k", "image.path")
	Msg   string
}

func (e *InputError) Error() string {
	if e.Field == "" {
		return e.Msg
	}
	return e.Field + ": " + e.Msg
}

func inputErr(field, format string, args ...any) *InputError {
	return &InputError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// IsInputError reports whether err is (or wraps) an *InputError.
func IsInputError(err error) bool {
	var ie *InputError
	return errors.As(err, &ie)
}

// ImageRef names an image. Exactly one field is set.
type ImageRef struct {
	Path    string `json:"path,omitempty" jsonschema:"Path of an image file inside the allowed roots (absolute or relative to the root)"`
	ID      string `json:"id,omitempty" jsonschema:"Id of an indexed image, as returned in search hits"`
	DataURI string `json:"data_uri,omitempty" jsonschema:"The image inline as a base64 data URI (data:image/png;base64 then the data) of at most 10 MB decoded"`
	URL     string `json:"url,omitempty" jsonschema:"An http or https URL of the image; only when the server allows URLs"`
}

// Filters narrows SearchImages and FindSimilar.
type Filters struct {
	Tags     []string `json:"tags,omitempty" jsonschema:"Only images carrying at least one of these tags"`
	AllTags  []string `json:"all_tags,omitempty" jsonschema:"Only images carrying every one of these tags"`
	Folder   string   `json:"folder,omitempty" jsonschema:"Only images in this folder or below it (absolute, or relative to the single root)"`
	MinScore float64  `json:"min_score,omitempty" jsonschema:"Drop hits whose CLIP cosine similarity is below this (-1 to 1; 0 means no minimum), in every mode"`
}

// SearchInput is the input of SearchImages.
type SearchInput struct {
	Query string `json:"query" jsonschema:"What the images should show, in plain words (at most 1000 characters)"`
	TopK  int    `json:"top_k,omitempty" jsonschema:"How many images to return (default 5, at most 100)"`
	Filters
	// Mode chooses the ranking: ModeCLIP, ModeText or ModeHybrid.
	Mode          string `json:"mode,omitempty" jsonschema:"clip: rank by what the images show (CLIP); text: by the text read in them (OCR); hybrid: both fused (default when the index holds text, else clip)"`
	IncludeImages *bool  `json:"include_images,omitempty" jsonschema:"Attach small JPEG thumbnails of the first hits (default true)"`
}

// SimilarInput is the input of FindSimilar.
type SimilarInput struct {
	Image ImageRef `json:"image" jsonschema:"The example image: exactly one of path, id, data_uri, url"`
	TopK  int      `json:"top_k,omitempty" jsonschema:"How many images to return (default 5, at most 100)"`
	Filters
	IncludeImages *bool `json:"include_images,omitempty" jsonschema:"Attach small JPEG thumbnails of the first hits (default true)"`
}

// Tag is a zero-shot label stored with an image and its probability.
type Tag struct {
	Label string  `json:"label" jsonschema:"Tag label"`
	Score float64 `json:"score" jsonschema:"Probability of the label at ingest"`
}

// Hit is one image found.
type Hit struct {
	Rank     int     `json:"rank" jsonschema:"1 for the best hit"`
	ID       string  `json:"id" jsonschema:"Id of the indexed image; use it in image references and as image://ID"`
	Path     string  `json:"path" jsonschema:"Absolute path of the image file"`
	URI      string  `json:"uri" jsonschema:"Resource URI of the image (image://ID)"`
	Score    float64 `json:"score" jsonschema:"Cosine similarity to the query (higher is closer)"`
	Width    int     `json:"width" jsonschema:"Width in pixels"`
	Height   int     `json:"height" jsonschema:"Height in pixels"`
	Format   string  `json:"format" jsonschema:"Image format (jpeg, png, ...)"`
	MIMEType string  `json:"mime_type" jsonschema:"MIME type of the file"`
	Folder   string  `json:"folder" jsonschema:"Folder of the image"`
	Tags     []Tag   `json:"tags" jsonschema:"Zero-shot tags stored at ingest, best first"`
	// Text is the image's text read at ingest (OCR), the lines that match
	// the query first, cut at MaxHitTextChars characters.
	Text string `json:"text,omitempty" jsonschema:"Text read in the image (OCR), one line per line, those matching the query first; cut at 300 characters"`
	// TextScore is the store's text relevance of a text or hybrid hit
	// (higher is better; not a cosine); 0 when its text did not match.
	TextScore float64 `json:"text_score,omitempty" jsonschema:"How well the image's text matches the query (text and hybrid modes; higher is better, not a cosine)"`
}

// SearchOutput is what SearchImages and FindSimilar return.
type SearchOutput struct {
	Query string `json:"query" jsonschema:"The query text, or a description of the example image"`
	Mode  string `json:"mode,omitempty" jsonschema:"How the hits were ranked: clip (also when a hybrid search found no text matching the query), text or hybrid"`
	Hits  []Hit  `json:"hits" jsonschema:"Images found, best first"`
}

// ClassifyInput is the input of ClassifyImage.
type ClassifyInput struct {
	Image    ImageRef `json:"image" jsonschema:"The image to classify: exactly one of path, id, data_uri, url"`
	Labels   []string `json:"labels" jsonschema:"Candidate labels (1 to 100, each at most 200 characters)"`
	Template string   `json:"template,omitempty" jsonschema:"Prompt template with {} where the label goes (default: a photo of a {}.)"`
	// Templates are several prompt templates whose text embeddings are
	// averaged per label (prompt ensembling, as the CLIP paper does it);
	// they are used together with Template.
	Templates []string `json:"templates,omitempty" jsonschema:"Several prompt templates, each with {} once; label embeddings are averaged over them (at most 20)"`
}

// LabelProb is a label with its zero-shot probability.
type LabelProb struct {
	Label       string  `json:"label" jsonschema:"Candidate label"`
	Probability float64 `json:"probability" jsonschema:"Probability (all labels sum to 1)"`
}

// ClassifyOutput is what ClassifyImage returns.
type ClassifyOutput struct {
	Labels []LabelProb `json:"labels" jsonschema:"Every candidate label with its probability, best first"`
}

// CompareInput is the input of CompareImages.
type CompareInput struct {
	A ImageRef `json:"a" jsonschema:"First image: exactly one of path, id, data_uri, url"`
	B ImageRef `json:"b" jsonschema:"Second image: exactly one of path, id, data_uri, url"`
}

// CompareOutput is what CompareImages returns.
type CompareOutput struct {
	Cosine     float64 `json:"cosine" jsonschema:"Cosine similarity of the two image embeddings (-1 to 1)"`
	Similarity float64 `json:"similarity" jsonschema:"(cosine+1)/2, from 0 to 1"`
}

// IngestInput is the input of IngestImages.
type IngestInput struct {
	Paths []string `json:"paths" jsonschema:"Files or folders to index, inside the allowed roots (1 to 100)"`
}

// StatsOutput is what IndexStats returns.
type StatsOutput struct {
	Model  string         `json:"model" jsonschema:"Model the index was built with"`
	Dim    int            `json:"dim" jsonschema:"Embedding dimension"`
	Store  string         `json:"store" jsonschema:"Where the index lives"`
	Images int            `json:"images" jsonschema:"Number of indexed images"`
	Tags   map[string]int `json:"tags" jsonschema:"Every tag in the index with how many images carry it"`
	Roots  []string       `json:"roots" jsonschema:"Folders whose files may be referenced by path"`
}

// StatsInput is the (empty) input of IndexStats.
type StatsInput struct{}

// hitFrom converts a store hit.
func hitFrom(rank int, h retriever.Hit) Hit {
	p := h.Payload
	tags := make([]Tag, 0, len(p.Tags))
	for _, t := range p.Tags {
		tags = append(tags, Tag{Label: t.Label, Score: float64(t.Score)})
	}
	return Hit{
		Rank: rank, ID: h.ID, Path: p.Path, URI: "image://" + h.ID,
		Score: float64(h.Score), Width: p.Width, Height: p.Height,
		Format: p.Format, MIMEType: MIMEType(p.Format), Folder: p.Folder, Tags: tags,
		Text: hitText(p.Text, nil),
	}
}

// MIMEType returns the MIME type of an image format name ("jpeg", "png",
// or an extension such as "jpg"), from the format table.
func MIMEType(format string) string { return imageformat.MIMEType(format) }

func retrieverHit(id string, p retriever.Payload) retriever.Hit {
	return retriever.Hit{ID: id, Payload: p}
}
