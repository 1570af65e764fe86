package langchaingo

import (
	"context"
	"strconv"
	"strings"

	lctools "github.com/tmc/langchaingo/tools"

	"github.com/cliprag/cliprag/tools"
)

// SearchImages is the search_images tool: a text description in, the
// indexed images that best match it out.
type SearchImages struct {
	svc  *tools.Service
	opts options
}

var _ lctools.Tool = (*SearchImages)(nil)

// NewSearchImages returns the search_images tool over svc.
func NewSearchImages(svc *tools.Service, opts ...Option) *SearchImages {
	return &SearchImages{svc: svc, opts: newOptions(opts)}
}

const searchFormat = `plain text describing the images to find (e.g. red circle on a grey background), ` +
	`or words written in them (e.g. a figure's title), ` +
	`or a JSON object {"query": "...", "mode": "hybrid", "top_k": 5, "tags": ["..."], "all_tags": ["..."], "folder": "/abs/folder", "min_score": 0.2} ` +
	`where only query is required and mode is clip, text or hybrid`

// Name implements tools.Tool.
func (t *SearchImages) Name() string { return SearchImagesName }

// Description implements tools.Tool.
func (t *SearchImages) Description() string {
	return "Search the indexed images with CLIP by what they show, and by the text read in them when the index holds it. Input: " + searchFormat +
		". Returns the best matching images, best first, with file name, path, id (usable with " +
		FindSimilarImagesName + " and " + ClassifyImageName + "), similarity score, size, tags and text."
}

// Call implements tools.Tool.
func (t *SearchImages) Call(ctx context.Context, input string) (string, error) {
	in, err := t.parse(input)
	if err != nil {
		return observe(SearchImagesName, searchFormat, err)
	}
	out, err := t.svc.SearchImages(ctx, in)
	if err != nil {
		return observe(SearchImagesName, searchFormat, err)
	}
	return formatHits(strconv.Quote(out.Query), out), nil
}

func (t *SearchImages) parse(input string) (tools.SearchInput, error) {
	s := cleanInput(input)
	in := tools.SearchInput{Query: s, TopK: t.opts.topK, Mode: t.opts.mode}
	if strings.HasPrefix(s, "{") {
		var j struct {
			Query string `json:"query"`
			Mode  string `json:"mode"`
			filterJSON
		}
		if err := decodeJSON(s, &j, "query, mode, top_k, tags, all_tags, folder, min_score"); err != nil {
			return in, err
		}
		in = tools.SearchInput{Query: j.Query, TopK: j.TopK, Filters: j.filters(), Mode: j.Mode}
		if in.Mode == "" {
			in.Mode = t.opts.mode
		}
		if in.TopK == 0 {
			in.TopK = t.opts.topK
		}
	}
	return in, nil
}
