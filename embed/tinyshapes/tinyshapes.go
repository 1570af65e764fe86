// Package tinyshapes bundles cliprag's tiny CLIP model ("tiny-shapes") and
// draws images of its domain for tests.
//
// Real CLIP weights cannot be downloaded on the machines that build and test
// cliprag, so the project trains a tiny CLIP of its own with
// scripts/train_tiny_clip.py: 5 colours × 4 shapes on plain or gradient grey
// backgrounds. The model lives in the Transformers.js / Optimum layout
// (config.json, preprocessor_config.json, tokenizer.json,
// tokenizer_config.json, onnx/vision_model.onnx, onnx/text_model.onnx) and is
// embedded in every binary that imports this package.
//
// The towers:
//
//   - onnx/vision_model.onnx: input "pixel_values" float32 [batch, 3, 224, 224]
//     (OpenAI CLIP preprocessing: bicubic resize of the shorter side to 224,
//     centre crop, CLIP mean/std, as preprocessor_config.json says) → output
//     "image_embeds" float32 [batch, D]. A small CNN.
//   - onnx/text_model.onnx: input "input_ids" int64 [batch, sequence ≤ 77] →
//     output "text_embeds" float32 [batch, D]. A causal transformer pooled at
//     the first position whose id is the end-of-text id (also the largest id,
//     so this is HF's argmax(input_ids) rule); ids after it do not matter, so
//     padding with 0 or with end-of-text gives the same result.
//
// Both outputs are projection outputs, not L2-normalised. D is config.json's
// projection_dim. config.json's "logit_scale" is the trained multiplier (the
// exp of the learned parameter, which is "logit_scale_log"); HF's
// "logit_scale_init_value" is kept only for shape. testdata/reference.json
// holds PyTorch's outputs for the images beside it and a few captions, and
// testdata/tokenizer_check.json the Python tokenizer's ids for 30 strings.
//
// Draw renders fresh images of the domain in pure Go, independently of the
// Python renderer the model was trained on, so tests measure held-out
// accuracy.
package tinyshapes

import (
	"embed"
	"fmt"
	"io/fs"
	"strings"
)

//go:embed model
var modelFiles embed.FS

// FS holds the bundled model's files, rooted at the model directory:
// "config.json", "onnx/vision_model.onnx", and so on.
var FS fs.FS = mustSub(modelFiles, "model")

// Model is FS under another name.
var Model = FS

func mustSub(f fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(f, dir)
	if err != nil {
		// fs.Sub only fails for an invalid path, which "model" is not.
		panic(fmt.Sprintf("tinyshapes: %v", err))
	}
	return sub
}

// Colors are the domain's colours, in the order the model was trained with.
var Colors = []string{"red", "green", "blue", "yellow", "purple"}

// Shapes are the domain's shapes, in the order the model was trained with.
var Shapes = []string{"circle", "square", "triangle", "cross"}

// Class is one of the domain's 20 classes.
type Class struct {
	Color string
	Shape string
}

// String returns the class label, e.g. "red circle".
func (c Class) String() string { return c.Color + " " + c.Shape }

// Classes returns the 20 class labels ("red circle", "red square", …), colour
// major, in the order the model was trained with.
func Classes() []string {
	out := make([]string, 0, len(Colors)*len(Shapes))
	for _, c := range ClassList() {
		out = append(out, c.String())
	}
	return out
}

// ClassList returns the 20 classes as colour/shape pairs, in the order of
// Classes.
func ClassList() []Class {
	out := make([]Class, 0, len(Colors)*len(Shapes))
	for _, c := range Colors {
		for _, s := range Shapes {
			out = append(out, Class{Color: c, Shape: s})
		}
	}
	return out
}

// ParseClass splits a label such as "red circle" into its colour and shape.
func ParseClass(label string) (Class, error) {
	f := strings.Fields(strings.ToLower(label))
	if len(f) != 2 || !contains(Colors, f[0]) || !contains(Shapes, f[1]) {
		return Class{}, fmt.Errorf("tinyshapes: %q is not a class (want \"<colour> <shape>\")", label)
	}
	return Class{Color: f[0], Shape: f[1]}, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
