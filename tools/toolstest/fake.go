package toolstest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/cliprag/cliprag/embed/preprocess"
	"github.com/cliprag/cliprag/embed/zeroshot"
	"github.com/cliprag/cliprag/tools/ingest"
)

// Encoder is the model seam of tools and ingest; the fake below and the
// real ONNX Runtime model both satisfy it.
type Encoder = ingest.Encoder

// Hues are the colour words the fake encoder understands, in the order of
// its vector's components (red first, then around the colour wheel).
var Hues = []string{"red", "yellow", "green", "cyan", "blue", "purple"}

// hueCentres are the hue angles (degrees) of Hues.
var hueCentres = []float64{0, 55, 130, 185, 230, 285}

// Fake is a small deterministic encoder for tests that need an encoder's
// plumbing, not a neural network: it embeds an image as the histogram of
// the hues of its saturated pixels (one component per entry of Hues; grey
// pixels count for nothing), and a text as the sum of the hues it names
// ("a red circle" → red). So with tinyshapes' drawings on grey backgrounds
// "red" finds the red shapes first, whatever their shape. It needs no cgo
// and no ONNX Runtime, so tools and mcp can be tested without them.
//
// The zero value is not usable; use NewFake. Fake is safe for concurrent
// use; its counters say how often each tower ran.
type Fake struct {
	pre preprocess.Preprocessor

	// TextCalls and ImageCalls count EmbedTexts and EmbedPixels calls.
	TextCalls, ImageCalls atomic.Int64
	// Fail, when set, makes every embedding call return it.
	Fail atomic.Pointer[error]
}

// FakeID is the model id the fake records in an index.
const FakeID = "fake-hues"

// NewFake returns the fake encoder. Its preprocessor is a real one (32 px,
// centre crop, OpenAI CLIP's mean and std), so decoding and its errors are
// those of the product.
func NewFake() *Fake {
	return &Fake{pre: preprocess.Preprocessor{
		Size: 32, Mode: preprocess.CenterCrop,
		Mean: [3]float32{0.48145466, 0.4578275, 0.40821073},
		Std:  [3]float32{0.26862954, 0.26130258, 0.27577711},
	}}
}

var _ Encoder = (*Fake)(nil)

// ID returns FakeID.
func (f *Fake) ID() string { return FakeID }

// Dim returns len(Hues).
func (f *Fake) Dim() int { return len(Hues) }

// LogitScale returns CLIP's 100.
func (f *Fake) LogitScale() float32 { return 100 }

// DefaultTemplates returns CLIP's basic prompt.
func (f *Fake) DefaultTemplates() []string { return []string{"a photo of a {}."} }

// BatchSize returns 16, the real model's default.
func (f *Fake) BatchSize() int { return 16 }

// Preprocessor returns the fake's 32-pixel preprocessor.
func (f *Fake) Preprocessor() preprocess.Preprocessor { return f.pre }

func (f *Fake) failure() error {
	if e := f.Fail.Load(); e != nil {
		return *e
	}
	return nil
}

// EmbedTexts embeds each text as the normalised sum of the hues it names;
// a text naming none is equally far from every hue (as a real model's
// embedding of an unrelated text is never the zero vector).
func (f *Fake) EmbedTexts(ctx context.Context, texts []string) ([][]float32, error) {
	f.TextCalls.Add(1)
	if err := f.failure(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := make([][]float32, len(texts))
	for i, t := range texts {
		v := make([]float32, len(Hues))
		words := strings.FieldsFunc(strings.ToLower(t), func(r rune) bool {
			return !('a' <= r && r <= 'z')
		})
		for _, w := range words {
			for j, h := range Hues {
				if w == h {
					v[j]++
				}
			}
		}
		if !slices.ContainsFunc(v, func(x float32) bool { return x != 0 }) {
			for j := range v {
				v[j] = 1
			}
		}
		zeroshot.Normalize(v)
		out[i] = v
	}
	return out, nil
}

// EmbedPixels embeds each tensor as the normalised histogram of the hues of
// its saturated pixels.
func (f *Fake) EmbedPixels(ctx context.Context, pixels [][]float32) ([][]float32, error) {
	f.ImageCalls.Add(1)
	if err := f.failure(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	n := f.pre.Size * f.pre.Size
	out := make([][]float32, len(pixels))
	for i, px := range pixels {
		if len(px) != 3*n {
			return nil, fmt.Errorf("fake encoder: tensor %d has %d values, want %d", i, len(px), 3*n)
		}
		v := make([]float32, len(Hues))
		for p := 0; p < n; p++ {
			var rgb [3]float64
			for c := range rgb {
				rgb[c] = float64(px[c*n+p]*f.pre.Std[c] + f.pre.Mean[c])
			}
			if h, ok := hue(rgb); ok {
				v[nearestHue(h)]++
			}
		}
		zeroshot.Normalize(v)
		out[i] = v
	}
	return out, nil
}

// hue returns the hue angle of an RGB colour in [0, 1], and false for
// colours too grey to have one.
func hue(c [3]float64) (float64, bool) {
	hi := math.Max(c[0], math.Max(c[1], c[2]))
	lo := math.Min(c[0], math.Min(c[1], c[2]))
	if hi-lo < 0.25 {
		return 0, false
	}
	d := hi - lo
	var h float64
	switch hi {
	case c[0]:
		h = math.Mod((c[1]-c[2])/d, 6)
	case c[1]:
		h = (c[2]-c[0])/d + 2
	default:
		h = (c[0]-c[1])/d + 4
	}
	h *= 60
	if h < 0 {
		h += 360
	}
	return h, true
}

// nearestHue returns the index in Hues of the hue closest to angle h.
func nearestHue(h float64) int {
	best, bestD := 0, 360.0
	for i, c := range hueCentres {
		d := math.Abs(h - c)
		d = math.Min(d, 360-d)
		if d < bestD {
			best, bestD = i, d
		}
	}
	return best
}

// ErrFake is an error tests make the fake return (via Fail).
var ErrFake = errors.New("fake encoder failure")
