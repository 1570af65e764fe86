// Package layout reads a CLIP model's files before any runtime is involved:
// it recognises the directory layout (Transformers.js/Optimum, a combined
// export, fastembed's split pair), chooses the ONNX files, and reads
// config.json, preprocessor_config.json, tokenizer_config.json and the
// tokenizer. It builds without cgo; package embed opens the ONNX files it
// chooses.
package layout

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/cliprag/cliprag/embed/preprocess"
	"github.com/cliprag/cliprag/embed/tokenizer"
)

// Kind names the on-disk arrangement a model was read from.
type Kind string

const (
	// Optimum is the Transformers.js / Optimum layout: config.json,
	// preprocessor_config.json, a tokenizer file and onnx/vision_model*.onnx
	// plus onnx/text_model*.onnx in one directory.
	Optimum Kind = "optimum"
	// Combined is the Transformers.js layout with a single
	// onnx/model*.onnx holding both towers (what Xenova's Chinese-CLIP
	// repositories ship). Each run feeds a one-item dummy input to the tower
	// it does not need, so it is slower than a split export.
	Combined Kind = "combined"
	// Fastembed is fastembed's split pair: a vision directory and a
	// text directory, each with model.onnx and its own config files.
	Fastembed Kind = "fastembed"
)

// Source is a model's files: an OS directory, or an in-memory FS (the
// bundled model). Paths inside it use forward slashes.
type Source struct {
	FS  fs.FS
	Dir string // OS directory behind FS; "" for an embedded FS
}

// DirSource is the Source of an OS directory.
func DirSource(dir string) Source { return Source{FS: os.DirFS(dir), Dir: dir} }

// FSSource is the Source of an in-memory FS (an embedded model).
func FSSource(fsys fs.FS) Source { return Source{FS: fsys} }

// Display returns a human-readable location of rel.
func (s Source) Display(rel string) string {
	if s.Dir != "" {
		return filepath.Join(s.Dir, filepath.FromSlash(rel))
	}
	return "embedded:" + rel
}

// Path returns the OS path of rel, or "" for an embedded FS.
func (s Source) Path(rel string) string {
	if s.Dir == "" {
		return ""
	}
	return filepath.Join(s.Dir, filepath.FromSlash(rel))
}

// ReadFile returns the contents of rel.
func (s Source) ReadFile(rel string) ([]byte, error) { return fs.ReadFile(s.FS, rel) }

func (s Source) exists(rel string) bool {
	fi, err := fs.Stat(s.FS, rel)
	return err == nil && !fi.IsDir()
}

func (s Source) size(rel string) int64 {
	fi, err := fs.Stat(s.FS, rel)
	if err != nil {
		return -1
	}
	return fi.Size()
}

// readJSON decodes the JSON file rel into v. It reports whether the file existed.
func (s Source) readJSON(rel string, v any) (bool, error) {
	b, err := fs.ReadFile(s.FS, rel)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read %s: %w", s.Display(rel), err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return true, fmt.Errorf("parse %s: %w", s.Display(rel), err)
	}
	return true, nil
}

// hfConfig is the part of a Hugging Face config.json cliprag reads.
type hfConfig struct {
	ModelType     string `json:"model_type"`
	NameOrPath    string `json:"_name_or_path"`
	ProjectionDim int    `json:"projection_dim"`
	// LogitScale is not part of HF configs; cliprag's tiny-model training
	// script writes the trained, already exponentiated scale here.
	LogitScale *float64 `json:"logit_scale"`
	// LogitScaleInit is HF's logit_scale_init_value: the log of the scale
	// the model was initialised with (2.6592 → 14.3), not the trained one.
	LogitScaleInit        *float64 `json:"logit_scale_init_value"`
	MaxPositionEmbeddings int      `json:"max_position_embeddings"` // text-only configs (fastembed)
	ImageSize             int      `json:"image_size"`              // vision-only configs
	TextConfig            struct {
		ModelType             string `json:"model_type"`
		MaxPositionEmbeddings int    `json:"max_position_embeddings"`
		ProjectionDim         int    `json:"projection_dim"`
	} `json:"text_config"`
	VisionConfig struct {
		ImageSize     int `json:"image_size"`
		ProjectionDim int `json:"projection_dim"`
	} `json:"vision_config"`
}

// preprocessorConfig is the part of preprocessor_config.json cliprag reads.
type preprocessorConfig struct {
	CropSize     json.RawMessage `json:"crop_size"`
	Size         json.RawMessage `json:"size"`
	DoCenterCrop *bool           `json:"do_center_crop"`
	ImageMean    []float32       `json:"image_mean"`
	ImageStd     []float32       `json:"image_std"`
}

// ChineseCLIPContextLength is the text context of Chinese-CLIP models, used
// when their tokenizer_config.json gives none or BERT's 512.
const ChineseCLIPContextLength = 52

// tokenizerConfig is the part of tokenizer_config.json cliprag reads.
type tokenizerConfig struct {
	ModelMaxLength *float64 `json:"model_max_length"`
}

// sizeSpec is a preprocessor size: an int, {"shortest_edge": n} or
// {"height": h, "width": w}.
type sizeSpec struct {
	shortest, height, width int
}

func (s sizeSpec) empty() bool { return s.shortest == 0 && s.height == 0 && s.width == 0 }

func parseSize(raw json.RawMessage) (sizeSpec, error) {
	var out sizeSpec
	if len(raw) == 0 || string(raw) == "null" {
		return out, nil
	}
	var n int
	if err := json.Unmarshal(raw, &n); err == nil {
		out.shortest = n
		return out, nil
	}
	var m struct {
		Shortest int `json:"shortest_edge"`
		Height   int `json:"height"`
		Width    int `json:"width"`
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		return out, fmt.Errorf("size %s: %w", raw, err)
	}
	out.shortest, out.height, out.width = m.Shortest, m.Height, m.Width
	return out, nil
}

// Model is everything read from a model's files before any session is
// opened.
type Model struct {
	Kind       Kind
	Vision     Source // where the vision ONNX and preprocessor config live
	Text       Source // where the text ONNX and tokenizer live
	VisionFile string // ONNX file (relative to Vision)
	TextFile   string // ONNX file (relative to Text); equal to VisionFile for Combined

	Name          string                  // _name_or_path, or the directory name
	Pre           preprocess.Preprocessor // from preprocessor_config.json
	TokenizerFile string                  // tokenizer file (relative to Text)
	ContextLength int                     // from tokenizer_config.json or config; 0 if unknown
	Projection    int                     // projection_dim; 0 if unknown
	Chinese       bool                    // a Chinese-CLIP model

	config       hfConfig // config.json (the vision one for fastembed)
	textConfig   hfConfig // config.json of the text dir (fastembed); else = config
	modelType    string   // "clip", "chinese_clip", ...
	configHashes []string // inputs to the directory id hash
}

// onnxCandidates lists the file names tried for a tower, best first.
func onnxCandidates(dir, stem string, quantized bool) []string {
	plain := path.Join(dir, stem+".onnx")
	q := path.Join(dir, stem+"_quantized.onnx")
	if quantized {
		return []string{q, plain}
	}
	return []string{plain}
}

func firstExisting(s Source, names []string) string {
	for _, n := range names {
		if s.exists(n) {
			return n
		}
	}
	return ""
}

// Detect reads a model directory (or embedded FS) and works out its layout.
// With quantized set it prefers the *_quantized.onnx files where they exist.
func Detect(src Source, quantized bool) (*Model, error) {
	// (1) Optimum / Transformers.js: onnx/vision_model*.onnx + onnx/text_model*.onnx.
	if v, t := firstExisting(src, onnxCandidates("onnx", "vision_model", quantized)),
		firstExisting(src, onnxCandidates("onnx", "text_model", quantized)); v != "" && t != "" {
		l := &Model{Kind: Optimum, Vision: src, Text: src, VisionFile: v, TextFile: t}
		return l, l.readSingle(src)
	}
	// (1b) One combined onnx/model*.onnx (Xenova Chinese-CLIP).
	if m := firstExisting(src, onnxCandidates("onnx", "model", quantized)); m != "" {
		l := &Model{Kind: Combined, Vision: src, Text: src, VisionFile: m, TextFile: m}
		return l, l.readSingle(src)
	}
	// (2) fastembed split pair, in one of three arrangements.
	if vs, ts, ok := findSplit(src); ok {
		return readSplit(vs, ts, quantized)
	}
	var hint string
	if src.exists("model.onnx") {
		hint = " (it has a model.onnx: for fastembed's split pair pass a directory holding both the -vision and -text directories, or vision/ and text/)"
	}
	return nil, fmt.Errorf("%s: no CLIP model found: want onnx/vision_model.onnx + onnx/text_model.onnx (Transformers.js/Optimum), onnx/model.onnx (combined), or fastembed's vision/ + text/ pair%s",
		src.Display("."), hint)
}

// findSplit finds fastembed's vision and text directories: vision/ and text/
// subdirectories, *-vision and *-text subdirectories, or src itself being
// one of a *-vision/*-text pair of siblings.
func findSplit(src Source) (vision, text Source, ok bool) {
	if src.exists("vision/model.onnx") && src.exists("text/model.onnx") {
		return sub(src, "vision"), sub(src, "text"), true
	}
	if vision, text, ok = splitChildren(src); ok {
		return vision, text, true
	}
	return splitSibling(src)
}

// splitChildren finds a *-vision and a *-text subdirectory of src, each with
// a model.onnx: a pair with the same prefix, else the only two there are.
func splitChildren(src Source) (vision, text Source, ok bool) {
	entries, err := fs.ReadDir(src.FS, ".")
	if err != nil {
		return Source{}, Source{}, false
	}
	var vs, ts []string
	for _, e := range entries {
		if !e.IsDir() || !src.exists(path.Join(e.Name(), "model.onnx")) {
			continue
		}
		switch {
		case strings.HasSuffix(e.Name(), "-vision"):
			vs = append(vs, e.Name())
		case strings.HasSuffix(e.Name(), "-text"):
			ts = append(ts, e.Name())
		}
	}
	for _, v := range vs {
		for _, t := range ts {
			if strings.TrimSuffix(v, "-vision") == strings.TrimSuffix(t, "-text") {
				return sub(src, v), sub(src, t), true
			}
		}
	}
	if len(vs) == 1 && len(ts) == 1 {
		return sub(src, vs[0]), sub(src, ts[0]), true
	}
	return Source{}, Source{}, false
}

// splitSibling handles src being the X-vision (or X-text) directory of a
// pair of siblings.
func splitSibling(src Source) (vision, text Source, ok bool) {
	if src.Dir == "" || !src.exists("model.onnx") {
		return Source{}, Source{}, false
	}
	base := filepath.Base(filepath.Clean(src.Dir))
	parent := filepath.Dir(filepath.Clean(src.Dir))
	switch {
	case strings.HasSuffix(base, "-vision"):
		other := filepath.Join(parent, strings.TrimSuffix(base, "-vision")+"-text")
		if fileExists(filepath.Join(other, "model.onnx")) {
			return src, DirSource(other), true
		}
	case strings.HasSuffix(base, "-text"):
		other := filepath.Join(parent, strings.TrimSuffix(base, "-text")+"-vision")
		if fileExists(filepath.Join(other, "model.onnx")) {
			return DirSource(other), src, true
		}
	}
	return Source{}, Source{}, false
}

func fileExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir()
}

func sub(s Source, rel string) Source {
	f, err := fs.Sub(s.FS, rel)
	if err != nil { // only for invalid paths, which callers never pass
		f = s.FS
	}
	out := Source{FS: f}
	if s.Dir != "" {
		out.Dir = filepath.Join(s.Dir, filepath.FromSlash(rel))
	}
	return out
}

// readSingle reads the config files of a one-directory layout.
func (l *Model) readSingle(src Source) error {
	ok, err := src.readJSON("config.json", &l.config)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%s: missing config.json", src.Display("."))
	}
	l.textConfig = l.config
	l.modelType = l.config.ModelType
	l.Chinese = l.modelType == "chinese_clip"
	l.Name = l.config.NameOrPath
	if l.Name == "" {
		l.Name = baseName(src)
	}
	l.Projection = l.config.ProjectionDim
	if err := l.readPreprocessor(src); err != nil {
		return err
	}
	if err := l.readTokenizer(src); err != nil {
		return err
	}
	l.hashFiles(src, "config.json", "preprocessor_config.json", l.TokenizerFile)
	l.hashSizes(src, l.VisionFile, l.TextFile)
	return nil
}

// readSplit reads fastembed's two directories.
func readSplit(vs, ts Source, quantized bool) (*Model, error) {
	l := &Model{Kind: Fastembed, Vision: vs, Text: ts}
	l.VisionFile = firstExisting(vs, onnxCandidates(".", "model", quantized))
	l.TextFile = firstExisting(ts, onnxCandidates(".", "model", quantized))
	if l.VisionFile == "" || l.TextFile == "" {
		return nil, fmt.Errorf("%s / %s: missing model.onnx", vs.Display("."), ts.Display("."))
	}
	if _, err := vs.readJSON("config.json", &l.config); err != nil {
		return nil, err
	}
	ok, err := ts.readJSON("config.json", &l.textConfig)
	if err != nil {
		return nil, err
	}
	if !ok {
		l.textConfig = l.config
	}
	l.modelType = strings.TrimSuffix(strings.TrimSuffix(l.config.ModelType, "_vision_model"), "_text_model")
	if l.modelType == "" {
		l.modelType = strings.TrimSuffix(l.textConfig.ModelType, "_text_model")
	}
	l.Chinese = l.modelType == "chinese_clip" || l.textConfig.ModelType == "bert" && l.config.ModelType == "chinese_clip_vision_model"
	l.Name = l.config.NameOrPath
	if l.Name == "" {
		l.Name = strings.TrimSuffix(baseName(vs), "-vision")
	}
	l.Projection = l.config.ProjectionDim
	if l.Projection == 0 {
		l.Projection = l.textConfig.ProjectionDim
	}
	if err := l.readPreprocessor(vs); err != nil {
		return nil, err
	}
	if err := l.readTokenizer(ts); err != nil {
		return nil, err
	}
	l.hashFiles(vs, "config.json", "preprocessor_config.json")
	l.hashFiles(ts, "config.json", l.TokenizerFile)
	l.hashSizes(vs, l.VisionFile)
	l.hashSizes(ts, l.TextFile)
	return l, nil
}

func baseName(s Source) string {
	if s.Dir == "" {
		return "model"
	}
	abs, err := filepath.Abs(s.Dir)
	if err != nil {
		abs = s.Dir
	}
	return filepath.Base(abs)
}

// readPreprocessor fills l.Pre from preprocessor_config.json: the input size
// from crop_size (centre crop) or size, mean and std from image_mean and
// image_std, and Squash when size gives height and width or do_center_crop is
// false (Chinese-CLIP), CenterCrop otherwise (OpenAI CLIP).
func (l *Model) readPreprocessor(src Source) error {
	var pc preprocessorConfig
	ok, err := src.readJSON("preprocessor_config.json", &pc)
	if err != nil {
		return err
	}
	file := src.Display("preprocessor_config.json")
	if !ok {
		return fmt.Errorf("%s: missing preprocessor_config.json (image size, mean and std are read from it)", src.Display("."))
	}
	crop, err := parseSize(pc.CropSize)
	if err != nil {
		return fmt.Errorf("%s: crop_size: %w", file, err)
	}
	size, err := parseSize(pc.Size)
	if err != nil {
		return fmt.Errorf("%s: size: %w", file, err)
	}
	centerCrop := pc.DoCenterCrop == nil || *pc.DoCenterCrop
	squash := !centerCrop || (size.height > 0 && size.width > 0)
	n, err := inputSide(crop, size, centerCrop, squash)
	if err == nil && n == 0 {
		n, err = l.configImageSize()
	}
	if err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	if len(pc.ImageMean) != 3 || len(pc.ImageStd) != 3 {
		return fmt.Errorf("%s: image_mean and image_std must have 3 values, got %d and %d",
			file, len(pc.ImageMean), len(pc.ImageStd))
	}
	l.Pre = preprocess.Preprocessor{Size: n, Mode: preprocess.CenterCrop}
	if squash {
		l.Pre.Mode = preprocess.Squash
	}
	copy(l.Pre.Mean[:], pc.ImageMean)
	copy(l.Pre.Std[:], pc.ImageStd)
	for i, s := range l.Pre.Std {
		if s == 0 {
			return fmt.Errorf("%s: image_std[%d] is 0", file, i)
		}
	}
	return nil
}

// side is the square side a size gives: shortest_edge, or height when it
// equals width; 0 when it gives none.
func (s sizeSpec) side() (int, error) {
	switch {
	case s.shortest > 0:
		return s.shortest, nil
	case s.height > 0 && s.height == s.width:
		return s.height, nil
	case s.height > 0:
		return 0, fmt.Errorf("non-square input %dx%d is not supported", s.width, s.height)
	}
	return 0, nil
}

// inputSide is the model's input side from crop_size and size; 0 when they
// give none.
func inputSide(crop, size sizeSpec, centerCrop, squash bool) (int, error) {
	if squash {
		// Squash resizes straight to the target; a later centre crop of the
		// same size is a no-op.
		n, err := size.side()
		if err == nil && n == 0 {
			n, err = crop.side()
		}
		if err == nil && !crop.empty() && centerCrop {
			if c, cerr := crop.side(); cerr == nil && c != 0 && c != n {
				err = fmt.Errorf("squash to %d then crop to %d is not supported", n, c)
			}
		}
		return n, err
	}
	n, err := crop.side()
	if err == nil && n == 0 {
		n, err = size.side()
	}
	if err == nil && size.shortest > 0 && n != size.shortest {
		err = fmt.Errorf("resize to %d then crop to %d is not supported (cliprag resizes the shorter side to the crop size)", size.shortest, n)
	}
	return n, err
}

// configImageSize is config.json's image size, for preprocessor configs
// that give none.
func (l *Model) configImageSize() (int, error) {
	n := l.config.VisionConfig.ImageSize
	if n == 0 {
		n = l.config.ImageSize
	}
	if n == 0 {
		return 0, errors.New("no crop_size or size")
	}
	return n, nil
}

// readTokenizer picks the tokenizer file (tokenizer.json, vocab.txt or
// OpenAI's merges .txt.gz) and the context length: tokenizer_config.json
// model_max_length when it is a real length (HF writes 1e30 for "none"),
// else the CLIP text config's max_position_embeddings (not for BERT towers,
// whose 512 is not the CLIP context), else left to the tokenizer. A
// Chinese-CLIP model without a real length gets ChineseCLIPContextLength.
func (l *Model) readTokenizer(src Source) error {
	for _, n := range []string{"tokenizer.json", "vocab.txt", "bpe_simple_vocab_16e6.txt.gz"} {
		if src.exists(n) {
			l.TokenizerFile = n
			break
		}
	}
	if l.TokenizerFile == "" {
		if m, _ := fs.Glob(src.FS, "*.txt.gz"); len(m) > 0 {
			l.TokenizerFile = m[0]
		}
	}
	if l.TokenizerFile == "" {
		return fmt.Errorf("%s: no tokenizer.json, vocab.txt or merges .txt.gz", src.Display("."))
	}
	var tc tokenizerConfig
	if _, err := src.readJSON("tokenizer_config.json", &tc); err != nil {
		return err
	}
	if tc.ModelMaxLength != nil && *tc.ModelMaxLength > 0 && *tc.ModelMaxLength < 100000 {
		l.ContextLength = int(*tc.ModelMaxLength)
	}
	if l.Chinese {
		// Chinese-CLIP is trained with 52 tokens; its tokenizer files often
		// carry BERT's 512 (or nothing), which is not the CLIP context.
		if l.ContextLength == 0 || l.ContextLength == 512 {
			l.ContextLength = ChineseCLIPContextLength
		}
		return nil
	}
	if l.ContextLength > 0 {
		return nil
	}
	if l.textConfig.TextConfig.ModelType != "bert" {
		if n := l.textConfig.TextConfig.MaxPositionEmbeddings; n > 0 {
			l.ContextLength = n
		} else if n := l.textConfig.MaxPositionEmbeddings; n > 0 && l.textConfig.ModelType != "bert" {
			l.ContextLength = n
		}
	}
	return nil
}

// LoadTokenizer loads the model's tokenizer file. Inside an embedded FS
// only tokenizer.json is supported (parsed with ContextLength when positive).
func (l *Model) LoadTokenizer() (tokenizer.Tokenizer, error) {
	src, rel := l.Text, l.TokenizerFile
	if p := src.Path(rel); p != "" {
		t, err := tokenizer.Load(p)
		if err != nil {
			return nil, fmt.Errorf("tokenizer %s: %w", p, err)
		}
		return t, nil
	}
	if path.Ext(rel) != ".json" {
		return nil, fmt.Errorf("tokenizer %s: only tokenizer.json is supported in an embedded model", src.Display(rel))
	}
	b, err := src.ReadFile(rel)
	if err != nil {
		return nil, fmt.Errorf("tokenizer %s: %w", src.Display(rel), err)
	}
	t, err := tokenizer.ParseJSON(b, l.ContextLength)
	if err != nil {
		return nil, fmt.Errorf("tokenizer %s: %w", src.Display(rel), err)
	}
	return t, nil
}

// TextPoolsFirst reports whether the text tower's last_hidden_state is
// pooled at the first token (BERT towers: Chinese-CLIP) rather than at the
// end-of-text token (CLIP text towers).
func (l *Model) TextPoolsFirst() bool {
	return l.Chinese || l.textConfig.ModelType == "bert" || l.textConfig.TextConfig.ModelType == "bert"
}

// TextCausal reports whether the text tower is a CLIP text transformer
// (causal attention, absolute positions): padding after the end-of-text
// token cannot change its output, so it can run at the real sequence
// length. BERT towers (Chinese-CLIP) attend both ways and are not causal.
func (l *Model) TextCausal() bool {
	return !l.TextPoolsFirst()
}

func (l *Model) hashFiles(src Source, names ...string) {
	for _, n := range names {
		if n == "" {
			continue
		}
		b, err := fs.ReadFile(src.FS, n)
		if err != nil {
			continue
		}
		h := sha256.Sum256(b)
		l.configHashes = append(l.configHashes, n+":"+hex.EncodeToString(h[:]))
	}
}

func (l *Model) hashSizes(src Source, names ...string) {
	for _, n := range names {
		l.configHashes = append(l.configHashes, fmt.Sprintf("%s:%d", n, src.size(n)))
	}
}

// ID is the id of a model loaded from a directory: its name and a short
// hash of its config and tokenizer files and ONNX file sizes, so two
// different local models of the same name do not share an index.
func (l *Model) ID() string {
	parts := append([]string(nil), l.configHashes...)
	sort.Strings(parts)
	h := sha256.New()
	for _, p := range parts {
		io.WriteString(h, p)
		io.WriteString(h, "\n")
	}
	return l.Name + "@" + hex.EncodeToString(h.Sum(nil))[:8]
}

// LogitScale returns the scale from the configs: logit_scale (exp'd) if
// written, else exp(logit_scale_init_value), else 0.
func (l *Model) LogitScale() float32 {
	for _, c := range []hfConfig{l.config, l.textConfig} {
		if c.LogitScale != nil && *c.LogitScale > 0 {
			return float32(*c.LogitScale)
		}
	}
	for _, c := range []hfConfig{l.config, l.textConfig} {
		if c.LogitScaleInit != nil {
			return float32(math.Exp(*c.LogitScaleInit))
		}
	}
	return 0
}
