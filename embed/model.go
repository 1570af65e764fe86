package embed

import (
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	"github.com/cliprag/cliprag/embed/hub"
	"github.com/cliprag/cliprag/embed/onnx"
	"github.com/cliprag/cliprag/embed/preprocess"
	"github.com/cliprag/cliprag/embed/tokenizer"
	"github.com/cliprag/cliprag/embed/zeroshot"
)

// DefaultBatchSize is the number of inputs per ONNX run unless WithBatchSize
// says otherwise.
const DefaultBatchSize = 16

// Option configures Load.
type Option func(*options)

type options struct {
	cacheDir  string
	device    string
	threads   int
	quantized bool
	batch     int
	progress  io.Writer
	offline   bool
	library   string
	maxPixels int64
	endpoint  string
	token     string
	log       io.Writer
}

// WithCacheDir sets cliprag's cache directory (downloaded models and the ONNX
// Runtime library). Default: $CLIPRAG_CACHE, else the OS user cache dir + "cliprag".
func WithCacheDir(dir string) Option { return func(o *options) { o.cacheDir = dir } }

// WithDevice selects "cpu" (default) or "cuda". CUDA falls back to the CPU,
// with a notice, when the CUDA execution provider is not available.
func WithDevice(device string) Option { return func(o *options) { o.device = device } }

// WithThreads sets ONNX Runtime's intra-op threads per session; default runtime.NumCPU().
func WithThreads(n int) Option { return func(o *options) { o.threads = n } }

// WithQuantized picks the quantized ONNX files (onnx/vision_model_quantized.onnx …)
// when the model has them.
func WithQuantized(q bool) Option { return func(o *options) { o.quantized = q } }

// WithBatchSize sets how many inputs go into one ONNX run; default DefaultBatchSize.
func WithBatchSize(n int) Option { return func(o *options) { o.batch = n } }

// WithProgress sends download progress (model files and the runtime library) to w.
func WithProgress(w io.Writer) Option { return func(o *options) { o.progress = w } }

// WithOffline forbids network access: registry models must already be in the cache.
func WithOffline(offline bool) Option { return func(o *options) { o.offline = offline } }

// WithLibrary sets the path of the ONNX Runtime shared library.
func WithLibrary(path string) Option { return func(o *options) { o.library = path } }

// WithMaxPixels sets the largest declared width×height an image file may
// have; 0 keeps the preprocessor's default (100 megapixels).
func WithMaxPixels(n int64) Option { return func(o *options) { o.maxPixels = n } }

// WithEndpoint sets the Hugging Face endpoint models are downloaded from;
// default $HF_ENDPOINT, else https://huggingface.co.
func WithEndpoint(url string) Option { return func(o *options) { o.endpoint = url } }

// WithToken sets the Hugging Face access token; default $HF_TOKEN.
func WithToken(token string) Option { return func(o *options) { o.token = token } }

// WithLog sets where notices (such as a CUDA fallback) go; default os.Stderr.
func WithLog(w io.Writer) Option { return func(o *options) { o.log = w } }

// Model is a loaded CLIP model: an image tower, a text tower, their
// tokenizer and preprocessor. Its methods are safe for concurrent use.
type Model struct {
	id, name   string
	layout     Layout
	dir        string // model directory; "" for the bundled model
	dim        int
	logitScale float32
	ctxLen     int
	pre        preprocess.Preprocessor
	tok        tokenizer.Tokenizer
	chinese    bool
	batch      int
	threads    int

	vision, text *tower

	mu     sync.RWMutex // embedding calls hold it shared, Close exclusively
	closed bool
}

// inputKind is what a model input is fed with.
type inputKind int

const (
	inPixels inputKind = iota
	inIDs
	inMask
	inTypes
)

// tower is one encoder: a session, how to feed it and which output to read.
type tower struct {
	sess   *onnx.Session
	inputs map[string]inputKind
	output string
	rank3  bool // output is [batch, seq, dim] (last_hidden_state): pool one row
	cls    bool // pool the first token (BERT, vision) rather than the end token (CLIP text)
}

// cacheDir resolves the cache directory.
func (o *options) cache() (string, error) {
	if o.cacheDir != "" {
		return o.cacheDir, nil
	}
	if d := os.Getenv("CLIPRAG_CACHE"); d != "" {
		return d, nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("find a cache directory (set CLIPRAG_CACHE): %w", err)
	}
	return filepath.Join(d, "cliprag"), nil
}

// Load opens a model. ref is a registry name (see Models; "" means
// DefaultModel) or a model directory. A registry model is downloaded into the
// cache on first use (resumable, sha256-checked where the registry knows
// the digest); a directory is read as it is and never touches the network.
//
// Load initialises ONNX Runtime (see package embed/onnx for how the library
// is found) and reads input/output names, image size, crop mode, mean/std
// and context length from the model's files.
func Load(ctx context.Context, ref string, opts ...Option) (*Model, error) {
	o := options{threads: runtime.NumCPU(), batch: DefaultBatchSize, device: "cpu"}
	for _, f := range opts {
		f(&o)
	}
	if o.batch <= 0 {
		return nil, fmt.Errorf("load %s: batch size must be positive, got %d", ref, o.batch)
	}
	if o.threads <= 0 {
		o.threads = runtime.NumCPU()
	}
	if o.device == "" {
		o.device = "cpu"
	}
	if o.device != "cpu" && o.device != "cuda" {
		return nil, fmt.Errorf("load %s: unknown device %q (want cpu or cuda)", ref, o.device)
	}
	if ref == "" {
		ref = DefaultModel
	}

	var (
		src   source
		entry RegistryEntry
		reg   bool
	)
	if e, ok := Lookup(ref); ok && !isPathLike(ref) {
		entry, reg = e, true
	}
	cache, cacheErr := o.cache()
	switch {
	case reg && entry.Bundled:
		src = source{fsys: bundledFS()}
	case reg:
		if cacheErr != nil {
			return nil, fmt.Errorf("load %s: %w", ref, cacheErr)
		}
		dir, err := download(ctx, entry, cache, &o)
		if err != nil {
			return nil, fmt.Errorf("load %s: %w", ref, err)
		}
		src = dirSource(dir)
	default:
		fi, err := os.Stat(ref)
		if err != nil {
			names := make([]string, 0)
			for _, e := range Models() {
				names = append(names, e.Name)
			}
			return nil, fmt.Errorf("load %s: not a registry model (%s) and not a directory: %w",
				ref, strings.Join(names, ", "), err)
		}
		if !fi.IsDir() {
			return nil, fmt.Errorf("load %s: not a directory (a model is a directory with config.json and onnx/*.onnx)", ref)
		}
		src = dirSource(ref)
	}

	l, err := detectLayout(src, o.quantized)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", ref, err)
	}

	libOpts := onnx.LibraryOptions{Path: o.library, Progress: o.progress, Offline: o.offline}
	if cacheErr == nil {
		libOpts.CacheDir = cache
	}
	if err := onnx.Init(ctx, libOpts); err != nil {
		return nil, fmt.Errorf("load %s: %w", ref, err)
	}

	m := &Model{
		layout:  l.kind,
		dir:     src.dir,
		pre:     l.pre,
		chinese: l.chinese,
		batch:   o.batch,
		threads: o.threads,
	}
	m.pre.MaxPixels = o.maxPixels
	if reg {
		m.id, m.name = entry.Name, entry.Name
	} else {
		m.id, m.name = l.dirID(), l.name
	}

	m.tok, err = loadTokenizer(l.text, l.tokenizerFn, l.contextLen)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", ref, err)
	}
	m.ctxLen = l.contextLen
	if reg && entry.ContextLength > 0 {
		m.ctxLen = entry.ContextLength
	}
	if m.ctxLen == 0 {
		m.ctxLen = m.tok.ContextLength()
	}

	m.logitScale = l.logitScale()
	if reg && entry.LogitScale > 0 {
		m.logitScale = entry.LogitScale
	}
	if m.logitScale <= 0 {
		m.logitScale = 100 // OpenAI CLIP's trained value, when the files say nothing
	}

	so := onnx.SessionOptions{Threads: o.threads, Device: o.device, Log: o.log}
	vs, err := openSession(l.vision, l.visionFn, so)
	if err != nil {
		return nil, fmt.Errorf("load %s: vision model: %w", ref, err)
	}
	ts := vs
	if l.kind != LayoutCombined {
		if ts, err = openSession(l.text, l.textFn, so); err != nil {
			vs.Close()
			return nil, fmt.Errorf("load %s: text model: %w", ref, err)
		}
	}
	fail := func(err error) (*Model, error) {
		vs.Close()
		if ts != vs {
			ts.Close()
		}
		return nil, fmt.Errorf("load %s: %w", ref, err)
	}
	if m.vision, err = newTower(vs, inPixels, []string{"image_embeds"}, true); err != nil {
		return fail(fmt.Errorf("vision model %s: %w", l.vision.display(l.visionFn), err))
	}
	textCLS := l.chinese || l.textConfig.ModelType == "bert" || l.textConfig.TextConfig.ModelType == "bert"
	if m.text, err = newTower(ts, inIDs, []string{"text_embeds"}, textCLS); err != nil {
		return fail(fmt.Errorf("text model %s: %w", l.text.display(l.textFn), err))
	}
	if err := m.checkInputs(); err != nil {
		return fail(err)
	}

	// Dimension: projection_dim, else the output's static last dimension,
	// else one probe run of the text tower.
	m.dim = l.projection
	for _, t := range []*tower{m.vision, m.text} {
		for _, oi := range t.sess.Outputs() {
			if oi.Name == t.output && len(oi.Shape) > 0 {
				if d := oi.Shape[len(oi.Shape)-1]; d > 0 {
					if m.dim != 0 && int(d) != m.dim {
						return fail(fmt.Errorf("output %s has dimension %d, config says %d", oi.Name, d, m.dim))
					}
					m.dim = int(d)
				}
			}
		}
	}
	if m.dim == 0 {
		v, err := m.embedTextBatch(ctx, []string{""})
		if err != nil {
			return fail(fmt.Errorf("probe text tower: %w", err))
		}
		m.dim = len(v[0])
	}
	return m, nil
}

// isPathLike reports whether ref names a filesystem path rather than a registry name.
func isPathLike(ref string) bool {
	return strings.ContainsAny(ref, `/\`) || strings.HasPrefix(ref, ".")
}

// download fetches a registry model into the cache and returns its directory.
func download(ctx context.Context, e RegistryEntry, cache string, o *options) (string, error) {
	endpoint := o.endpoint
	if endpoint == "" {
		endpoint = os.Getenv("HF_ENDPOINT")
	}
	token := o.token
	if token == "" {
		token = os.Getenv("HF_TOKEN")
	}
	var files []hub.File
	for _, f := range e.files(o.quantized) {
		files = append(files, hub.File{Path: f, SHA256: e.SHA256[f]})
	}
	dir, err := hub.Download(ctx, hub.Request{
		Endpoint: endpoint,
		Token:    token,
		Repo:     e.Repo,
		Revision: e.Revision,
		Files:    files,
		Dest:     hub.ModelDir(cache, e.Repo, e.Revision),
		Progress: o.progress,
		Offline:  o.offline,
	})
	if err != nil {
		return "", fmt.Errorf("download %s (%s@%s): %w", e.Name, e.Repo, e.Revision, err)
	}
	return dir, nil
}

// loadTokenizer loads the tokenizer file rel of src. Inside an embedded FS
// only tokenizer.json is supported (parsed with contextLen when positive).
func loadTokenizer(src source, rel string, contextLen int) (tokenizer.Tokenizer, error) {
	if src.dir != "" {
		p := filepath.Join(src.dir, filepath.FromSlash(rel))
		t, err := tokenizer.Load(p)
		if err != nil {
			return nil, fmt.Errorf("tokenizer %s: %w", p, err)
		}
		return t, nil
	}
	if path.Ext(rel) != ".json" {
		return nil, fmt.Errorf("tokenizer %s: only tokenizer.json is supported in an embedded model", src.display(rel))
	}
	b, err := fs.ReadFile(src.fsys, rel)
	if err != nil {
		return nil, fmt.Errorf("tokenizer %s: %w", src.display(rel), err)
	}
	t, err := tokenizer.ParseJSON(b, contextLen)
	if err != nil {
		return nil, fmt.Errorf("tokenizer %s: %w", src.display(rel), err)
	}
	return t, nil
}

// openSession opens the ONNX file rel of src: by path for a directory (so
// external data files next to it are found), from memory for an embedded FS.
func openSession(src source, rel string, so onnx.SessionOptions) (*onnx.Session, error) {
	if src.dir != "" {
		return onnx.NewSessionFromFile(filepath.Join(src.dir, filepath.FromSlash(rel)), so)
	}
	b, err := fs.ReadFile(src.fsys, rel)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", src.display(rel), err)
	}
	return onnx.NewSessionFromBytes(b, so)
}

// newTower classifies the session's inputs and picks its output: the first
// of prefer that exists, else the only output, else pooler_output, else
// last_hidden_state (pooled: the first token for vision and BERT towers, the
// end-of-text token for CLIP text towers).
func newTower(s *onnx.Session, primary inputKind, prefer []string, cls bool) (*tower, error) {
	t := &tower{sess: s, inputs: map[string]inputKind{}, cls: cls}
	ins := s.Inputs()
	for _, in := range ins {
		switch {
		case in.Name == "pixel_values":
			t.inputs[in.Name] = inPixels
		case in.Name == "input_ids":
			t.inputs[in.Name] = inIDs
		case in.Name == "attention_mask":
			t.inputs[in.Name] = inMask
		case in.Name == "token_type_ids":
			t.inputs[in.Name] = inTypes
		case len(ins) == 1: // a single input of another name is the tower's own input
			t.inputs[in.Name] = primary
		case in.Type == "float32" && len(in.Shape) == 4:
			t.inputs[in.Name] = inPixels
		default:
			return nil, fmt.Errorf("input %q (%s %v) is not one cliprag knows how to feed (pixel_values, input_ids, attention_mask, token_type_ids)",
				in.Name, in.Type, in.Shape)
		}
	}
	found := false
	for _, k := range t.inputs {
		found = found || k == primary
	}
	if !found {
		return nil, fmt.Errorf("no %s input among %v", map[inputKind]string{inPixels: "pixel_values", inIDs: "input_ids"}[primary], names(ins))
	}
	outs := s.Outputs()
	has := func(n string) *onnx.TensorInfo {
		for i := range outs {
			if outs[i].Name == n {
				return &outs[i]
			}
		}
		return nil
	}
	var pick *onnx.TensorInfo
	for _, n := range prefer {
		if pick = has(n); pick != nil {
			break
		}
	}
	if pick == nil && len(outs) == 1 {
		pick = &outs[0]
	}
	if pick == nil {
		pick = has("pooler_output")
	}
	if pick == nil {
		pick = has("last_hidden_state")
	}
	if pick == nil {
		return nil, fmt.Errorf("no embedding output among %v (want %s, pooler_output or last_hidden_state)", names(outs), strings.Join(prefer, ", "))
	}
	t.output = pick.Name
	switch len(pick.Shape) {
	case 2, 0:
	case 3:
		t.rank3 = true
	default:
		return nil, fmt.Errorf("output %q has rank %d, want 2 or 3", pick.Name, len(pick.Shape))
	}
	return t, nil
}

func names(infos []onnx.TensorInfo) []string {
	out := make([]string, len(infos))
	for i, in := range infos {
		out[i] = in.Name
	}
	return out
}

// checkInputs checks that static input shapes agree with the preprocessor
// and the context length.
func (m *Model) checkInputs() error {
	for _, t := range []*tower{m.vision, m.text} {
		for _, in := range t.sess.Inputs() {
			switch t.inputs[in.Name] {
			case inPixels:
				if len(in.Shape) == 4 {
					for _, d := range in.Shape[2:] {
						if d > 0 && int(d) != m.pre.Size {
							return fmt.Errorf("input %s wants %v, preprocessor_config.json says %d", in.Name, in.Shape, m.pre.Size)
						}
					}
				}
			default:
				if len(in.Shape) == 2 && in.Shape[1] > 0 && int(in.Shape[1]) != m.ctxLen {
					// A fixed sequence length in the graph wins over the configs.
					m.ctxLen = int(in.Shape[1])
				}
			}
		}
	}
	if m.ctxLen <= 1 {
		return fmt.Errorf("context length %d is too short", m.ctxLen)
	}
	return nil
}

// ID is the stable identifier recorded in an index built with this model:
// the registry name for registry models ("clip-vit-b-32"); for a directory,
// config.json's _name_or_path (else the directory name) + "@" + the first 8
// hex digits of a sha256 over its config and tokenizer files and ONNX file
// sizes, so two different local models never share an index.
func (m *Model) ID() string { return m.id }

// Name is a human-readable name: the registry name, or the model's
// _name_or_path or directory name.
func (m *Model) Name() string { return m.name }

// Dim is the embedding dimension.
func (m *Model) Dim() int { return m.dim }

// LogitScale is the trained, exponentiated logit scale used by zero-shot
// classification (100 for OpenAI CLIP and Chinese-CLIP).
func (m *Model) LogitScale() float32 { return m.logitScale }

// ContextLength is the number of tokens the text tower takes; shorter texts
// are padded with the tokenizer's PadID, longer ones truncated.
func (m *Model) ContextLength() int { return m.ctxLen }

// Preprocessor is the image preprocessing the vision tower expects, for
// callers (the ingest pipeline) that prepare tensors themselves and pass them
// to EmbedPixels.
func (m *Model) Preprocessor() preprocess.Preprocessor { return m.pre }

// Tokenizer is the text tower's tokenizer.
func (m *Model) Tokenizer() tokenizer.Tokenizer { return m.tok }

// Device is the execution provider in use: "cpu" or "cuda".
func (m *Model) Device() string { return m.vision.sess.Device() }

// Layout is the file layout the model was read from.
func (m *Model) Layout() Layout { return m.layout }

// Chinese reports whether the model is a Chinese-CLIP model (its default
// zero-shot template is Chinese).
func (m *Model) Chinese() bool { return m.chinese }

// BatchSize is the number of inputs per ONNX run.
func (m *Model) BatchSize() int { return m.batch }

// Close releases the sessions. Calls made after Close return an error.
func (m *Model) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil
	}
	m.closed = true
	err := m.vision.sess.Close()
	if m.text.sess != m.vision.sess {
		err = errors.Join(err, m.text.sess.Close())
	}
	return err
}

var errClosed = errors.New("model is closed")

// begin takes the shared lock; the caller must call m.mu.RUnlock.
func (m *Model) begin() error {
	m.mu.RLock()
	if m.closed {
		m.mu.RUnlock()
		return errClosed
	}
	return nil
}

// EmbedTexts returns the L2-normalised embeddings of texts, in order.
func (m *Model) EmbedTexts(ctx context.Context, texts []string) ([][]float32, error) {
	if err := m.begin(); err != nil {
		return nil, fmt.Errorf("embed texts: %w", err)
	}
	defer m.mu.RUnlock()
	out := make([][]float32, 0, len(texts))
	for i := 0; i < len(texts); i += m.batch {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("embed texts: %w", err)
		}
		v, err := m.embedTextBatch(ctx, texts[i:min(i+m.batch, len(texts))])
		if err != nil {
			return nil, fmt.Errorf("embed texts %d–%d: %w", i, min(i+m.batch, len(texts))-1, err)
		}
		out = append(out, v...)
	}
	return out, nil
}

// EmbedImages returns the L2-normalised embeddings of decoded images, in order.
func (m *Model) EmbedImages(ctx context.Context, imgs []image.Image) ([][]float32, error) {
	for i, img := range imgs {
		if img == nil || img.Bounds().Empty() {
			return nil, fmt.Errorf("embed images: image %d is nil or empty", i)
		}
	}
	return m.embedImages(ctx, len(imgs), func(i int, dst []float32) error {
		m.pre.ImageInto(dst, imgs[i])
		return nil
	})
}

// EmbedImageFiles decodes, preprocesses and embeds the image files at
// paths, in order. An unreadable or invalid file fails the call with an
// error naming it.
func (m *Model) EmbedImageFiles(ctx context.Context, paths []string) ([][]float32, error) {
	return m.embedImages(ctx, len(paths), func(i int, dst []float32) error {
		v, err := m.pre.LoadFile(paths[i])
		if err != nil {
			return err
		}
		copy(dst, v)
		return nil
	})
}

// EmbedPixels embeds tensors already made by Preprocessor (3×Size×Size,
// channel-major), for pipelines that decode on their own workers.
func (m *Model) EmbedPixels(ctx context.Context, pixels [][]float32) ([][]float32, error) {
	want := 3 * m.pre.Size * m.pre.Size
	for i, p := range pixels {
		if len(p) != want {
			return nil, fmt.Errorf("embed pixels: tensor %d has %d values, want 3×%d×%d = %d", i, len(p), m.pre.Size, m.pre.Size, want)
		}
	}
	return m.embedImages(ctx, len(pixels), func(i int, dst []float32) error {
		copy(dst, pixels[i])
		return nil
	})
}

// embedImages prepares each batch's tensors concurrently (up to the thread
// count) and runs the vision tower batch by batch.
func (m *Model) embedImages(ctx context.Context, n int, get func(i int, dst []float32) error) ([][]float32, error) {
	if err := m.begin(); err != nil {
		return nil, fmt.Errorf("embed images: %w", err)
	}
	defer m.mu.RUnlock()
	out := make([][]float32, 0, n)
	size := 3 * m.pre.Size * m.pre.Size
	workers := max(1, min(m.threads, runtime.GOMAXPROCS(0)))
	for start := 0; start < n; start += m.batch {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("embed images: %w", err)
		}
		end := min(start+m.batch, n)
		buf := make([]float32, (end-start)*size)
		errs := make([]error, end-start)
		var wg sync.WaitGroup
		next := make(chan int)
		for w := 0; w < min(workers, end-start); w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range next {
					errs[i-start] = get(i, buf[(i-start)*size:(i-start+1)*size])
				}
			}()
		}
		for i := start; i < end; i++ {
			next <- i
		}
		close(next)
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return nil, fmt.Errorf("embed images: %w", err)
		}
		v, err := m.runVision(ctx, buf, end-start)
		if err != nil {
			return nil, fmt.Errorf("embed images %d–%d: %w", start, end-1, err)
		}
		out = append(out, v...)
	}
	return out, nil
}

// runVision runs the vision tower on n tensors laid out in pixels.
func (m *Model) runVision(ctx context.Context, pixels []float32, n int) ([][]float32, error) {
	s := int64(m.pre.Size)
	feeds := map[string]onnx.Tensor{}
	var dummy []int64
	for name, k := range m.vision.inputs {
		switch k {
		case inPixels:
			feeds[name] = onnx.Tensor{Shape: []int64{int64(n), 3, s, s}, Float32: pixels}
		default:
			// A combined model also wants text: feed one empty caption.
			if dummy == nil {
				dummy = m.tok.Encode("")
			}
			feeds[name] = m.textTensor(k, [][]int64{dummy})
		}
	}
	res, err := m.vision.sess.Run(ctx, feeds, []string{m.vision.output})
	if err != nil {
		return nil, err
	}
	return m.rows(m.vision, res[m.vision.output], n, nil)
}

// encode tokenises texts, fitting each to the context length: a longer
// sequence keeps its first ContextLength-1 ids and its last (end) id.
func (m *Model) encode(texts []string) [][]int64 {
	ids := make([][]int64, len(texts))
	for i, t := range texts {
		e := m.tok.Encode(t)
		if len(e) > m.ctxLen {
			e = append(append([]int64(nil), e[:m.ctxLen-1]...), e[len(e)-1])
		}
		ids[i] = e
	}
	return ids
}

// textTensor builds the input of kind k for the token sequences ids, padded
// to the context length.
func (m *Model) textTensor(k inputKind, ids [][]int64) onnx.Tensor {
	n, c := len(ids), m.ctxLen
	data := make([]int64, n*c)
	pad := m.tok.PadID()
	for i, seq := range ids {
		row := data[i*c : (i+1)*c]
		for j := range row {
			switch k {
			case inIDs:
				row[j] = pad
				if j < len(seq) {
					row[j] = seq[j]
				}
			case inMask:
				if j < len(seq) {
					row[j] = 1
				}
			case inTypes:
				// zeros
			}
		}
	}
	return onnx.Tensor{Shape: []int64{int64(n), int64(c)}, Int64: data}
}

func (m *Model) embedTextBatch(ctx context.Context, texts []string) ([][]float32, error) {
	ids := m.encode(texts)
	feeds := map[string]onnx.Tensor{}
	for name, k := range m.text.inputs {
		switch k {
		case inPixels:
			// A combined model also wants an image: feed one blank image.
			s := int64(m.pre.Size)
			feeds[name] = onnx.Tensor{Shape: []int64{1, 3, s, s}, Float32: make([]float32, 3*s*s)}
		default:
			feeds[name] = m.textTensor(k, ids)
		}
	}
	res, err := m.text.sess.Run(ctx, feeds, []string{m.text.output})
	if err != nil {
		return nil, err
	}
	return m.rows(m.text, res[m.text.output], len(texts), ids)
}

// rows splits an output tensor into n normalised vectors, pooling rank-3
// outputs (the first token, or for CLIP text the end-of-text token, which is
// the last id of each sequence).
func (m *Model) rows(t *tower, out onnx.Tensor, n int, ids [][]int64) ([][]float32, error) {
	if out.Float32 == nil {
		return nil, fmt.Errorf("output %s is not float", t.output)
	}
	sh := out.Shape
	var seq, d int
	switch {
	case !t.rank3 && len(sh) == 2:
		seq, d = 1, int(sh[1])
	case t.rank3 && len(sh) == 3:
		seq, d = int(sh[1]), int(sh[2])
	default:
		return nil, fmt.Errorf("output %s has shape %v", t.output, sh)
	}
	if int(sh[0]) != n || len(out.Float32) != n*seq*d || d == 0 {
		return nil, fmt.Errorf("output %s has shape %v for %d inputs", t.output, sh, n)
	}
	if m.dim != 0 && d != m.dim {
		return nil, fmt.Errorf("output %s has dimension %d, want %d", t.output, d, m.dim)
	}
	res := make([][]float32, n)
	for i := range res {
		tok := 0
		if t.rank3 && !t.cls && ids != nil {
			tok = min(len(ids[i]), seq) - 1
		}
		off := (i*seq + tok) * d
		v := make([]float32, d)
		copy(v, out.Float32[off:off+d])
		normalize(v)
		res[i] = v
	}
	return res, nil
}

// normalize scales v to unit length in place; a zero vector stays zero.
func normalize(v []float32) { zeroshot.Normalize(v) }
