package embed

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
)

// Layout names the on-disk arrangement a model was read from.
type Layout string

const (
	// LayoutOptimum is the Transformers.js / Optimum layout: config.json,
	// preprocessor_config.json, a tokenizer file and onnx/vision_model*.onnx
	// plus onnx/text_model*.onnx in one directory.
	LayoutOptimum Layout = "optimum"
	// LayoutCombined is the Transformers.js layout with a single
	// onnx/model*.onnx holding both towers (what Xenova's Chinese-CLIP
	// repositories ship). Each run feeds a one-item dummy input to the tower
	// it does not need, so it is slower than a split export.
	LayoutCombined Layout = "combined"
	// LayoutFastembed is fastembed's split pair: a vision directory and a
	// text directory, each with model.onnx and its own config files.
	LayoutFastembed Layout = "fastembed"
)

// source is a model's files: an OS directory, or an in-memory FS (the bundled
// model). Paths inside it use forward slashes.
type source struct {
	fsys fs.FS
	dir  string // OS directory behind fsys; "" for an embedded FS
}

func dirSource(dir string) source { return source{fsys: os.DirFS(dir), dir: dir} }

// display returns a human-readable location of rel.
func (s source) display(rel string) string {
	if s.dir != "" {
		return filepath.Join(s.dir, filepath.FromSlash(rel))
	}
	return "embedded:" + rel
}

func (s source) exists(rel string) bool {
	fi, err := fs.Stat(s.fsys, rel)
	return err == nil && !fi.IsDir()
}

func (s source) size(rel string) int64 {
	fi, err := fs.Stat(s.fsys, rel)
	if err != nil {
		return -1
	}
	return fi.Size()
}

// readJSON decodes the JSON file rel into v. It reports whether the file existed.
func (s source) readJSON(rel string, v any) (bool, error) {
	b, err := fs.ReadFile(s.fsys, rel)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read %s: %w", s.display(rel), err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return true, fmt.Errorf("parse %s: %w", s.display(rel), err)
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

// layout is everything Load reads from a model's files before it opens sessions.
type layout struct {
	kind     Layout
	vision   source // where the vision ONNX and preprocessor config live
	text     source // where the text ONNX and tokenizer live
	visionFn string // ONNX file (relative to vision)
	textFn   string // ONNX file (relative to text); equal to visionFn for LayoutCombined

	config       hfConfig // config.json (the vision one for fastembed)
	textConfig   hfConfig // config.json of the text dir (fastembed); else = config
	modelType    string   // "clip", "chinese_clip", ...
	name         string   // _name_or_path, or the directory name
	pre          preprocess.Preprocessor
	tokenizerFn  string // tokenizer file (relative to text)
	contextLen   int    // from tokenizer_config.json or config; 0 if unknown
	projection   int    // projection_dim; 0 if unknown
	chinese      bool
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

func firstExisting(s source, names []string) string {
	for _, n := range names {
		if s.exists(n) {
			return n
		}
	}
	return ""
}

// detectLayout reads a model directory (or embedded FS) and works out its layout.
func detectLayout(src source, quantized bool) (*layout, error) {
	// (1) Optimum / Transformers.js: onnx/vision_model*.onnx + onnx/text_model*.onnx.
	if v, t := firstExisting(src, onnxCandidates("onnx", "vision_model", quantized)),
		firstExisting(src, onnxCandidates("onnx", "text_model", quantized)); v != "" && t != "" {
		l := &layout{kind: LayoutOptimum, vision: src, text: src, visionFn: v, textFn: t}
		return l, l.readSingle(src)
	}
	// (1b) One combined onnx/model*.onnx (Xenova Chinese-CLIP).
	if m := firstExisting(src, onnxCandidates("onnx", "model", quantized)); m != "" {
		l := &layout{kind: LayoutCombined, vision: src, text: src, visionFn: m, textFn: m}
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
		src.display("."), hint)
}

// findSplit finds fastembed's vision and text directories: vision/ and text/
// subdirectories, *-vision and *-text subdirectories, or src itself being
// one of a *-vision/*-text pair of siblings.
func findSplit(src source) (vision, text source, ok bool) {
	has := func(s source, rel string) bool { return s.exists(path.Join(rel, "model.onnx")) }
	if has(src, "vision") && has(src, "text") {
		return sub(src, "vision"), sub(src, "text"), true
	}
	if entries, err := fs.ReadDir(src.fsys, "."); err == nil {
		var vs, ts []string
		for _, e := range entries {
			if !e.IsDir() {
				continue
			}
			switch {
			case strings.HasSuffix(e.Name(), "-vision") && has(src, e.Name()):
				vs = append(vs, e.Name())
			case strings.HasSuffix(e.Name(), "-text") && has(src, e.Name()):
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
	}
	if src.dir != "" && src.exists("model.onnx") {
		base := filepath.Base(filepath.Clean(src.dir))
		parent := filepath.Dir(filepath.Clean(src.dir))
		var other string
		switch {
		case strings.HasSuffix(base, "-vision"):
			other = filepath.Join(parent, strings.TrimSuffix(base, "-vision")+"-text")
			if fileExists(filepath.Join(other, "model.onnx")) {
				return src, dirSource(other), true
			}
		case strings.HasSuffix(base, "-text"):
			other = filepath.Join(parent, strings.TrimSuffix(base, "-text")+"-vision")
			if fileExists(filepath.Join(other, "model.onnx")) {
				return dirSource(other), src, true
			}
		}
	}
	return source{}, source{}, false
}

func fileExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir()
}

func sub(s source, rel string) source {
	f, err := fs.Sub(s.fsys, rel)
	if err != nil { // only for invalid paths, which callers never pass
		f = s.fsys
	}
	out := source{fsys: f}
	if s.dir != "" {
		out.dir = filepath.Join(s.dir, filepath.FromSlash(rel))
	}
	return out
}

// readSingle reads the config files of a one-directory layout.
func (l *layout) readSingle(src source) error {
	ok, err := src.readJSON("config.json", &l.config)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%s: missing config.json", src.display("."))
	}
	l.textConfig = l.config
	l.modelType = l.config.ModelType
	l.chinese = l.modelType == "chinese_clip"
	l.name = l.config.NameOrPath
	if l.name == "" {
		l.name = baseName(src)
	}
	l.projection = l.config.ProjectionDim
	if err := l.readPreprocessor(src); err != nil {
		return err
	}
	if err := l.readTokenizer(src); err != nil {
		return err
	}
	l.hashFiles(src, "config.json", "preprocessor_config.json", l.tokenizerFn)
	l.hashSizes(src, l.visionFn, l.textFn)
	return nil
}

// readSplit reads fastembed's two directories.
func readSplit(vs, ts source, quantized bool) (*layout, error) {
	l := &layout{kind: LayoutFastembed, vision: vs, text: ts}
	l.visionFn = firstExisting(vs, onnxCandidates(".", "model", quantized))
	l.textFn = firstExisting(ts, onnxCandidates(".", "model", quantized))
	if l.visionFn == "" || l.textFn == "" {
		return nil, fmt.Errorf("%s / %s: missing model.onnx", vs.display("."), ts.display("."))
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
	l.chinese = l.modelType == "chinese_clip" || l.textConfig.ModelType == "bert" && l.config.ModelType == "chinese_clip_vision_model"
	l.name = l.config.NameOrPath
	if l.name == "" {
		l.name = strings.TrimSuffix(baseName(vs), "-vision")
	}
	l.projection = l.config.ProjectionDim
	if l.projection == 0 {
		l.projection = l.textConfig.ProjectionDim
	}
	if err := l.readPreprocessor(vs); err != nil {
		return nil, err
	}
	if err := l.readTokenizer(ts); err != nil {
		return nil, err
	}
	l.hashFiles(vs, "config.json", "preprocessor_config.json")
	l.hashFiles(ts, "config.json", l.tokenizerFn)
	l.hashSizes(vs, l.visionFn)
	l.hashSizes(ts, l.textFn)
	return l, nil
}

func baseName(s source) string {
	if s.dir == "" {
		return "model"
	}
	abs, err := filepath.Abs(s.dir)
	if err != nil {
		abs = s.dir
	}
	return filepath.Base(abs)
}

// readPreprocessor fills l.pre from preprocessor_config.json: the input size
// from crop_size (centre crop) or size, mean and std from image_mean and
// image_std, and Squash when size gives height and width or do_center_crop is
// false (Chinese-CLIP), CenterCrop otherwise (OpenAI CLIP).
func (l *layout) readPreprocessor(src source) error {
	var pc preprocessorConfig
	ok, err := src.readJSON("preprocessor_config.json", &pc)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%s: missing preprocessor_config.json (image size, mean and std are read from it)", src.display("."))
	}
	crop, err := parseSize(pc.CropSize)
	if err != nil {
		return fmt.Errorf("%s: crop_size: %w", src.display("preprocessor_config.json"), err)
	}
	size, err := parseSize(pc.Size)
	if err != nil {
		return fmt.Errorf("%s: size: %w", src.display("preprocessor_config.json"), err)
	}
	centerCrop := pc.DoCenterCrop == nil || *pc.DoCenterCrop
	squash := !centerCrop || (size.height > 0 && size.width > 0)
	side := func(s sizeSpec) (int, error) {
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
	var n int
	if squash {
		// Squash resizes straight to the target; a later centre crop of the
		// same size is a no-op.
		if n, err = side(size); err == nil && n == 0 {
			n, err = side(crop)
		}
		if err == nil && !crop.empty() && centerCrop {
			if c, cerr := side(crop); cerr == nil && c != 0 && c != n {
				err = fmt.Errorf("squash to %d then crop to %d is not supported", n, c)
			}
		}
	} else {
		if n, err = side(crop); err == nil && n == 0 {
			n, err = side(size)
		}
		if err == nil && size.shortest > 0 && n != size.shortest {
			err = fmt.Errorf("resize to %d then crop to %d is not supported (cliprag resizes the shorter side to the crop size)", size.shortest, n)
		}
	}
	if err == nil && n == 0 {
		n = l.config.VisionConfig.ImageSize
		if n == 0 {
			n = l.config.ImageSize
		}
		if n == 0 {
			err = errors.New("no crop_size or size")
		}
	}
	if err != nil {
		return fmt.Errorf("%s: %w", src.display("preprocessor_config.json"), err)
	}
	if len(pc.ImageMean) != 3 || len(pc.ImageStd) != 3 {
		return fmt.Errorf("%s: image_mean and image_std must have 3 values, got %d and %d",
			src.display("preprocessor_config.json"), len(pc.ImageMean), len(pc.ImageStd))
	}
	l.pre = preprocess.Preprocessor{Size: n, Mode: preprocess.CenterCrop}
	if squash {
		l.pre.Mode = preprocess.Squash
	}
	copy(l.pre.Mean[:], pc.ImageMean)
	copy(l.pre.Std[:], pc.ImageStd)
	for i, s := range l.pre.Std {
		if s == 0 {
			return fmt.Errorf("%s: image_std[%d] is 0", src.display("preprocessor_config.json"), i)
		}
	}
	return nil
}

// readTokenizer picks the tokenizer file (tokenizer.json, vocab.txt or
// OpenAI's merges .txt.gz) and the context length: tokenizer_config.json
// model_max_length when it is a real length (HF writes 1e30 for "none"),
// else the CLIP text config's max_position_embeddings (not for BERT towers,
// whose 512 is not the CLIP context), else left to the tokenizer. A
// Chinese-CLIP model without a real length gets ChineseCLIPContextLength.
func (l *layout) readTokenizer(src source) error {
	for _, n := range []string{"tokenizer.json", "vocab.txt", "bpe_simple_vocab_16e6.txt.gz"} {
		if src.exists(n) {
			l.tokenizerFn = n
			break
		}
	}
	if l.tokenizerFn == "" {
		if m, _ := fs.Glob(src.fsys, "*.txt.gz"); len(m) > 0 {
			l.tokenizerFn = m[0]
		}
	}
	if l.tokenizerFn == "" {
		return fmt.Errorf("%s: no tokenizer.json, vocab.txt or merges .txt.gz", src.display("."))
	}
	var tc tokenizerConfig
	if _, err := src.readJSON("tokenizer_config.json", &tc); err != nil {
		return err
	}
	if tc.ModelMaxLength != nil && *tc.ModelMaxLength > 0 && *tc.ModelMaxLength < 100000 {
		l.contextLen = int(*tc.ModelMaxLength)
	}
	if l.chinese {
		// Chinese-CLIP is trained with 52 tokens; its tokenizer files often
		// carry BERT's 512 (or nothing), which is not the CLIP context.
		if l.contextLen == 0 || l.contextLen == 512 {
			l.contextLen = ChineseCLIPContextLength
		}
		return nil
	}
	if l.contextLen > 0 {
		return nil
	}
	if l.textConfig.TextConfig.ModelType != "bert" {
		if n := l.textConfig.TextConfig.MaxPositionEmbeddings; n > 0 {
			l.contextLen = n
		} else if n := l.textConfig.MaxPositionEmbeddings; n > 0 && l.textConfig.ModelType != "bert" {
			l.contextLen = n
		}
	}
	return nil
}

func (l *layout) hashFiles(src source, names ...string) {
	for _, n := range names {
		if n == "" {
			continue
		}
		b, err := fs.ReadFile(src.fsys, n)
		if err != nil {
			continue
		}
		h := sha256.Sum256(b)
		l.configHashes = append(l.configHashes, n+":"+hex.EncodeToString(h[:]))
	}
}

func (l *layout) hashSizes(src source, names ...string) {
	for _, n := range names {
		l.configHashes = append(l.configHashes, fmt.Sprintf("%s:%d", n, src.size(n)))
	}
}

// dirID is the id of a model loaded from a directory: its name and a short
// hash of its config and tokenizer files and ONNX file sizes, so two
// different local models of the same name do not share an index.
func (l *layout) dirID() string {
	parts := append([]string(nil), l.configHashes...)
	sort.Strings(parts)
	h := sha256.New()
	for _, p := range parts {
		io.WriteString(h, p)
		io.WriteString(h, "\n")
	}
	return l.name + "@" + hex.EncodeToString(h.Sum(nil))[:8]
}

// logitScale returns the scale from the configs: logit_scale (exp'd) if
// written, else exp(logit_scale_init_value), else 0.
func (l *layout) logitScale() float32 {
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
