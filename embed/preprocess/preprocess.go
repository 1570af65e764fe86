// Package preprocess decodes images and turns them into the normalised
// tensors CLIP image towers take, matching PIL and torchvision.
//
// The pipeline reproduces what the reference Python preprocessing does with
// Pillow 9 and torchvision:
//
//	Resize(Size, BICUBIC) or Resize((Size, Size), BICUBIC)   // Pillow ImagingResample
//	CenterCrop(Size)                                         // top/left = round((h-Size)/2)
//	convert('RGB')                                           // alpha dropped, palette expanded, grey replicated
//	ToTensor(); Normalize(Mean, Std)
//
// The resize runs in the image's Pillow mode, as Pillow does: RGBA images are
// premultiplied for the resize and un-premultiplied afterwards, palette
// images are resized with nearest neighbour (Pillow forces it for mode "P"),
// CMYK images are resized in CMYK and converted afterwards, and 16-bit
// greyscale PNGs (Pillow mode "I") are resized in 32-bit integers and then
// clipped to 0..255 by convert('RGB'). The bicubic filter is a port of
// Pillow's fixed-point 8-bit implementation, so lossless inputs match the
// reference to float32 rounding.
//
// Which formats are read, and how, is the format table
// (embed/imageformat), registered in formats.go: JPEG, PNG, GIF, WebP,
// HEIC, AVIF, BMP, TIFF, and camera RAW (CR2, NEF, ARW, DNG) through the
// JPEG preview they embed. Each decoder returns the image in the Go type
// that carries its Pillow mode (see raster.go); the matrix test
// (testdata/matrix, made by scripts/make_format_fixtures.py) holds every
// format × mode × size to the reference.
//
// One deliberate deviation: orientation is applied, as
// PIL.ImageOps.exif_transpose would (phones and cameras store photos
// turned); the reference pipeline ignores it. That is the EXIF Orientation
// of JPEG, PNG (eXIf chunk), WebP (EXIF chunk) and camera RAW files, and
// the irot/imir properties of HEIC and AVIF (whose EXIF Orientation is not
// applied: the HEIF specification makes irot/imir the orientation, as
// libheif and libvips read it). TIFF is no deviation: Pillow 9 itself
// turns a TIFF by its Orientation tag when it loads it.
//
// Where Pillow cannot produce a reference, cliprag does what a user of the
// reference pipeline would have to: a 16-bit grey TIFF (mode "I;16", which
// Pillow 9 cannot resize) is treated as mode "I", like a 16-bit grey PNG;
// HEIC and AVIF (which Pillow 9 cannot open) match libheif's decode.
package preprocess

import (
	"context"
	"fmt"
	"image"
	"io"
	"math"
	"sync"

	"github.com/cliprag/cliprag/internal/safefs"
)

// Mode says how an image is fitted to the model's square input.
type Mode int

const (
	// CenterCrop resizes the shorter side to Size, then crops the centre.
	CenterCrop Mode = iota
	// Squash resizes straight to Size×Size, ignoring aspect ratio.
	Squash
)

// String returns "center-crop" or "squash".
func (m Mode) String() string {
	switch m {
	case CenterCrop:
		return "center-crop"
	case Squash:
		return "squash"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// DefaultMaxPixels is the largest declared width×height accepted when
// MaxPixels is 0: 100 megapixels.
const DefaultMaxPixels = 100_000_000

// Preprocessor turns images into normalised channel-major 3×Size×Size tensors.
// The zero MaxPixels means DefaultMaxPixels. A Preprocessor is a value and
// safe for concurrent use.
type Preprocessor struct {
	Size      int
	Mode      Mode
	Mean, Std [3]float32
	// MaxPixels is the largest declared width×height accepted; 0 means 100 megapixels.
	MaxPixels int64
}

// TensorLen returns 3×Size×Size, the length of one image's tensor.
func (p Preprocessor) TensorLen() int { return 3 * p.Size * p.Size }

// LoadFile decodes the image at path and returns its tensor.
func (p Preprocessor) LoadFile(path string) ([]float32, error) {
	data, err := readFileLimited(path, p.decodeOptions().MaxFileBytes())
	if err != nil {
		return nil, fmt.Errorf("decode %s: %w", path, err)
	}
	dst, _, err := p.Bytes(path, data)
	return dst, err
}

// Bytes decodes data (name is used in errors only) and returns its tensor
// and the original image's Info. Large JPEGs are decoded at a reduced DCT
// scale when the build supports it (see DecodeOptions.MinSide); the result
// stays within the JPEG tolerance of the reference.
func (p Preprocessor) Bytes(name string, data []byte) ([]float32, Info, error) {
	return p.BytesContext(context.Background(), name, data)
}

// BytesContext is Bytes that reserves the image's decoding memory in
// DefaultBudget first (see Reserve), waiting for it until ctx ends.
func (p Preprocessor) BytesContext(ctx context.Context, name string, data []byte) ([]float32, Info, error) {
	if err := p.check(); err != nil {
		return nil, Info{}, fmt.Errorf("preprocess %s: %w", name, err)
	}
	release, err := DefaultBudget.Reserve(ctx, decodeCost(data, p.decodeOptions(), true))
	if err != nil {
		return nil, Info{}, &DecodeError{Name: name, Err: err}
	}
	defer release()
	img, info, err := Decode(name, data, p.decodeOptions())
	if err != nil {
		return nil, info, err
	}
	dst := make([]float32, p.TensorLen())
	p.into(dst, img, info.Width, info.Height)
	return dst, info, nil
}

// Image returns the tensor of an already decoded image (EXIF orientation,
// if any, must already be applied). It panics if Size is not positive.
func (p Preprocessor) Image(img image.Image) []float32 {
	dst := make([]float32, p.TensorLen())
	p.ImageInto(dst, img)
	return dst
}

// ImageInto writes the tensor of img into dst, which must hold at least
// TensorLen() values. It allocates nothing in the steady state (buffers are
// pooled), so a worker can reuse one dst per batch slot.
func (p Preprocessor) ImageInto(dst []float32, img image.Image) {
	if err := p.check(); err != nil {
		panic("preprocess: " + err.Error())
	}
	if len(dst) < p.TensorLen() {
		panic(fmt.Sprintf("preprocess: dst has %d values, need %d", len(dst), p.TensorLen()))
	}
	b := img.Bounds()
	p.into(dst, img, b.Dx(), b.Dy())
}

func (p Preprocessor) check() error {
	if p.Size <= 0 {
		return fmt.Errorf("invalid preprocessor size %d", p.Size)
	}
	if p.Mode != CenterCrop && p.Mode != Squash {
		return fmt.Errorf("invalid crop mode %d", int(p.Mode))
	}
	return nil
}

// decodeOptions are the options Bytes and LoadFile decode with.
func (p Preprocessor) decodeOptions() DecodeOptions {
	return DecodeOptions{MinSide: p.scaledMinSide(), MaxPixels: p.MaxPixels}
}

// scaledMinSide is the shorter side a DCT-scaled JPEG must keep: twice the
// model size, so the final antialiased bicubic still reduces by at least 2
// and the result stays close to a full decode (see the package tests).
func (p Preprocessor) scaledMinSide() int { return 2 * p.Size }

// workspace holds the reusable buffers of one preprocessing call.
type workspace struct {
	src    []uint8
	src32  []int32
	tmp    []uint8
	tmp32  []int32
	out    []uint8
	out32  []int32
	xi, yi []int
	ch     coeffs
	cv     coeffs
}

var workspaces = sync.Pool{New: func() any { return new(workspace) }}

var int32Pool = sync.Pool{New: func() any { s := make([]int32, 0, 4096); return &s }}

func getInt32s(n int) *[]int32 {
	p := int32Pool.Get().(*[]int32)
	if cap(*p) < n {
		*p = make([]int32, n)
	}
	*p = (*p)[:n]
	return p
}

func putInt32s(p *[]int32) { int32Pool.Put(p) }

// targetSize returns the size the image is resized to and the crop offset,
// computed from the original dimensions w0×h0 as torchvision does.
func (p Preprocessor) targetSize(w0, h0 int) (tw, th, cx, cy int) {
	s := p.Size
	if p.Mode == Squash {
		return s, s, 0, 0
	}
	if w0 <= h0 {
		tw, th = s, int(float64(s*h0)/float64(w0))
	} else {
		tw, th = int(float64(s*w0)/float64(h0)), s
	}
	return tw, th, roundHalfEven(tw - s), roundHalfEven(th - s)
}

// roundHalfEven is Python's round(d / 2.0) for an integer d ≥ 0.
func roundHalfEven(d int) int {
	if d <= 0 {
		return int(math.RoundToEven(float64(d) / 2))
	}
	k := d / 2
	if d%2 == 1 && k%2 == 1 {
		k++
	}
	return k
}

// into runs the pipeline; w0×h0 are the dimensions the resize target is
// computed from (the original ones when img was decoded at a reduced scale).
func (p Preprocessor) into(dst []float32, img image.Image, w0, h0 int) {
	ws := workspaces.Get().(*workspace)
	defer func() { ws.trim(); workspaces.Put(ws) }()
	if w0 <= 0 || h0 <= 0 {
		b := img.Bounds()
		w0, h0 = b.Dx(), b.Dy()
	}
	r := toRaster(ws, img)
	s := p.Size
	if r.w <= 0 || r.h <= 0 {
		// An empty image: Pillow cannot resize it either; emit the
		// normalised black image rather than panic.
		lut := p.lut()
		for c := 0; c < 3; c++ {
			for i := 0; i < s*s; i++ {
				dst[c*s*s+i] = lut[c][0]
			}
		}
		return
	}
	tw, th, cx, cy := p.targetSize(w0, h0)
	needH, needV := tw != r.w, th != r.h
	resized := needH || needV

	switch r.mode {
	case modeI:
		out := resizeInt32(ws, r, tw, th, cx, cy, s, needH, needV)
		p.emitI(dst, out)
		return
	case modeP:
		out := resizeNearest(ws, r, tw, th, cx, cy, s)
		p.emit(dst, out, modeRGB)
		return
	case modeRGBA:
		if resized {
			premultiply(r.pix)
		}
	}
	out := resize8(ws, r, tw, th, cx, cy, s, needH, needV)
	if r.mode == modeRGBA && resized {
		unpremultiply(out)
	}
	p.emit(dst, out, r.mode)
}

// resize8 resizes the 8-bit raster to tw×th and returns the s×s crop at
// (cx, cy), computing only what the crop needs.
func resize8(ws *workspace, r raster, tw, th, cx, cy, s int, needH, needV bool) []uint8 {
	ch := r.mode.channels()
	ws.out = growBytes(ws.out, s*s*ch)
	if needH {
		precompute(&ws.ch, r.w, 0, float32(r.w), tw)
	}
	if needV {
		precompute(&ws.cv, r.h, 0, float32(r.h), th)
	}
	switch {
	case needH && needV:
		y0 := ws.cv.bounds[cy*2]
		last := (cy + s - 1) * 2
		y1 := ws.cv.bounds[last] + ws.cv.bounds[last+1]
		ws.tmp = growBytes(ws.tmp, (y1-y0)*s*ch)
		resampleH8(ws.tmp, r.pix, r.w, ch, y0, y1-y0, &ws.ch, cx, s)
		resampleV8(ws.out, ws.tmp, s*ch, 0, s*ch, y0, &ws.cv, cy, s)
	case needH:
		resampleH8(ws.out, r.pix, r.w, ch, cy, s, &ws.ch, cx, s)
	case needV:
		resampleV8(ws.out, r.pix, r.w*ch, cx*ch, s*ch, 0, &ws.cv, cy, s)
	default:
		for y := 0; y < s; y++ {
			off := ((cy+y)*r.w + cx) * ch
			copy(ws.out[y*s*ch:(y+1)*s*ch], r.pix[off:off+s*ch])
		}
	}
	return ws.out
}

// resizeInt32 is resize8 for one-channel int32 ("I" mode) rasters.
func resizeInt32(ws *workspace, r raster, tw, th, cx, cy, s int, needH, needV bool) []int32 {
	ws.out32 = growInt32s(ws.out32, s*s)
	if needH {
		precompute(&ws.ch, r.w, 0, float32(r.w), tw)
	}
	if needV {
		precompute(&ws.cv, r.h, 0, float32(r.h), th)
	}
	switch {
	case needH && needV:
		y0 := ws.cv.bounds[cy*2]
		last := (cy + s - 1) * 2
		y1 := ws.cv.bounds[last] + ws.cv.bounds[last+1]
		ws.tmp32 = growInt32s(ws.tmp32, (y1-y0)*s)
		resampleH32(ws.tmp32, r.ipix, r.w, y0, y1-y0, &ws.ch, cx, s)
		resampleV32(ws.out32, ws.tmp32, s, 0, s, y0, &ws.cv, cy, s)
	case needH:
		resampleH32(ws.out32, r.ipix, r.w, cy, s, &ws.ch, cx, s)
	case needV:
		resampleV32(ws.out32, r.ipix, r.w, cx, s, 0, &ws.cv, cy, s)
	default:
		for y := 0; y < s; y++ {
			off := (cy+y)*r.w + cx
			copy(ws.out32[y*s:(y+1)*s], r.ipix[off:off+s])
		}
	}
	return ws.out32
}

// resizeNearest is Pillow's nearest-neighbour scaling (used for palette
// images), cropped to s×s at (cx, cy).
func resizeNearest(ws *workspace, r raster, tw, th, cx, cy, s int) []uint8 {
	const ch = 3
	ws.out = growBytes(ws.out, s*s*ch)
	ws.xi = nearestTable(ws.xi, r.w, tw)
	ws.yi = nearestTable(ws.yi, r.h, th)
	for y := 0; y < s; y++ {
		sy := ws.yi[cy+y]
		row := r.pix[sy*r.w*ch : (sy+1)*r.w*ch]
		out := ws.out[y*s*ch : (y+1)*s*ch]
		for x := 0; x < s; x++ {
			sx := ws.xi[cx+x]
			out[3*x], out[3*x+1], out[3*x+2] = row[3*sx], row[3*sx+1], row[3*sx+2]
		}
	}
	return ws.out
}

// premultiply is Pillow's RGBA→RGBa conversion.
func premultiply(pix []uint8) {
	for i := 0; i+3 < len(pix); i += 4 {
		a := uint32(pix[i+3])
		if a == 255 {
			continue
		}
		pix[i] = mulDiv255(pix[i], a)
		pix[i+1] = mulDiv255(pix[i+1], a)
		pix[i+2] = mulDiv255(pix[i+2], a)
	}
}

func mulDiv255(v uint8, a uint32) uint8 {
	t := uint32(v)*a + 128
	return uint8(((t >> 8) + t) >> 8)
}

// unpremultiply is Pillow's RGBa→RGBA conversion.
func unpremultiply(pix []uint8) {
	for i := 0; i+3 < len(pix); i += 4 {
		a := uint32(pix[i+3])
		if a == 255 || a == 0 {
			continue
		}
		for c := 0; c < 3; c++ {
			v := 255 * uint32(pix[i+c]) / a
			if v > 255 {
				v = 255
			}
			pix[i+c] = uint8(v)
		}
	}
}

// lut returns, per channel, the normalised value of each 8-bit level,
// computed in float32 as torchvision's ToTensor and Normalize do.
func (p Preprocessor) lut() *[3][256]float32 {
	var t [3][256]float32
	for c := 0; c < 3; c++ {
		m, sd := p.Mean[c], p.Std[c]
		if sd == 0 {
			sd = 1
		}
		for v := 0; v < 256; v++ {
			x := float32(v) / 255
			t[c][v] = (x - m) / sd
		}
	}
	return &t
}

// emit converts the s×s crop from mode to RGB (as convert('RGB') does) and
// writes the normalised channel-major tensor.
func (p Preprocessor) emit(dst []float32, pix []uint8, mode pilMode) {
	s := p.Size
	n := s * s
	lut := p.lut()
	r, g, b := dst[:n], dst[n:2*n], dst[2*n:3*n]
	switch mode {
	case modeL:
		for i, v := range pix[:n] {
			r[i], g[i], b[i] = lut[0][v], lut[1][v], lut[2][v]
		}
	case modeRGB:
		for i := 0; i < n; i++ {
			q := pix[3*i : 3*i+3 : 3*i+3]
			r[i], g[i], b[i] = lut[0][q[0]], lut[1][q[1]], lut[2][q[2]]
		}
	case modeRGBA:
		for i := 0; i < n; i++ {
			q := pix[4*i : 4*i+4 : 4*i+4]
			r[i], g[i], b[i] = lut[0][q[0]], lut[1][q[1]], lut[2][q[2]]
		}
	case modeCMYK:
		for i := 0; i < n; i++ {
			q := pix[4*i : 4*i+4 : 4*i+4]
			nk := 255 - int32(q[3])
			r[i] = lut[0][cmykChan(q[0], nk)]
			g[i] = lut[1][cmykChan(q[1], nk)]
			b[i] = lut[2][cmykChan(q[2], nk)]
		}
	}
}

// cmykChan is one channel of Pillow's cmyk2rgb.
func cmykChan(c uint8, nk int32) uint8 {
	t := int32(c)*nk + 128
	v := nk - ((t>>8)+t)>>8
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return uint8(v)
}

// emitI writes an "I"-mode crop: convert('RGB') clips each value to 0..255.
func (p Preprocessor) emitI(dst []float32, pix []int32) {
	s := p.Size
	n := s * s
	lut := p.lut()
	for i, v := range pix[:n] {
		if v < 0 {
			v = 0
		} else if v > 255 {
			v = 255
		}
		dst[i], dst[n+i], dst[2*n+i] = lut[0][v], lut[1][v], lut[2][v]
	}
}

// readFileLimited reads path, refusing files larger than limit bytes and
// anything but a regular file (a FIFO or device is refused without a
// read that could block).
func readFileLimited(path string, limit int64) ([]byte, error) {
	f, st, err := safefs.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st.Size() > limit {
		return nil, fmt.Errorf("%w: file is %d bytes, more than the %d-byte limit", ErrTooLarge, st.Size(), limit)
	}
	buf := make([]byte, st.Size())
	n, err := io.ReadFull(f, buf)
	if err != nil {
		return nil, err
	}
	return buf[:n], nil
}
