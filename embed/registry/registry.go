// Package registry names the CLIP models cliprag knows: where each one's
// files are downloaded from (a Hugging Face repository at a pinned revision)
// and the facts its files do not record (the trained logit scale, a context
// length). It needs no runtime and builds without cgo; package embed loads
// the models it names.
package registry

import (
	"fmt"
	"sort"
	"strings"
	"sync"
)

// DefaultModel is the registry name Load uses when the caller has no preference.
const DefaultModel = "clip-vit-b-32"

// Entry describes a named model: where its files come from and the
// facts about it that its files do not record.
type Entry struct {
	Name        string // registry name, also the model's ID: "clip-vit-b-32"
	Description string // one line for --help and docs
	Language    string // "en" or "zh"

	// Repo is the Hugging Face repository and Revision the pinned commit the
	// files are downloaded from. Bundled models have neither.
	Repo     string
	Revision string

	// Files are fetched whatever the options say (configs and tokenizer).
	Files []string
	// Vision and Text are the ONNX files of the two towers (the same file for
	// a combined export); QuantizedVision and QuantizedText are used when
	// the caller asks for quantized files and both are set.
	Vision, Text                   string
	QuantizedVision, QuantizedText string

	// SHA256 maps a file name to its expected hex digest, checked by the
	// downloader where known.
	SHA256 map[string]string

	// LogitScale is the trained, exponentiated logit scale (100 for OpenAI
	// CLIP). HF config.json files only carry logit_scale_init_value, the
	// log of the initial scale (2.6592 → 14.3), which is not what the model
	// was trained to; so the registry pins the trained value.
	LogitScale float32
	// ContextLength overrides the text context length read from the files; 0 keeps it.
	ContextLength int

	// Bundled models ship inside the binary and never touch the network.
	Bundled bool
}

// DownloadFiles returns the files to download for the chosen precision: Files,
// then the two towers' ONNX files (the quantized ones when quantized is set
// and the entry has both), each once.
func (e Entry) DownloadFiles(quantized bool) []string {
	out := append([]string(nil), e.Files...)
	v, t := e.Vision, e.Text
	if quantized && e.QuantizedVision != "" && e.QuantizedText != "" {
		v, t = e.QuantizedVision, e.QuantizedText
	}
	seen := map[string]bool{}
	for _, f := range out {
		seen[f] = true
	}
	for _, f := range []string{v, t} {
		if f != "" && !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	return out
}

// Revision pins. These commit ids were read from the Hugging Face web pages
// indexed by the project's search tool (tree/blob URLs that carry the full
// sha). clip-vit-l-14 could not be pinned that way and tracks "main" — pin it
// to a commit sha when one can be verified against the Hub.
var (
	registryMu sync.RWMutex
	registry   = map[string]Entry{
		"clip-vit-b-32": {
			Name:        "clip-vit-b-32",
			Description: "OpenAI CLIP ViT-B/32, 512-d, English (default; ~600 MB, ~150 MB quantized)",
			Language:    "en",
			Repo:        "Xenova/clip-vit-base-patch32",
			Revision:    "0b95b21b04a877260b196dfc3ebdb79c3c8be8ca",
			Files: []string{"config.json", "preprocessor_config.json", "tokenizer.json",
				"tokenizer_config.json", "special_tokens_map.json"},
			Vision:          "onnx/vision_model.onnx",
			Text:            "onnx/text_model.onnx",
			QuantizedVision: "onnx/vision_model_quantized.onnx",
			QuantizedText:   "onnx/text_model_quantized.onnx",
			SHA256: map[string]string{
				// From the Hub's LFS details for onnx/vision_model.onnx (last
				// changed in 6ef1ebc, an ancestor of the pinned revision).
				"onnx/vision_model.onnx": "fd6e1402a588279d1723c7534d4bcba5bc0b14b47dfab0e46f8c47b8270d7d40",
			},
			LogitScale: 100,
		},
		"clip-vit-b-16": {
			Name:        "clip-vit-b-16",
			Description: "OpenAI CLIP ViT-B/16, 512-d, English",
			Language:    "en",
			Repo:        "Xenova/clip-vit-base-patch16",
			Revision:    "b01c87eccb2e8b873032357982abe0cd80b778cf",
			Files: []string{"config.json", "preprocessor_config.json", "tokenizer.json",
				"tokenizer_config.json", "special_tokens_map.json"},
			Vision:          "onnx/vision_model.onnx",
			Text:            "onnx/text_model.onnx",
			QuantizedVision: "onnx/vision_model_quantized.onnx",
			QuantizedText:   "onnx/text_model_quantized.onnx",
			LogitScale:      100,
		},
		"clip-vit-l-14": {
			Name:        "clip-vit-l-14",
			Description: "OpenAI CLIP ViT-L/14, 768-d, English (~1.7 GB)",
			Language:    "en",
			Repo:        "Xenova/clip-vit-large-patch14",
			// NOT PINNED: no verifiable commit sha was available offline.
			Revision: "main",
			Files: []string{"config.json", "preprocessor_config.json", "tokenizer.json",
				"tokenizer_config.json", "special_tokens_map.json"},
			Vision:          "onnx/vision_model.onnx",
			Text:            "onnx/text_model.onnx",
			QuantizedVision: "onnx/vision_model_quantized.onnx",
			QuantizedText:   "onnx/text_model_quantized.onnx",
			LogitScale:      100,
		},
		"chinese-clip-vit-b-16": {
			Name:        "chinese-clip-vit-b-16",
			Description: "Chinese-CLIP ViT-B/16 + RoBERTa-wwm, 512-d, Chinese (combined ONNX export)",
			Language:    "zh",
			// Xenova's export ships one combined onnx/model.onnx (both towers);
			// OFA-Sys/chinese-clip-vit-base-patch16 has no ONNX files.
			Repo:     "Xenova/chinese-clip-vit-base-patch16",
			Revision: "3100d72f2cad6ff67647a0f6ff6154cd06f6579c",
			Files: []string{"config.json", "preprocessor_config.json", "tokenizer.json",
				"tokenizer_config.json", "special_tokens_map.json", "vocab.txt"},
			Vision:          "onnx/model.onnx",
			Text:            "onnx/model.onnx",
			QuantizedVision: "onnx/model_quantized.onnx",
			QuantizedText:   "onnx/model_quantized.onnx",
			LogitScale:      100,
			ContextLength:   52,
		},
		"tiny-shapes": {
			Name:        "tiny-shapes",
			Description: "bundled tiny CLIP for coloured shapes (5 colours × 4 shapes); tests and demos, no download",
			Language:    "en",
			Bundled:     true,
		},
	}
)

// Models lists the registry, sorted by name.
func Models() []Entry {
	registryMu.RLock()
	defer registryMu.RUnlock()
	out := make([]Entry, 0, len(registry))
	for _, e := range registry {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Lookup returns the registry entry called name.
func Lookup(name string) (Entry, bool) {
	registryMu.RLock()
	defer registryMu.RUnlock()
	e, ok := registry[name]
	return e, ok
}

// Register adds or replaces a named model, for models cliprag does not
// list itself. The entry needs a Name, a Repo and Vision/Text files.
func Register(e Entry) error {
	if e.Name == "" || e.Bundled {
		return fmt.Errorf("register %q: a name is required and only cliprag bundles models", e.Name)
	}
	if e.Repo == "" || e.Vision == "" || e.Text == "" {
		return fmt.Errorf("register %q: Repo, Vision and Text are required", e.Name)
	}
	if e.Revision == "" {
		e.Revision = "main"
	}
	registryMu.Lock()
	defer registryMu.Unlock()
	registry[e.Name] = e
	return nil
}

// Unregister removes the entry called name (a model added by Register).
func Unregister(name string) {
	registryMu.Lock()
	defer registryMu.Unlock()
	delete(registry, name)
}

// Names lists the registry's names, sorted.
func Names() []string {
	es := Models()
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.Name
	}
	return out
}

// IsPathLike reports whether ref names a filesystem path rather than a
// registry name: it contains a slash or a backslash, or starts with a dot.
func IsPathLike(ref string) bool {
	return strings.ContainsAny(ref, `/\`) || strings.HasPrefix(ref, ".")
}
