package preprocess

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"runtime/debug"
	"sync"

	"github.com/cliprag/cliprag/embed/imageformat"
)

// DefaultDecodeMemory is the limit of DefaultBudget: enough for one image
// of DefaultMaxPixels at the worst cost (16-bit RGBA, 12 bytes a pixel
// with its 8-bit working copy), so any image the size limit admits can be
// decoded, one such at a time.
const DefaultDecodeMemory = 1200 << 20

// DefaultBudget bounds the memory the decoded pixels of every image in
// flight in the process may take: Preprocessor.Bytes and Reserve's callers
// (thumbnails, resources, contact sheets) reserve an image's cost, read
// from its header, before decoding it, and wait while the budget is
// spent. Three concurrent 100-megapixel 16-bit PNGs (1.2 GB each when
// decoded) are then decoded one after another instead of together.
var DefaultBudget = NewBudget(DefaultDecodeMemory)

// Budget is a process-wide allowance of bytes for decoded pixels. Requests
// are granted in arrival order; one larger than the whole limit is refused
// (ErrTooLarge) rather than made to wait for ever.
type Budget struct {
	mu       sync.Mutex
	limit    int64
	used     int64
	queue    []*budgetWaiter
	released int64 // bytes released since the last forced collection
}

type budgetWaiter struct {
	n     int64
	ready chan struct{}
}

// NewBudget returns a budget of limit bytes.
func NewBudget(limit int64) *Budget { return &Budget{limit: limit} }

// SetLimit changes the budget's limit (for instance from a flag); waiting
// requests that now fit are granted.
func (b *Budget) SetLimit(limit int64) {
	b.mu.Lock()
	b.limit = limit
	b.grant()
	b.mu.Unlock()
}

// Limit returns the budget's limit in bytes.
func (b *Budget) Limit() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.limit
}

// InUse returns the bytes reserved now.
func (b *Budget) InUse() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used
}

// gcAfter is how many bytes of released reservations make the next large
// reservation collect garbage and return the freed pages to the system
// first: otherwise the collector lets the heap grow to twice its live size,
// and pages freed but not yet returned stay resident beside the next
// image's (measured: 1.98 GB resident instead of 1.25 GB for three
// 100-megapixel 16-bit PNGs one after another).
const gcAfter = 64 << 20

// Reserve takes n bytes from the budget, waiting until they are free or ctx
// ends, and returns the function that gives them back (call it once, when
// the pixels are no longer used).
func (b *Budget) Reserve(ctx context.Context, n int64) (release func(), err error) {
	if n <= 0 {
		return func() {}, nil
	}
	b.mu.Lock()
	if n > b.limit {
		limit := b.limit
		b.mu.Unlock()
		return nil, fmt.Errorf("%w: decoding needs about %s of memory, more than the %s the decoder may use", ErrTooLarge, mb(n), mb(limit))
	}
	w := &budgetWaiter{n: n, ready: make(chan struct{})}
	b.queue = append(b.queue, w)
	b.grant()
	b.mu.Unlock()
	select {
	case <-w.ready:
	case <-ctx.Done():
		b.mu.Lock()
		select {
		case <-w.ready: // granted meanwhile: give it back
			b.used -= n
			b.grant()
		default:
			for i, q := range b.queue {
				if q == w {
					b.queue = append(b.queue[:i], b.queue[i+1:]...)
					break
				}
			}
			b.grant() // a large request leaving the head may unblock smaller ones
		}
		b.mu.Unlock()
		return nil, fmt.Errorf("waiting for decoder memory (%s): %w", mb(n), context.Cause(ctx))
	}
	b.mu.Lock()
	collect := n >= gcAfter && b.released >= gcAfter
	if collect {
		b.released = 0
	}
	b.mu.Unlock()
	if collect {
		debug.FreeOSMemory()
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			b.mu.Lock()
			b.used -= n
			b.released += n
			b.grant()
			b.mu.Unlock()
		})
	}, nil
}

// grant admits waiting requests in order while they fit; b.mu is held.
func (b *Budget) grant() {
	for len(b.queue) > 0 && b.used+b.queue[0].n <= b.limit {
		w := b.queue[0]
		b.queue = b.queue[1:]
		b.used += w.n
		close(w.ready)
	}
}

func mb(n int64) string {
	if n >= 1<<30 {
		return fmt.Sprintf("%.1f GB", float64(n)/(1<<30))
	}
	return fmt.Sprintf("%d MB", (n+1<<20-1)>>20)
}

// Reserve reserves in DefaultBudget the memory that decoding data with opt
// may take, estimated from its header (dimensions and bit depth), waiting
// until it is free or ctx ends. Hold it while the decoded image is used,
// then call release. Data whose header cannot be read reserves nothing
// (Decode then reports why).
func Reserve(ctx context.Context, data []byte, opt DecodeOptions) (release func(), err error) {
	return DefaultBudget.Reserve(ctx, decodeCost(data, opt, false))
}

// decodeCost estimates from data's header the bytes that decoding it (and,
// with tensor, turning it into a tensor) takes at most: the decoded pixels
// at the bit depth the decoder produces, a rotated copy when the EXIF
// orientation turns it, and the 8-bit (or 32-bit, for 16-bit grey) working
// copy the preprocessor makes. 0 when the header cannot be read.
func decodeCost(data []byte, opt DecodeOptions, tensor bool) int64 {
	f, ok := imageformat.Sniff(data)
	if !ok {
		return 0
	}
	cfg, err := safeConfig(f, data)
	if err != nil || cfg.Width <= 0 || cfg.Height <= 0 {
		return 0
	}
	px := int64(cfg.Width) * int64(cfg.Height)
	if px > opt.maxPixels() {
		return 0 // Decode refuses it before allocating
	}
	decoded := int64(float64(px) * bytesPerPixel(cfg.ColorModel))
	cost := decoded
	if f.Orientation != nil && f.Orientation(data) > 1 {
		cost += decoded
	}
	if tensor {
		cost += 4 * px
	}
	return cost
}

// safeConfig is f.DecodeConfig with a decoder panic turned into an error.
func safeConfig(f imageformat.Format, data []byte) (cfg image.Config, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = errors.New("decoder panic")
		}
	}()
	return f.DecodeConfig(data)
}

// bytesPerPixel is the size of one pixel in the image type a decoder
// returns for this colour model; unknown models count as 16-bit RGBA.
func bytesPerPixel(m color.Model) float64 {
	switch m {
	case color.GrayModel, color.AlphaModel:
		return 1
	case color.Gray16Model, color.Alpha16Model:
		return 2
	case color.YCbCrModel:
		return 3 // 4:4:4; subsampled JPEGs take less
	case color.RGBAModel, color.NRGBAModel, color.CMYKModel, color.NYCbCrAModel:
		return 4
	case color.RGBA64Model, color.NRGBA64Model:
		return 8
	}
	if _, ok := m.(color.Palette); ok {
		return 1
	}
	return 8
}

// maxPooledBytes is the largest working buffer a pooled workspace keeps
// between images; the buffers of a huge image go back to the collector
// instead of staying alive, outside the budget, in the pool.
const maxPooledBytes = 16 << 20

// trim drops the workspace's buffers that are over maxPooledBytes.
func (ws *workspace) trim() {
	if cap(ws.src) > maxPooledBytes {
		ws.src = nil
	}
	if 4*cap(ws.src32) > maxPooledBytes {
		ws.src32 = nil
	}
	if cap(ws.tmp) > maxPooledBytes {
		ws.tmp = nil
	}
	if 4*cap(ws.tmp32) > maxPooledBytes {
		ws.tmp32 = nil
	}
}
