package embed

import (
	"context"
	"errors"
	"fmt"
	"image"
	"runtime"
	"sync"

	"github.com/cliprag/cliprag/embed/onnx"
	"github.com/cliprag/cliprag/embed/preprocess"
	"github.com/cliprag/cliprag/embed/tokenizer"
	"github.com/cliprag/cliprag/embed/zeroshot"
)

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
	sessions     []*lazySession // the distinct sessions behind the towers
	cache        *textCache     // nil when off

	mu     sync.RWMutex // embedding calls hold it shared, Close exclusively
	closed bool
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

// Device is the execution provider in use: "cpu" or "cuda". It is the
// device of the first tower that has been used; when none has, it opens the
// text tower to find out.
func (m *Model) Device() string {
	for _, ls := range m.sessions {
		if s := ls.opened(); s != nil {
			return s.Device()
		}
	}
	if s, err := m.text.ls.session(); err == nil {
		return s.Device()
	}
	return ""
}

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
	var errs []error
	for _, ls := range m.sessions {
		errs = append(errs, ls.close())
	}
	return errors.Join(errs...)
}

// begin takes the shared lock; the caller must call m.mu.RUnlock.
func (m *Model) begin() error {
	m.mu.RLock()
	if m.closed {
		m.mu.RUnlock()
		return errClosed
	}
	return nil
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
	var dummy [][]int64
	for name, k := range m.vision.inputs {
		switch k {
		case inPixels:
			feeds[name] = onnx.Tensor{Shape: []int64{int64(n), 3, s, s}, Float32: pixels}
		default:
			// A combined model also wants text: feed one empty caption.
			if dummy == nil {
				dummy = m.encode([]string{""})
			}
			feeds[name] = m.textTensor(k, dummy)
		}
	}
	out, err := m.vision.run(ctx, feeds)
	if err != nil {
		return nil, err
	}
	return m.rows(m.vision, out, n, nil)
}

// normalize scales v to unit length in place; a zero vector stays zero.
func normalize(v []float32) { zeroshot.Normalize(v) }
