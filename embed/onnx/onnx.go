// Package onnx wraps ONNX Runtime (github.com/yalue/onnxruntime_go) for the
// rest of cliprag: it finds or fetches the shared library, opens sessions and
// runs them. No other package imports onnxruntime_go.
package onnx

import (
	"context"
	"errors"
	"io"

	_ "github.com/yalue/onnxruntime_go"
)

// LibraryOptions says where to find the ONNX Runtime shared library.
type LibraryOptions struct {
	Path     string    // explicit library path; empty: ONNXRUNTIME_LIB, system paths, cache, download
	CacheDir string    // cliprag's cache dir; empty: $CLIPRAG_CACHE or the OS user cache dir + "cliprag"
	Progress io.Writer // download progress; nil for none
	Offline  bool      // never download
}

// Init loads the ONNX Runtime library once per process. Later calls are no-ops
// returning the first call's result.
func Init(ctx context.Context, opts LibraryOptions) error { return errors.New("onnx: not implemented") }

// SessionOptions configures a session.
type SessionOptions struct {
	Threads int       // intra-op threads; 0 means the number of CPUs
	Device  string    // "cpu" (default) or "cuda"
	Log     io.Writer // where notices such as a CUDA fallback go; nil for os.Stderr
}

// TensorInfo describes one model input or output.
type TensorInfo struct {
	Name  string
	Type  string  // "float32", "int64", "int32", ...
	Shape []int64 // -1 for dynamic dimensions
}

// Tensor is a dense tensor; exactly one of Float32 and Int64 is set.
type Tensor struct {
	Shape   []int64
	Float32 []float32
	Int64   []int64
}

// Session is an open model. Run is safe for concurrent use.
type Session struct{}

// NewSessionFromFile opens the ONNX model at path.
func NewSessionFromFile(path string, o SessionOptions) (*Session, error) {
	return nil, errors.New("onnx: not implemented")
}

// NewSessionFromBytes opens an ONNX model held in memory.
func NewSessionFromBytes(data []byte, o SessionOptions) (*Session, error) {
	return nil, errors.New("onnx: not implemented")
}

// Inputs describes the model's inputs.
func (s *Session) Inputs() []TensorInfo { return nil }

// Outputs describes the model's outputs.
func (s *Session) Outputs() []TensorInfo { return nil }

// Device is the execution provider actually in use: "cpu" or "cuda".
func (s *Session) Device() string { return "cpu" }

// Run feeds inputs by name and returns the named outputs.
func (s *Session) Run(ctx context.Context, inputs map[string]Tensor, outputs []string) (map[string]Tensor, error) {
	return nil, errors.New("onnx: not implemented")
}

// Close releases the session.
func (s *Session) Close() error { return nil }
