//go:build cgo

package toolstest

import (
	"context"
	"image"
	"os"
	"sync"
	"testing"

	"github.com/cliprag/cliprag/embed/ocr"
	"github.com/cliprag/cliprag/embed/onnx"
	"github.com/cliprag/cliprag/retriever"
)

// EnvOCRModels names the folder with the real OCR models for the tests
// (scripts/ocrmodels.sh prints it; scripts/test.sh sets it).
const EnvOCRModels = "CLIPRAG_OCR_MODELS"

var (
	ocrOnce sync.Once
	ocrVal  *OCRReader
	ocrErr  error
)

// OCRReader reads text with the real OCR engine (embed/ocr), as the
// commands' text reader does (internal/config), for tests of the
// operations built on it.
type OCRReader struct{ Engine *ocr.Engine }

// ID names the engine.
func (r *OCRReader) ID() string { return "test:" + ocr.ModelPackage + "@" + ocr.ModelVersion }

// ReadText reads the lines of img.
func (r *OCRReader) ReadText(ctx context.Context, img image.Image) ([]retriever.TextLine, error) {
	res, err := r.Engine.Read(ctx, img)
	if err != nil {
		return nil, err
	}
	out := make([]retriever.TextLine, 0, len(res.Lines))
	for _, l := range res.Lines {
		tl := retriever.TextLine{Text: l.Text, Confidence: l.Confidence}
		for i, p := range l.Box {
			tl.Box[i] = [2]int{p.X, p.Y}
		}
		out = append(out, tl)
	}
	return out, nil
}

// OCR returns the real OCR engine on the models in $CLIPRAG_OCR_MODELS
// (two threads, loaded once per test binary and never closed), ONNX
// Runtime from $ONNXRUNTIME_LIB. Without them the test is skipped, or
// fails under CI=true.
func OCR(t testing.TB) *OCRReader {
	t.Helper()
	skip := func(format string, args ...any) {
		t.Helper()
		if os.Getenv("CI") == "true" {
			t.Fatalf(format, args...)
		}
		t.Skipf(format, args...)
	}
	dir := os.Getenv(EnvOCRModels)
	if dir == "" {
		skip("OCR models needed: set %s (eval \"export $(scripts/ocrmodels.sh)\")", EnvOCRModels)
	}
	lib := onnx.LibraryOptions{Path: os.Getenv(onnx.EnvLibrary), Offline: true}
	if err := onnx.Init(context.Background(), lib); err != nil {
		skip("ONNX Runtime library needed (set %s): %v", onnx.EnvLibrary, err)
	}
	ocrOnce.Do(func() {
		var e *ocr.Engine
		e, ocrErr = ocr.New(context.Background(), ocr.Options{ModelDir: dir, Library: lib, Threads: 2})
		ocrVal = &OCRReader{Engine: e}
	})
	if ocrErr != nil {
		t.Fatal(ocrErr)
	}
	return ocrVal
}
