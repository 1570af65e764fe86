// Package embed runs CLIP image and text encoders with ONNX Runtime.
//
// Load opens a model by registry name (see Models: clip-vit-b-32, the
// default, clip-vit-b-16, clip-vit-l-14, chinese-clip-vit-b-16 and the
// bundled tiny-shapes) or from a directory. Registry models are downloaded
// from the Hugging Face Hub at a pinned revision into cliprag's cache on
// first use; a directory is used as it is and never touches the network.
// Three directory layouts are read (see Layout): Transformers.js/Optimum
// (onnx/vision_model*.onnx + onnx/text_model*.onnx, or one combined
// onnx/model*.onnx), and fastembed's split vision/text pair. Input and
// output names, image size, crop mode, mean/std and context length come from
// the model's files: config.json, preprocessor_config.json,
// tokenizer_config.json and the ONNX graphs.
//
// A Model embeds texts, decoded images, image files and preprocessed tensors
// in batches, returning L2-normalised vectors, and classifies images
// zero-shot as the CLIP paper does (LabelEmbeddings, Classify, ZeroShot).
// Its methods are safe for concurrent use. Each tower's ONNX Runtime
// session is opened on its first use, so a program that only embeds text
// never loads the image tower; the text tower runs at the batch's real
// sequence length where its graph allows (an attention mask, or a causal
// CLIP text tower); both towers are opened from optimised, memory-mapped
// copies kept in the cache (WithSessionCache), and recent text embeddings
// are kept in a bounded cache (WithTextCache).
//
// The model registry (package embed/registry) and the reading of a model's
// files (package embed/layout) need no runtime and build without cgo; this
// package keeps aliases for them. Environment variables are not read here:
// the commands' configuration (internal/config) turns CLIPRAG_CACHE,
// HF_ENDPOINT, HF_TOKEN, ONNXRUNTIME_LIB and the rest into options.
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
