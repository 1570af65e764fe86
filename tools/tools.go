// Package tools implements cliprag's agent operations once, independent of
// any transport: text-to-image search, image-to-image search, zero-shot
// classification, image comparison, ingest and index statistics. The MCP
// server (package mcp), the langchaingo agent tools and rag-search are thin
// front ends over a *Service.
//
// Every input is validated with limits; a bad argument is an *InputError
// whose message tells the caller (often a language model) how to fix it.
// Files are read only under the allowed roots: the name is checked before
// anything is looked up, then the file is opened through its root
// (os.Root), so symbolic links cannot lead out even when swapped in
// meanwhile; only regular files are read, without blocking, and calls end
// at their deadline even when the file system hangs. URLs are fetched only when enabled, with
// size and time limits and private, loopback and link-local addresses
// refused at dial time.
package tools

import (
	"context"
	"errors"
	"net/netip"
	"sync"
	"time"

	"github.com/cliprag/cliprag/retriever"
	"github.com/cliprag/cliprag/tools/ingest"
)

// Limits on inputs.
const (
	DefaultTopK          = 5
	MaxTopK              = 100
	MaxQueryChars        = 1000
	MaxLabels            = 100
	MaxLabelChars        = 200
	MaxTemplateChars     = 200
	MaxIngestPaths       = 100
	DefaultMaxDataURI    = 10 << 20 // bytes, decoded
	DefaultTimeout       = 2 * time.Minute
	DefaultURLTimeout    = 20 * time.Second
	DefaultMaxRedirects  = 3
	ThumbnailMaxSide     = 256  // tool results
	ResourceMaxSide      = 1024 // resources/read
	DefaultThumbnailJPEG = 80   // JPEG quality of thumbnails
)

// Options configures a Service. The zero value is usable: roots are the
// folders already in the index, ingest and URLs are off.
type Options struct {
	// Roots are the folders whose files may be read (path image references,
	// ingest, thumbnails). Empty: the folders that hold indexed images,
	// computed once from the store.
	Roots []string
	// AllowIngest enables IngestImages.
	AllowIngest bool
	// AllowURLs enables http(s) image references.
	AllowURLs bool
	// MaxDataURIBytes limits the decoded size of data: URIs (default 10 MB).
	MaxDataURIBytes int64
	// Timeout bounds every call (default 2 minutes); the caller's ctx also applies.
	Timeout time.Duration
	// MaxURLBytes limits a fetched image (default MaxDataURIBytes).
	MaxURLBytes int64
	// URLTimeout bounds one URL fetch, redirects included (default 20 s).
	URLTimeout time.Duration
	// MaxRedirects a URL fetch follows (default 3).
	MaxRedirects int
	// IngestTags are zero-shot labels stored with images that IngestImages adds.
	IngestTags []string
	// TextReader reads the text in images that the index holds no text
	// for (ReadImageText); nil: only stored text is returned.
	TextReader TextReader
	// IngestText makes IngestImages read the text in the images it adds
	// with TextReader and store it, as rag-ingest -ocr does (records
	// already indexed without text are read too, keeping their vectors).
	// Ignored without a TextReader.
	IngestText bool
}

// Encoder is the CLIP model the operations embed with: ingest's Encoder,
// since IngestImages runs ingest with it. *embed.Model (ONNX Runtime) is
// the real one; the composition root (internal/config, the commands) wires
// it in, so this package builds without cgo and tests use fakes.
type Encoder = ingest.Encoder

// Service runs the operations over one encoder and one store. It is safe
// for concurrent use; the encoder and store are shared.
type Service struct {
	model Encoder
	store retriever.Store
	opts  Options

	explicit []root // Options.Roots; nil when roots come from the index

	rootsMu sync.Mutex
	derived []root // roots from the index, cached once non-empty

	ingestSem chan struct{} // one ingest at a time, shared with WithRoots views; taken with the call's deadline

	// checkAddr vets every address a URL fetch dials; tests replace it to
	// reach 127.0.0.1. Production code never changes it.
	checkAddr func(netip.Addr) error
}

// New returns a Service over model and store. Roots in opts that do not
// exist are an error. model may be nil for a service that only describes
// the index (IndexStats, resources); operations that embed then return
// ErrNoEncoder.
func New(model Encoder, store retriever.Store, opts Options) (*Service, error) {
	if store == nil {
		return nil, errors.New("tools: a store is required")
	}
	if opts.MaxDataURIBytes <= 0 {
		opts.MaxDataURIBytes = DefaultMaxDataURI
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.MaxURLBytes <= 0 {
		opts.MaxURLBytes = opts.MaxDataURIBytes
	}
	if opts.URLTimeout <= 0 {
		opts.URLTimeout = DefaultURLTimeout
	}
	if opts.MaxRedirects <= 0 {
		opts.MaxRedirects = DefaultMaxRedirects
	}
	s := &Service{model: model, store: store, opts: opts, checkAddr: publicAddr, ingestSem: make(chan struct{}, 1)}
	if err := s.setRoots(opts.Roots); err != nil {
		return nil, err
	}
	return s, nil
}

// setRoots resolves explicit roots.
func (s *Service) setRoots(roots []string) error {
	s.opts.Roots = roots
	r, err := resolveRoots(roots)
	if err != nil {
		return err
	}
	s.explicit = r
	return nil
}

// WithRoots returns a view of s whose files may be read only under roots
// (as if they were Options.Roots): front ends use it for roots that a client
// supplies, such as MCP roots. The view shares s's model, store and ingest
// lock. Roots that do not exist are an error.
func (s *Service) WithRoots(roots []string) (*Service, error) {
	v := &Service{model: s.model, store: s.store, opts: s.opts, checkAddr: s.checkAddr, ingestSem: s.ingestSem}
	if err := v.setRoots(roots); err != nil {
		return nil, err
	}
	return v, nil
}

// Encoder returns the model the service embeds with (nil for a service
// made without one).
func (s *Service) Encoder() Encoder { return s.model }

// ErrNoEncoder is returned by operations that embed when the Service was
// made without an encoder.
var ErrNoEncoder = errors.New("no model loaded: this service can only describe the index")

// encoder returns the model, or ErrNoEncoder.
func (s *Service) encoder() (Encoder, error) {
	if s.model == nil {
		return nil, ErrNoEncoder
	}
	return s.model, nil
}

// Store returns the index the service searches.
func (s *Service) Store() retriever.Store { return s.store }

// Options returns the options in effect, defaults filled in.
func (s *Service) Options() Options { return s.opts }

// withTimeout bounds a call by Options.Timeout.
func (s *Service) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.opts.Timeout)
}
