package ocr

import (
	"context"
	"os"
	"sync"
	"testing"

	"github.com/cliprag/cliprag/embed/onnx"
)

// EnvModels names the folder with the real models for the tests
// (scripts/ocrmodels.sh prints it).
const envModels = "CLIPRAG_OCR_MODELS"

var (
	engineOnce sync.Once
	engineVal  *Engine
	engineErr  error
)

// skipOrFail skips the test with msg, or fails it when CI=true.
func skipOrFail(t testing.TB, msg string, args ...any) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf(msg, args...)
	}
	t.Skipf(msg, args...)
}

// realEngine returns an Engine on the real models, shared by the tests:
// the models from $CLIPRAG_OCR_MODELS and ONNX Runtime from
// $ONNXRUNTIME_LIB (scripts/test.sh sets both). Without them the test is
// skipped, or fails under CI=true.
func realEngine(t testing.TB) *Engine {
	t.Helper()
	dir := os.Getenv(envModels)
	if dir == "" {
		skipOrFail(t, "OCR models needed: set %s (eval \"export $(scripts/ocrmodels.sh)\")", envModels)
	}
	lib := onnx.LibraryOptions{Path: os.Getenv(onnx.EnvLibrary), Offline: true}
	if err := onnx.Init(context.Background(), lib); err != nil {
		skipOrFail(t, "ONNX Runtime library needed (set %s): %v", onnx.EnvLibrary, err)
	}
	engineOnce.Do(func() {
		engineVal, engineErr = New(context.Background(), Options{ModelDir: dir, Library: lib, Threads: 2, Classify: true})
	})
	if engineErr != nil {
		t.Fatal(engineErr)
	}
	return engineVal
}
