package langchaingo

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"

	lctools "github.com/tmc/langchaingo/tools"

	"github.com/cliprag/cliprag/tools"
)

// Tools returns the four tools over svc, ready for agents.NewOneShotAgent,
// agents.NewOpenAIFunctionsAgent or agents.NewConversationalAgent.
func Tools(svc *tools.Service, opts ...Option) []lctools.Tool {
	return []lctools.Tool{
		NewSearchImages(svc, opts...),
		NewFindSimilarImages(svc, opts...),
		NewClassifyImage(svc, opts...),
		NewReadImageText(svc),
	}
}

// Tool names, the same as the MCP server's.
const (
	SearchImagesName      = "search_images"
	FindSimilarImagesName = "find_similar_images"
	ClassifyImageName     = "classify_image"
	ReadImageTextName     = "read_image_text"
)

// observe turns an operation's error into what Call returns: input errors
// become an observation the model can act on, other errors end the run.
func observe(tool, format string, err error) (string, error) {
	if tools.IsInputError(err) {
		return "Error: " + err.Error() + ". Input format: " + format, nil
	}
	return "", fmt.Errorf("%s: %w", tool, err)
}

// badInput is an input that could not be parsed.
func badInput(msg string) error { return &tools.InputError{Msg: msg} }

// cleanInput removes what agents wrap around an action input: surrounding
// whitespace, a trailing "Observation:" line, Markdown code fences and
// matching quotes.
func cleanInput(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.Index(s, "\nObservation:"); i >= 0 {
		s = strings.TrimSpace(s[:i])
	}
	if strings.HasPrefix(s, "```") && strings.HasSuffix(s, "```") && len(s) >= 6 {
		s = strings.TrimSpace(s[3 : len(s)-3])
		s = strings.TrimSpace(strings.TrimPrefix(s, "json"))
	}
	for len(s) >= 2 && (s[0] == '"' && s[len(s)-1] == '"' || s[0] == '\'' && s[len(s)-1] == '\'' || s[0] == '`' && s[len(s)-1] == '`') {
		s = strings.TrimSpace(s[1 : len(s)-1])
	}
	return s
}

// decodeJSON decodes a JSON object into v, refusing unknown fields and
// trailing data, with a message that names the accepted fields.
func decodeJSON(input string, v any, fields string) error {
	dec := json.NewDecoder(strings.NewReader(input))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return &tools.InputError{Msg: fmt.Sprintf("invalid JSON input (%v); accepted fields: %s", err, fields)}
	}
	if dec.More() {
		return &tools.InputError{Msg: "invalid JSON input: more than one JSON value"}
	}
	return nil
}

// filterJSON are the optional filter fields of the search tools' JSON input.
type filterJSON struct {
	TopK     int      `json:"top_k"`
	Tags     []string `json:"tags"`
	AllTags  []string `json:"all_tags"`
	Folder   string   `json:"folder"`
	MinScore float64  `json:"min_score"`
}

func (f filterJSON) filters() tools.Filters {
	return tools.Filters{Tags: f.Tags, AllTags: f.AllTags, Folder: f.Folder, MinScore: f.MinScore}
}

// formatHits writes hits as compact text, one line per image.
func formatHits(what string, out tools.SearchOutput) string {
	if len(out.Hits) == 0 {
		return fmt.Sprintf("No images found for %s. Try other words, fewer filters or a lower min_score.", what)
	}
	var b strings.Builder
	noun := "images"
	if len(out.Hits) == 1 {
		noun = "image"
	}
	fmt.Fprintf(&b, "%d %s for %s, best first:", len(out.Hits), noun, what)
	for _, h := range out.Hits {
		fmt.Fprintf(&b, "\n%d. %s (path %s, id %s, score %.3f, %dx%d %s", h.Rank, tools.Printable(filepath.Base(h.Path)), tools.Printable(h.Path), h.ID, h.Score, h.Width, h.Height, h.Format)
		if len(h.Tags) > 0 {
			b.WriteString(", tags:")
			for i, t := range h.Tags {
				if i > 0 {
					b.WriteString(",")
				}
				fmt.Fprintf(&b, " %s %.2f", t.Label, t.Score)
			}
		}
		b.WriteString(")")
		if h.Text != "" {
			fmt.Fprintf(&b, "\n   text: %s", hitText(h.Text))
		}
	}
	return b.String()
}

// hitText is a hit's text (OCR) on one line, made printable: text read in
// an image is untrusted and cannot add lines of its own.
func hitText(s string) string { return tools.Printable(strings.ReplaceAll(s, "\n", " / ")) }
