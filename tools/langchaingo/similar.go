package langchaingo

import (
	"context"
	"strings"

	lctools "github.com/tmc/langchaingo/tools"

	"github.com/cliprag/cliprag/tools"
)

// FindSimilarImages is the find_similar_images tool: an example image in
// (path, indexed id or data: URI), the most similar indexed images out.
type FindSimilarImages struct {
	svc  *tools.Service
	opts options
}

var _ lctools.Tool = (*FindSimilarImages)(nil)

// NewFindSimilarImages returns the find_similar_images tool over svc.
func NewFindSimilarImages(svc *tools.Service, opts ...Option) *FindSimilarImages {
	return &FindSimilarImages{svc: svc, opts: newOptions(opts)}
}

const similarFormat = `the example image alone: a file path, an image id from search results, or a data:image/...;base64,... URI; ` +
	`or a JSON object {"image": "<path, id or data URI>", "top_k": 5, "tags": ["..."], "folder": "/abs/folder", "min_score": 0.5} ` +
	`where only image is required`

// Name implements tools.Tool.
func (t *FindSimilarImages) Name() string { return FindSimilarImagesName }

// Description implements tools.Tool.
func (t *FindSimilarImages) Description() string {
	return "Find indexed images that look like an example image (CLIP image similarity); the example itself is left out. Input: " +
		similarFormat + ". Returns the most similar images, best first, with file name, path, id, score, size and tags."
}

// Call implements tools.Tool.
func (t *FindSimilarImages) Call(ctx context.Context, input string) (string, error) {
	in, err := t.parse(input)
	if err != nil {
		return observe(FindSimilarImagesName, similarFormat, err)
	}
	out, err := t.svc.FindSimilar(ctx, in)
	if err != nil {
		return observe(FindSimilarImagesName, similarFormat, err)
	}
	return formatHits(out.Query, out), nil
}

func (t *FindSimilarImages) parse(input string) (tools.SimilarInput, error) {
	s := cleanInput(input)
	in := tools.SimilarInput{TopK: t.opts.topK}
	if !strings.HasPrefix(s, "{") {
		if s == "" {
			return in, badInput("no image given")
		}
		in.Image = tools.RefFromString(s)
		return in, nil
	}
	var j struct {
		Image   string `json:"image"`
		Path    string `json:"path"`
		ID      string `json:"id"`
		DataURI string `json:"data_uri"`
		filterJSON
	}
	if err := decodeJSON(s, &j, "image (or path, id, data_uri), top_k, tags, all_tags, folder, min_score"); err != nil {
		return in, err
	}
	ref, err := jsonRef(j.Image, j.Path, j.ID, j.DataURI)
	if err != nil {
		return in, err
	}
	in = tools.SimilarInput{Image: ref, TopK: j.TopK, Filters: j.filters()}
	if in.TopK == 0 {
		in.TopK = t.opts.topK
	}
	return in, nil
}

// jsonRef builds an image reference from the JSON fields: "image" (any
// kind, guessed) or one of "path", "id", "data_uri".
func jsonRef(image, path, id, dataURI string) (tools.ImageRef, error) {
	if strings.TrimSpace(image) != "" {
		if path != "" || id != "" || dataURI != "" {
			return tools.ImageRef{}, &tools.InputError{Field: "image", Msg: "give the image once: image, or one of path, id, data_uri"}
		}
		return tools.RefFromString(image), nil
	}
	ref := tools.ImageRef{Path: path, ID: id, DataURI: dataURI}
	if path == "" && id == "" && dataURI == "" {
		return ref, &tools.InputError{Field: "image", Msg: "missing: give the image as a path, an id from search results or a data URI"}
	}
	return ref, nil
}
