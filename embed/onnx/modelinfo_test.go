package onnx

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	ort "github.com/yalue/onnxruntime_go"
)

// TestReadModelIO checks the protobuf reader against ONNX Runtime's own view
// of the models' inputs and outputs.
func TestReadModelIO(t *testing.T) {
	initRuntime(t)
	models := []string{
		filepath.Join("testdata", "matmul.onnx"),
		filepath.Join("testdata", "matmul_legacy.onnx"),
		filepath.Join("testdata", "embed.onnx"),
		filepath.Join("..", "tinyshapes", "model", "onnx", "vision_model.onnx"),
		filepath.Join("..", "tinyshapes", "model", "onnx", "text_model.onnx"),
	}
	for _, m := range models {
		t.Run(filepath.Base(m), func(t *testing.T) {
			data, err := os.ReadFile(m)
			if err != nil {
				t.Skipf("%s: %v", m, err)
			}
			gotIn, gotOut, err := readModelIO(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			wantIn, wantOut, err := convertInfos(ort.GetInputOutputInfoWithONNXData(data))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(gotIn, wantIn) || !reflect.DeepEqual(gotOut, wantOut) {
				t.Errorf("read inputs %+v outputs %+v\nORT inputs %+v outputs %+v", gotIn, gotOut, wantIn, wantOut)
			}
		})
	}
}

func TestReadModelIOLegacyInputs(t *testing.T) {
	// matmul_legacy.onnx lists its weight as a graph input as well.
	data, err := os.ReadFile(filepath.Join("testdata", "matmul_legacy.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	all, _, inits, err := readGraphIO(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if len(all) < 2 || len(inits) == 0 {
		t.Fatalf("fixture declares inputs %+v and initializers %v; want the weight among the inputs", all, inits)
	}
	ins, _, err := readModelIO(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if len(ins) != 1 || ins[0].Name != "x" {
		t.Errorf("inputs %+v, want only x", ins)
	}
}

func TestReadModelIOBad(t *testing.T) {
	good, err := os.ReadFile(filepath.Join("testdata", "matmul.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"text", []byte("this is not a model at all")},
		{"truncated", good[:len(good)/2]},
		{"huge length", []byte{0x3a, 0xff, 0xff, 0xff, 0xff, 0x0f}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ins, outs, err := readModelIO(bytes.NewReader(tc.data))
			if err == nil && len(ins) > 0 && len(outs) > 0 {
				t.Errorf("got inputs %v outputs %v from bad data", ins, outs)
			}
		})
	}
}
