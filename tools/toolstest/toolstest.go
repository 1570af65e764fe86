// Package toolstest holds the fixtures cliprag's tests share: the test
// model, loaded once per test binary with one rule for a missing ONNX
// Runtime; folders of images drawn with tinyshapes; and local indexes of
// them. It is for tests only.
//
// It imports neither package tools nor anything above it, so that tools'
// own tests can use it; callers build their tools.Service themselves.
package toolstest

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/cliprag/cliprag/embed"
)

// EnvModel names the environment variable that replaces the bundled
// tiny-shapes model in tests with a model directory or registry name.
const EnvModel = "CLIPRAG_TEST_MODEL"

// ModelRef returns the model tests use: $CLIPRAG_TEST_MODEL, or the
// bundled "tiny-shapes".
func ModelRef() string {
	if m := os.Getenv(EnvModel); m != "" {
		return m
	}
	return "tiny-shapes"
}

// RuntimeMissing reports whether msg, an error message or a program's
// output, says that ONNX Runtime could not be found, so that a test may
// skip. It is always false when CI=true: there a missing runtime fails.
func RuntimeMissing(msg string) bool {
	return os.Getenv("CI") != "true" && strings.Contains(msg, "ONNXRUNTIME_LIB")
}

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
		// embed.Load's errors name the model.
		model, modelErr = embed.Load(context.Background(), ModelRef(), embed.WithThreads(2))
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
