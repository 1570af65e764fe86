//go:build cgo

package toolstest

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"

	"github.com/cliprag/cliprag/embed"
	"github.com/cliprag/cliprag/embed/onnx"
)

var (
	modelOnce sync.Once
	model     *embed.Model
	modelSkip string
	modelErr  error
)

// LoadModel loads ModelRef with two threads, once per process, and
// returns the same model to every caller; nobody closes it. When ONNX
// Runtime is missing and RuntimeMissing allows a skip, it returns a nil
// model, the reason to skip and a nil error.
func LoadModel() (m *embed.Model, skip string, err error) {
	modelOnce.Do(func() {
		// embed.Load's errors name the model. The runtime library comes
		// from ONNXRUNTIME_LIB, as the commands' configuration reads it.
		model, modelErr = embed.Load(context.Background(), ModelRef(), embed.WithThreads(2),
			embed.WithLibrary(os.Getenv(onnx.EnvLibrary)))
		if modelErr != nil && RuntimeMissing(modelErr.Error()) {
			modelSkip = fmt.Sprintf("ONNX Runtime not available (run scripts/onnxruntime.sh and set ONNXRUNTIME_LIB): %v", modelErr)
			modelErr = nil
		}
	})
	return model, modelSkip, modelErr
}

// Model is LoadModel for a test: it skips the test when ONNX Runtime is
// missing (outside CI) and fails it when the model does not load.
func Model(t testing.TB) *embed.Model {
	t.Helper()
	m, skip, err := LoadModel()
	if skip != "" {
		t.Skip(skip)
	}
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// loadEncoder is LoadModel as an Encoder, for fixtures built on either kind.
func loadEncoder() (Encoder, string, error) {
	m, skip, err := LoadModel()
	if m == nil {
		return nil, skip, err
	}
	return m, skip, err
}
