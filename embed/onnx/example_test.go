package onnx_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/cliprag/cliprag/embed/onnx"

	"github.com/cliprag/cliprag/embed/progress"
)

func Example() {
	ctx := context.Background()
	// Loads the library at Path; with Path empty it searches the system
	// paths and the cache, or fetches it.
	if err := onnx.Init(ctx, onnx.LibraryOptions{Path: os.Getenv(onnx.EnvLibrary), Progress: progress.New(os.Stderr)}); err != nil {
		log.Fatal(err)
	}
	s, err := onnx.NewSessionFromFile("testdata/matmul.onnx", onnx.SessionOptions{})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	out, err := s.Run(ctx, map[string]onnx.Tensor{
		"x": {Shape: []int64{1, 4}, Float32: []float32{1, 0, 0, 0}},
	}, []string{"y"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(out["y"].Shape, out["y"].Float32)
}
