// Package embed runs CLIP image and text encoders with ONNX Runtime.
//
// Tokenizers (package embed/tokenizer) and image preprocessing (package
// embed/preprocess) are pure Go and match the reference implementations;
// this package re-exports the names most callers need.
package embed

import (
	"github.com/cliprag/cliprag/embed/preprocess"
	"github.com/cliprag/cliprag/embed/tokenizer"
)

// Tokenizer turns text into token ids for a CLIP text tower.
type Tokenizer = tokenizer.Tokenizer

// LoadTokenizer loads a tokenizer from a file: a CLIP merges file
// (bpe_simple_vocab_16e6.txt.gz, CLIP BPE, context 77), a vocab.txt
// (lower-casing BERT WordPiece, context 52) or a Hugging Face tokenizer.json.
func LoadTokenizer(path string) (Tokenizer, error) { return tokenizer.Load(path) }

// Preprocessor turns images into normalised channel-major tensors.
type Preprocessor = preprocess.Preprocessor

// CropMode says how an image is fitted to the model's square input.
type CropMode = preprocess.Mode

const (
	// CenterCrop resizes the shorter side to Size, then crops the centre (OpenAI CLIP).
	CenterCrop = preprocess.CenterCrop
	// Squash resizes straight to Size×Size, ignoring aspect ratio (Chinese-CLIP).
	Squash = preprocess.Squash
)
