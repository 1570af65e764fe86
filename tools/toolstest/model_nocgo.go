//go:build !cgo

package toolstest

import "testing"

// noCgo is the reason real-model tests skip in a build without cgo.
const noCgo = "the ONNX Runtime model needs cgo: this test runs in a build with CGO_ENABLED=1 (the fake-encoder tests run without)"

// LoadModel reports that the real model is unavailable without cgo.
func LoadModel() (m Encoder, skip string, err error) { return nil, noCgo, nil }

// Model skips the test: the real model needs cgo.
func Model(t testing.TB) Encoder {
	t.Helper()
	t.Skip(noCgo)
	return nil
}

func loadEncoder() (Encoder, string, error) { return nil, noCgo, nil }
