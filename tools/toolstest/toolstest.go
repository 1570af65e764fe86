// Package toolstest holds the fixtures cliprag's tests share: the test
// model, loaded once per test binary with one rule for a missing ONNX
// Runtime; a fake encoder (Fake) for tests that need an encoder's plumbing
// rather than a neural network; folders of images drawn with tinyshapes;
// and local indexes of them. It is for tests only.
//
// The real model needs cgo (ONNX Runtime); built with CGO_ENABLED=0,
// LoadModel reports a reason to skip, so tests of the cgo-free packages
// (tools, mcp) run their fake-encoder tests and skip the real-model ones.
//
// It imports neither package tools nor anything above it, so that tools'
// own tests can use it; callers build their tools.Service themselves.
package toolstest

import (
	"os"
	"strings"
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
