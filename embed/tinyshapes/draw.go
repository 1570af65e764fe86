package tinyshapes

import (
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
)

// Rand is the randomness Draw needs. Both *math/rand.Rand and
// *math/rand/v2.Rand satisfy it.
type Rand interface {
	Float64() float64
}

// Background says how Draw fills the background.
type Background int

const (
	// BackgroundRandom picks plain or gradient at random.
	BackgroundRandom Background = iota
	// BackgroundPlain is one random shade of grey.
	BackgroundPlain
	// BackgroundGradient is a linear ramp between two random greys in a random direction.
	BackgroundGradient
)

// Size limits of the domain: the shorter side of a randomly sized image is
// MinSide to MaxSide pixels, and its aspect ratio at most MaxAspect.
const (
	MinSide   = 96
	MaxSide   = 640
	MaxAspect = 1.6
	// MaxDrawSide is the largest side Render accepts in DrawOptions.
	MaxDrawSide = 8192
)

// DrawOptions controls Draw. The zero value draws a random image of the
// domain: random size, upright, unblurred, random background.
type DrawOptions struct {
	// Width and Height are the image size in pixels. When both are zero the
	// size is random: shorter side MinSide–MaxSide, aspect up to MaxAspect,
	// longer side at most MaxSide. When one is zero it equals the other.
	Width, Height int
	// Scale is the shape's extent as a fraction of the shorter side, before
	// rotation; zero picks one at random in [0.3, 0.7].
	Scale float64
	// Rotate turns the shape counter-clockwise by this many degrees.
	Rotate float64
	// Blur is the standard deviation, in pixels, of a Gaussian blur of the
	// whole image; zero means none.
	Blur float64
	// Background selects the background; the zero value picks at random.
	Background Background
	// Vary, when Rotate and Blur are zero, rotates (40 %) and blurs (25 %)
	// the image at random, for fixtures that want the domain's full variety.
	Vary bool
}

// Options is DrawOptions under a shorter name.
type Options = DrawOptions

// Base colours Draw jitters around; each is well inside its colour name.
var baseColors = map[string][3]float64{
	"red":    {215, 35, 35},
	"green":  {35, 165, 55},
	"blue":   {35, 65, 215},
	"yellow": {238, 208, 35},
	"purple": {140, 45, 170},
}

// Draw renders an image of a colour/shape pair with Render. It is meant for
// tests and examples and panics, like regexp.MustCompile, when color or shape
// is not in Colors or Shapes or the options are out of range.
func Draw(rng Rand, color, shape string, opt DrawOptions) image.Image {
	img, err := Render(rng, color, shape, opt)
	if err != nil {
		panic(err)
	}
	return img
}

// Render draws a filled shape of the given colour (one of Colors) and shape
// (one of Shapes) on a grey background: the shape spans Scale of the shorter
// side and lies wholly inside the centred square, so CLIP's centre crop keeps
// it. The result is opaque and depends only on rng's values and opt.
func Render(rng Rand, colorName, shape string, opt DrawOptions) (*image.NRGBA, error) {
	base, err := checkRender(colorName, shape, opt)
	if err != nil {
		return nil, err
	}
	w, h := drawSize(rng, opt.Width, opt.Height)
	short := float64(min(w, h))

	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	fillBackground(rng, img, opt.Background)

	var c [3]float64
	for i := range c {
		c[i] = clamp(base[i]+(rng.Float64()*2-1)*14, 0, 255)
	}

	rotate, blur := opt.Rotate, opt.Blur
	if opt.Vary && rotate == 0 && blur == 0 {
		if rng.Float64() < 0.4 {
			rotate = rng.Float64() * 360
		}
		if rng.Float64() < 0.25 {
			blur = 0.5 + 1.5*rng.Float64()
		}
	}
	scale := opt.Scale
	if scale == 0 {
		scale = 0.3 + 0.4*rng.Float64()
	}
	extent := scale * short
	poly := outline(shape, extent, rotate*math.Pi/180)

	// Place the rotated shape's bounding box inside the centred square.
	minX, minY, maxX, maxY := bounds(poly)
	sx, sy := (float64(w)-short)/2, (float64(h)-short)/2
	cx := place(rng, sx-minX, sx+short-maxX, float64(w)/2)
	cy := place(rng, sy-minY, sy+short-maxY, float64(h)/2)
	for i := range poly {
		poly[i][0] += cx
		poly[i][1] += cy
	}
	var cover func(x, y float64) float64
	if shape == "circle" {
		r := extent / 2
		cover = func(x, y float64) float64 { return clamp(r-math.Hypot(x-cx, y-cy)+0.5, 0, 1) }
	} else {
		cover = func(x, y float64) float64 { return polygonCoverage(poly, x, y) }
	}
	box := image.Rect(int(math.Floor(cx+minX))-2, int(math.Floor(cy+minY))-2,
		int(math.Ceil(cx+maxX))+2, int(math.Ceil(cy+maxY))+2).Intersect(img.Rect)
	paint(img, box, c, cover)
	if blur > 0 {
		gaussianBlur(img, blur)
	}
	return img, nil
}

// checkRender checks Render's arguments and returns the colour's base RGB.
func checkRender(colorName, shape string, opt DrawOptions) ([3]float64, error) {
	base, ok := baseColors[colorName]
	if !ok {
		return base, fmt.Errorf("tinyshapes: unknown colour %q (want one of %s)", colorName, strings.Join(Colors, ", "))
	}
	if !contains(Shapes, shape) {
		return base, fmt.Errorf("tinyshapes: unknown shape %q (want one of %s)", shape, strings.Join(Shapes, ", "))
	}
	w, h := opt.Width, opt.Height
	if w < 0 || h < 0 || w > MaxDrawSide || h > MaxDrawSide {
		return base, fmt.Errorf("tinyshapes: size %dx%d out of range (0–%d)", w, h, MaxDrawSide)
	}
	if opt.Scale < 0 || opt.Scale > 1 || math.IsNaN(opt.Scale) {
		return base, fmt.Errorf("tinyshapes: scale %v out of range [0, 1]", opt.Scale)
	}
	if opt.Blur < 0 || opt.Blur > 64 || math.IsNaN(opt.Blur) {
		return base, fmt.Errorf("tinyshapes: blur %v out of range [0, 64]", opt.Blur)
	}
	if math.IsNaN(opt.Rotate) || math.IsInf(opt.Rotate, 0) {
		return base, errors.New("tinyshapes: rotation is not a finite number")
	}
	return base, nil
}

// drawSize is the image size for DrawOptions' Width and Height: random when
// both are zero, square when one is.
func drawSize(rng Rand, w, h int) (int, int) {
	switch {
	case w == 0 && h == 0:
		short := MinSide + int(rng.Float64()*float64(MaxSide-MinSide+1))
		short = min(short, MaxSide)
		long := min(int(math.Round(float64(short)*(1+(MaxAspect-1)*rng.Float64()))), MaxSide)
		w, h = short, long
		if rng.Float64() < 0.5 {
			w, h = long, short
		}
	case w == 0:
		w = h
	case h == 0:
		h = w
	}
	return w, h
}

// paint blends colour c into img over box by the coverage cover gives at
// each pixel centre.
func paint(img *image.NRGBA, box image.Rectangle, c [3]float64, cover func(x, y float64) float64) {
	for y := box.Min.Y; y < box.Max.Y; y++ {
		for x := box.Min.X; x < box.Max.X; x++ {
			a := cover(float64(x)+0.5, float64(y)+0.5)
			if a <= 0 {
				continue
			}
			p := img.PixOffset(x, y)
			for i := range 3 {
				img.Pix[p+i] = uint8(math.Round(float64(img.Pix[p+i])*(1-a) + c[i]*a))
			}
		}
	}
}

func place(rng Rand, lo, hi, mid float64) float64 {
	if hi <= lo {
		return mid
	}
	return lo + (hi-lo)*rng.Float64()
}

// outline returns the shape's polygon centred at the origin, extent wide
// before rotation, turned by angle radians (y points down, so a positive
// angle turns counter-clockwise on screen). A circle is returned as its
// bounding square's corners (for placement only).
func outline(shape string, extent, angle float64) [][2]float64 {
	var pts [][2]float64
	switch shape {
	case "square", "circle":
		pts = [][2]float64{{-.5, -.5}, {.5, -.5}, {.5, .5}, {-.5, .5}}
	case "triangle":
		// Equilateral, apex up, centred on its bounding box.
		hgt := math.Sqrt(3) / 2
		pts = [][2]float64{{0, -hgt / 2}, {.5, hgt / 2}, {-.5, hgt / 2}}
	case "cross":
		t := 1.0 / 6 // arm half-width: arms a third of the extent wide
		pts = [][2]float64{{-t, -.5}, {t, -.5}, {t, -t}, {.5, -t}, {.5, t}, {t, t},
			{t, .5}, {-t, .5}, {-t, t}, {-.5, t}, {-.5, -t}, {-t, -t}}
	}
	if shape == "circle" {
		angle = 0
	}
	s, c := math.Sincos(-angle)
	out := make([][2]float64, len(pts))
	for i, p := range pts {
		x, y := p[0]*extent, p[1]*extent
		out[i] = [2]float64{x*c - y*s, x*s + y*c}
	}
	return out
}

func bounds(poly [][2]float64) (minX, minY, maxX, maxY float64) {
	minX, minY = math.Inf(1), math.Inf(1)
	maxX, maxY = math.Inf(-1), math.Inf(-1)
	for _, p := range poly {
		minX, maxX = math.Min(minX, p[0]), math.Max(maxX, p[0])
		minY, maxY = math.Min(minY, p[1]), math.Max(maxY, p[1])
	}
	return minX, minY, maxX, maxY
}

// polygonCoverage approximates the fraction of the pixel centred at (x, y)
// that the polygon covers from the signed distance to its outline.
func polygonCoverage(poly [][2]float64, x, y float64) float64 {
	inside := false
	d := math.Inf(1)
	for i, j := 0, len(poly)-1; i < len(poly); j, i = i, i+1 {
		a, b := poly[j], poly[i]
		if (a[1] > y) != (b[1] > y) && x < a[0]+(y-a[1])*(b[0]-a[0])/(b[1]-a[1]) {
			inside = !inside
		}
		ex, ey := b[0]-a[0], b[1]-a[1]
		t := clamp(((x-a[0])*ex+(y-a[1])*ey)/(ex*ex+ey*ey), 0, 1)
		d = math.Min(d, math.Hypot(x-a[0]-t*ex, y-a[1]-t*ey))
	}
	if inside {
		return clamp(0.5+d, 0, 1)
	}
	return clamp(0.5-d, 0, 1)
}

func fillBackground(rng Rand, img *image.NRGBA, bg Background) {
	if bg == BackgroundRandom {
		bg = BackgroundPlain
		if rng.Float64() < 0.5 {
			bg = BackgroundGradient
		}
	}
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	g1 := 20 + 215*rng.Float64()
	g2 := g1
	var dx, dy float64
	if bg == BackgroundGradient {
		g2 = 255 * rng.Float64()
		dy, dx = math.Sincos(2 * math.Pi * rng.Float64())
	}
	// Project the corners to find the ramp's span.
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, p := range [][2]float64{{0, 0}, {float64(w), 0}, {0, float64(h)}, {float64(w), float64(h)}} {
		v := p[0]*dx + p[1]*dy
		lo, hi = math.Min(lo, v), math.Max(hi, v)
	}
	span := math.Max(hi-lo, 1)
	for y := range h {
		for x := range w {
			t := ((float64(x)+0.5)*dx + (float64(y)+0.5)*dy - lo) / span
			g := uint8(math.Round(clamp(g1+(g2-g1)*t, 0, 255)))
			p := img.PixOffset(x, y)
			img.Pix[p], img.Pix[p+1], img.Pix[p+2], img.Pix[p+3] = g, g, g, 255
		}
	}
}

// gaussianBlur blurs the colour channels in place with a separable Gaussian
// of standard deviation sigma, clamping at the edges.
func gaussianBlur(img *image.NRGBA, sigma float64) {
	r := int(math.Ceil(3 * sigma))
	k := make([]float64, 2*r+1)
	var sum float64
	for i := range k {
		x := float64(i - r)
		k[i] = math.Exp(-x * x / (2 * sigma * sigma))
		sum += k[i]
	}
	for i := range k {
		k[i] /= sum
	}
	w, h := img.Rect.Dx(), img.Rect.Dy()
	tmp := make([]float64, w*h*3)
	for y := range h {
		for x := range w {
			for c := range 3 {
				var v float64
				for i, kv := range k {
					xx := min(max(x+i-r, 0), w-1)
					v += kv * float64(img.Pix[img.PixOffset(xx, y)+c])
				}
				tmp[(y*w+x)*3+c] = v
			}
		}
	}
	for y := range h {
		for x := range w {
			for c := range 3 {
				var v float64
				for i, kv := range k {
					yy := min(max(y+i-r, 0), h-1)
					v += kv * tmp[(yy*w+x)*3+c]
				}
				img.Pix[img.PixOffset(x, y)+c] = uint8(math.Round(clamp(v, 0, 255)))
			}
		}
	}
}

func clamp(v, lo, hi float64) float64 { return math.Max(lo, math.Min(hi, v)) }

// WriteFile saves img to path as JPEG (quality 90) when path ends in .jpg or
// .jpeg and as PNG when it ends in .png.
func WriteFile(path string, img image.Image) (err error) {
	var enc func(f *os.File) error
	switch strings.ToLower(filepath.Ext(path)) {
	case ".jpg", ".jpeg":
		enc = func(f *os.File) error { return jpeg.Encode(f, img, &jpeg.Options{Quality: 90}) }
	case ".png":
		enc = func(f *os.File) error { return png.Encode(f, img) }
	default:
		return fmt.Errorf("tinyshapes: write %s: unsupported extension (want .jpg, .jpeg or .png)", path)
	}
	if img == nil {
		return fmt.Errorf("tinyshapes: write %s: nil image", path)
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("tinyshapes: write %s: %w", path, err)
	}
	defer func() {
		if cerr := f.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("tinyshapes: write %s: %w", path, cerr)
		}
	}()
	if err := enc(f); err != nil {
		return fmt.Errorf("tinyshapes: encode %s: %w", path, err)
	}
	return nil
}
