package embed

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"runtime"
	"strings"

	"github.com/cliprag/cliprag/embed/hub"
	"github.com/cliprag/cliprag/embed/layout"
	"github.com/cliprag/cliprag/embed/onnx"
	"github.com/cliprag/cliprag/embed/progress"
	"github.com/cliprag/cliprag/embed/registry"
)

// Defaults of Load's options.
const (
	// DefaultBatchSize is the number of inputs per ONNX run unless
	// WithBatchSize says otherwise.
	DefaultBatchSize = 16
	// DefaultTextCacheSize is the number of text embeddings a Model keeps
	// (labels, templates, repeated queries) unless WithTextCache says
	// otherwise.
	DefaultTextCacheSize = 1024
	// defaultLogitScale is OpenAI CLIP's trained value, used when neither the
	// registry nor the files give one.
	defaultLogitScale = 100
)

// Option configures Load.
type Option func(*options)

type options struct {
	cacheDir   string
	device     string
	threads    int
	quantized  bool
	batch      int
	progress   progress.Func
	offline    bool
	library    string
	maxPixels  int64
	endpoint   string
	token      string
	log        io.Writer
	textCache  int
	ortURL     string // ONNX Runtime release archives; "": the official ones
	npm        string // npm registry for onnxruntime-node; "": registry.npmjs.org
	padContext bool   // pad text to the context length even where the graph allows less (tests)
	copies     SessionCache
}

// WithCacheDir sets cliprag's cache directory (downloaded models and the ONNX
// Runtime library). Default: the OS user cache dir + "cliprag".
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

// WithProgress renders download progress (model files and the runtime
// library) on w with package progress: a bar on a terminal, a plain line
// now and then otherwise. nil turns it off.
func WithProgress(w io.Writer) Option { return func(o *options) { o.progress = progress.Writer(w) } }

// WithOffline forbids network access: registry models must already be in the cache.
func WithOffline(offline bool) Option { return func(o *options) { o.offline = offline } }

// WithLibrary sets the path of the ONNX Runtime shared library; default:
// search the system, then the cache, then download (see package embed/onnx).
func WithLibrary(path string) Option { return func(o *options) { o.library = path } }

// WithRuntimeDownload sets where ONNX Runtime is downloaded from when no
// library is found: the base URL of the official release archives and the
// npm registry that serves onnxruntime-node (mirrors); empty keeps the
// default.
func WithRuntimeDownload(releaseURL, npmRegistry string) Option {
	return func(o *options) { o.ortURL, o.npm = releaseURL, npmRegistry }
}

// WithMaxPixels sets the largest declared width×height an image file may
// have; 0 keeps the preprocessor's default (100 megapixels).
func WithMaxPixels(n int64) Option { return func(o *options) { o.maxPixels = n } }

// WithEndpoint sets the Hugging Face endpoint models are downloaded from;
// default https://huggingface.co (hub.DefaultEndpoint).
func WithEndpoint(url string) Option { return func(o *options) { o.endpoint = url } }

// WithToken sets the Hugging Face access token; default none.
func WithToken(token string) Option { return func(o *options) { o.token = token } }

// WithLog sets where notices (such as a CUDA fallback) go; default os.Stderr.
func WithLog(w io.Writer) Option { return func(o *options) { o.log = w } }

// WithTextCache sets how many text embeddings the model keeps, least
// recently used first out; 0 turns the cache off. Default DefaultTextCacheSize.
func WithTextCache(n int) Option { return func(o *options) { o.textCache = n } }

// SessionCache says how the towers use the optimised copies kept in the
// cache directory (see onnx.SessionOptions.CacheDir). Opened from a copy,
// memory-mapped, a process that embeds a query starts in a fraction of the
// time and memory, and the image tower of a long ingest holds its weights
// once rather than twice (ViT-B/32: rag-ingest peaks at 549 MiB rather
// than 680).
type SessionCache int

const (
	// SessionCacheWrite uses the copy, writing it on the tower's first
	// load (which then takes longer and about twice the tower's size in
	// memory). The default.
	SessionCacheWrite SessionCache = iota
	// SessionCacheRead uses a copy that exists but never writes one.
	SessionCacheRead
	// SessionCacheOff always opens the towers from their ONNX files.
	SessionCacheOff
)

// WithSessionCache sets how the towers use the cache's optimised copies;
// default SessionCacheWrite.
func WithSessionCache(c SessionCache) Option { return func(o *options) { o.copies = c } }

// newOptions applies opts over the defaults and checks them.
func newOptions(opts []Option) (*options, error) {
	o := &options{threads: runtime.NumCPU(), batch: DefaultBatchSize, device: "cpu", textCache: DefaultTextCacheSize}
	for _, f := range opts {
		f(o)
	}
	if o.batch <= 0 {
		return nil, fmt.Errorf("batch size must be positive, got %d", o.batch)
	}
	if o.threads <= 0 {
		o.threads = runtime.NumCPU()
	}
	if o.device == "" {
		o.device = "cpu"
	}
	if o.device != "cpu" && o.device != "cuda" {
		return nil, fmt.Errorf("unknown device %q (want cpu or cuda)", o.device)
	}
	if o.textCache < 0 {
		o.textCache = 0
	}
	return o, nil
}

// cache resolves the cache directory.
func (o *options) cache() (string, error) {
	if o.cacheDir != "" {
		return o.cacheDir, nil
	}
	return hub.CacheDir()
}

// Load opens a model. ref is a registry name (see Models; "" means
// DefaultModel) or a model directory. A registry model is downloaded into the
// cache on first use (resumable, sha256-checked where the registry knows
// the digest); a directory is read as it is and never touches the network.
//
// Load initialises ONNX Runtime (see package embed/onnx for how the library
// is found) and reads input/output names, image size, crop mode, mean/std
// and context length from the model's files. Each tower's session is opened
// on its first use, so a program that only embeds text never loads the
// image tower.
func Load(ctx context.Context, ref string, opts ...Option) (*Model, error) {
	if ref == "" {
		ref = DefaultModel
	}
	m, err := load(ctx, ref, opts)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", ref, err)
	}
	return m, nil
}

// load runs Load's steps; its errors get Load's prefix.
func load(ctx context.Context, ref string, opts []Option) (*Model, error) {
	o, err := newOptions(opts)
	if err != nil {
		return nil, err
	}
	res, err := resolve(ctx, ref, o)
	if err != nil {
		return nil, err
	}
	l, err := layout.Detect(res.src, o.quantized)
	if err != nil {
		return nil, err
	}
	if err := startRuntime(ctx, o); err != nil {
		return nil, err
	}
	m, err := newModel(res, l, o)
	if err != nil {
		return nil, err
	}
	if err := m.buildTowers(l, o); err != nil {
		return nil, err
	}
	if err := m.probeDim(ctx, l.Projection); err != nil {
		m.Close()
		return nil, err
	}
	return m, nil
}

// resolved is where a model reference led: the model's files and, for a
// registry model, its entry.
type resolved struct {
	src   layout.Source
	entry RegistryEntry
	reg   bool
}

// resolve turns ref into the model's files: the bundled FS, a registry
// model's cache directory (downloading what is missing), or a directory.
func resolve(ctx context.Context, ref string, o *options) (resolved, error) {
	if e, ok := Lookup(ref); ok && !registry.IsPathLike(ref) {
		if e.Bundled {
			return resolved{src: layout.FSSource(bundledFS()), entry: e, reg: true}, nil
		}
		cache, err := o.cache()
		if err != nil {
			return resolved{}, err
		}
		dir, err := download(ctx, e, cache, o)
		if err != nil {
			return resolved{}, err
		}
		return resolved{src: layout.DirSource(dir), entry: e, reg: true}, nil
	}
	fi, err := os.Stat(ref)
	if err != nil {
		// The caller's "load REF:" names the path; say only why.
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return resolved{}, fmt.Errorf("not a registry model (%s) and not a directory: %w",
			strings.Join(registry.Names(), ", "), err)
	}
	if !fi.IsDir() {
		return resolved{}, fmt.Errorf("not a directory (a model is a directory with config.json and onnx/*.onnx)")
	}
	return resolved{src: layout.DirSource(ref)}, nil
}

// download fetches a registry model into the cache and returns its directory.
func download(ctx context.Context, e RegistryEntry, cache string, o *options) (string, error) {
	var files []hub.File
	for _, f := range e.DownloadFiles(o.quantized) {
		files = append(files, hub.File{Path: f, SHA256: e.SHA256[f]})
	}
	dir, err := hub.Download(ctx, hub.Request{
		Endpoint: o.endpoint,
		Token:    o.token,
		Repo:     e.Repo,
		Revision: e.Revision,
		Files:    files,
		Dest:     hub.ModelDir(cache, e.Repo, e.Revision),
		Progress: o.progress,
		Offline:  o.offline,
	})
	var me *hub.MissingError
	if errors.As(err, &me) {
		return "", err // names the repository, revision, files and folder
	}
	if err != nil {
		return "", fmt.Errorf("download %s (%s@%s): %w", e.Name, e.Repo, e.Revision, err)
	}
	return dir, nil
}

// startRuntime loads the ONNX Runtime library (once per process).
func startRuntime(ctx context.Context, o *options) error {
	libOpts := onnx.LibraryOptions{Path: o.library, Progress: o.progress, Offline: o.offline,
		ReleaseURL: o.ortURL, NPMRegistry: o.npm}
	if cache, err := o.cache(); err == nil {
		libOpts.CacheDir = cache
	}
	return onnx.Init(ctx, libOpts)
}

// newModel builds the Model's runtime-free parts: names, tokenizer,
// context length, logit scale and preprocessor.
func newModel(res resolved, l *layout.Model, o *options) (*Model, error) {
	m := &Model{
		layout:  l.Kind,
		dir:     res.src.Dir,
		pre:     l.Pre,
		chinese: l.Chinese,
		batch:   o.batch,
		threads: o.threads,
		cache:   newTextCache(o.textCache),
	}
	m.pre.MaxPixels = o.maxPixels
	m.id, m.name = l.ID(), l.Name
	if res.reg {
		m.id, m.name = res.entry.Name, res.entry.Name
	}
	tok, err := l.LoadTokenizer()
	if err != nil {
		return nil, err
	}
	m.tok = tok
	m.ctxLen = firstPositive(pick(res.reg, res.entry.ContextLength), l.ContextLength, tok.ContextLength())
	m.logitScale = float32(firstPositive(pick(res.reg, res.entry.LogitScale), l.LogitScale(), defaultLogitScale))
	return m, nil
}

// pick is v for a registry model, else the zero value.
func pick[T int | float32](reg bool, v T) T {
	if reg {
		return v
	}
	return 0
}

// firstPositive returns the first of vs above zero, or zero.
func firstPositive[T int | float32](vs ...T) T {
	for _, v := range vs {
		if v > 0 {
			return v
		}
	}
	return 0
}
