//go:build cgo

package tools

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cliprag/cliprag/embed/preprocess"
	"github.com/cliprag/cliprag/retriever"
	"github.com/cliprag/cliprag/tools/toolstest"
)

// TestHybridRealOCR is the retrieval check with real models: the figures'
// text read by the OCR engine (PP-OCRv4, $CLIPRAG_OCR_MODELS) and every
// image embedded by the tiny CLIP, which cannot read, so a title finds
// its figure through the OCR path alone. Without the models it skips, or
// fails under CI=true. go test ./tools -run TestHybridRealOCR -v prints
// the fusions' figures.
func TestHybridRealOCR(t *testing.T) {
	reader := toolstest.OCR(t)
	enc := toolstest.Model(t)
	ctx := context.Background()
	cache := map[string][]retriever.TextLine{} // each figure is read once for the three indexes
	read := func(tw twin) []retriever.TextLine {
		if lines, ok := cache[tw.File]; ok {
			return lines
		}
		img, _, err := preprocess.DecodeFile(filepath.Join("testdata/twins", tw.File), preprocess.DecodeOptions{})
		if err != nil {
			t.Fatal(err)
		}
		lines, err := reader.ReadText(ctx, img)
		if err != nil {
			t.Fatal(err)
		}
		cache[tw.File] = lines
		return lines
	}
	rs := buildRetrievalSet(t, enc, read)
	reportFusions(t, rs)
	for _, index := range []string{localIndex, qdrantIndex} {
		t.Run(index, func(t *testing.T) {
			reportFusions(t, buildRetrievalSetIn(t, enc, read, index))
		})
	}

	// ReadImageText returns the stored lines of an indexed image, and reads
	// a file the index does not hold.
	s, err := New(enc, rs.store, Options{TextReader: reader, Roots: rs.svc.Options().Roots})
	if err != nil {
		t.Fatal(err)
	}
	id := rs.figures["断裂体系叠合图"]
	out, err := s.ReadImageText(ctx, ReadTextInput{Image: ImageRef{ID: id}})
	if err != nil {
		t.Fatal(err)
	}
	if out.Source != "index" || len(out.Lines) == 0 || out.Lines[0].Text != "断裂体系叠合图" {
		t.Errorf("indexed figure: %+v", out)
	}
	abs, _ := filepath.Abs("../embed/ocr/testdata/figure-0.png")
	s2, err := New(enc, rs.store, Options{TextReader: reader, Roots: []string{filepath.Dir(abs)}})
	if err != nil {
		t.Fatal(err)
	}
	out, err = s2.ReadImageText(ctx, ReadTextInput{Image: ImageRef{Path: abs}})
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, l := range out.Lines {
		texts = append(texts, l.Text)
	}
	if out.Source != "ocr" || out.Path != abs || !strings.Contains(strings.Join(texts, "\n"), "断裂体系叠合图") {
		t.Errorf("figure-0.png: %+v", out)
	}
}
