package langchaingo

import (
	"context"
	"fmt"
	"strings"

	lctools "github.com/tmc/langchaingo/tools"

	"github.com/cliprag/cliprag/tools"
)

// ClassifyImage is the classify_image tool: an image and candidate labels
// in, zero-shot probabilities out.
type ClassifyImage struct {
	svc  *tools.Service
	opts options
}

var _ lctools.Tool = (*ClassifyImage)(nil)

// NewClassifyImage returns the classify_image tool over svc.
func NewClassifyImage(svc *tools.Service, opts ...Option) *ClassifyImage {
	return &ClassifyImage{svc: svc, opts: newOptions(opts)}
}

// maxListed is how many labels a classify_image result lists.
const maxListed = 10

const classifyFormat = `"<image> | <label 1>, <label 2>, ..." where <image> is a file path, an image id from search results or a data: URI, ` +
	`e.g. "/photos/cat.jpg | cat, dog, bird"; or a JSON object {"image": "...", "labels": ["cat", "dog"], "template": "a photo of a {}."} ` +
	`where template is optional`

// Name implements tools.Tool.
func (t *ClassifyImage) Name() string { return ClassifyImageName }

// Description implements tools.Tool.
func (t *ClassifyImage) Description() string {
	d := "Classify one image against candidate labels, zero-shot with CLIP: returns each label's probability (they sum to 1), best first. Input: " + classifyFormat + "."
	if len(t.opts.labels) > 0 {
		d += fmt.Sprintf(" With the image alone, the labels are: %s.", strings.Join(t.opts.labels, ", "))
	}
	return d
}

// Call implements tools.Tool.
func (t *ClassifyImage) Call(ctx context.Context, input string) (string, error) {
	in, err := t.parse(input)
	if err != nil {
		return observe(ClassifyImageName, classifyFormat, err)
	}
	out, err := t.svc.ClassifyImage(ctx, in)
	if err != nil {
		return observe(ClassifyImageName, classifyFormat, err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Labels for %s, best first:", describe(in.Image))
	for i, l := range out.Labels {
		if i == maxListed {
			fmt.Fprintf(&b, "; %d more labels with lower probabilities", len(out.Labels)-maxListed)
			break
		}
		sep := ","
		if i == 0 {
			sep = ""
		}
		fmt.Fprintf(&b, "%s %s %.3f", sep, l.Label, l.Probability)
	}
	return b.String(), nil
}

func describe(r tools.ImageRef) string {
	switch {
	case r.Path != "":
		return r.Path
	case r.ID != "":
		return "image " + r.ID
	case r.URL != "":
		return r.URL
	}
	return "the inline image"
}

func (t *ClassifyImage) parse(input string) (tools.ClassifyInput, error) {
	s := cleanInput(input)
	in := tools.ClassifyInput{Template: t.opts.template}
	if strings.HasPrefix(s, "{") {
		var j struct {
			Image    string   `json:"image"`
			Path     string   `json:"path"`
			ID       string   `json:"id"`
			DataURI  string   `json:"data_uri"`
			Labels   []string `json:"labels"`
			Template string   `json:"template"`
		}
		if err := decodeJSON(s, &j, "image (or path, id, data_uri), labels, template"); err != nil {
			return in, err
		}
		ref, err := jsonRef(j.Image, j.Path, j.ID, j.DataURI)
		if err != nil {
			return in, err
		}
		in.Image, in.Labels = ref, j.Labels
		if j.Template != "" {
			in.Template = j.Template
		}
	} else {
		img, labels, found := strings.Cut(s, "|")
		img = strings.TrimSpace(img)
		if img == "" {
			return in, badInput("no image given")
		}
		in.Image = tools.RefFromString(img)
		if found {
			for _, l := range strings.Split(labels, ",") {
				if l = strings.TrimSpace(l); l != "" {
					in.Labels = append(in.Labels, l)
				}
			}
			if len(in.Labels) == 0 {
				return in, &tools.InputError{Field: "labels", Msg: "none after the |: list candidate labels separated by commas"}
			}
		}
	}
	if len(in.Labels) == 0 {
		if len(t.opts.labels) == 0 {
			return in, &tools.InputError{Field: "labels", Msg: "missing: list candidate labels after the image, e.g. \"<image> | cat, dog\""}
		}
		in.Labels = t.opts.labels
	}
	return in, nil
}
