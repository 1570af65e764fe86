package tools

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/cliprag/cliprag/embed/preprocess"
	"github.com/cliprag/cliprag/retriever"
	"github.com/cliprag/cliprag/tools/ingest"
)

// TextReader reads the text in images (OCR): ingest's TextReader, as
// Encoder is ingest's Encoder, so the reader ReadImageText uses can serve
// ingest (ingest.Options.Text) too. The OCR engine of package embed/ocr is
// the real one; the composition root (internal/config.TextReader) wires it
// in, loading its models only when a read needs them, so this package
// builds without cgo and tests use fakes.
type TextReader = ingest.TextReader

// ErrNoTextReader is returned by ReadImageText for an image whose text is
// not in the index when the Service was made without a TextReader. It is
// an *InputError: the caller can still ask for images indexed with their
// text.
var ErrNoTextReader error = &InputError{Field: "image", Msg: "its text is not in the index and no OCR engine is loaded: only images indexed with rag-ingest --ocr can be read"}

// TextLine is one line of text read in an image.
type TextLine struct {
	Text       string    `json:"text" jsonschema:"The line's text"`
	Confidence float64   `json:"confidence" jsonschema:"Recognition confidence, 0 to 1"`
	Box        [4][2]int `json:"box" jsonschema:"The line's four corners [[x, y], ...] in the image's pixels, clockwise from the top-left"`
}

// ReadTextInput is the input of ReadImageText.
type ReadTextInput struct {
	Image ImageRef `json:"image" jsonschema:"The image to read: exactly one of path, id, data_uri, url"`
}

// ReadTextOutput is what ReadImageText returns.
type ReadTextOutput struct {
	Path  string     `json:"path,omitempty" jsonschema:"Absolute path of the image file (empty for inline images and URLs that are not indexed)"`
	ID    string     `json:"id,omitempty" jsonschema:"Id of the indexed image, when the image is in the index"`
	Lines []TextLine `json:"lines" jsonschema:"The lines of text in reading order (top to bottom, left to right); empty when the image has none"`
	// Source is "index" when the lines were read at ingest (rag-ingest
	// --ocr) and stored, "ocr" when they were read now.
	Source string `json:"source" jsonschema:"index: read at ingest and stored; ocr: read now"`
	ReadBy string `json:"read_by" jsonschema:"The OCR engine and settings that read the lines"`
}

// ReadImageText returns the lines of text in an image. When the image is
// indexed (by id, or a file or inline image whose bytes are) and its
// record holds text read at ingest (Payload.TextBy set), those lines are
// returned without running OCR; otherwise the TextReader reads it now.
func (s *Service) ReadImageText(ctx context.Context, in ReadTextInput) (ReadTextOutput, error) {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	ref := in.Image
	if err := checkOneRef("image", ref); err != nil {
		return ReadTextOutput{}, err
	}
	var (
		data  []byte
		name  string
		out   ReadTextOutput
		field string
	)
	switch {
	case strings.TrimSpace(ref.ID) != "":
		r, err := s.record(ctx, strings.TrimSpace(ref.ID))
		var ie *InputError
		if errors.As(err, &ie) {
			return ReadTextOutput{}, &InputError{Field: "image.id", Msg: ie.Msg}
		}
		if err != nil {
			return ReadTextOutput{}, err
		}
		out.ID, out.Path = r.ID, r.Payload.Path
		if r.Payload.TextBy != "" {
			return storedText(out, r.Payload), nil
		}
		field = "image.id"
		if data, name, err = s.readFile(ctx, r.Payload.Path); err != nil {
			return ReadTextOutput{}, prefixField(field, err)
		}
	case ref.Path != "":
		var err error
		field = "image.path"
		if data, name, err = s.readFile(ctx, ref.Path); err != nil {
			return ReadTextOutput{}, prefixField(field, err)
		}
		out.Path = name
	case strings.TrimSpace(ref.DataURI) != "":
		var err error
		field, name = "image.data_uri", "data URI"
		if data, err = s.decodeDataURI(ref.DataURI); err != nil {
			return ReadTextOutput{}, prefixField(field, err)
		}
	default:
		var err error
		field, name = "image.url", strings.TrimSpace(ref.URL)
		if data, err = s.fetchURL(ctx, name); err != nil {
			return ReadTextOutput{}, prefixField(field, err)
		}
	}
	if out.ID == "" {
		if r, ok, err := s.indexedBytes(ctx, data); err != nil {
			return ReadTextOutput{}, err
		} else if ok {
			out.ID = r.ID
			if out.Path == "" {
				out.Path = r.Payload.Path
			}
			if r.Payload.TextBy != "" {
				return storedText(out, r.Payload), nil
			}
		}
	}
	return s.readNow(ctx, out, field, name, data)
}

// checkOneRef checks that exactly one field of ref is set.
func checkOneRef(field string, ref ImageRef) error {
	set := 0
	if ref.Path != "" { // a path is never trimmed: " a.png" is a file name
		set++
	}
	for _, v := range []string{ref.ID, ref.DataURI, ref.URL} {
		if strings.TrimSpace(v) != "" {
			set++
		}
	}
	if set != 1 {
		return inputErr(field, "give exactly one of path, id, data_uri or url (got %d)", set)
	}
	return nil
}

// indexedBytes returns the record of the index that holds these bytes
// (under the index's model), if any.
func (s *Service) indexedBytes(ctx context.Context, data []byte) (retriever.Record, bool, error) {
	c, err := s.store.Collection(ctx)
	if errors.Is(err, retriever.ErrNotFound) {
		return retriever.Record{}, false, nil
	}
	if err != nil {
		return retriever.Record{}, false, fmt.Errorf("open index %s: %w", s.store, err)
	}
	recs, err := s.store.Get(ctx, []string{contentID(data, c.Model)})
	if err != nil {
		return retriever.Record{}, false, fmt.Errorf("get from %s: %w", s.store, err)
	}
	if len(recs) == 0 {
		return retriever.Record{}, false, nil
	}
	return recs[0], true, nil
}

// readNow decodes data as the CLIP path does (EXIF orientation, the decode
// budget) and reads its text with the TextReader.
func (s *Service) readNow(ctx context.Context, out ReadTextOutput, field, name string, data []byte) (ReadTextOutput, error) {
	if s.opts.TextReader == nil {
		return ReadTextOutput{}, ErrNoTextReader
	}
	release, err := preprocess.Reserve(ctx, data, preprocess.DecodeOptions{})
	if err != nil {
		return ReadTextOutput{}, inputErr(field, "cannot read image %s: %v", name, preprocess.Reason(err))
	}
	defer release()
	img, _, err := preprocess.Decode(name, data, preprocess.DecodeOptions{})
	if err != nil {
		return ReadTextOutput{}, inputErr(field, "cannot read image %s: %v", name, preprocess.Reason(err))
	}
	lines, err := s.opts.TextReader.ReadText(ctx, img)
	if err != nil {
		return ReadTextOutput{}, fmt.Errorf("read text in %s: %w", name, err)
	}
	out.Lines = textLines(lines)
	out.Source, out.ReadBy = "ocr", s.opts.TextReader.ID()
	return out, nil
}

// storedText fills out from a record's stored text.
func storedText(out ReadTextOutput, p retriever.Payload) ReadTextOutput {
	out.Lines = textLines(p.Text)
	out.Source, out.ReadBy = "index", p.TextBy
	return out
}

func textLines(in []retriever.TextLine) []TextLine {
	out := make([]TextLine, 0, len(in))
	for _, l := range in {
		out = append(out, TextLine{Text: l.Text, Confidence: float32To64(l.Confidence), Box: l.Box})
	}
	return out
}

// float32To64 widens f to the float64 with the same shortest decimal form
// (0.98 stays 0.98 in JSON, not 0.9800000190734863).
func float32To64(f float32) float64 {
	v, _ := strconv.ParseFloat(strconv.FormatFloat(float64(f), 'g', -1, 32), 64)
	return v
}
