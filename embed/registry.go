package embed

import (
	"github.com/cliprag/cliprag/embed/layout"
	"github.com/cliprag/cliprag/embed/registry"
)

// DefaultModel is the registry name Load uses when the caller has no preference.
const DefaultModel = registry.DefaultModel

// RegistryEntry describes a named model (see package embed/registry).
type RegistryEntry = registry.Entry

// Models lists the registry, sorted by name.
func Models() []RegistryEntry { return registry.Models() }

// Lookup returns the registry entry called name.
func Lookup(name string) (RegistryEntry, bool) { return registry.Lookup(name) }

// Register adds or replaces a named model, for models cliprag does not
// list itself. The entry needs a Name, a Repo and Vision/Text files.
func Register(e RegistryEntry) error { return registry.Register(e) }

// Layout names the on-disk arrangement a model was read from (see package
// embed/layout).
type Layout = layout.Kind

const (
	// LayoutOptimum is the Transformers.js / Optimum layout: config.json,
	// preprocessor_config.json, a tokenizer file and onnx/vision_model*.onnx
	// plus onnx/text_model*.onnx in one directory.
	LayoutOptimum = layout.Optimum
	// LayoutCombined is the Transformers.js layout with a single
	// onnx/model*.onnx holding both towers (Xenova's Chinese-CLIP).
	LayoutCombined = layout.Combined
	// LayoutFastembed is fastembed's split pair: a vision directory and a
	// text directory, each with model.onnx and its own config files.
	LayoutFastembed = layout.Fastembed
)

// ChineseCLIPContextLength is the text context of Chinese-CLIP models, used
// when their tokenizer_config.json gives none or BERT's 512.
const ChineseCLIPContextLength = layout.ChineseCLIPContextLength
