package langchaingo

import (
	"context"
	"fmt"
	"strings"

	lctools "github.com/tmc/langchaingo/tools"

	"github.com/cliprag/cliprag/tools"
)

// ReadImageText is the read_image_text tool: an image in (path, indexed id
// or data: URI), its lines of text (OCR) out.
type ReadImageText struct {
	svc *tools.Service
}

var _ lctools.Tool = (*ReadImageText)(nil)

// NewReadImageText returns the read_image_text tool over svc. Images the
// index holds text for need nothing more; others need a service made with
// a tools.TextReader.
func NewReadImageText(svc *tools.Service) *ReadImageText { return &ReadImageText{svc: svc} }

const readTextFormat = `the image alone: a file path, an image id from search results, or a data:image/...;base64,... URI; ` +
	`or a JSON object {"image": "<path, id or data URI>"}`

// Name implements tools.Tool.
func (t *ReadImageText) Name() string { return ReadImageTextName }

// Description implements tools.Tool.
func (t *ReadImageText) Description() string {
	return "Read the text written in one image (OCR; Chinese and English), e.g. a figure's title, caption and legend. Input: " +
		readTextFormat + ". Returns the lines in reading order, each with its confidence (0 to 1)."
}

// Call implements tools.Tool.
func (t *ReadImageText) Call(ctx context.Context, input string) (string, error) {
	s := cleanInput(input)
	var ref tools.ImageRef
	if strings.HasPrefix(s, "{") {
		var j struct {
			Image   string `json:"image"`
			Path    string `json:"path"`
			ID      string `json:"id"`
			DataURI string `json:"data_uri"`
		}
		if err := decodeJSON(s, &j, "image (or path, id, data_uri)"); err != nil {
			return observe(ReadImageTextName, readTextFormat, err)
		}
		var err error
		if ref, err = jsonRef(j.Image, j.Path, j.ID, j.DataURI); err != nil {
			return observe(ReadImageTextName, readTextFormat, err)
		}
	} else {
		if s == "" {
			return observe(ReadImageTextName, readTextFormat, badInput("no image given"))
		}
		ref = tools.RefFromString(s)
	}
	out, err := t.svc.ReadImageText(ctx, tools.ReadTextInput{Image: ref})
	if err != nil {
		return observe(ReadImageTextName, readTextFormat, err)
	}
	name := out.Path
	if name == "" {
		name = "the image"
	}
	var b strings.Builder
	if len(out.Lines) == 0 {
		fmt.Fprintf(&b, "No text found in %s.", tools.Printable(name))
		return b.String(), nil
	}
	fmt.Fprintf(&b, "%d line(s) of text in %s, in reading order:", len(out.Lines), tools.Printable(name))
	for i, l := range out.Lines {
		fmt.Fprintf(&b, "\n%d. %s (confidence %.2f)", i+1, tools.Printable(l.Text), l.Confidence)
	}
	return b.String(), nil
}
